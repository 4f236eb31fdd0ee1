#!/usr/bin/env bash
# bench_split.sh: the prime service split into one process per component
# (prime_httpd, 2 x prime_proxyd, prime_workerd parse, prime_workerd
# compute) over ipc and over tcp, against the one-process prime_serverd,
# under the same wrk workload as bench_prime_serverd.sh.
#
#   bench/bench_split.sh [BUILD_DIR]      (default: ./build, else .)
#   QUICK=1 bench/bench_split.sh          3 s runs instead of 10 s
#   RUNS=5 WORKERS=1 bench/bench_split.sh
#   WORKERS_LIST="1 2 4" bench/bench_split.sh   the table for each count
#   SMOKE=1 bench/bench_split.sh          1 s runs, 1 run: proves the output
#                                         (CSV, SVG), its numbers mean nothing
#   WORKER_CREDIT=1 bench/bench_split.sh      --worker-credit for every worker
#                                         (default: each daemon's own default)
#   MIX=0 bench/bench_split.sh            leave out the mixed load
#   CONFIGS="one ipc ipc3" bench/bench_split.sh   only these configurations
#                                         (default: one ipc tcp curve ipc3 tcp3)
#
# ipc3 and tcp3 are the same split with each stage in one process:
# prime_workerd --proxy runs the stage's proxy beside its workers (3
# processes: prime_httpd and one per stage).
#
# Cheap (possible_prime=7) and expensive (possible_prime=32416190071)
# requests, wrk -t1 -c64 -d10s --latency, WORKERS (default 2) workers per
# stage everywhere; each figure the median of RUNS (default 3) runs, after
# a 1 s warm-up, the configurations' runs interleaved. Prints req/s, p50 and p99 (ms), and each split figure as a
# ratio of the one-process one. The target: split over ipc >= 60% of
# the one-process req/s on cheap requests. The "tcp + CURVE" row is the
# tcp split with --keys (every backend link CurveZMQ-secured, keys from
# prime_keygen), compared with plain tcp in the same run: target, CURVE
# costs at most 20% of the plain split's cheap req/s and 5% of the
# expensive. The mixed load: 1 request in 10 expensive (wrk -c63, a Lua
# script), while a second wrk -c1 asks only cheap requests: its p50 and p99
# are what a cheap request waits beside the expensive ones (a cheap job must
# not sit behind an expensive one while another worker is free). Loopback only. Installs wrk with
# apt-get when missing. Not a test: it prints numbers; every run is bounded.
#
# Writes each table as CSV and plots (gnuplot, SVG) to OUT_DIR (default
# BUILD_DIR/bench-results, see bench_out.sh): bench_split_runs.csv (config,
# workers, load, req/s, p50, p99, ratio to one process),
# bench_split_compare.svg (one process, split over ipc and over tcp, req/s
# cheap and expensive), and against workers per stage
# bench_split_{cheap,expensive}_rps.svg and bench_split_cheap_p99.svg.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${1:-}
if [ -z "$build" ]; then
  if [ -x "$top/build/daemons/prime_httpd" ]; then build="$top/build"; else build=.; fi
fi
build=$(cd "$build" && pwd)
QUICK=${QUICK:-0}
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-2}
WORKERS_LIST=${WORKERS_LIST:-$WORKERS}
SECONDS_PER_RUN=10
[ "$QUICK" = 1 ] && SECONDS_PER_RUN=3
if [ "${SMOKE:-0}" = 1 ]; then SECONDS_PER_RUN=1; RUNS=1; fi
CHEAP="/is_prime?possible_prime=7"
EXPENSIVE="/is_prime?possible_prime=32416190071"
MIX=${MIX:-1}
WORKER_CREDIT=${WORKER_CREDIT:-}
credit_args=()
[ -n "$WORKER_CREDIT" ] && credit_args=(--worker-credit "$WORKER_CREDIT")

if ! command -v wrk >/dev/null; then
  echo "bench_split: installing wrk" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q wrk >&2
