#!/usr/bin/env bash
# bench_overload.sh: hardening, overload at 10x capacity against workers that
# sleep.
#
#   bench/bench_overload.sh [BUILD_DIR]     (default: ./build, else .)
#   QUICK=1 bench/bench_overload.sh         10 s of overload instead of 60 s
#   WORKERS=4 SLEEP_MS=100 FACTOR=10 bench/bench_overload.sh
#
# None of the daemons has a delay option, so the workers are Python
# processes on py/prime_worker.py whose stage sleeps SLEEP_MS (checking for
# cancellation every 20 ms) and answers 200: the front and the proxy have the
# CPU to themselves, as with workers waiting on a database. The pipeline:
# prime_httpd --max-in-flight 2*WORKERS --request-timeout 10 -> prime_proxyd
# -> WORKERS sleeping workers, over ipc. Capacity is measured first (wrk with
# 2*WORKERS connections, 3 s); then soak.py overload offers FACTOR x that,
# open loop (fixed send times, a connection per outstanding request, so a
# slow server does not slow the offered load down as wrk's closed loop
# would), for 60 s (QUICK: 10 s), and at once after the stop a probe load at
# half the capacity for 5 s.
# Prints: status counts with latency (p50, p99, max) per status, how many
# 503s carry Retry-After, the peak RSS of prime_httpd and prime_proxyd, and
# the time from the stop until every probe gets 200 (target <= 2 s).
# Installs wrk and python3-zmq with apt-get when missing. Not a test: it
# prints figures. Loopback only; every run is bounded.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/hardening_lib.sh"

pick_build "${1:-}"
WORKERS=${WORKERS:-4}
SLEEP_MS=${SLEEP_MS:-100}
FACTOR=${FACTOR:-10}
OVERLOAD_SECONDS=60
[ "$QUICK" = 1 ] && OVERLOAD_SECONDS=10
MAX_IN_FLIGHT=$((2 * WORKERS))

install_missing wrk:wrk
"$PY" -c 'import zmq' 2>/dev/null || install_missing no-such-command-zmq:python3-zmq
if [ -f "$build/Makefile" ]; then make -C "$build" -s daemons/prime_httpd daemons/prime_proxyd >&2; fi
for b in prime_httpd prime_proxyd; do
  [ -x "$build/daemons/$b" ] || { echo "bench: $build/daemons/$b not built" >&2; exit 1; }
done
ulimit -n 16384 2>/dev/null || true

cat >"$tmp/sleep_worker.py" <<'EOF'
# A stage that sleeps, on the Python worker of docs/PROTOCOL.md.
import signal, sys, time
sys.path.insert(0, sys.argv[1])
import prime_worker as pw

delay = float(sys.argv[2]) / 1000.0

def sleepy(job):
    end = time.monotonic() + delay
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return pw.Reply(200, [("Content-Type", "text/plain")], b"slept\n")
        if job.cancelled():
            return pw.Reply(503, [("Content-Type", "text/plain")], b"cancelled\n")
        time.sleep(min(left, 0.02))

worker = pw.Worker(sys.argv[3], None, sys.argv[4], sys.argv[5], sleepy)
signal.signal(signal.SIGTERM, lambda *_: worker.stop())
signal.signal(signal.SIGINT, lambda *_: worker.stop())
try:
    worker.run(poll_ms=50)
finally:
    worker.close()
EOF

up=ipc://$tmp/up; down=ipc://$tmp/down; loop=ipc://$tmp/loopback; intr=ipc://$tmp/interrupt
port=$(free_port)
launch prime_proxyd "$build/daemons/prime_proxyd" --quiet "$up" "$down"
proxy_pid=$last_pid
launch prime_httpd "$build/daemons/prime_httpd" --quiet --max-in-flight "$MAX_IN_FLIGHT" \
  --request-timeout 10 "tcp://127.0.0.1:$port" "$up" "$loop" "$intr"
httpd_pid=$last_pid
for ((w = 0; w < WORKERS; w++)); do
  launch worker "$PY" "$tmp/sleep_worker.py" "$top/py" "$SLEEP_MS" "$down" "$loop" "$intr"
done
wait_port "$httpd_pid" "$port" || { echo "bench: prime_httpd did not start: $(cat "$tmp"/*.err)" >&2; exit 1; }
url="http://127.0.0.1:$port/sleep"
ready=0
for ((i = 0; i < 100; i++)); do # until all workers answer (bounded)
  if "$PY" - "$url" "$WORKERS" <<'EOF' 2>/dev/null; then ready=1; break; fi
import sys, urllib.request, concurrent.futures as cf
def get(_):
    return urllib.request.urlopen(sys.argv[1], timeout=2).status
