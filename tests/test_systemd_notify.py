#!/usr/bin/env python3
"""test_systemd_notify.py: the daemons speak systemd's notify protocol.

The test plays the service manager: it binds a unix datagram socket with
SO_PASSCRED, names it in NOTIFY_SOCKET and starts real daemons from the
build tree. Each daemon must send READY=1, from its own pid, only once its
sockets accept connections (the test connects to every bound endpoint the
moment READY=1 arrives), nothing else before SIGTERM, then STOPPING=1 as
the drain starts (prime_httpd is seen still draining a connection then),
and exit 0. Also: an abstract socket name ("@name"), and a NOTIFY_SOCKET
that leads nowhere (the daemon serves as before and warns once).

Run by make check from the build directory; stdlib only. Every wait is
bounded; every process started is killed on the way out.
"""
import array
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

BINDIR = os.environ.get("SPLIT_BINDIR", "./daemons")
failures = 0
procs = []


def check(ok, what):
    global failures
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures += 1
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Manager:
    """The service manager's end: a datagram socket that sees senders' pids."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(address)
        self.name = address if address[0] != "\0" else "@" + address[1:]

    def receive(self, timeout):
        """(text, pid) of the next datagram, or (None, None) after timeout s."""
        self.sock.settimeout(timeout)
        try:
            size = struct.calcsize("3i")
            data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(size))
        except socket.timeout:
            return None, None
        pid = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = array.array("i", payload[:size])[0]
        return data.decode(), pid

    def close(self):
        self.sock.close()


def start(argv, notify_socket, stderr_path):
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = notify_socket
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    procs.append(proc)
    return proc


def accepts(endpoint):
    """True if a connection to a tcp:// or ipc:// endpoint is accepted now."""
    if endpoint.startswith("tcp://"):
        host, port = endpoint[6:].rsplit(":", 1)
        sock = socket.socket()
        target = (host, int(port))
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = endpoint[6:]
    sock.settimeout(2)
    try:
        sock.connect(target)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def wait_exit(proc, seconds):
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None


def lifecycle(label, manager, argv, bound, tmp, keep_connected=None):
    """Starts argv under manager; checks READY=1 against the bound endpoints,
    then STOPPING=1 at SIGTERM and a clean exit."""
    err = os.path.join(tmp, label + ".err")
    proc = start(argv, manager.name, err)
    text, pid = manager.receive(15)
    if not check(text == "READY=1", "%s: READY=1 arrives (got %r)" % (label, text)):
        proc.kill()
        print(open(err).read())
        return
    # Connect first, look later: the sockets must accept the moment READY=1 is read
    accepted = [(endpoint, accepts(endpoint)) for endpoint in bound]
    check(pid == proc.pid, "%s: sent by the daemon itself (pid %s, daemon %d)" % (label, pid, proc.pid))
    for endpoint, ok in accepted:
        check(ok, "%s: %s accepts connections when READY=1 arrives" % (label, endpoint))
    client = None
    if keep_connected:
        client = socket.create_connection(keep_connected, timeout=5)
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        check(client.recv(4096).startswith(b"HTTP/1.1 200"), "%s: health check 200 before SIGTERM" % label)
    text, _ = manager.receive(0.2)
    check(text is None, "%s: nothing more before SIGTERM (got %r)" % (label, text))
    proc.send_signal(signal.SIGTERM)
    text, pid = manager.receive(10)
    check(text == "STOPPING=1" and pid == proc.pid,
          "%s: STOPPING=1 from the daemon at SIGTERM (got %r from %s)" % (label, text, pid))
    if client:
        # The drain has started and the kept connection holds it open: the
        # daemon is still there, and says so on the connection it keeps
        check(proc.poll() is None, "%s: still draining when STOPPING=1 arrives" % label)
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = client.recv(4096)
        check(answer.startswith(b"HTTP/1.1 503"), "%s: health check 503 while draining (%r)" % (label, answer[:20]))
        client.close()
    status = wait_exit(proc, 15)
    check(status == 0, "%s: exit 0 after the drain (status %s)" % (label, status))
    text, _ = manager.receive(0.1)
    check(text is None, "%s: nothing after STOPPING=1 (got %r)" % (label, text))


def main():
    for name in ("prime_httpd", "prime_proxyd", "prime_workerd", "prime_echod"):
        if not os.access(os.path.join(BINDIR, name), os.X_OK):
            print("%s/%s is not built" % (BINDIR, name), file=sys.stderr)
            return 99
    tmp = tempfile.mkdtemp(prefix="ps_notify.")
    manager = Manager(os.path.join(tmp, "notify"))
    try:
        ipc = "ipc://" + tmp
        port = free_port()
        # The front: the HTTP port and the two it binds for the workers
        lifecycle("prime_httpd", manager,
                  [BINDIR + "/prime_httpd", "--drain-seconds", "10", "--health-check", "/health",
                   "tcp://127.0.0.1:%d" % port, ipc + "/proxy", ipc + "/loopback", ipc + "/interrupt"],
                  ["tcp://127.0.0.1:%d" % port, ipc + "/loopback", ipc + "/interrupt"], tmp,
                  keep_connected=("127.0.0.1", port))
        up, down = free_port(), free_port()
        lifecycle("prime_proxyd", manager,
                  [BINDIR + "/prime_proxyd", "tcp://127.0.0.1:%d" % up, ipc + "/down"],
                  ["tcp://127.0.0.1:%d" % up, ipc + "/down"], tmp)
        # Workers bind nothing: ready once started, even with no proxy there
        lifecycle("prime_workerd", manager,
                  [BINDIR + "/prime_workerd", "--stage", "echo", ipc + "/nobody-up", "-",
                   ipc + "/nobody-loopback", ipc + "/nobody-interrupt"], [], tmp)
        # A one-process daemon (ps_pipeline, ps_service_serve), told through
        # an abstract socket name
        abstract = Manager("\0ps_notify_test_%d" % os.getpid())
        port = free_port()
        lifecycle("prime_echod (abstract socket)", abstract,
                  [BINDIR + "/prime_echod", "tcp://127.0.0.1:%d" % port],
                  ["tcp://127.0.0.1:%d" % port], tmp)
        abstract.close()

        # Nobody listening at NOTIFY_SOCKET: served as ever, one warning
        port = free_port()
        err = os.path.join(tmp, "nowhere.err")
        proc = start([BINDIR + "/prime_echod", "tcp://127.0.0.1:%d" % port],
                     os.path.join(tmp, "nobody-here"), err)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "serving on" not in open(err).read() \
                and proc.poll() is None:
            time.sleep(0.05)  # the daemon's startup line is the only sign to wait for
        check(accepts("tcp://127.0.0.1:%d" % port), "NOTIFY_SOCKET leading nowhere: still serves")
        proc.send_signal(signal.SIGTERM)
        status = wait_exit(proc, 15)
        check(status == 0, "NOTIFY_SOCKET leading nowhere: exit 0 (status %s)" % status)
        warnings = [line for line in open(err).read().splitlines() if "NOTIFY_SOCKET" in line]
        check(len(warnings) == 1, "NOTIFY_SOCKET leading nowhere: one warning (%s)" % warnings)
    finally:
        manager.close()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        subprocess.run(["rm", "-rf", tmp])
    print("%d failure(s)" % failures if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