fi
# shellcheck source-path=SCRIPTDIR source=bench_out.sh
source "$here/bench_out.sh"
# shellcheck source-path=SCRIPTDIR source=wait_200.sh
source "$here/wait_200.sh"
# shellcheck source-path=SCRIPTDIR source=split_endpoints.sh
source "$here/split_endpoints.sh"
bench_out_init bench_split "$build"
if [ -f "$build/Makefile" ]; then
  make -C "$build" -s daemons/prime_serverd daemons/prime_httpd daemons/prime_proxyd daemons/prime_workerd \
    daemons/prime_keygen >&2
fi
for b in prime_serverd prime_httpd prime_proxyd prime_workerd prime_keygen; do
  [ -x "$build/daemons/$b" ] || { echo "bench_split: $build/daemons/$b not built" >&2; exit 1; }
done
BIN=$build/daemons

tmp=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

launch() { # command... (stderr to $tmp/daemons.err)
  "$@" 2>>"$tmp/daemons.err" &
  pids+=("$!")
}

stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

# start CONFIG: the service; sets url[CONFIG]
declare -A url
start() {
  local config=$1 port
  port=$(free_port)
  url[$config]="http://127.0.0.1:$port"
  case "$config" in
    one)
      launch "$BIN/prime_serverd" --quiet "${credit_args[@]}" "tcp://127.0.0.1:$port" "$WORKERS"
      ;;
    ipc3 | tcp3)
      # Each stage one process: prime_workerd --proxy runs the stage's proxy
      # beside its workers
      local parse_up parse_down compute_up compute_down loopback interrupt
      split_endpoints "${config%3}" t
      launch "$BIN/prime_httpd" --quiet "tcp://127.0.0.1:$port" "$parse_up" "$loopback" "$interrupt"
      launch "$BIN/prime_workerd" --quiet --stage compute "${credit_args[@]}" --workers "$WORKERS" \
        --proxy "$compute_up,$compute_down" - - "$loopback" "$interrupt"
      sleep 0.2 # the compute proxy bound before parse forwards to it
      launch "$BIN/prime_workerd" --quiet --stage parse "${credit_args[@]}" --workers "$WORKERS" \
        --proxy "$parse_up,$parse_down" - "$compute_up" "$loopback" "$interrupt"
      ;;
    ipc | tcp | curve)
      local parse_up parse_down compute_up compute_down loopback interrupt
      local -a keys=() worker_keys=()
      if [ "$config" = curve ]; then
        [ -d "$tmp/keys" ] || "$BIN/prime_keygen" "$tmp/keys" server worker >/dev/null
        keys=(--keys "$tmp/keys") worker_keys=(--keys "$tmp/keys" --key worker)
      fi
      split_endpoints "$config" s
      launch "$BIN/prime_httpd" --quiet "${keys[@]}" "tcp://127.0.0.1:$port" "$parse_up" "$loopback" \
        "$interrupt"
      launch "$BIN/prime_proxyd" --quiet "${keys[@]}" "$parse_up" "$parse_down"
      launch "$BIN/prime_proxyd" --quiet "${keys[@]}" "$compute_up" "$compute_down"
      sleep 0.2 # binding sides first (a worker's first forward would wait)
      launch "$BIN/prime_workerd" --quiet "${worker_keys[@]}" --stage parse "${credit_args[@]}" --workers "$WORKERS" \
        "$parse_down" "$compute_up" "$loopback" "$interrupt"
      launch "$BIN/prime_workerd" --quiet "${worker_keys[@]}" --stage compute "${credit_args[@]}" --workers "$WORKERS" \
        "$compute_down" - "$loopback" "$interrupt"
      ;;
  esac
  wait_200 "${url[$config]}$CHEAP" ||
    { echo "bench_split: $config did not start: $(tail -n 5 "$tmp/daemons.err")" >&2; exit 1; }
}

