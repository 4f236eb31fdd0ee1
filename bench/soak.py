#!/usr/bin/env python3
"""soak.py: the Python load drivers of the bench/ hardening scripts.

Standard library only (asyncio, raw sockets), loopback only, every phase
bounded in time. One subcommand per job:

  soak       a fixed-rate mix against prime_echod (keep-alive GET, POST with
             Content-Length, POST chunked, pipelined batches, Connection:
             close); every answer is checked against its own request (a
             nonce in the target, a header and the body comes back in the
             echo JSON). Prints lost, mismatched and 5xx counts, the daemon's
             open fds at start and end, and its RSS: the drift after a
             warm-up (--warmup, default a tenth of the run: the window after
             it against the last window; see rss_analysis), the raw
             first->last drift, RSS and fds every tenth of the run and the
             least-squares slope of RSS after the warm-up in KiB/min. Exit 1
             when any request was lost, mismatched or got a 5xx, or
             (--strict-fds) when the fds are not back to the baseline, or
             (--max-drift) when the drift after the warm-up is not under
             it. Used by bench_soak.sh and tests/test_soak_short.sh.
  overload   open loop at a fixed rate (not closed loop like wrk: a slow
             server does not slow the offered load down), then a probe load
             after the stop: status counts, Retry-After, the latency of the
             503s and of the 200s, time until full service again.
  slowloris  a sample of slow-header clients: how and when the server ends
             each connection (408, silent close, reset, still open).
  nonreader  clients that pipeline requests with large answers and never
             read: whether and when the daemon lets go of their sockets,
             the daemon's RSS meanwhile, and the latency of a well-behaved
             client alongside.

Every subcommand prints a table and a last line "RESULT key=value ..." that
the shell scripts parse.
"""

import argparse
import asyncio
import collections
import json
import os
import random
import socket
import string
import sys
import time

now = time.monotonic


# --- the daemon from /proc ---------------------------------------------------

def rss_kib(pid):
    return rss_parts(pid)[0]


def rss_parts(pid):
    """VmRSS and its anonymous part (heap, arenas, stacks; the rest is mostly
    the pages of the binary and the libraries), in KiB, or -1."""
    rss = anon = -1
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
    except OSError:
        pass
    return rss, anon


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def socket_inodes(pid):
    """Inodes of the sockets the process holds open."""
    inodes = set()
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, name))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        pass
    return inodes


