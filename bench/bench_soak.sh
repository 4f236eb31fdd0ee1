#!/usr/bin/env bash
# bench_soak.sh: hardening, the soak test. prime_echod under a fixed-rate mix
# for DURATION seconds (default 600; QUICK=1: 60), driven by soak.py soak:
# keep-alive GET, POST with Content-Length, POST chunked, pipelined batches
# of 2-8 requests, Connection: close on a fresh connection; every answer is
# checked against its own request (a nonce in the target, the X-Nonce header
# and the body, all echoed back).
#
#   bench/bench_soak.sh [BUILD_DIR]        (default: ./build, else .)
#   DURATION=3600 RATE=300 bench/bench_soak.sh
#   WARMUP=120 MAX_DRIFT=5 bench/bench_soak.sh
#   QUICK=1 bench/bench_soak.sh            60 s
#
# Prints requests lost, mismatched and answered 5xx (target 0 each), the
# daemon's open fds at the start and the end (target: back to the start) and
# its RSS (target: drift under 5%). The RSS first climbs to a plateau while
# the daemon warms up (pages of code touched, malloc arenas, libzmq's
# per-connection pipes and buffers at the run's peak of connections), so the
# judged drift leaves the warm-up out: the average over the minute after the
# first WARMUP seconds (default a tenth of DURATION) against the average over
# the last minute. Printed next to it, not judged: the raw first-minute ->
# last-minute drift, the RSS every tenth of the run and the least-squares
# slope of RSS after the warm-up in KiB/min, so that a slow leak shows even
# when the two windows happen to agree. Exit 1 when any request was lost,
# mismatched or got a 5xx, the fds are not back, or the drift after the
# warm-up is not under MAX_DRIFT (default 5) percent.
# tests/test_soak_short.sh runs the same driver for 55 s under make check.
# Loopback only; bounded by DURATION plus about 30 s.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/hardening_lib.sh"

pick_build "${1:-}"
DURATION=${DURATION:-600}
[ "$QUICK" = 1 ] && DURATION=60
RATE=${RATE:-200}
WORKERS=${WORKERS:-2}
MAX_DRIFT=${MAX_DRIFT:-5}
warmup_arg=()
[ -n "${WARMUP:-}" ] && warmup_arg=(--warmup "$WARMUP")

if [ -f "$build/Makefile" ]; then make -C "$build" -s daemons/prime_echod >&2; fi
[ -x "$build/daemons/prime_echod" ] || { echo "bench: $build/daemons/prime_echod not built" >&2; exit 1; }

port=$(free_port)
launch prime_echod "$build/daemons/prime_echod" --quiet "tcp://127.0.0.1:$port" "$WORKERS"
pid=$last_pid
if ! wait_port "$pid" "$port"; then
  echo "bench: prime_echod did not start: $(cat "$tmp/prime_echod.err")" >&2
  exit 1
fi
sleep 0.2 # wait_port's own connection has gone before the fds baseline

echo "soak: prime_echod ($WORKERS workers), $RATE operations/s for $DURATION s, loopback"
rc=0
# in the background so that the trap stops it too if this script is stopped
timeout $((DURATION + 120)) "$PY" "$here/soak.py" soak --port "$port" --pid "$pid" \
  --seconds "$DURATION" --rate "$RATE" --strict-fds --max-drift "$MAX_DRIFT" \
  "${warmup_arg[@]}" &
driver=$!
pids+=("$driver")
wait "$driver" || rc=$?
kill -0 "$pid" 2>/dev/null || { echo "bench: prime_echod died: $(cat "$tmp/prime_echod.err")"; rc=1; }
exit $rc
