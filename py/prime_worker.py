#!/usr/bin/env python3
"""prime_worker: the worker side of the prime_server wire protocol in Python.

Written from docs/PROTOCOL.md alone, so a pipeline stage can be a Python
function and share a pool with C workers (prime_workerd). Needs pyzmq
(Debian: apt-get install python3-zmq).

A stage is a function taking a Job and returning what to do with it:

    import prime_worker as pw

    def shout(job):
        if job.request is None:             # not an HTTP job
            return pw.Reply(400, body=b"http only")
        return pw.Reply(200, [("Content-Type", "text/plain")],
                        job.request.path.upper())

    pw.Worker(upstream, None, loopback, interrupt, shout).run()

- pw.Reply(status, headers, body): the final answer, sent to the server's
  loopback.
- pw.Forward([frame, ...]): frames (bytes) for the next stage's proxy.
- an exception, or returning anything else: the client gets 500, as with C
  workers. A long job calls job.cancelled() every now and then and stops
  when it turns true (client gone, timed out, server stopping, or this
  worker stopping).

Run as a program, it serves one of the example stages:

    python3 py/prime_worker.py --stage compute UPSTREAM - LOOPBACK INTERRUPT

"compute" is the prime service's stage 2 (trial division), answering
byte-identical bodies to the C stage, so it can replace or join
`prime_workerd --stage compute` behind C prime_httpd and C parse workers;
"echo" answers a JSON description of the request.
"""

import argparse
import collections
import json
import math
import signal
import struct
import sys
import time

try:
    import zmq
except ImportError:  # pragma: no cover - the message is the point
    sys.stderr.write("prime_worker.py: pyzmq is missing (Debian: apt-get install python3-zmq)\n")
    raise

VERSION = "0.1.0"
PROTOCOL_VERSION = 1

# Envelope (PROTOCOL.md): 16 bytes, big-endian:
# version, type, flags, kind, status (16), reserved (16), id (64)
ENVELOPE = struct.Struct(">BBBBHHQ")
JOB, RESULT, READY, CANCEL = 1, 2, 3, 4
KIND_HTTP, KIND_NETSTRING, KIND_STAGE = 1, 2, 3
FLAG_BUSY, FLAG_HEAD = 0x01, 0x02

# Socket options as the C worker sets them: finite queues, bounded sends,
# short linger so stopping never hangs on a vanished peer.
HWM = 10000
SEND_TIMEOUT_MS = 1000
LINGER_MS = 200
# Cancelled ids remembered for jobs that arrive after their CANCEL
CANCEL_RING = 1024


class ProtocolError(ValueError):
    """A frame from another process that does not follow the protocol."""


def envelope_pack(type_, id_=0, flags=0, kind=0, status=0):
    return ENVELOPE.pack(PROTOCOL_VERSION, type_, flags, kind, status, 0, id_)


def envelope_unpack(frame):
    """(type, flags, kind, status, id), or ProtocolError."""
    if len(frame) != ENVELOPE.size:
        raise ProtocolError("envelope of %d bytes" % len(frame))
    version, type_, flags, kind, status, _reserved, id_ = ENVELOPE.unpack(frame)
    if version != PROTOCOL_VERSION:
        raise ProtocolError("protocol version %d" % version)
    if type_ not in (JOB, RESULT, READY, CANCEL):
        raise ProtocolError("message type %d" % type_)
    return type_, flags, kind, status, id_


def pairs_decode(frame):
    """A pairs frame (netstrings: name, value, ...) as a list of (bytes, bytes)."""
    data = bytes(frame)
    strings = []
    i = 0
    while i < len(data):
        colon = data.find(b":", i, i + 21)
        if colon <= i or not data[i:colon].isdigit():
            raise ProtocolError("bad netstring length")
        if colon - i > 1 and data[i:i + 1] == b"0":
            raise ProtocolError("netstring length with a leading zero")
        length = int(data[i:colon])
        end = colon + 1 + length
        if end >= len(data) or data[end:end + 1] != b",":
            raise ProtocolError("netstring not terminated")
        value = data[colon + 1:end]
        if b"\0" in value:
            raise ProtocolError("NUL inside a pairs string")
        strings.append(value)
        i = end + 1
    if len(strings) % 2:
        raise ProtocolError("odd number of strings in a pairs frame")
    return list(zip(strings[0::2], strings[1::2]))