def server_side_inode(server_port, client_port):
    """Inode of the server's end of a loopback TCP connection, or None."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, remote, inode = fields[1], fields[2], fields[9]
                    if (int(local.rsplit(":", 1)[1], 16) == server_port
                            and int(remote.rsplit(":", 1)[1], 16) == client_port):
                        return inode
        except OSError:
            continue
    return None


class Sampler:
    """RSS (kB) and fd count of some processes, once a second."""

    def __init__(self, pids):
        self.pids = [p for p in pids if p]
        self.samples = {p: [] for p in self.pids}  # (t, rss_kib, fds, rss_anon_kib)
        self.task = None

    def sample(self):
        t = now()
        for p in self.pids:
            rss, anon = rss_parts(p)
            self.samples[p].append((t, rss, fd_count(p), anon))

    async def run(self):
        while True:
            self.sample()
            await asyncio.sleep(1.0)

    def start(self):
        self.sample()
        self.task = asyncio.ensure_future(self.run())

    async def stop(self):
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        self.sample()

    def peak_rss(self, pid):
        return max((s[1] for s in self.samples.get(pid, [])), default=-1)


# --- HTTP on asyncio streams ---------------------------------------------------

class Broken(Exception):
    """The connection ended or timed out before a complete answer."""


async def read_response(reader, timeout):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
                    break
                body += await asyncio.wait_for(reader.readexactly(size + 2), timeout)
                body = body[:-2]
        else:
            length = int(headers.get("content-length", "0"))
            body = await asyncio.wait_for(reader.readexactly(length), timeout)
        return status, headers, body
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError,
            ConnectionError, OSError, ValueError, IndexError) as e:
        raise Broken(type(e).__name__)


class Conn:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.idle_since = now()

    def close(self):
        try:
            self.writer.close()
        except Exception:
            pass


async def connect(port, timeout=5.0, rcvbuf=0):
    if rcvbuf:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.wait_for(asyncio.get_event_loop().sock_connect(sock, ("127.0.0.1", port)),
                               timeout)
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
    else:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, limit=1 << 20), timeout)
    return Conn(reader, writer)


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def ms(x):
    return "%.1f" % (x * 1000) if x == x else "-"


# --- soak -------------------------------------------------------------------

LETTERS = (string.ascii_letters + string.digits).encode()
# Request bodies are slices of one random block: building each byte with
# random.choice would make the driver, not the server, the bottleneck.
FILLER = bytes(random.choice(LETTERS) for _ in range(1 << 16))


def filler(n):
    start = random.randrange(len(FILLER) - n)
    return FILLER[start:start + n]


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far, or -1."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return -1.0


def rss_analysis(samples, t0, seconds, warmup):
    """The RSS figures of a run from the Sampler's samples (t, rss, fds, anon).

    The daemon's RSS climbs for a while under load before it levels off
    (pages of code and libraries touched the first time, malloc arenas of
    each thread, libzmq's pipes and buffers at their high-water mark, the
    recycled request records), so first->last mostly measures that warm-up.
    The judged drift compares the average over a window right after the
    warm-up with the average over the last window; the least-squares slope
    over everything after the warm-up shows a slow leak that a window
    average could smooth over. Windows: a tenth of the run, at most 60 s.
    """
    window = min(60.0, max(1.0, seconds / 10.0))
    load = [x for x in samples if x[1] > 0 and x[0] - t0 <= seconds]

    def avg(lo, hi, k):
        v = [x[k] for x in load if lo <= x[0] - t0 <= hi]
        return sum(v) / len(v) if v else float("nan")

    def slope(k, start=warmup):
        pts = [(x[0] - t0, x[k]) for x in load if x[0] - t0 >= start and x[k] > 0]
        if len(pts) < 2:
            return float("nan")
        mt = sum(p[0] for p in pts) / len(pts)
        mv = sum(p[1] for p in pts) / len(pts)
        den = sum((p[0] - mt) ** 2 for p in pts)
        return sum((p[0] - mt) * (p[1] - mv) for p in pts) / den * 60.0 if den else float("nan")

    r = {"window": window, "span": max(0.0, seconds - warmup)}
    r["first"], r["first_anon"] = avg(0, window, 1), avg(0, window, 3)
    r["warm"], r["warm_anon"] = avg(warmup, warmup + window, 1), avg(warmup, warmup + window, 3)
    r["last"], r["last_anon"] = avg(seconds - window, seconds, 1), avg(seconds - window, seconds, 3)
    r["drift"] = (r["last"] - r["warm"]) / r["warm"] * 100.0 if r["warm"] > 0 else float("nan")
    r["drift_raw"] = ((r["last"] - r["first"]) / r["first"] * 100.0 if r["first"] > 0
                      else float("nan"))
    r["slope"], r["slope_anon"] = slope(1), slope(3)
    # a step (the plateau raised once) and a leak both give a slope over
    # the whole; only a leak keeps one over the second half
    r["slope_half"] = slope(1, max(warmup, seconds / 2.0))
    return r


class SoakRequest:
    """One request of the mix and what its echo must say."""

    def __init__(self, nonce, kind, close=False):
        self.nonce, self.kind = nonce, kind
        conn_line = "Connection: close\r\n" if close else ""
        pad = filler(random.randint(0, 48)).decode()
        self.target = "/soak/%s?n=%s&pad=%s" % (kind, nonce, pad)
        head = "%s %s HTTP/1.1\r\nHost: soak\r\nX-Nonce: %s\r\n%s" % (
            "GET" if kind == "get" else "POST", self.target, nonce, conn_line)
        if kind == "get":
            self.method, self.body = "GET", b""
            self.raw = (head + "\r\n").encode()
            return
        self.method = "POST"
        self.body = nonce.encode() + b":" + filler(random.randint(0, 4096))
        if kind == "post":
            self.raw = (head + "Content-Length: %d\r\n\r\n" % len(self.body)).encode() + self.body
            return
        # chunked: random chunk sizes, sometimes a chunk extension
        parts, rest = [], self.body
        while rest:
            n = random.randint(1, max(1, len(rest)))
            ext = ";x=1" if random.random() < 0.1 else ""
            parts.append(b"%x%s\r\n%s\r\n" % (n, ext.encode(), rest[:n]))
            rest = rest[n:]
        self.raw = ((head + "Transfer-Encoding: chunked\r\n\r\n").encode() + b"".join(parts)
                    + b"0\r\n\r\n")

    def check(self, status, headers, body):
        """None if the answer is this request's echo, else what is wrong."""
        if status != 200:
            return "status %d" % status
        try:
            echo = json.loads(body.decode("utf-8"))
        except ValueError:
            return "body is not JSON"
        if echo.get("method") != self.method:
            return "method %r" % echo.get("method")
        if echo.get("target") != self.target:
            return "target %r, sent %r" % (echo.get("target"), self.target)
        if ["n", self.nonce] not in echo.get("query", []):
            return "nonce missing from the query"
        if ["X-Nonce", self.nonce] not in echo.get("headers", []):
            return "nonce missing from the headers"
        if echo.get("body") != self.body.decode("ascii"):
            return "body differs (%d bytes back, %d sent)" % (len(echo.get("body", "")),
                                                              len(self.body))
        return None


