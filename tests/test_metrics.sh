#!/usr/bin/env bash
# test_metrics.sh: the metrics path from the outside, every exposition read
# by the reference parser (Debian's python3-prometheus-client).
#
# - prime_echod --metrics: requests of known outcomes (200s by method, 400,
#   408, 413, 414, 431) are counted per status and method, refusals per
#   reason, the histogram's count is the number of answers, in-flight and
#   connections are what is open; HEAD has no body; a scrape answers while
#   the server drains (the health check says 503);
# - a split deployment (prime_httpd, prime_proxyd --stage, prime_workerd):
#   every stage's workers and jobs are in the front's scrape; a client that
#   leaves before its answer counts as 499 and client_gone; a proxy that
#   stops shows stage_up 0 and no stale figures.
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_echod prime_httpd prime_proxyd prime_workerd

PROM_PYTHON=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import prometheus_client.parser' 2>/dev/null; then
    PROM_PYTHON=$candidate
    break
  fi
done
if [ -z "$PROM_PYTHON" ]; then
  echo "SKIP: no python3 with prometheus_client (Debian: apt-get install python3-prometheus-client)"
  exit 77
fi

port_of() { grep -o '(port [0-9]*)' "$tmp/$1.err" | grep -o '[0-9]*'; }

# The client side: raw requests, scrapes through the reference parser.
cat >"$tmp/metrics_check.py" <<'EOF'
import socket, sys, time
from prometheus_client.parser import text_string_to_metric_families

def exchange(port, raw, keep=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if keep and b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if length and len(body) >= length[0]:
                break
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]) if head else 0, head.decode("latin-1"), body

def scrape(port, path="/metrics"):
    status, head, body = exchange(port, b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
    assert status == 200, "scrape: %d" % status
    assert "text/plain; version=0.0.4" in head, head
    samples = {}
    types = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types

def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))

def by_code(samples):
    codes = {}
    for (name, labels), v in samples.items():
        if name == "prime_server_requests_total":
            code = dict(labels)["code"]
            codes[code] = codes.get(code, 0) + v
    return codes

failures = 0
def check(what, got, want):
    global failures
    if got == want:
        print("ok: %s = %r" % (what, got))
    else:
        print("FAIL: %s = %r, expected %r" % (what, got, want))
        failures += 1
EOF

cat >"$tmp/one_process.py" <<'EOF'
import sys
exec(open(sys.argv[1]).read())
port = int(sys.argv[2])

