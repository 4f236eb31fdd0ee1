#!/usr/bin/env bash
# bench_slow_readers.sh: hardening, slow readers, against prime_echod (its
# answers grow with the request, so a reader that does not keep up makes the
# daemon hold the most).
#
#   bench/bench_slow_readers.sh [BUILD_DIR]    (default: ./build, else .)
#   QUICK=1 bench/bench_slow_readers.sh        a 30 s slowhttptest phase instead of 90 s
#   SLOW_CONNS=1000 SEND_TIMEOUT=10 NONREADER_BOUND=75 bench/bench_slow_readers.sh
#
# The daemon runs with --send-timeout SEND_TIMEOUT (default 10 s here, so the
# figure is not confused with the 60 s idle timeout; the daemons' default is
# 60 s): a TCP client that takes none of our bytes for that long is cut off.
#
# Phase 1: slowhttptest -X (slow read: receive window 1-512 bytes, 32 bytes
# read a second) with SLOW_CONNS connections, each pipelining the same GET 10
# times (slowhttptest's maximum), while wrk -t1 -c32 runs
# alongside; wrk p99 is compared with an idle run. The daemon's VmRSS and
# open fds are sampled every second (target: RSS < 256 MiB).
# Phase 2 (soak.py nonreader, NONREADER_BOUND s, default 75: longer than the
# server's 60 s idle timeout): clients that send requests and never read,
# with a 4 KiB receive buffer. Small: one small answer each (it fits in the
# kernel's buffers, so nothing waits to be sent and the send timeout does not
# apply; the idle timeout ends them). Large: 32 pipelined
# POSTs of 256 KiB each (8 MiB of answers each). Whether and when the daemon
# lets go of each socket (the socket's inode leaves /proc/PID/fd), its peak
# RSS, and a well-behaved client's latency meanwhile.
# Installs slowhttptest and wrk with apt-get when missing. Not a test: it
# prints figures. Loopback only; every run is bounded.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/hardening_lib.sh"

pick_build "${1:-}"
SLOW_CONNS=${SLOW_CONNS:-1000}
SLOW_SECONDS=90
WRK_SECONDS=15
if [ "$QUICK" = 1 ]; then SLOW_SECONDS=30; WRK_SECONDS=5; fi
NONREADER_BOUND=${NONREADER_BOUND:-75}
SEND_TIMEOUT=${SEND_TIMEOUT:-10}
RSS_TARGET_KIB=$((256 * 1024))
WORKERS=2

install_missing slowhttptest:slowhttptest wrk:wrk
if [ -f "$build/Makefile" ]; then make -C "$build" -s daemons/prime_echod >&2; fi
[ -x "$build/daemons/prime_echod" ] || { echo "bench: $build/daemons/prime_echod not built" >&2; exit 1; }
ulimit -n 16384 2>/dev/null || true

port=$(free_port)
launch prime_echod "$build/daemons/prime_echod" --quiet --send-timeout "$SEND_TIMEOUT" \
  "tcp://127.0.0.1:$port" $WORKERS
pid=$last_pid
wait_port "$pid" "$port" || { echo "bench: prime_echod did not start: $(cat "$tmp/prime_echod.err")" >&2; exit 1; }
url="http://127.0.0.1:$port/slow/read?pad=0123456789abcdef0123456789abcdef"
base_fds=$(fds_of "$pid")
rss_start=$(rss_kib "$pid")

# --- phase 1: slowhttptest -X with wrk alongside ----------------------------------
wrk_run "$url" 2 32 "$tmp/warm.out" >/dev/null
idle=$(wrk_run "$url" "$WRK_SECONDS" 32 "$tmp/idle.out")
sampler "$pid" "$tmp/p1.samples"
p1_sampler=$sampler_pid
(cd "$tmp" && exec timeout $((SLOW_SECONDS + 30)) slowhttptest -X -c "$SLOW_CONNS" -r 200 -k 10 \
  -n 1 -w 1 -y 512 -z 32 -l "$SLOW_SECONDS" -p 3 -g -o "$tmp/slowread" -u "$url" \
  >"$tmp/slowread.out" 2>&1) &
slow_pid=$!
pids+=("$slow_pid")
for ((i = 0; i < 60; i++)); do # until the connections are up (bounded)
  [ $(($(fds_of "$pid") - base_fds)) -ge $((SLOW_CONNS * 9 / 10)) ] && break
  sleep 0.5
done
held_at_wrk=$(($(fds_of "$pid") - base_fds))
attack=$(wrk_run "$url" "$WRK_SECONDS" 32 "$tmp/attack.out")
wait "$slow_pid" 2>/dev/null || true
kill "$p1_sampler" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do [ "$(fds_of "$pid")" -le $((base_fds + 2)) ] && break; sleep 0.1; done
p1_fds_after=$(fds_of "$pid")

# --- phase 2: clients that never read -----------------------------------------------
rss_p2=$(rss_kib "$pid")
sampler "$pid" "$tmp/p2.samples"
p2_sampler=$sampler_pid
"$PY" "$here/soak.py" nonreader --port "$port" --pid "$pid" --clients 4 --pipeline 1 --body 100 \
  --bound "$NONREADER_BOUND" >"$tmp/nr_small.out" 2>&1 &
nr_small=$!
pids+=("$nr_small")
"$PY" "$here/soak.py" nonreader --port "$port" --pid "$pid" --clients 8 --pipeline 32 \
  --body $((256 * 1024)) --bound "$NONREADER_BOUND" >"$tmp/nr_large.out" 2>&1 || true