class Soak:
    MIX = (("get", 35), ("post", 20), ("chunked", 15), ("pipeline", 15), ("close", 15))

    def __init__(self, args):
        self.args = args
        self.port = args.port
        self.pool = collections.deque()
        self.stats = collections.Counter()
        self.ops = collections.Counter()
        self.examples = []
        self.latencies = collections.defaultdict(list)
        self.serial = 0
        self.busy = set()
        mix = self.MIX
        if args.mix:  # e.g. "get=1,close=1"
            mix = [(k, float(w)) for k, w in (item.split("=") for item in args.mix.split(","))]
        kinds, weights = zip(*mix)
        self.kinds, self.weights = kinds, weights
        self.warmup = args.warmup if args.warmup is not None else args.seconds / 10.0
        self.warmup = min(max(0.0, self.warmup), args.seconds / 2.0)

    def nonce(self):
        self.serial += 1
        return "%x-%08x" % (self.serial, random.getrandbits(32))

    def note(self, what, detail):
        self.stats[what] += 1
        if len(self.examples) < 12:
            self.examples.append("%s: %s" % (what, detail))

    async def take(self):
        # The pool is a stack, like a browser's or an HTTP library's: the
        # connection used last is reused first, and the ones a burst opened
        # beyond the usual concurrency sit at the bottom until they idle out.
        # A queue (--pool-order fifo) keeps every connection ever opened in
        # rotation, none ever idle long enough: after one stall of the
        # machine (up to --max-concurrency operations at once) the daemon
        # holds that many connections, and their memory, to the end.
        while self.pool and now() - self.pool[0].idle_since >= self.args.pool_idle:
            self.pool.popleft().close()  # well before the server's idle timeout
        if self.pool:
            return self.pool.pop() if self.args.pool_order == "lifo" else self.pool.popleft()
        return await connect(self.port)

    def give_back(self, conn):
        conn.idle_since = now()
        self.pool.append(conn)

    async def exchange(self, conn, requests, kind, expect_close=False):
        """Writes the requests at once, reads and checks the answers in order."""
        t0 = now()
        conn.writer.write(b"".join(r.raw for r in requests))
        self.stats["sent"] += len(requests)
        done = 0
        try:
            await asyncio.wait_for(conn.writer.drain(), self.args.timeout)
            for r in requests:
                status, headers, body = await read_response(conn.reader, self.args.timeout)
                done += 1
                if status >= 500:
                    self.note("5xx", "%s %s -> %d" % (r.method, r.target, status))
                    continue
                wrong = r.check(status, headers, body)
                if wrong:
                    self.note("mismatched", "%s %s: %s" % (r.method, r.target, wrong))
                    continue
                self.stats["ok"] += 1
            if expect_close:
                if headers.get("connection", "").lower() != "close":
                    self.note("mismatched", "no Connection: close on the answer to close")
                tail = await asyncio.wait_for(conn.reader.read(1), self.args.timeout)
                if tail != b"":
                    self.note("mismatched", "connection open after Connection: close")
            self.latencies[kind].append(now() - t0)
            return True
        except (Broken, asyncio.TimeoutError, ConnectionError, OSError) as e:
            for r in requests[done:]:
                self.note("lost", "%s %s: %s" % (r.method, r.target, type(e).__name__
                                                 if not isinstance(e, Broken) else str(e)))
            return False

    async def op(self, kind):
        self.ops[kind] += 1
        try:
            if kind == "close":
                conn = await connect(self.port)
                request = SoakRequest(self.nonce(), random.choice(("get", "post")), close=True)
                await self.exchange(conn, [request], kind, expect_close=True)
                conn.close()
                return
            conn = await self.take()
        except (asyncio.TimeoutError, ConnectionError, OSError) as e:
            self.stats["sent"] += 1
            self.note("lost", "connect: %s" % type(e).__name__)
            return
        if kind == "pipeline":
            requests = [SoakRequest(self.nonce(), random.choice(("get", "post", "chunked")))
                        for _ in range(random.randint(2, 8))]
        else:
            requests = [SoakRequest(self.nonce(), kind)]
        if await self.exchange(conn, requests, kind):
            self.give_back(conn)
        else:
            conn.close()

    async def run(self):
        args = self.args
        fds_start = fd_count(args.pid) if args.pid else -1
        cpu_daemon, cpu_self = cpu_seconds(args.pid) if args.pid else -1, time.process_time()
        sampler = Sampler([args.pid])
        sampler.start()
        interval = 1.0 / args.rate
        t0 = now()
        i = 0
        skipped = 0
        while True:
            t = t0 + i * interval
            if t >= t0 + args.seconds:
                break
            delay = t - now()
            if delay > 0:
                await asyncio.sleep(delay)
            i += 1
            if len(self.busy) >= args.max_concurrency:
                skipped += 1  # the driver (or the server) is behind: count, do not pile up
                continue
            kind = random.choices(self.kinds, self.weights)[0]
            task = asyncio.ensure_future(self.op(kind))
            self.busy.add(task)
            task.add_done_callback(self.busy.discard)
        elapsed = now() - t0
        if self.busy:
            await asyncio.wait(list(self.busy), timeout=args.timeout * 2 + 5)
        while self.pool:
            self.pool.popleft().close()
        await asyncio.sleep(0.1)
        # fds back to the baseline: the daemon closes its side when it sees ours go
        fds_end = fd_count(args.pid) if args.pid else -1
        deadline = now() + 10
        while args.pid and fds_end > fds_start and now() < deadline:
            await asyncio.sleep(0.1)
            fds_end = fd_count(args.pid)
        await sampler.stop()
        self.cpu = ((cpu_seconds(args.pid) - cpu_daemon) if args.pid else -1,
                    time.process_time() - cpu_self)
        self.report(i - skipped, skipped, elapsed, sampler, fds_start, fds_end)

    def report(self, ops, skipped, elapsed, sampler, fds_start, fds_end):
        args, s = self.args, self.stats
        print("soak: %d operations in %.1f s (%.1f ops/s target %.1f), %d requests, %d answered "
              "correctly" % (ops, elapsed, ops / elapsed, args.rate, s["sent"], s["ok"]))
        print("  mix: " + ", ".join("%s %d" % (k, self.ops[k]) for k in self.kinds))
        print("  latency ms (write to last answer checked; close: to the server's close)")
        for k in self.kinds:
            lat = self.latencies[k]
            print("    %-9s p50 %7s  p99 %7s  max %7s" % (
                k, ms(percentile(lat, 50)), ms(percentile(lat, 99)),
                ms(max(lat) if lat else float("nan"))))
        print("  CPU seconds: daemon %.1f, this driver %.1f (of %.0f s; a driver near 1 CPU-second"
              " per second is the bottleneck, not the server)" % (self.cpu[0], self.cpu[1],
                                                                  elapsed))
        if skipped:
            print("  %d operations not started (more than %d in progress)" % (
                skipped, args.max_concurrency))
        rss = None
        samples = sampler.samples.get(args.pid, [])
        if samples:
            rss = rss_analysis(samples, samples[0][0], elapsed, self.warmup)
            self.print_rss(rss, samples, elapsed)
            print("  daemon fds: start %d, end %d, peak %d" % (
                fds_start, fds_end, max(x[2] for x in samples)))
        print()
        rss = rss or rss_analysis([], 0, elapsed, self.warmup)
        drift_target = ("< %g%%" % args.max_drift if args.max_drift is not None
                        else "(printed)")
        print("%-30s %16s %12s" % ("figure", "measured", "target"))
        rows = [("requests lost", s["lost"], "0"), ("answers mismatched", s["mismatched"], "0"),
                ("5xx answers", s["5xx"], "0"),
                ("RSS drift after warm-up", "%+.1f%%" % rss["drift"], drift_target),
                ("RSS drift first->last (raw)", "%+.1f%%" % rss["drift_raw"], "(printed)"),
                ("RSS slope after warm-up", "%+.1f KiB/min" % rss["slope"], "(printed)"),
                ("RSS slope, second half", "%+.1f KiB/min" % rss["slope_half"], "(printed)"),
                ("fds start -> end", "%d -> %d" % (fds_start, fds_end), "back to start")]
        for name, value, target in rows:
            print("%-30s %16s %12s" % (name, value, target))
        for e in self.examples:
            print("  example " + e)
        failed = s["lost"] or s["mismatched"] or s["5xx"] or s["sent"] == 0
        fds_ok = fds_end <= fds_start
        # NaN (no samples) fails a judged drift too
        drift_ok = args.max_drift is None or rss["drift"] < args.max_drift
        print("RESULT ops=%d requests=%d ok=%d lost=%d mismatched=%d fivexx=%d skipped=%d "
              "rss_first_kib=%.0f rss_warm_kib=%.0f rss_last_kib=%.0f warmup_s=%.0f "
              "drift_pct=%.2f drift_raw_pct=%.2f slope_kib_min=%.1f slope_half_kib_min=%.1f "
              "fds_start=%d fds_end=%d" % (
                  ops, s["sent"], s["ok"], s["lost"], s["mismatched"], s["5xx"], skipped,
                  rss["first"], rss["warm"], rss["last"], self.warmup, rss["drift"],
                  rss["drift_raw"], rss["slope"], rss["slope_half"], fds_start, fds_end))
        self.exit_code = 1 if (failed or (args.strict_fds and not fds_ok) or not drift_ok) else 0

    def print_rss(self, rss, samples, elapsed):
        t_first = samples[0][0]
        print("  RSS MiB (anonymous part in brackets): first %.0f s %.1f [%.1f]; after the %.0f s "
              "warm-up, s %.0f-%.0f %.1f [%.1f]; last %.0f s %.1f [%.1f]; peak %.1f" % (
                  rss["window"], rss["first"] / 1024, rss["first_anon"] / 1024, self.warmup,
                  self.warmup, self.warmup + rss["window"], rss["warm"] / 1024,
                  rss["warm_anon"] / 1024, rss["window"], rss["last"] / 1024,
                  rss["last_anon"] / 1024, max(x[1] for x in samples) / 1024))
        print("  RSS drift: after warm-up %+.1f%% (judged), first->last %+.1f%% (includes the "
              "warm-up); slope after warm-up %+.1f KiB/min (%+.1f KiB/min anonymous), %+.0f KiB "
              "over the %.0f s; slope over the second half %+.1f KiB/min" % (
                  rss["drift"], rss["drift_raw"], rss["slope"], rss["slope_anon"],
                  rss["slope"] * rss["span"] / 60.0, rss["span"], rss["slope_half"]))
        tenth = max(1.0, elapsed / 10.0)
        by_window = collections.defaultdict(list)
        for x in samples:
            if x[1] > 0 and x[0] - t_first <= elapsed:
                by_window[min(9, int((x[0] - t_first) // tenth))].append(x)
        for name, k in (("RSS", 1), ("anon", 3)):
            print("  %s MiB every %.0f s: %s" % (name, tenth, " ".join(
                "%.1f" % (sum(x[k] for x in v) / len(v) / 1024)
                for _, v in sorted(by_window.items()))))
        # the memory follows the open connections (libzmq's pipes and
        # buffers for each), and malloc keeps a peak's pages afterwards
        print("  daemon fds, peak every %.0f s: %s" % (tenth, " ".join(
            "%d" % max(x[2] for x in v) for _, v in sorted(by_window.items()))))


# --- overload -----------------------------------------------------------------

class OpenLoop:
    """Requests at fixed send times, each on an idle pooled connection or a new one."""

    def __init__(self, port, path, timeout, max_conns):
        self.port, self.path, self.timeout, self.max_conns = port, path, timeout, max_conns
        self.pool = collections.deque()
        self.open = 0
        self.results = []  # (t_send, latency, status or -1, retry_after)
        self.tasks = set()
        self.refused = 0
        self.lag, self.connects = [], []
        self.raw = ("GET %s HTTP/1.1\r\nHost: overload\r\n\r\n" % path).encode()

    async def one(self, t_planned):
        conn = None
        t_send = now()
        self.lag.append(t_send - t_planned)  # the driver's own delay
        try:
            if self.pool:
                conn = self.pool.pop()
            else:
                self.open += 1
                conn = await connect(self.port, self.timeout)
                self.connects.append(now() - t_send)
            conn.writer.write(self.raw)
            status, headers, _ = await read_response(conn.reader, self.timeout)
            self.results.append((t_send, now() - t_send, status, "retry-after" in headers))
            if headers.get("connection", "").lower() == "close":
                conn.close()
                self.open -= 1
            else:
                self.pool.append(conn)
        except (Broken, asyncio.TimeoutError, ConnectionError, OSError):
            self.results.append((t_send, now() - t_send, -1, False))
            if conn:
                conn.close()
            self.open -= 1

    async def run(self, rate, seconds):
        t0 = now()
        interval = 1.0 / rate
        i = 0
        while True:
            t = t0 + i * interval
            if t >= t0 + seconds:
                break
            delay = t - now()
            if delay > 0:
                await asyncio.sleep(delay)
            i += 1
            if not self.pool and self.open >= self.max_conns:
                self.refused += 1
                continue
            task = asyncio.ensure_future(self.one(t))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return i

    async def finish(self):
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=self.timeout + 5)
        while self.pool:
            self.pool.pop().close()


def summarize(results):
    by = collections.defaultdict(list)
    retry = 0
    for _, lat, status, has_retry in results:
        by[status].append(lat)
        if status == 503 and has_retry:
            retry += 1
    return by, retry


async def overload(args):
    sampler = Sampler(args.pid or [])
    sampler.start()
    load = OpenLoop(args.port, args.path, args.timeout, args.max_conns)
    t_start = now()
    offered = await load.run(args.rate, args.seconds)
    t_stop = now()
    # the probe starts at once: full service is measured from the stop
    probe = OpenLoop(args.port, args.path, args.timeout, 256)
    await probe.run(args.probe_rate, args.probe_seconds)
    await load.finish()
    await probe.finish()
    await sampler.stop()

    by, retry = summarize(load.results)
    n = len(load.results)
    print("overload: %d requests offered in %.1f s (%.0f/s open loop), %d answered or failed, "
          "%d not sent (client at %d connections)" % (offered, t_stop - t_start,
                                                        args.rate, n, load.refused, args.max_conns))
    print("%-18s %8s %8s %9s %9s %9s" % ("status", "count", "share", "p50 ms", "p99 ms", "max ms"))
    for status in sorted(by):
        lat = by[status]
        name = "error/timeout" if status == -1 else str(status)
        print("%-18s %8d %7.1f%% %9s %9s %9s" % (name, len(lat), 100.0 * len(lat) / max(1, n),
                                                  ms(percentile(lat, 50)), ms(percentile(lat, 99)),
                                                  ms(max(lat))))
    n503 = len(by.get(503, []))
    print("503 with Retry-After: %d of %d" % (retry, n503))
    print("(latency: from the driver's send, including a connect when no idle connection was"
          " pooled: %d connects, p50 %s ms, p99 %s ms; the driver's own lag behind the schedule:"
          " p50 %s ms, p99 %s ms)" % (len(load.connects), ms(percentile(load.connects, 50)),
                                     ms(percentile(load.connects, 99)),
                                     ms(percentile(load.lag, 50)), ms(percentile(load.lag, 99))))
    last_load_answer = max((r[0] + r[1] for r in load.results), default=t_stop) - t_stop
    # full service: the first probe from which on every probe got 200
    probes = sorted(probe.results)
    recovered_at = None
    for k in range(len(probes)):
        if all(p[2] == 200 for p in probes[k:]):
            recovered_at = probes[k][0] - t_stop
            break
    bad_probes = sum(1 for p in probes if p[2] != 200)
    ok_lat = [p[1] for p in probes if p[2] == 200]
    print("after the stop: the last overload answer came at +%.2f s; probes at %.0f/s for %.0f s:"
          " %d, %d not 200, full service from +%s s (probe latency p50 %s ms, p99 %s ms)" % (
              last_load_answer, args.probe_rate, args.probe_seconds, len(probes), bad_probes,
              "%.2f" % recovered_at if recovered_at is not None else "never",
              ms(percentile(ok_lat, 50)), ms(percentile(ok_lat, 99))))
    for pid in sampler.pids:
        print("pid %d: RSS MiB start %.1f, peak %.1f, end %.1f" % (
            pid, sampler.samples[pid][0][1] / 1024, sampler.peak_rss(pid) / 1024,
            sampler.samples[pid][-1][1] / 1024))
    l503 = by.get(503, [])
    l200 = by.get(200, [])
    print("RESULT offered=%d answered=%d ok=%d s503=%d retry_after=%d errors=%d other=%d "
          "p50_503_ms=%s p99_503_ms=%s max_503_ms=%s p50_200_ms=%s p99_200_ms=%s "
          "recovery_s=%s bad_probes=%d peak_rss_kib=%d connects=%d p99_connect_ms=%s "
          "p99_lag_ms=%s" % (
              offered, n, len(l200), n503, retry, len(by.get(-1, [])),
              n - len(l200) - n503 - len(by.get(-1, [])), ms(percentile(l503, 50)),
              ms(percentile(l503, 99)), ms(max(l503)) if l503 else "-",
              ms(percentile(l200, 50)), ms(percentile(l200, 99)),
              "%.2f" % recovered_at if recovered_at is not None else "never", bad_probes,
              max([sampler.peak_rss(p) for p in sampler.pids] or [-1]), len(load.connects),
              ms(percentile(load.connects, 99)), ms(percentile(load.lag, 99))))
    return 0


# --- slowloris sample -----------------------------------------------------------

async def slow_client(args, out):
    # Raw sockets, not streams: an asyncio stream raises a reset before
    # handing over the 408 already received, the kernel does not.
    loop = asyncio.get_event_loop()
    t0 = now()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", args.port)), 5)
        await loop.sock_sendall(sock, ("GET %s HTTP/1.1\r\nHost: slow\r\n" % args.path).encode())
    except (asyncio.TimeoutError, OSError):
        out.append(("connect failed", 0.0, b""))
        sock.close()
        return
    got = b""
    k = 0
    outcome = "still open"
    while now() - t0 < args.bound:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 4096), args.interval)
        except asyncio.TimeoutError:
            k += 1
            try:
                await loop.sock_sendall(sock, b"X-Slow-%d: %d\r\n" % (k, k))  # never the blank line
            except OSError:
                pass  # the server has gone: the next read says how
            continue
        except OSError:
            outcome = "reset"
            break
        if not data:
            outcome = "closed"
            break
        got += data
    if outcome != "still open":
        if got.startswith(b"HTTP/1.1 408"):
            outcome = "408 then " + outcome
        elif got:
            outcome = "other answer then " + outcome
        else:
            outcome += ", no answer"
    out.append((outcome, now() - t0, got))
    sock.close()


