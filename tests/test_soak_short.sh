#!/usr/bin/env bash
# test_soak_short.sh: the 1-minute soak under make check. The same
# driver as bench/bench_soak.sh (bench/soak.py soak) against prime_echod for
# SOAK_SECONDS (default 55, so the test stays under 70 s) at SOAK_RATE
# (default 100) operations/s: keep-alive GET, POST with Content-Length, POST
# chunked, pipelined batches, Connection: close, every answer checked against
# its own request. Fails on any lost, mismatched or 5xx answer, or when the
# daemon's open fds are not back to their baseline at the end. The RSS
# figures (drift after a warm-up of a tenth of the run, the raw drift, the
# slope) are printed, not judged: within a minute the RSS is still climbing
# to the plateau set by the run's peak of open connections, which a stall
# of a loaded machine raises (bench_soak.sh judges the drift over 10 minutes).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$here")/bench/hardening_lib.sh"
bindir=${SOAK_BINDIR:-./daemons}
SOAK_SECONDS=${SOAK_SECONDS:-55}
SOAK_RATE=${SOAK_RATE:-100}

if [ ! -x "$bindir/prime_echod" ]; then
  echo "test_soak_short: $bindir/prime_echod is not built" >&2
  exit 99
fi
command -v "$PY" >/dev/null 2>&1 || { echo "test_soak_short: no python3, skipped"; exit 77; }

for ((try = 0; try < 5; try++)); do # a lost race for the port exits 1: another port
  port=$(free_port)
  launch prime_echod "$bindir/prime_echod" --quiet "tcp://127.0.0.1:$port" 2
  pid=$last_pid
  wait_port "$pid" "$port" && break
  pid=
done
[ -n "$pid" ] || { echo "FAIL: prime_echod did not start: $(cat "$tmp/prime_echod.err")"; exit 1; }
sleep 0.2 # wait_port's own connection has gone before the fds baseline

rc=0
# in the background so that the trap stops it too if the test is stopped
timeout $((SOAK_SECONDS + 40)) "$PY" "$top/bench/soak.py" soak --port "$port" --pid "$pid" \
  --seconds "$SOAK_SECONDS" --rate "$SOAK_RATE" --timeout 10 --strict-fds --seed 6 &
driver=$!
pids+=("$driver")
wait "$driver" || rc=$?
if ! kill -0 "$pid" 2>/dev/null; then
  echo "FAIL: prime_echod died: $(cat "$tmp/prime_echod.err")"
  exit 1
fi
if [ $rc -ne 0 ]; then
  echo "FAIL: lost, mismatched or 5xx answers, or fds not back to the baseline (see above)"
  exit 1
fi
echo "ok: soak of $SOAK_SECONDS s, every answer correct, fds back to the baseline"
exit 0
