#!/usr/bin/env bash
# bench_slowloris.sh: hardening, slow headers. About 1000 slowloris
# connections (slowhttptest -H) held against prime_serverd while wrk -c32
# runs, and the same against nginx in the same run for the side-by-side.
#
#   bench/bench_slowloris.sh [BUILD_DIR]     (default: ./build, else .)
#   QUICK=1 bench/bench_slowloris.sh         1 wrk run of 5 s per figure
#   RUNS=5 SECONDS_PER_RUN=20 SLOW_CONNS=1000 bench/bench_slowloris.sh
#
# prime_serverd closes a connection that has not sent a complete header
# section HEADER_TIMEOUT (10) s after it started (the library default; the
# daemon has no option for it), so slowhttptest's connections do not live
# longer than that, and slowhttptest does not replace closed ones. The
# attack is therefore a train of waves: SLOW_CONNS/2 new connections every
# HEADER_TIMEOUT/2 s, which keeps about SLOW_CONNS held at any time (the
# script counts them: the server's open fds minus its idle baseline). nginx
# gets client_header_timeout HEADER_TIMEOUT so both face the same attack.
#
# Prints, per server: connections held during the wrk runs, wrk p99 idle
# and under attack and their ratio (target <= 3x, set from nginx's 2.6x),
# req/s, wrk errors and non-2xx, slowhttptest's "service available"
# verdicts; then how the slow connections ended: per slowhttptest wave, the
# seconds after its start at which the server closed them, and a sample of
# 20 slow clients of our own that records 408 or a silent close.
# Installs slowhttptest, wrk and nginx-light with apt-get when missing.
# Not a test: it prints figures. Loopback only; every run is bounded.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/hardening_lib.sh"

pick_build "${1:-}"
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
if [ "$QUICK" = 1 ]; then RUNS=1; SECONDS_PER_RUN=5; fi
SLOW_CONNS=${SLOW_CONNS:-1000}
HEADER_TIMEOUT=10
WAVE=$((SLOW_CONNS / 2))
WAVE_PERIOD=$((HEADER_TIMEOUT / 2))
WORKERS=2
PATH_Q="/is_prime?possible_prime=7"

install_missing slowhttptest:slowhttptest wrk:wrk nginx:nginx-light
if [ -f "$build/Makefile" ]; then make -C "$build" -s daemons/prime_serverd >&2; fi
[ -x "$build/daemons/prime_serverd" ] || { echo "bench: $build/daemons/prime_serverd not built" >&2; exit 1; }
ulimit -n 16384 2>/dev/null || true

# --- servers -------------------------------------------------------------------
c_port=$(free_port)
launch prime_serverd "$build/daemons/prime_serverd" --quiet "tcp://127.0.0.1:$c_port" $WORKERS
c_pid=$last_pid
wait_port "$c_pid" "$c_port" || { echo "bench: prime_serverd did not start: $(cat "$tmp/prime_serverd.err")" >&2; exit 1; }
start_nginx "$tmp/nginx" "client_header_timeout ${HEADER_TIMEOUT}s; keepalive_timeout 60s;"