async def slowloris(args):
    out = []
    await asyncio.gather(*(slow_client(args, out) for _ in range(args.clients)))
    kinds = collections.Counter(o[0] for o in out)
    times = [o[1] for o in out if o[0] != "still open"]
    print("slowloris sample: %d clients, a header line every %.1f s, never the blank line" % (
        args.clients, args.interval))
    for k, n in sorted(kinds.items()):
        print("  %-24s %d" % (k, n))
    if times:
        print("  ended after s: min %.1f, median %.1f, max %.1f" % (
            min(times), percentile(times, 50), max(times)))
    n408 = kinds["408 then closed"] + kinds["408 then reset"]
    silent = kinds["closed, no answer"] + kinds["reset, no answer"]
    print("RESULT clients=%d closed408=%d closed_silent=%d still_open=%d other=%d "
          "end_min_s=%.1f end_median_s=%.1f end_max_s=%.1f" % (
              args.clients, n408, silent, kinds["still open"],
              args.clients - n408 - silent - kinds["still open"],
              min(times) if times else -1, percentile(times, 50) if times else -1,
              max(times) if times else -1))
    return 0


# --- non-reading clients ---------------------------------------------------------

async def nonreader(args):
    body = b"r" * args.body
    sampler = Sampler([args.pid])
    sampler.start()
    clients = []
    for _ in range(args.clients):
        conn = await connect(args.port, rcvbuf=4096)
        client_port = conn.writer.get_extra_info("sockname")[1]
        raw = (b"POST /nonreader HTTP/1.1\r\nHost: nr\r\nContent-Length: %d\r\n\r\n" % len(body)
               + body) * args.pipeline
        conn.writer.write(raw)  # the server reads all of it; we never read
        clients.append([conn, client_port, None, None])
    t0 = now()
    # a well-behaved client alongside
    good_lat, good_fail = [], 0
    good = None
    while now() - t0 < args.bound:
        for c in clients:
            if c[2] is None:
                c[2] = server_side_inode(args.port, c[1])
            elif c[3] is None and c[2] not in socket_inodes(args.pid):
                c[3] = now() - t0  # the daemon let go of its socket
        if all(c[3] is not None for c in clients):
            break
        t = now()
        try:
            if good is None:
                good = await connect(args.port)
            good.writer.write(b"GET /good HTTP/1.1\r\nHost: good\r\n\r\n")
            status, _, _ = await read_response(good.reader, 5.0)
            if status != 200:
                good_fail += 1
            good_lat.append(now() - t)
        except (Broken, OSError, asyncio.TimeoutError):
            good_fail += 1
            good = None
        await asyncio.sleep(0.2)
    await sampler.stop()
    for c in clients:
        c[0].close()
    if good:
        good.close()
    dropped = [c[3] for c in clients if c[3] is not None]
    print("non-readers: %d clients, each %d pipelined POSTs of %d bytes (answers echo the body),"
          " receive buffer 4 KiB, never read; watched for %.0f s" % (
              args.clients, args.pipeline, args.body, now() - t0))
    print("  disconnected by the daemon: %d of %d%s" % (
        len(dropped), len(clients),
        ", after s: min %.1f, max %.1f" % (min(dropped), max(dropped)) if dropped else ""))
    print("  daemon RSS MiB: start %.1f, peak %.1f" % (
        sampler.samples[args.pid][0][1] / 1024, sampler.peak_rss(args.pid) / 1024))
    print("  well-behaved client: %d requests, %d failed, p50 %s ms, p99 %s ms" % (
        len(good_lat), good_fail, ms(percentile(good_lat, 50)), ms(percentile(good_lat, 99))))
    print("RESULT clients=%d dropped=%d drop_max_s=%s peak_rss_kib=%d good=%d good_failed=%d "
          "good_p99_ms=%s" % (len(clients), len(dropped),
                              "%.1f" % max(dropped) if dropped else "-",
                              sampler.peak_rss(args.pid), len(good_lat), good_fail,
                              ms(percentile(good_lat, 99))))
    return 0