wait "$nr_small" 2>/dev/null || true
kill "$p2_sampler" 2>/dev/null || true

# --- figures --------------------------------------------------------------------
field() { echo "$1" | awk -v c="$2" '{ print $c }'; }
kv() { grep '^RESULT' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
peak() { awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$1"; }
maxfds() { awk -v b="$2" 'BEGIN { m = 0 } $3 - b > m { m = $3 - b } END { print m }' "$1"; }

csv=$tmp/slowread.csv
slow_summary=$(awk -F, 'NR > 1 { if ($4 > max) max = $4; if ($2 > 0 && first == "") first = $1
                                 closed = $2; last = $1; if ($5 == 0) unavail++ }
                        END { printf "%d %s %d %d %d", max, first == "" ? "-" : first, closed, last, unavail + 0 }' "$csv" 2>/dev/null || echo "0 - 0 0 0")
exit_status=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/slowread.out" | grep -o 'Exit status:.*' | head -n 1 || true)
[ -f "$csv" ] || echo "bench: slowhttptest failed: $(sed 's/\x1b\[[0-9;]*m//g' "$tmp/slowread.out" | tail -n 3)" >&2
p1_peak=$(peak "$tmp/p1.samples")
p2_peak=$(peak "$tmp/p2.samples")

echo
echo "slow readers against prime_echod ($WORKERS workers, --send-timeout $SEND_TIMEOUT), loopback"
echo
echo "phase 1: slowhttptest -X -c $SLOW_CONNS -k 10 -w 1 -y 512 -z 32 -n 1 for $SLOW_SECONDS s; wrk -t1 -c32 ${WRK_SECONDS} s alongside"
printf "  %-44s %s\n" "connections held by the daemon (peak, incl. wrk 32)" "$(maxfds "$tmp/p1.samples" "$base_fds") ($held_at_wrk when wrk started)"
printf "  %-44s %s\n" "slowhttptest: connected max, closed, first close s" "$(field "$slow_summary" 1), $(field "$slow_summary" 3) by ${SLOW_SECONDS} s, $(field "$slow_summary" 2)"
printf "  %-44s %s\n" "slowhttptest: seconds 'service unavailable'" "$(field "$slow_summary" 5) ($exit_status)"
printf "  %-44s %s\n" "daemon fds: idle, after phase 1" "$base_fds, $p1_fds_after"
printf "  %-44s %s\n" "daemon RSS MiB: idle, after phase 1" "$(mib "$rss_start"), $(mib "$rss_p2")"
printf "  %-44s %8s %10s %8s %8s %7s\n" "wrk" "req/s" "p50 ms" "p99 ms" "non-2xx" "errors"
printf "  %-44s %8s %10s %8s %8s %7s\n" "  idle" $idle
printf "  %-44s %8s %10s %8s %8s %7s\n" "  with the slow readers" $attack
echo
echo "phase 2: clients that never read (4 KiB receive buffer), watched $NONREADER_BOUND s"
echo "  small answers:"; grep -v '^RESULT' "$tmp/nr_small.out" | sed 's/^/    /'
echo "  large answers:"; grep -v '^RESULT' "$tmp/nr_large.out" | sed 's/^/    /'
echo
echo "figure                                          measured              target"
printf "%-47s %-21s %s\n" "daemon peak RSS, phase 1 (slowhttptest -X)" "$(mib "$p1_peak") MiB" "< 256 MiB ($([ "$p1_peak" -lt $RSS_TARGET_KIB ] && echo met || echo NOT met))"
printf "%-47s %-21s %s\n" "daemon peak RSS, phase 2 (8 large non-readers)" "$(mib "$p2_peak") MiB" "< 256 MiB ($([ "$p2_peak" -lt $RSS_TARGET_KIB ] && echo met || echo NOT met))"
per_client=$(awk -v p="$p2_peak" -v s="$rss_p2" 'BEGIN { printf "%.1f", (p - s) / 8 / 1024 }')
printf "%-47s %-21s %s\n" "  RSS per large non-reader" "$per_client MiB" "(so about $(awk -v c="$per_client" 'BEGIN { if (c > 0) printf "%d", 256 / c; else print "-" }') of them reach 256 MiB)"
small_dropped=$(kv "$tmp/nr_small.out" dropped); small_s=$(kv "$tmp/nr_small.out" drop_max_s)
large_dropped=$(kv "$tmp/nr_large.out" dropped); large_s=$(kv "$tmp/nr_large.out" drop_max_s)
printf "%-47s %-21s %s\n" "non-reader with a small answer disconnected" "$small_dropped of 4, by ${small_s} s" "nothing waits to be sent: at the 60 s idle timeout"
printf "%-47s %-21s %s\n" "non-reader with 8 MiB of answers disconnected" "$large_dropped of 8, by ${large_s} s" "after the ${SEND_TIMEOUT} s send timeout ($([ "$large_dropped" = 8 ] && echo met || echo NOT met))"
printf "%-47s %-21s %s\n" "other clients, phase 1: wrk p99 idle -> slow" "$(field "$idle" 3) -> $(field "$attack" 3) ms" "unaffected; errors $(($(field "$attack" 4) + $(field "$attack" 5)))"
printf "%-47s %-21s %s\n" "other clients, phase 2: failed, p99" "$(kv "$tmp/nr_large.out" good_failed), $(kv "$tmp/nr_large.out" good_p99_ms) ms" "0 failed"