# One wrk run: "req/s p50_ms p99_ms"
run_wrk() { # url seconds
  local out=$tmp/wrk${WRK_CONNECTIONS:-64}.out
  timeout $(($2 + 60)) wrk -t1 -c"${WRK_CONNECTIONS:-64}" -d"${2}s" --latency "$1" >"$out" 2>&1 || true
  if grep -q 'Non-2xx\|Socket errors' "$out"; then
    echo "bench_split: wrk $1: $(grep 'Non-2xx\|Socket errors' "$out" | tr '\n' ' ')" >&2
  fi
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                        if (v ~ /s$/) return v * 1000; return v }
       /Requests\/sec:/ { rps = $2 }
       $1 == "50%" || $1 == "50.000%" { p50 = ms($2) }
       $1 == "99%" || $1 == "99.000%" { p99 = ms($2) }
       END { if (rps == "") print "0 0 0"; else printf "%.0f %.3f %.3f\n", rps, p50, p99 }' "$out"
}

# One mixed run: "mix_req/s cheap_p50_ms cheap_p99_ms": 1 in 10 expensive
# on 63 connections, and beside it one connection asking cheap requests.
cat >"$tmp/mix.lua" <<'LUA'
local n = 0
local cheap, expensive
function init(args) cheap, expensive = args[1], args[2] end
function request()
  n = n + 1
  return wrk.format(nil, n % 10 == 0 and expensive or cheap)
end
LUA
run_mix() { # url seconds
  timeout $(($2 + 60)) wrk -t1 -c63 -d"${2}s" -s "$tmp/mix.lua" "$1" -- "$CHEAP" "$EXPENSIVE" \
    >"$tmp/mix.out" 2>&1 &
  local mix_pid=$!
  local probe
  probe=$(run_wrk_c1 "$1$CHEAP" "$2")
  wait "$mix_pid" || true
  local rps
  rps=$(awk '/Requests\/sec:/ { print int($2) }' "$tmp/mix.out")
  echo "${rps:-0} $(field "$probe" 2) $(field "$probe" 3)"
}
run_wrk_c1() { # url seconds: as run_wrk, one connection
  WRK_CONNECTIONS=1 run_wrk "$1" "$2"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }

# All three services run side by side (idle ones cost nothing) and the
# runs are interleaved, so that a change in the machine's load during the
# benchmark hits every configuration alike.
configs=(${CONFIGS:-one ipc tcp curve ipc3 tcp3})
declare -A names=([one]="prime_serverd (one process)" [ipc]="split over ipc (5 processes)" [tcp]="split over tcp (5 processes)"
  [ipc3]="ipc, proxy in each stage (3 proc.)" [tcp3]="tcp, proxy in each stage (3 proc.)"
  [curve]="split over tcp + CURVE")