# --- main ---------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("soak")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--pid", type=int, default=0, help="the daemon, for RSS and fds")
    s.add_argument("--seconds", type=float, default=600)
    s.add_argument("--rate", type=float, default=200, help="operations per second")
    s.add_argument("--timeout", type=float, default=10, help="per answer, s")
    s.add_argument("--max-concurrency", type=int, default=256)
    s.add_argument("--pool-idle", type=float, default=20,
                   help="close pooled connections idle this long (under the server's timeout)")
    s.add_argument("--pool-order", choices=("lifo", "fifo"), default="lifo",
                   help="which idle keep-alive connection is reused (fifo: all in rotation)")
    s.add_argument("--strict-fds", action="store_true", help="exit 1 if fds are not back")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--mix", help="kind=weight,... of get, post, chunked, pipeline, close")
    s.add_argument("--warmup", type=float, default=None,
                   help="s of the start left out of the judged RSS drift and the slope "
                        "(default: a tenth of --seconds; at most half)")
    s.add_argument("--max-drift", type=float, default=None,
                   help="exit 1 if the RSS drift after the warm-up is not under this %% "
                        "(default: printed, not judged)")
    o = sub.add_parser("overload")
    o.add_argument("--port", type=int, required=True)
    o.add_argument("--pid", type=int, action="append")
    o.add_argument("--path", default="/")
    o.add_argument("--rate", type=float, required=True)
    o.add_argument("--seconds", type=float, default=60)
    o.add_argument("--probe-rate", type=float, default=5)
    o.add_argument("--probe-seconds", type=float, default=5)
    o.add_argument("--timeout", type=float, default=15)
    o.add_argument("--max-conns", type=int, default=2000)
    sl = sub.add_parser("slowloris")
    sl.add_argument("--port", type=int, required=True)
    sl.add_argument("--path", default="/")
    sl.add_argument("--clients", type=int, default=20)
    sl.add_argument("--interval", type=float, default=2)
    sl.add_argument("--bound", type=float, default=40)
    n = sub.add_parser("nonreader")
    n.add_argument("--port", type=int, required=True)
    n.add_argument("--pid", type=int, required=True)
    n.add_argument("--clients", type=int, default=8)
    n.add_argument("--pipeline", type=int, default=32)
    n.add_argument("--body", type=int, default=256 * 1024)
    n.add_argument("--bound", type=float, default=75)
    args = p.parse_args()
    if args.cmd == "soak":
        random.seed(args.seed)
        soak = Soak(args)
        asyncio.run(soak.run())
        return soak.exit_code
    if args.cmd == "overload":
        return asyncio.run(overload(args))
    if args.cmd == "slowloris":
        return asyncio.run(slowloris(args))
    return asyncio.run(nonreader(args))


if __name__ == "__main__":
    sys.exit(main())
