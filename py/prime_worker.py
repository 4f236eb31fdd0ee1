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
- pw.Stream(status, headers, size, parts): a streamed answer (PROTOCOL.md,
  "Streamed answers"): parts is an iterable of bytes, consumed only as the
  server grants (as the client reads), so a generator can make a body of
  any size in bounded memory; size is the body's length, or None if not
  known. An exception while iterating aborts the answer (the client's
  connection is closed); a cancelled job stops the iteration. For a HEAD
  request the parts are not consumed.
- an exception, or returning anything else: the client gets 500, as with C
  workers. A long job calls job.cancelled() every now and then and stops
  when it turns true (client gone, timed out, server stopping, or this
  worker stopping).

Liveness (PROTOCOL.md, "Liveness"), as the C worker does it: the job
DEALER has a random routing id of its own, kept across reconnections; while
idle the worker beats every beat_interval seconds (default 1) and the proxy
answers with a PING; while a job runs, a thread of the worker's own sends
busy beats from a second DEALER, naming that routing id, so a long job is
not taken for a dead worker. The work function runs in the main thread, so
it must let the GIL go now and then (pure Python code does); a C extension
that holds the GIL for longer than the proxy's expiry gets the worker
dropped. A worker that is idle and has heard nothing from its proxy for
expiry seconds (default 3) opens new DEALERs with the same routing id and
beats at once, which is how a restarted proxy takes it back.
beat_interval=0 turns all of it off (a worker of the old kind).

Run as a program, it serves one of the example stages:

    python3 py/prime_worker.py --stage compute UPSTREAM - LOOPBACK INTERRUPT