def pairs_encode(pairs):
    """[(name, value), ...] (str or bytes) as one pairs frame."""
    out = []
    for name, value in pairs:
        for s in (name, value):
            b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
            if b"\0" in b:
                raise ValueError("NUL in a header")
            out.append(b"%d:%s," % (len(b), b))
    return b"".join(out)


class Request:
    """An HTTP request as the server parsed it (the 8 frames of a kind-1 JOB).

    Text fields are str decoded as UTF-8 with surrogateescape, so any byte
    survives a round trip; raw bytes are in the *_bytes attributes. query,
    headers and trailers are lists of (name, value) in order, duplicates kept.
    """

    def __init__(self, frames):
        if len(frames) != 8:
            raise ProtocolError("HTTP job of %d frames, not 8" % len(frames))
        method, target, path, version, query, headers, body, trailers = (bytes(f) for f in frames)
        if not method or not target or version not in (b"10", b"11"):
            raise ProtocolError("bad method, target or version")
        if b"\0" in method or b"\0" in target or b"\0" in path:
            raise ProtocolError("NUL in method, target or path")
        self.method_bytes, self.target_bytes, self.path_bytes = method, target, path
        self.method = method.decode("ascii", "surrogateescape")
        self.target = target.decode("utf-8", "surrogateescape")
        self.path = path.decode("utf-8", "surrogateescape")
        self.version = int(version)
        self.query = [(k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
                      for k, v in pairs_decode(query)]
        self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in pairs_decode(headers)]
        self.body = body
        self.trailers = [(k.decode("latin-1"), v.decode("latin-1"))
                         for k, v in pairs_decode(trailers)]

    def header(self, name, default=None):
        """First value of a header, name compared case-insensitively."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def query_values(self, name):
        return [v for k, v in self.query if k == name]


Reply = collections.namedtuple("Reply", "status headers body")
Reply.__new__.__defaults__ = ((), b"")
Forward = collections.namedtuple("Forward", "frames")


class Job:
    """One job in hand: id, kind, flags, payload frames, and for HTTP jobs the
    decoded request (None if the job is of another kind)."""

    def __init__(self, worker, id_, kind, flags, frames):
        self._worker = worker
        self.id = id_
        self.kind = kind
        self.flags = flags
        self.frames = frames
        self.head = bool(flags & FLAG_HEAD)
        self.request = Request(frames) if kind == KIND_HTTP else None
        self._cancelled = False

    def cancelled(self):
        """True once the server cancelled this job or the worker is stopping.
        Cheap: reads only what is already queued."""
        if not self._cancelled:
            self._worker._read_interrupts()
            if self.id in self._worker._cancelled_ids or self._worker.stopping:
                self._cancelled = True
        return self._cancelled


def _log(text):
    sys.stderr.write("prime_worker.py: %s\n" % text)
    sys.stderr.flush()


class Worker:
    """One worker: DEALER to its proxy (JOB in, READY out), PUSH to the next
    proxy (optional), PUSH to the server's loopback, SUB to its interrupts."""

    def __init__(self, upstream, downstream, loopback, interrupt, work, heartbeat=None,
                 verbose=False, context=None):
        self.work = work
        self.heartbeat = heartbeat
        self.verbose = verbose
        self.stopping = False
        self.jobs = 0
        self._cancelled_ids = collections.deque(maxlen=CANCEL_RING)
        self._context = context or zmq.Context.instance()
        # The SUB first, so it is subscribed as early as possible
        self._interrupt = self._socket(zmq.SUB, interrupt)
        self._loopback = self._socket(zmq.PUSH, loopback)
        self._downstream = self._socket(zmq.PUSH, downstream) if downstream else None
        self._upstream = self._socket(zmq.DEALER, upstream)

    def _socket(self, type_, endpoint):
        sock = self._context.socket(type_)
        sock.setsockopt(zmq.SNDHWM, HWM)
        sock.setsockopt(zmq.RCVHWM, HWM)
        sock.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
        sock.setsockopt(zmq.LINGER, LINGER_MS)
        sock.setsockopt(zmq.IPV6, 1)
        if type_ == zmq.SUB:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        if type_ == zmq.PUSH:
            # A send to an absent peer times out (and the client is told)
            # instead of queueing for a peer that may never come.
            sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.connect(endpoint)
        return sock

    def close(self):
        for sock in (self._upstream, self._downstream, self._loopback, self._interrupt):
            if sock is not None:
                sock.close()

    # -- sends -----------------------------------------------------------------

    def _send(self, sock, frames):
        try:
            sock.send_multipart(frames, copy=False)
            return True
        except zmq.Again:
            if self.verbose:
                _log("send timed out")
            return False

    def _ready(self, busy=False):
        frames = [envelope_pack(READY, flags=FLAG_BUSY if busy else 0)]
        if self.heartbeat is not None:
            frames.append(self.heartbeat)
        self._send(self._upstream, frames)

    def _result(self, id_, flags, kind, status, headers, body):
        env = envelope_pack(RESULT, id_, flags, kind, status)
        if isinstance(body, str):
            body = body.encode("utf-8")
        return self._send(self._loopback, [env, pairs_encode(headers or ()), bytes(body)])

    # -- interrupts ------------------------------------------------------------

    def _read_interrupts(self, limit=1000):
        for _ in range(limit):
            try:
                frames = self._interrupt.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                if len(frames) != 1:
                    raise ProtocolError("CANCEL of %d frames" % len(frames))
                type_, _flags, _kind, _status, id_ = envelope_unpack(frames[0])
                if type_ != CANCEL:
                    raise ProtocolError("type %d on the interrupt socket" % type_)
            except ProtocolError as e:
                if self.verbose:
                    _log("dropped junk on interrupt: %s" % e)
                continue
            if id_ not in self._cancelled_ids:
                self._cancelled_ids.append(id_)

    # -- jobs --------------------------------------------------------------------

    def _handle(self, frames):
        try:
            type_, flags, kind, _status, id_ = envelope_unpack(frames[0])
            if type_ != JOB:
                raise ProtocolError("type %d on the job socket" % type_)
        except ProtocolError as e:
            if self.verbose:
                _log("dropped junk on upstream: %s" % e)
            self._ready()
            return
        self._read_interrupts()
        if id_ in self._cancelled_ids:
            # Its CANCEL overtook it: the server answered already
            self._ready()
            return
        self.jobs += 1
        failure = "work function failed"
        try:
            job = Job(self, id_, kind, flags, frames[1:])
            outcome = self.work(job)
        except ProtocolError as e:
            outcome, failure = None, "malformed job: %s" % e
        except Exception as e:  # the client still gets an answer
            outcome, failure = None, "work function failed: %s" % e.__class__.__name__
            if self.verbose:
                _log("job %d: %r" % (id_, e))
        answered = False
        if isinstance(outcome, Forward):
            if self._downstream is None:
                failure = "no next stage to forward to"
            else:
                env = envelope_pack(JOB, id_, flags, KIND_STAGE)
                answered = self._send(self._downstream, [env] + [bytes(f) for f in outcome.frames])
                if not answered:
                    failure = "next stage unreachable"
        elif isinstance(outcome, Reply):
            try:
                answered = self._result(id_, flags, kind, outcome.status, outcome.headers,
                                        outcome.body)
            except (ValueError, TypeError, struct.error) as e:
                failure = "bad reply: %s" % e
        elif outcome is not None:
            failure = "work function gave no answer"
        cancelled = id_ in self._cancelled_ids
        if not answered and not cancelled:
            status, text = (503, "worker stopping") if self.stopping else (500, failure)
            self._result(id_, flags, kind, status, (), text)
        if not self.stopping:
            self._ready()

    def run(self, poll_ms=200):
        """Serve until stop() (or a signal handler calling it)."""
        self._ready()
        poller = zmq.Poller()
        poller.register(self._upstream, zmq.POLLIN)
        poller.register(self._interrupt, zmq.POLLIN)
        while not self.stopping:
            events = dict(poller.poll(poll_ms))
            if self._interrupt in events:
                self._read_interrupts()
            if self._upstream in events and not self.stopping:
                self._handle(self._upstream.recv_multipart(copy=True))

    def stop(self):
        self.stopping = True