with cf.ThreadPoolExecutor(int(sys.argv[2])) as ex:
    sys.exit(0 if all(s == 200 for s in ex.map(get, range(int(sys.argv[2])))) else 1)
EOF
  sleep 0.1
done
[ $ready = 1 ] || { echo "bench: the sleeping pipeline does not answer: $(cat "$tmp"/*.err)" >&2; exit 1; }

# --- capacity, then the overload ------------------------------------------------------
cap=$(wrk_run "$url" 3 "$MAX_IN_FLIGHT" "$tmp/capacity.out")
capacity=$(echo "$cap" | awk '{ print $1 }')
[ "$capacity" != "-" ] || { echo "bench: wrk failed: $(cat "$tmp/capacity.out")" >&2; exit 1; }
rate=$(awk -v c="$capacity" -v f="$FACTOR" 'BEGIN { printf "%.0f", c * f }')
probe_rate=$(awk -v c="$capacity" 'BEGIN { printf "%.1f", c / 2 }')
rss0_httpd=$(rss_kib "$httpd_pid"); rss0_proxy=$(rss_kib "$proxy_pid")
"$PY" "$here/soak.py" overload --port "$port" --pid "$httpd_pid" --pid "$proxy_pid" --path /sleep \
  --rate "$rate" --seconds "$OVERLOAD_SECONDS" --probe-rate "$probe_rate" --probe-seconds 5 \
  --timeout 15 --max-conns 4000 >"$tmp/overload.out" 2>&1 || true
rss1_httpd=$(rss_kib "$httpd_pid"); rss1_proxy=$(rss_kib "$proxy_pid")

# --- figures --------------------------------------------------------------------------
kv() { grep '^RESULT' "$tmp/overload.out" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
grep -q '^RESULT' "$tmp/overload.out" || { echo "bench: the overload driver failed:" >&2; cat "$tmp/overload.out" >&2; exit 1; }
echo
echo "overload: prime_httpd --max-in-flight $MAX_IN_FLIGHT -> prime_proxyd -> $WORKERS Python workers sleeping ${SLEEP_MS} ms, over ipc"
echo "capacity (wrk -c$MAX_IN_FLIGHT, 3 s): $capacity req/s (theory $((WORKERS * 1000 / SLEEP_MS))); offered ${FACTOR}x = $rate req/s open loop for ${OVERLOAD_SECONDS} s"
echo
grep -v '^RESULT' "$tmp/overload.out"
echo "RSS MiB before -> after: prime_httpd $(mib "$rss0_httpd") -> $(mib "$rss1_httpd"), prime_proxyd $(mib "$rss0_proxy") -> $(mib "$rss1_proxy")"
echo
s503=$(kv s503); offered=$(kv offered); retry=$(kv retry_after); p99_503=$(kv p99_503_ms)
recovery=$(kv recovery_s); errors=$(kv errors); peak=$(kv peak_rss_kib)
met() { if [ "$1" = 1 ]; then echo met; else echo "NOT met"; fi; }
echo "figure                                   measured                 target"
printf "%-40s %-24s %s\n" "excess answered 503" "$s503 of $offered ($(awk -v a="$s503" -v b="$offered" 'BEGIN { printf "%.0f%%", b ? 100 * a / b : 0 }'))" "the excess gets 503"
printf "%-40s %-24s %s\n" "503s with Retry-After" "$retry of $s503" "all ($(met "$([ "$retry" = "$s503" ] && [ "$s503" -gt 0 ] && echo 1)"))"
printf "%-40s %-24s %s\n" "503 latency p50 / p99 / max" "$(kv p50_503_ms) / $p99_503 / $(kv max_503_ms) ms" "quickly: p99 under one job, ${SLEEP_MS} ms ($(met "$(awk -v p="$p99_503" -v s="$SLEEP_MS" 'BEGIN { print (p != "-" && p < s) }')"))"
printf "%-40s %-24s %s\n" "  (the driver's own lag, p99)" "$(kv p99_lag_ms) ms" "part of every latency above"
printf "%-40s %-24s %s\n" "200 latency p50 / p99" "$(kv p50_200_ms) / $(kv p99_200_ms) ms" "bounded by max-in-flight / workers jobs"
printf "%-40s %-24s %s\n" "errors and timeouts" "$errors" "0 ($(met "$([ "$errors" = 0 ] && echo 1)"))"
printf "%-40s %-24s %s\n" "peak RSS (front or proxy)" "$(mib "$peak") MiB" "bounded ($(met "$(awk -v p="$peak" 'BEGIN { print (p < 256 * 1024) }')"), < 256 MiB)"
printf "%-40s %-24s %s\n" "full service after the stop" "${recovery} s" "<= 2 s ($(met "$(awk -v r="$recovery" 'BEGIN { print (r != "never" && r <= 2) }')"))"