"compute" is the prime service's stage 2 (trial division), answering
byte-identical bodies to the C stage, so it can replace or join
`prime_workerd --stage compute` behind C prime_httpd and C parse workers;
"echo" answers a JSON description of the request; "sleep" (for tests and
demonstrations, a first stage) waits GET|POST /sleep?ms=N milliseconds;
"stream" (the same) streams GET /stream?bytes=N bytes in parts.
"""

import argparse
import collections
import json
import math
import os
import signal
import struct
import sys
import threading
import time

try:
    import zmq
    import zmq.auth
except ImportError:  # pragma: no cover - the message is the point
    sys.stderr.write("prime_worker.py: pyzmq is missing (Debian: apt-get install python3-zmq)\n")
    raise

VERSION = "0.1.0"
PROTOCOL_VERSION = 2

# Envelope (PROTOCOL.md): 16 bytes, big-endian:
# version, type, flags, kind, status (16), credit (16), id (64)
ENVELOPE = struct.Struct(">BBBBHHQ")
JOB, RESULT, READY, CANCEL, BEAT, PING = 1, 2, 3, 4, 5, 6
START, PART, END, ABORT, GRANT = 8, 9, 10, 11, 12
# Body bytes a streaming worker may send before its first GRANT
STREAM_INITIAL_GRANT = 65536
# A stream waits at most this long for a grant (seconds), as in C
STREAM_STALL = 120.0
KIND_HTTP, KIND_NETSTRING, KIND_STAGE = 1, 2, 3
FLAG_BUSY, FLAG_HEAD, FLAG_LOST = 0x01, 0x02, 0x08

# Socket options as the C worker sets them: finite queues, bounded sends,
# short linger so stopping never hangs on a vanished peer.
HWM = 10000
SEND_TIMEOUT_MS = 1000
LINGER_MS = 200
# Cancelled ids remembered for jobs that arrive after their CANCEL
CANCEL_RING = 1024
# Liveness defaults, in seconds, as in C (ps_worker_config_defaults)
BEAT_INTERVAL = 1.0
EXPIRY = 3.0
# Size of the job DEALER's routing id
ROUTING_ID_SIZE = 16
# Queue bound of the beater's DEALER: a stale beat is worth nothing
BEAT_HWM = 4


class ProtocolError(ValueError):
    """A frame from another process that does not follow the protocol."""


class VersionError(ProtocolError):
    """A valid-looking envelope of another protocol version: a peer of
    another release, which is worth saying even when not verbose."""


def new_routing_id():
    """16 random bytes, the first not 0 (ids starting with 0 are libzmq's)."""
    rid = bytearray(os.urandom(ROUTING_ID_SIZE))
    if rid[0] == 0:
        rid[0] = 1
    return bytes(rid)


def envelope_pack(type_, id_=0, flags=0, kind=0, status=0, credit=0):
    return ENVELOPE.pack(PROTOCOL_VERSION, type_, flags, kind, status, credit, id_)


def envelope_unpack(frame):
    """(type, flags, kind, status, id), or ProtocolError."""
    if len(frame) != ENVELOPE.size:
        raise ProtocolError("envelope of %d bytes" % len(frame))
    version, type_, flags, kind, status, _credit, id_ = ENVELOPE.unpack(frame)
    if version != PROTOCOL_VERSION:
        raise VersionError("protocol version %d (we speak %d): a peer of another release"
                           % (version, PROTOCOL_VERSION))
    if type_ not in (JOB, RESULT, READY, CANCEL, BEAT, PING, START, PART, END, ABORT, GRANT):
        raise ProtocolError("message type %d" % type_)
    return type_, flags, kind, status, id_


def netstrings_decode(data):
    """Consecutive netstrings ("<length>:<bytes>,") as a list of bytes."""
    data = bytes(data)
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
        strings.append(data[colon + 1:end])
        i = end + 1
    return strings


def pairs_decode(frame):
    """A pairs list (netstrings: name, value, ...) as a list of (bytes, bytes)."""
    strings = netstrings_decode(frame)
    if any(b"\0" in value for value in strings):
        raise ProtocolError("NUL inside a pairs string")
    if len(strings) % 2:
        raise ProtocolError("odd number of strings in a pairs list")
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
    """An HTTP request as the server parsed it: the payload of a kind-1 JOB,
    one frame of nine netstrings (the last the client's address: .client),
    or, from servers before that form, 8 frames and a ninth for the address.

    Text fields are str decoded as UTF-8 with surrogateescape, so any byte
    survives a round trip; raw bytes are in the *_bytes attributes. query,
    headers and trailers are lists of (name, value) in order, duplicates kept.
    """

    def __init__(self, frames):
        if len(frames) == 1:
            fields = netstrings_decode(frames[0])
            if len(fields) != 9:
                raise ProtocolError("HTTP job of %d fields, not 9" % len(fields))
        elif len(frames) in (8, 9):
            fields = [bytes(f) for f in frames] + [b""] * (9 - len(frames))
        else:
            raise ProtocolError("HTTP job of %d frames, not 1, 8 or 9" % len(frames))
        # The last field is the client's address, as the server saw it
        client = fields[8]
        if len(client) > 63 or client.strip(b"0123456789abcdefABCDEF.:"):
            raise ProtocolError("bad client address")
        self.client = client.decode("ascii")
        method, target, path, version, query, headers, body, trailers = fields[:8]
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
Stream = collections.namedtuple("Stream", "status headers size parts")
Stream.__new__.__defaults__ = ((), None, ())


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
        self.granted = STREAM_INITIAL_GRANT  # body bytes the server lets us send

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


def load_keys(directory, name):
    """The CURVE keys of --keys DIRECTORY --key NAME, as the C daemons read
    them (czmq certificates, written by prime_keygen): this worker's pair
    from DIRECTORY/NAME_secret and the binders' public key from
    DIRECTORY/server. Exits 1, as they do, on a secret readable by group or
    others, or on a file that cannot be read."""
    secret_path = os.path.join(directory, name + "_secret")
    try:
        mode = os.stat(secret_path).st_mode
        if mode & 0o077:
            _log("the secret key %s is accessible by group or others (mode %04o): refusing "
                 "to start; chmod 600 %s" % (secret_path, mode & 0o7777, secret_path))
            sys.exit(1)
        public, secret = zmq.auth.load_certificate(secret_path)
        server, _ = zmq.auth.load_certificate(os.path.join(directory, "server"))
    except (OSError, ValueError) as e:
        _log("cannot load the keys %s and server in %s: %s" % (name, directory, e))
        sys.exit(1)
    if not secret:
        _log("%s holds no secret key" % secret_path)
        sys.exit(1)
    return public, secret, server


def apply_curve(sock, curve):
    """Make sock a CURVE client of the binders (curve from load_keys)."""
    if curve is not None:
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = curve


class _Beater(threading.Thread):
    """Busy beats while the work function holds the worker's thread:
    [envelope BEAT flags=BUSY id=job][routing id of the job socket]
    every interval, from a DEALER of its own (a zmq socket belongs to one
    thread). It learns what the worker does from two plain attributes, which
    the worker writes and this thread only reads."""

    def __init__(self, context, endpoint, routing_id, interval, verbose, curve=None):
        super().__init__(name="prime_worker beater", daemon=True)
        self._context = context
        self._curve = curve
        self._endpoint = endpoint
        self._routing_id = routing_id
        self._interval = interval
        self._verbose = verbose
        self._stop_event = threading.Event()
        self.job = None       # id of the job running, None while idle
        self.generation = 0   # bumped by the worker: take a fresh socket

    def _socket(self):
        try:
            sock = self._context.socket(zmq.DEALER)
            sock.setsockopt(zmq.SNDHWM, BEAT_HWM)
            sock.setsockopt(zmq.RCVHWM, BEAT_HWM)  # the proxy never writes to it
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.IPV6, 1)
            apply_curve(sock, self._curve)
            sock.connect(self._endpoint)
            return sock
        except zmq.ZMQError as e:
            _log("beater: cannot connect to %s: %s" % (self._endpoint, e))
            return None

    def run(self):
        sock = self._socket()
        generation = self.generation
        next_beat = time.monotonic() + self._interval
        while not self._stop_event.wait(max(0.0, next_beat - time.monotonic())):
            if generation != self.generation:
                # The worker renewed its job socket; so do we
                generation = self.generation
                if sock is not None:
                    sock.close()
                sock = self._socket()
            now = time.monotonic()
            if now < next_beat:
                continue
            # A fixed rate, but never a burst to catch up after a stall
            next_beat = max(next_beat + self._interval, now + self._interval / 2)
            job = self.job
            if sock is None or job is None:
                continue
            try:
                sock.send_multipart([envelope_pack(BEAT, job, FLAG_BUSY),
                                     self._routing_id], zmq.NOBLOCK)
            except zmq.Again:
                if self._verbose:
                    _log("busy beat not sent")
        if sock is not None:
            sock.close()

    def stop(self):
        self._stop_event.set()
        self.join()