for i in range(5):
    check("GET %d" % i, exchange(port, b"GET /a?%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)[0], 200)
for i in range(2):
    check("POST %d" % i, exchange(port, b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")[0], 200)
check("DELETE", exchange(port, b"DELETE /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0], 200)
check("413", exchange(port, b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 30000\r\n\r\n")[0], 413)
check("414", exchange(port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")[0], 414)
check("431", exchange(port, b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(101)) + b"\r\n")[0], 431)
check("400", exchange(port, b"NOT HTTP\r\n\r\n")[0], 400)
check("408", exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n")[0], 408)

# An idle keep-alive connection stays open during the scrape
idle = socket.create_connection(("127.0.0.1", port), timeout=10)
idle.sendall(b"GET /keep HTTP/1.1\r\nHost: x\r\n\r\n")
idle.recv(65536)

samples, types = scrape(port)
codes = by_code(samples)
check("200 GET", value(samples, "prime_server_requests_total", code="200", method="GET"), 6.0)  # and /keep
check("200 POST", value(samples, "prime_server_requests_total", code="200", method="POST"), 2.0)
check("200 DELETE", value(samples, "prime_server_requests_total", code="200", method="DELETE"), 1.0)
check("codes", sorted(codes.items()), sorted({"200": 9.0, "400": 1.0, "408": 1.0, "413": 1.0, "414": 1.0, "431": 1.0}.items()))
for reason, want in [("body_too_large", 1), ("uri_too_long", 1), ("headers_too_large", 1), ("header_timeout", 1),
                     ("overload", 0), ("too_many_connections", 0), ("request_timeout", 0), ("client_gone", 0)]:
    check("rejected " + reason, value(samples, "prime_server_rejected_total", reason=reason), float(want))
check("histogram count", value(samples, "prime_server_request_duration_seconds_count"), 14.0)
check("+Inf bucket", value(samples, "prime_server_request_duration_seconds_bucket", le="+Inf"), 14.0)
check("in flight", value(samples, "prime_server_requests_in_flight"), 0.0)
check("connections", value(samples, "prime_server_connections"), 2.0)  # the idle one and the scrape's
check("types", (types["prime_server_requests"], types["prime_server_request_duration_seconds"],
                 types["prime_server_requests_in_flight"]), ("counter", "histogram", "gauge"))
for name in ["process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds"]:
    check(name + " present", value(samples, name) is not None, True)

# The scrape itself is counted, after it was written
samples, types = scrape(port)
check("200 GET after a scrape", value(samples, "prime_server_requests_total", code="200", method="GET"), 7.0)
status, head, body = exchange(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
check("HEAD status", status, 200)
check("HEAD body", body, b"")
idle.close()
sys.exit(1 if failures else 0)
EOF

cat >"$tmp/draining.py" <<'EOF'
import sys
exec(open(sys.argv[1]).read())
port = int(sys.argv[2])
samples, types = scrape(port)
check("scrape while draining", value(samples, "prime_server_requests_total", code="200", method="GET") is not None, True)
check("health while draining", exchange(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0], 503)
sys.exit(1 if failures else 0)
EOF

cat >"$tmp/split.py" <<'EOF'
import sys, time
exec(open(sys.argv[1]).read())
port, phase = int(sys.argv[2]), sys.argv[3]

def poll(what, test, limit=10.0):
    # Reports come every second: scrape until test(samples) or the limit
    deadline = time.time() + limit
    while True:
        samples, types = scrape(port)
        if test(samples) or time.time() > deadline:
            return samples
        time.sleep(0.1)

if phase == "abandon":
    # No worker yet: the job waits in the proxy; the client leaves
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
    samples = poll("in flight", lambda x: value(x, "prime_server_requests_in_flight") == 1.0)
    check("in flight while waiting", value(samples, "prime_server_requests_in_flight"), 1.0)
    s.close()
    samples = poll("499", lambda x: value(x, "prime_server_requests_total", code="499", method="GET") == 1.0)
    check("499 counted", value(samples, "prime_server_requests_total", code="499", method="GET"), 1.0)
    check("client_gone", value(samples, "prime_server_rejected_total", reason="client_gone"), 1.0)
    samples = poll("stage up", lambda x: value(x, "prime_server_stage_up", stage="echo") == 1.0)
    check("stage up", value(samples, "prime_server_stage_up", stage="echo"), 1.0)
    check("no workers", (value(samples, "prime_server_stage_workers", stage="echo", state="idle"),
                         value(samples, "prime_server_stage_workers", stage="echo", state="busy")), (0.0, 0.0))
    # The job waits in the ZeroMQ queue in front of the proxy (read only
    # when a worker is free), which no one can see: in flight shows it
    check("queued (not visible yet)", value(samples, "prime_server_stage_queued_jobs", stage="echo"), 0.0)
elif phase == "served":
    samples = poll("workers", lambda x: value(x, "prime_server_stage_workers", stage="echo", state="idle") == 2.0)
    check("2 idle workers", value(samples, "prime_server_stage_workers", stage="echo", state="idle"), 2.0)
    for i in range(10):
        check("GET %d" % i, exchange(port, b"GET /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0], 200)
    samples = poll("jobs", lambda x: value(x, "prime_server_stage_jobs_total", stage="echo") == 11.0)
    check("jobs handed (10 and the abandoned one)", value(samples, "prime_server_stage_jobs_total", stage="echo"), 11.0)
    check("jobs lost", value(samples, "prime_server_stage_jobs_lost_total", stage="echo"), 0.0)
    check("200 GET", value(samples, "prime_server_requests_total", code="200", method="GET") >= 10.0, True)
    check("the other stage is up", value(samples, "prime_server_stage_up", stage="second"), 1.0)
elif phase == "down":
    samples = poll("down", lambda x: value(x, "prime_server_stage_up", stage="echo") == 0.0)
    check("stage down", value(samples, "prime_server_stage_up", stage="echo"), 0.0)
    stale = [k for k in samples if k[0].startswith("prime_server_stage_") and k[0] != "prime_server_stage_up"
             and dict(k[1]).get("stage") == "echo"]
    check("no stale figures", stale, [])
    check("the other stage still up", value(samples, "prime_server_stage_up", stage="second"), 1.0)
sys.exit(1 if failures else 0)
EOF

run_py() {
  local what=$1
  shift
  if timeout 60 "$PROM_PYTHON" "$@" >"$tmp/py.out" 2>&1; then
    pass "$what ($(grep -c '^ok' "$tmp/py.out") checks)"
  else
    fail "$what: $(grep -v '^ok' "$tmp/py.out" | head -n 20)"
  fi
}

# --- one process -------------------------------------------------------------
start echod "$bindir/prime_echod" --metrics /metrics --health-check /health \
  --max-request-size 20000 --header-timeout 0.5 --drain-seconds 5 tcp://127.0.0.1:* 1
wait_line echod "serving" || fail "prime_echod did not start: $(cat "$tmp/echod.err")"
port=$(port_of echod)
run_py "prime_echod: counts per status, method and reason" "$tmp/one_process.py" \
  "$tmp/metrics_check.py" "$port"

# Draining: one connection kept open (a request answered, then idle)
# keeps the drain going
exec 5<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n' >&5
read -r -t 5 line <&5
kill -TERM "${PID[echod]}"
wait_line echod "draining" || fail "prime_echod did not start draining"
run_py "prime_echod: metrics while draining" "$tmp/draining.py" "$tmp/metrics_check.py" "$port"
exec 5>&-
wait_exit echod 6000
[ "$status" = 0 ] && pass "prime_echod drained, exit 0" || fail "prime_echod: exit $status"

# --- split over processes ---------------------------------------------------------
# Two proxies report to the front: "echo" (the one that serves) and
# "second" (a stage of its own, so one scrape shows several).
ipc="ipc://$tmp"
start httpd "$bindir/prime_httpd" --metrics /metrics --drain-seconds 1 tcp://127.0.0.1:* \
  "$ipc/up" "$ipc/loop" "$ipc/int"
wait_line httpd "serving" || fail "prime_httpd did not start: $(cat "$tmp/httpd.err")"
front=$(port_of httpd)
start proxy "$bindir/prime_proxyd" --stage echo --loopback "$ipc/loop" "$ipc/up" "$ipc/down"
start proxy2 "$bindir/prime_proxyd" --stage second --loopback "$ipc/loop" "$ipc/up2" "$ipc/down2"
run_py "split: a client that leaves counts 499; a stage without workers" "$tmp/split.py" \
  "$tmp/metrics_check.py" "$front" abandon
start workers "$bindir/prime_workerd" --stage echo --workers 2 "$ipc/down" - "$ipc/loop" "$ipc/int"
run_py "split: the stage's workers and jobs in the front's scrape" "$tmp/split.py" \
  "$tmp/metrics_check.py" "$front" served
stop proxy 3000
run_py "split: a proxy that stops shows up 0, no stale figures" "$tmp/split.py" \
  "$tmp/metrics_check.py" "$front" down

finish