# -----------------------------------------------------------------------------
# Example stages

CANCEL_CHECK = 8192  # divisions between cancellation checks, as in C


def trial_division(n, cancelled=None):
    """1 if n is prime, 0 if not, -1 if cancelled said stop: every divisor
    d = 2, 3, 4, ... with d * d <= n, as the C stage does."""
    if n < 2:
        return 0
    limit = math.isqrt(n)
    d = 2
    while d <= limit:
        stop = min(d + CANCEL_CHECK - 1, limit)
        while d <= stop:
            if n % d == 0:
                return 0
            d += 1
        if d <= limit and cancelled is not None and cancelled():
            return -1
    return 1


JSON = [("Content-Type", "application/json")]


def compute_stage(job):
    """Stage 2 of the prime service: the 8-byte big-endian N forwarded by
    the C parse stage in, the same JSON body as prime_stage_compute out."""
    if len(job.frames) != 1 or len(job.frames[0]) != 8:
        raise ProtocolError("compute job is not one 8-byte frame")
    (n,) = struct.unpack(">Q", bytes(job.frames[0]))
    prime = trial_division(n, job.cancelled)
    if prime < 0:
        return Reply(503, JSON, b'{"error":"cancelled"}')
    return Reply(200, JSON, b'{"possible_prime":%d,"is_prime":%s}'
                 % (n, b"true" if prime else b"false"))