class Worker:
    """One worker: DEALER to its proxy (JOB in, READY out), PUSH to the next
    proxy (optional), PUSH to the server's loopback, SUB to its interrupts."""

    def __init__(self, upstream, downstream, loopback, interrupt, work, heartbeat=None,
                 verbose=False, context=None, beat_interval=BEAT_INTERVAL, expiry=EXPIRY,
                 curve=None):
        """heartbeat: application bytes sent with every READY and idle beat
        (for a chooser). beat_interval, expiry: seconds (see Liveness above);
        beat_interval 0 means no beats and no expiry, expiry 0 no expiry.
        curve: (public, secret, server public) keys from load_keys, or None
        for plaintext."""
        self._curve = curve
        if beat_interval < 0 or expiry < 0:
            raise ValueError("beat_interval and expiry must not be negative")
        self.work = work
        self.heartbeat = heartbeat
        self.verbose = verbose
        self.stopping = False
        self.jobs = 0
        self.reconnects = 0
        self._version_warned = set()
        self.beat_interval = beat_interval
        self.expiry = expiry if beat_interval > 0 else 0
        self.routing_id = new_routing_id()
        self._upstream_endpoint = upstream
        self._last_heard = time.monotonic()
        self._cancelled_ids = collections.deque(maxlen=CANCEL_RING)
        self._job = None  # the job in hand, for its GRANTs
        self._context = context or zmq.Context.instance()
        self._upstream = self._downstream = self._loopback = self._interrupt = None
        self._beater = None
        # The SUB first, so it is subscribed as early as possible
        self._interrupt = self._socket(zmq.SUB, interrupt)
        self._loopback = self._socket(zmq.PUSH, loopback)
        self._downstream = self._socket(zmq.PUSH, downstream) if downstream else None
        self._upstream = self._socket(zmq.DEALER, upstream, self.routing_id)
        if self.beat_interval > 0:
            self._beater = _Beater(self._context, upstream, self.routing_id, self.beat_interval,
                                   verbose, curve)
            self._beater.start()

    def _socket(self, type_, endpoint, routing_id=None):
        sock = self._context.socket(type_)
        sock.setsockopt(zmq.SNDHWM, HWM)
        sock.setsockopt(zmq.RCVHWM, HWM)
        sock.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
        sock.setsockopt(zmq.LINGER, LINGER_MS)
        sock.setsockopt(zmq.IPV6, 1)
        if routing_id is not None:
            sock.setsockopt(zmq.ROUTING_ID, routing_id)
        apply_curve(sock, self._curve)
        if type_ == zmq.SUB:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        if type_ == zmq.PUSH:
            # A send to an absent peer times out (and the client is told)
            # instead of queueing for a peer that may never come.
            sock.setsockopt(zmq.IMMEDIATE, 1)
        if endpoint is not None:
            sock.connect(endpoint)
        return sock

    def close(self):
        # The beater first: its socket must be closed before the context ends
        if self._beater is not None:
            self._beater.stop()
            self._beater = None
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

    def _ready(self):
        frames = [envelope_pack(READY, credit=1)]
        if self.heartbeat is not None:
            frames.append(self.heartbeat)
        self._send(self._upstream, frames)

    def _beat(self):
        """An idle beat, [envelope BEAT][heartbeat]?. Never waits: a beat
        that cannot leave now is worth nothing later."""
        frames = [envelope_pack(BEAT)]
        if self.heartbeat is not None:
            frames.append(self.heartbeat)
        try:
            self._upstream.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            if self.verbose:
                _log("idle beat not sent")

    def _reconnect(self, poller):
        """Idle and no word from the proxy for the expiry time: it may have
        restarted (and not know us), or the connection may be half-open. A
        fresh DEALER with the same routing id connects anew and a beat
        announces us; no READY, which would tell a proxy that thinks we hold
        a job that the job is done. The beater renews its socket too.

        The old socket is closed first, dropping its queued beats: lingering,
        it could reach a proxy that comes back at that moment alongside the
        fresh one, and two connections with one routing id take the id from
        each other (registered, then unreachable once the old one closes)."""
        if self.verbose:
            _log("no word from the proxy for %.1f s, reconnecting" % self.expiry)
        poller.unregister(self._upstream)
        self._upstream.close(linger=0)
        self._upstream = self._socket(zmq.DEALER, None, self.routing_id)
        poller.register(self._upstream, zmq.POLLIN)
        try:
            self._upstream.connect(self._upstream_endpoint)
        except zmq.ZMQError as e:
            # it connected before: only a name that no longer resolves; the
            # next expiry tries again
            _log("cannot reconnect to %s: %s" % (self._upstream_endpoint, e))
        self.reconnects += 1
        self._beat()
        if self._beater is not None:
            self._beater.generation += 1

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
                type_, _flags, _kind, _status, id_ = envelope_unpack(frames[0])
                if type_ == GRANT:
                    if len(frames) != 2 or len(frames[1]) != 8:
                        raise ProtocolError("malformed GRANT")
                    job = self._job
                    if job is not None and job.id == id_:
                        job.granted = max(job.granted, struct.unpack(">Q", frames[1])[0])
                    continue
                if len(frames) != 1:
                    raise ProtocolError("CANCEL of %d frames" % len(frames))
                if type_ != CANCEL:
                    raise ProtocolError("type %d on the interrupt socket" % type_)
            except ProtocolError as e:
                self._junk("interrupt", e)
                continue
            if id_ not in self._cancelled_ids:
                self._cancelled_ids.append(id_)

    def _junk(self, socket_name, error):
        """A dropped message: a peer of another protocol version is said
        once per socket even when not verbose, other junk only when verbose."""
        if isinstance(error, VersionError):
            if socket_name not in self._version_warned or self.verbose:
                _log("dropped a message on %s: %s" % (socket_name, error))
            self._version_warned.add(socket_name)
        elif self.verbose:
            _log("dropped junk on %s: %s" % (socket_name, error))

    # -- streamed answers ----------------------------------------------------------

    def _stream(self, job, outcome):
        """START, the parts as the server grants, END (or ABORT). True once
        the START left (the job is answered, whatever follows)."""
        size = b"" if outcome.size is None else struct.pack(">Q", int(outcome.size))
        env = envelope_pack(START, job.id, job.flags, job.kind, outcome.status)
        if not self._send(self._loopback, [env, pairs_encode(outcome.headers or ()), size]):
            return False
        sent = 0
        try:
            for part in (() if job.head else outcome.parts):
                if isinstance(part, str):
                    part = part.encode("utf-8")
                if not part:
                    continue
                deadline = time.monotonic() + STREAM_STALL
                while sent >= job.granted:
                    if job.cancelled():
                        return True  # the server dropped the answer already
                    left = deadline - time.monotonic()
                    if left <= 0:
                        _log("job %d: no grant for %g s, giving up its stream"
                             % (job.id, STREAM_STALL))
                        self._send(self._loopback, [envelope_pack(ABORT, job.id, job.flags,
                                                                  job.kind)])
                        return True
                    self._interrupt.poll(int(min(left, 1.0) * 1000) + 1)
                    self._read_interrupts()
                if job.cancelled():
                    return True
                env = envelope_pack(PART, job.id, job.flags, job.kind)
                if not self._send(self._loopback, [env, bytes(part)]):
                    return True
                sent += len(part)
        except Exception as e:  # the body cannot be completed
            _log("job %d: stream aborted: %r" % (job.id, e))
            self._send(self._loopback, [envelope_pack(ABORT, job.id, job.flags, job.kind)])
            return True
        self._send(self._loopback, [envelope_pack(END, job.id, job.flags, job.kind)])
        return True

    # -- jobs --------------------------------------------------------------------

    def _handle(self, frames):
        try:
            type_, flags, kind, _status, id_ = envelope_unpack(frames[0])
            if type_ == PING and len(frames) == 1:
                return  # the proxy is alive, nothing to do
            if type_ != JOB:
                raise ProtocolError("type %d on the job socket" % type_)
        except ProtocolError as e:
            self._junk("upstream", e)
            self._ready()
            return
        self._read_interrupts()
        if id_ in self._cancelled_ids:
            # Its CANCEL overtook it: the server answered already
            self._ready()
            return
        self.jobs += 1
        failure = "work function failed"
        if self._beater is not None:
            self._beater.job = id_
        job = None
        try:
            job = Job(self, id_, kind, flags, frames[1:])
            self._job = job
            outcome = self.work(job)
        except ProtocolError as e:
            outcome, failure = None, "malformed job: %s" % e
        except Exception as e:  # the client still gets an answer
            outcome, failure = None, "work function failed: %s" % e.__class__.__name__
            if self.verbose:
                _log("job %d: %r" % (id_, e))
        finally:
            if self._beater is not None:
                self._beater.job = None
        answered = False
        if isinstance(outcome, Forward):
            if self._downstream is None:
                failure = "no next stage to forward to"
            else:
                env = envelope_pack(JOB, id_, flags, KIND_STAGE)
                answered = self._send(self._downstream, [env] + [bytes(f) for f in outcome.frames])
                if not answered:
                    failure = "next stage unreachable"
        elif isinstance(outcome, Stream):
            try:
                answered = self._stream(job, outcome)
            except (ValueError, TypeError, struct.error) as e:
                failure = "bad stream: %s" % e
        elif isinstance(outcome, Reply):
            try:
                answered = self._result(id_, flags, kind, outcome.status, outcome.headers,
                                        outcome.body)
            except (ValueError, TypeError, struct.error) as e:
                failure = "bad reply: %s" % e
        elif outcome is not None:
            failure = "work function gave no answer"
        self._job = None
        cancelled = id_ in self._cancelled_ids
        if not answered and not cancelled:
            status, text = (503, "worker stopping") if self.stopping else (500, failure)
            self._result(id_, flags, kind, status, (), text)
        if not self.stopping:
            self._ready()

    def run(self, poll_ms=200):
        """Serve until stop() (or a signal handler calling it)."""
        self._ready()
        beating = self.beat_interval > 0
        if beating:
            # A first beat at once tells the proxy that we beat, so it may
            # expire us if we fall silent
            self._beat()
        self._last_heard = time.monotonic()
        next_beat = self._last_heard + self.beat_interval
        poller = zmq.Poller()
        poller.register(self._upstream, zmq.POLLIN)
        poller.register(self._interrupt, zmq.POLLIN)
        while not self.stopping:
            timeout = poll_ms
            if beating:
                now = time.monotonic()
                if now >= next_beat:
                    self._beat()
                    next_beat = now + self.beat_interval
                if self.expiry and now - self._last_heard >= self.expiry:
                    self._reconnect(poller)
                    self._last_heard = now
                    next_beat = now + self.beat_interval
                deadline = next_beat
                if self.expiry:
                    deadline = min(deadline, self._last_heard + self.expiry)
                timeout = min(poll_ms, max(0, int((deadline - now) * 1000) + 1))
            events = dict(poller.poll(timeout))
            if self._interrupt in events:
                self._read_interrupts()
            if self._upstream in events and not self.stopping:
                self._handle(self._upstream.recv_multipart(copy=True))
                # A word from the proxy (a job or a PING); after a job, the
                # time it took does not count as silence
                self._last_heard = time.monotonic()

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