field() { awk -v i="$2" '{print $i}' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
bench_csv runs config workers load rps p50_ms p99_ms ratio_to_one
bench_csv compare config cheap_rps expensive_rps
for WORKERS in $WORKERS_LIST; do
declare -A result=()
for config in "${configs[@]}"; do start "$config"; done
loads=(cheap expensive)
[ "$MIX" = 1 ] && loads+=(mix)
for load in "${loads[@]}"; do
  path=$CHEAP
  [ $load = expensive ] && path=$EXPENSIVE
  for config in "${configs[@]}"; do
    run_wrk "${url[$config]}$path" 1 >/dev/null # warm-up
    : >"$tmp/runs.$config"
  done
  for ((r = 0; r < RUNS; r++)); do
    for config in "${configs[@]}"; do
      if [ $load = mix ]; then
        run_mix "${url[$config]}" "$SECONDS_PER_RUN" >>"$tmp/runs.$config"
      else
        run_wrk "${url[$config]}$path" "$SECONDS_PER_RUN" >>"$tmp/runs.$config"
      fi
    done
  done
  for config in "${configs[@]}"; do
    f=$tmp/runs.$config
    result[$config,$load]="$(awk '{print $1}' "$f" | median) $(awk '{print $2}' "$f" | median) $(awk '{print $3}' "$f" | median)"
  done
done
stop_all

echo "bench_split: $(uname -m), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), wrk -t1 -c64 -d${SECONDS_PER_RUN}s, median of $RUNS, $WORKERS workers per stage, worker credit ${WORKER_CREDIT:-as each daemon defaults}"
printf '%-34s %10s %8s %8s %8s   %10s %8s %8s %8s\n' "" "cheap r/s" "p50 ms" "p99 ms" "ratio" \
  "expens r/s" "p50 ms" "p99 ms" "ratio"
for config in "${configs[@]}"; do
  c=${result[$config,cheap]:-0 0 0}
  x=${result[$config,expensive]:-0 0 0}
  printf '%-34s %10s %8s %8s %8s   %10s %8s %8s %8s\n' "${names[$config]}" \
    "$(field "$c" 1)" "$(field "$c" 2)" "$(field "$c" 3)" \
    "$(ratio "$(field "$c" 1)" "$(field "${result[one,cheap]:-0}" 1)")" \
    "$(field "$x" 1)" "$(field "$x" 2)" "$(field "$x" 3)" \
    "$(ratio "$(field "$x" 1)" "$(field "${result[one,expensive]:-0}" 1)")"
  for load in cheap expensive; do
    v=${result[$config,$load]:-0 0 0}
    bench_row runs "$config" "$WORKERS" "$load" $v "$(ratio "$(field "$v" 1)" "$(field "${result[one,$load]:-0}" 1)")"
  done
  bench_row compare "$config w$WORKERS" "$(field "$c" 1)" "$(field "$x" 1)"
done
if [ "$MIX" = 1 ]; then
  echo
  printf '%-34s %10s %14s %14s\n' "mixed: 1 in 10 expensive" "mix r/s" "cheap p50 ms" "cheap p99 ms"
  for config in "${configs[@]}"; do
    m=${result[$config,mix]:-0 0 0}
    printf '%-34s %10s %14s %14s\n' "${names[$config]}" "$(field "$m" 1)" "$(field "$m" 2)" "$(field "$m" 3)"
    bench_row runs "$config" "$WORKERS" mix $m "$(ratio "$(field "$m" 1)" "$(field "${result[one,mix]:-0}" 1)")"
  done
fi
ran() { [[ " ${configs[*]} " == *" $1 "* ]]; }
for target in "ipc cheap 0.60" "ipc expensive 0.90" "tcp cheap 0.50" "tcp expensive 0.85" \
  "ipc3 cheap 0.60" "ipc3 expensive 0.90" "tcp3 cheap 0.50" "tcp3 expensive 0.85"; do
  read -r config load limit <<<"$target"
  ran "$config" && ran one || continue
  r=$(ratio "$(field "${result[$config,$load]:-0}" 1)" "$(field "${result[one,$load]:-0}" 1)")
  verdict=$(awk -v r="$r" -v l="$limit" 'BEGIN { print (r != "-" && r >= l) ? "met" : "NOT met" }')
  echo "target: ${names[$config]} >= $limit of one process on $load requests: $r ($verdict)"
done
ran curve && ran tcp &&
for load in cheap expensive; do
  r=$(ratio "$(field "${result[curve,$load]:-0}" 1)" "$(field "${result[tcp,$load]:-0}" 1)")
  limit=0.80
  [ $load = expensive ] && limit=0.95
  verdict=$(awk -v r="$r" -v l="$limit" 'BEGIN { print (r != "-" && r >= l) ? "met" : "NOT met" }')
  echo "target: tcp + CURVE >= $limit of plain tcp on $load requests: $r ($verdict)"
done
echo
done

bench_plot_bars compare compare "prime service: one process against the split (wrk -t1 -c64, median of $RUNS)" \
  config "requests/s" cheap_rps expensive_rps
for load in cheap expensive; do
  bench_csv "$load" config workers rps p99_ms
  awk -F, -v l="$load" 'NR > 1 && $3 == l { print $1, $2, $4, $6 }' "$BENCH_OUT/bench_split_runs.csv" |
    while read -r c w r p; do bench_row "$load" "$c" "$w" "$r" "$p"; done
  bench_plot_lines "$load" "${load}_rps" "$load requests: req/s against workers per stage" workers "requests/s" config rps
done
bench_plot_lines cheap cheap_p99 "cheap requests: p99 against workers per stage" workers "p99 (ms)" config p99_ms
bench_out_done