# --- one server: idle wrk runs, then the same under attack ---------------------
# measure NAME PORT FD_PID: fills result lines in $tmp/NAME.*
measure() {
  local name=$1 port=$2 fdpid=$3 r url="http://127.0.0.1:$2$PATH_Q"
  local dir="$tmp/$name"
  mkdir -p "$dir"
  wrk_run "$url" 2 32 "$dir/warm.out" >/dev/null
  for ((r = 0; r < RUNS; r++)); do wrk_run "$url" "$SECONDS_PER_RUN" 32 "$dir/idle$r.out"; done >"$dir/idle"
  local base
  base=$(fds_of "$fdpid")

  # the waves, bounded: enough for the warm-up and the wrk runs
  local waves=$(((RUNS * (SECONDS_PER_RUN + 2) + 20) / WAVE_PERIOD + 2))
  (
    for ((k = 0; k < waves; k++)); do
      (cd "$dir" && exec timeout 60 slowhttptest -H -c "$WAVE" -r 200 -i 3 -l 40 -p 3 -g \
        -o "$dir/wave$k" -u "$url" >"$dir/wave$k.out" 2>&1) &
      echo $! >>"$dir/wave.pids"
      sleep "$WAVE_PERIOD"
    done
  ) &
  local waves_pid=$!
  pids+=("$waves_pid")
  "$PY" "$here/soak.py" slowloris --port "$port" --path "$PATH_Q" --clients 20 --interval 2 \
    --bound $((HEADER_TIMEOUT * 3)) >"$dir/sample.out" 2>&1 &
  local sample_pid=$!
  pids+=("$sample_pid")

  # until about SLOW_CONNS are held (bounded)
  local i held=0
  for ((i = 0; i < 40; i++)); do
    held=$(($(fds_of "$fdpid") - base))
    [ "$held" -ge $((SLOW_CONNS * 9 / 10)) ] && break
    sleep 0.5
  done
  sampler "$fdpid" "$dir/held"
  local s_pid=$sampler_pid
  for ((r = 0; r < RUNS; r++)); do wrk_run "$url" "$SECONDS_PER_RUN" 32 "$dir/attack$r.out"; done >"$dir/attack"
  kill "$s_pid" 2>/dev/null || true
  kill "$waves_pid" 2>/dev/null || true
  wait "$sample_pid" 2>/dev/null || true
  # no new waves; the last ones run to their end, so every wave says how
  # its connections ended (bounded: HEADER_TIMEOUT + 10 s, then killed)
  local p
  for ((i = 0; i < (HEADER_TIMEOUT + 10) * 10; i++)); do
    local alive=0
    for p in $(cat "$dir/wave.pids"); do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in $(cat "$dir/wave.pids"); do kill -TERM "$p" 2>/dev/null || true; done
  for p in $(cat "$dir/wave.pids"); do
    for ((i = 0; i < 40; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
  done
  # the server forgets the killed ones; wait for its baseline (bounded)
  for ((i = 0; i < 100; i++)); do
    [ "$(fds_of "$fdpid")" -le $((base + 2)) ] && break
    sleep 0.1
  done
  awk -v base="$base" '{ h = $3 - base; if (min == "" || h < min) min = h; if (h > max) max = h }
       END { printf "%d-%d\n", min, max }' "$dir/held" >"$dir/held.range"
}

measure prime_serverd "$c_port" "$c_pid"
measure nginx "$ng_port" "$ng_worker"

# --- figures -------------------------------------------------------------------
col() { awk -v c="$2" '{ print $c }' "$1" | median; }
sum_col() { awk -v c="$2" '{ s += $c } END { print s + 0 }' "$1"; }

# per wave that ended by itself: "first_close_s all_closed_s closed held unavailable_s";
# slowhttptest's last CSV row is written before the last closes, so "all
# closed" comes from its exit status ("No open connections left").
waves_summary() {
  local dir=$1 f out
  for f in "$dir"/wave*.csv; do
    [ -f "$f" ] || continue
    out=${f%.csv}.out
    grep -q "Test ended" "$out" 2>/dev/null || continue
    awk -F, -v all_closed="$(grep -c 'No open connections left' "$out")" '
         NR > 1 { if ($2 > 0 && first == "") first = $1
                  if ($4 > max) max = $4
                  closed = $2; last = $1
                  if ($5 == 0) unavail++ }
         END { if (all_closed) { closed = max; all = last + 1 } else all = "-"
               printf "%s %s %d %d %d\n", first == "" ? "-" : first, all, closed, max, unavail + 0 }' "$f"
  done
}

echo
echo "slowloris: about $SLOW_CONNS slow-header connections (slowhttptest -H -i 3, waves of $WAVE every ${WAVE_PERIOD} s),"
echo "wrk -t1 -c32 --latency ${SECONDS_PER_RUN} s x $RUNS per figure (median), $PATH_Q; nginx: worker_processes 1,"
echo "return 200, client_header_timeout ${HEADER_TIMEOUT}s (prime_serverd: the library's fixed 10 s header timeout)"
echo
printf "%-14s %12s %10s %10s %7s %8s %11s %11s %8s %7s\n" server "held(min-max)" "idle p99" "attack p99" ratio target \
  "idle req/s" "attack r/s" "non-2xx" errors
for name in prime_serverd nginx; do
  d=$tmp/$name
  ip99=$(col "$d/idle" 3); ap99=$(col "$d/attack" 3)
  printf "%-14s %12s %8sms %8sms %6sx %8s %11s %11s %8s %7s\n" "$name" "$(cat "$d/held.range")" "$ip99" "$ap99" \
    "$(ratio "$ap99" "$ip99")" "<= 3x" "$(col "$d/idle" 1)" "$(col "$d/attack" 1)" \
    "$(sum_col "$d/attack" 4)" "$(sum_col "$d/attack" 5)"
done
echo
echo "how the slow connections ended (slowhttptest waves that ran to their end; seconds after the wave started):"
printf "%-14s %6s %12s %14s %16s %18s\n" server waves "closed/held" "first close s" "all closed by s" "service unavail s"
for name in prime_serverd nginx; do
  waves_summary "$tmp/$name" >"$tmp/$name/waves"
  n=$(wc -l <"$tmp/$name/waves")
  printf "%-14s %6s %12s %14s %16s %18s\n" "$name" "$n" \
    "$(awk '{ c += $3; t += $4 } END { printf "%d/%d", c, t }' "$tmp/$name/waves")" \
    "$(awk '$1 != "-" { print $1 }' "$tmp/$name/waves" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { if (NR) print a "-" b; else print "-" }')" \
    "$(awk '$2 != "-" { print $2 }' "$tmp/$name/waves" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { if (NR) print a "-" b; else print "-" }')" \
    "$(awk '{ s += $5 } END { print s + 0 }' "$tmp/$name/waves")"
done
echo
for name in prime_serverd nginx; do
  echo "$name, 20 slow clients of our own (a header line every 2 s, never the blank line):"
  grep -v '^RESULT' "$tmp/$name/sample.out" | sed 's/^/  /'
done
echo
ratio_c=$(ratio "$(col "$tmp/prime_serverd/attack" 3)" "$(col "$tmp/prime_serverd/idle" 3)")
ratio_n=$(ratio "$(col "$tmp/nginx/attack" 3)" "$(col "$tmp/nginx/idle" 3)")
verdict=$(awk -v r="$ratio_c" 'BEGIN { if (r != "-" && r <= 3) print "met"; else print "NOT met" }')
echo "target: wrk p99 under attack <= 3x idle: prime_serverd ${ratio_c}x ($verdict), nginx ${ratio_n}x in the same run"
avail=$(awk '{ s += $5 } END { print s + 0 }' "$tmp/prime_serverd/waves")
errs=$(($(sum_col "$tmp/prime_serverd/attack" 4) + $(sum_col "$tmp/prime_serverd/attack" 5)))
echo "target: service stays available: wrk non-2xx + errors under attack $errs, slowhttptest 'service unavailable' seconds $avail ($([ "$errs" = 0 ] && [ "$avail" = 0 ] && echo met || echo NOT met))"