SLEEP_MAX_MS = 60000


def sleep_stage(job):
    """For tests and demonstrations, as a first stage: GET|POST /sleep?ms=N
    waits N milliseconds (default 1000, at most 60000), giving up early if
    the job is cancelled, and answers {"slept_ms":N,"pid":P}. A line on
    stderr when it starts tells a test which worker holds the job."""
    r = job.request
    if r is None:
        return Reply(400, JSON, b'{"error":"HTTP jobs only"}')
    if r.path != "/sleep":
        return Reply(404, JSON, b'{"error":"not found"}')
    values = r.query_values("ms")
    try:
        ms = int(values[0]) if values else 1000
        if not 0 <= ms <= SLEEP_MAX_MS:
            raise ValueError
    except ValueError:
        return Reply(400, JSON, b'{"error":"ms must be 0..%d"}' % SLEEP_MAX_MS)
    _log("job %d: sleeping %d ms" % (job.id, ms))
    deadline = time.monotonic() + ms / 1000.0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if job.cancelled():
            return Reply(503, JSON, b'{"error":"cancelled"}')
        time.sleep(min(left, 0.05))
    return Reply(200, JSON, json.dumps({"slept_ms": ms, "pid": os.getpid()},
                                       separators=(",", ":")))


STREAM_PART = 65536