def echo_stage(job):
    """A JSON description of the request (a simpler cousin of echo_stage.c:
    strings go through Python's json, which escapes differently)."""
    r = job.request
    if r is None:
        description = {"kind": job.kind,
                       "frames": [bytes(f).decode("latin-1") for f in job.frames]}
    else:
        description = {"method": r.method, "target": r.target, "path": r.path,
                       "version": "%d.%d" % divmod(r.version, 10),
                       "query": r.query, "headers": r.headers,
                       "body": r.body.decode("utf-8", "replace"), "trailers": r.trailers}
    return Reply(200, JSON, json.dumps(description, separators=(",", ":")))


STAGES = {"compute": compute_stage, "echo": echo_stage}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="prime_worker.py",
        description="A prime_server worker written in Python (docs/PROTOCOL.md).")
    parser.add_argument("--stage", choices=sorted(STAGES), default="compute")
    parser.add_argument("--heartbeat", help="bytes sent with every READY (for a chooser)")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("--version", action="version", version="prime_worker.py " + VERSION)
    parser.add_argument("upstream", help="connect: this stage's proxy DOWNSTREAM")
    parser.add_argument("downstream", help="connect: the next proxy's UPSTREAM, or -")
    parser.add_argument("loopback", help="connect: prime_httpd's LOOPBACK")
    parser.add_argument("interrupt", help="connect: prime_httpd's INTERRUPT")
    args = parser.parse_args(argv)  # exits 2 on bad arguments
    for name in ("upstream", "loopback", "interrupt", "downstream"):
        value = getattr(args, name)
        if name == "downstream" and value == "-":
            continue
        if not (value.startswith("tcp://") or value.startswith("ipc://")):
            parser.error("%s '%s' is not a tcp:// or ipc:// endpoint" % (name.upper(), value))

    worker = Worker(args.upstream, None if args.downstream == "-" else args.downstream,
                    args.loopback, args.interrupt, STAGES[args.stage],
                    heartbeat=args.heartbeat.encode() if args.heartbeat else None,
                    verbose=args.verbose)

    def on_signal(signum, _frame):
        worker.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not args.quiet:
        _log("%s worker, jobs from %s, answers to %s" % (args.stage, args.upstream, args.loopback))
    started = time.monotonic()
    try:
        worker.run()
    finally:
        worker.close()
        zmq.Context.instance().term()
    if not args.quiet:
        _log("stopped after %d jobs in %.1f s" % (worker.jobs, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