_PATTERN = bytes(range(251)) * (STREAM_PART // 251 + 2)


def stream_pattern(offset, size):
    """size (<= STREAM_PART) bytes of the "stream" stage's body from offset:
    byte k is k % 251, so a lost, doubled or reordered part shows."""
    start = offset % 251
    return _PATTERN[start:start + size]


def stream_stage(job):
    """For tests and demonstrations: GET /stream?bytes=N[&known=0] streams N
    bytes (default 1 MiB) in 64 KiB parts made as the client reads them,
    with the size announced unless known=0."""
    r = job.request
    if r is None:
        return Reply(400, JSON, b'{"error":"HTTP jobs only"}')
    if r.path != "/stream":
        return Reply(404, JSON, b'{"error":"not found"}')
    try:
        values = r.query_values("bytes")
        total = int(values[0]) if values else 1 << 20
        if total < 0:
            raise ValueError
    except ValueError:
        return Reply(400, JSON, b'{"error":"bytes must be a number >= 0"}')
    known = r.query_values("known") != ["0"]

    def parts():
        offset = 0
        while offset < total:
            size = min(STREAM_PART, total - offset)
            yield stream_pattern(offset, size)
            offset += size

    return Stream(200, [("Content-Type", "application/octet-stream")],
                  total if known else None, parts())


STAGES = {"compute": compute_stage, "echo": echo_stage, "sleep": sleep_stage,
          "stream": stream_stage}


def _seconds(text):
    """An argparse type: seconds >= 0, fractions allowed."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("'%s' is not a number of seconds" % text)
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("'%s' is not in 0..3600 seconds" % text)
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="prime_worker.py",
        description="A prime_server worker written in Python (docs/PROTOCOL.md).")
    parser.add_argument("--stage", choices=sorted(STAGES), default="compute")
    parser.add_argument("--heartbeat", help="bytes sent with every READY (for a chooser)")
    parser.add_argument("--heartbeat-interval", type=_seconds, default=BEAT_INTERVAL,
                        metavar="S",
                        help="liveness beats every S seconds (default %g; 0: no beats, "
                             "the proxy never expires this worker)" % BEAT_INTERVAL)
    parser.add_argument("--expiry", type=_seconds, default=EXPIRY, metavar="S",
                        help="reconnect after S seconds idle without a word from the proxy "
                             "(default %g; 0: never)" % EXPIRY)
    parser.add_argument("--keys", metavar="DIR",
                        help="CurveZMQ on every link: DIR holds the deployment's certificates "
                             "(prime_keygen); the binders' public key is DIR/server")
    parser.add_argument("--key", metavar="NAME", default=None,
                        help="this worker's certificate DIR/NAME, DIR/NAME_secret (mode 0600, "
                             "else exit 1); default worker")
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

    if args.key is not None and args.keys is None:
        parser.error("--key needs --keys DIR")
    curve = load_keys(args.keys, args.key or "worker") if args.keys else None
    worker = Worker(args.upstream, None if args.downstream == "-" else args.downstream,
                    args.loopback, args.interrupt, STAGES[args.stage],
                    heartbeat=args.heartbeat.encode() if args.heartbeat else None,
                    verbose=args.verbose, beat_interval=args.heartbeat_interval,
                    expiry=args.expiry, curve=curve)

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
