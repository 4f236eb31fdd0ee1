#!/usr/bin/env bash
# bench_prime_serverd.sh: the benchmark table for prime_serverd.
#
#   bench/bench_prime_serverd.sh [BUILD_DIR]      (default: ./build, else .)
#   QUICK=1 bench/bench_prime_serverd.sh          shorter runs, same table
#   SMOKE=1 bench/bench_prime_serverd.sh          tiny runs: proves the output
#                                                 (CSV, SVG), numbers mean nothing
#   SWEEP="1 2 4 8" bench/bench_prime_serverd.sh  workers per stage swept
#
# Measures, each figure the median of RUNS (default 3) runs, loopback only:
#   - the simulation, prime_serverd COUNT W for W = 1, 2, 8: wall s, req/s
#   - the daemon (2 workers per stage), py/prime_serverd.py and nginx
#     (worker_processes 1, `return 200`) side by side: cheap (possible_prime=7)
#     and expensive (possible_prime=32416190071) requests with ab -k, ab
#     without -k and wrk -t1 -c64 --latency: req/s, p50, p99 (ms)
#   - the floor of a ZMQ_STREAM front (bench/bench_stream_floor: libzmq
#     alone answering a fixed 200) under the same wrk, beside nginx: what
#     any server on a ZMQ_STREAM socket can reach before it does any work
#   - the ratios the project sets targets for, and the daemon's peak RSS
#   - the daemon's RSS along 1,000,000 requests (flat is the target)
#   - the daemon with SWEEP (default "1 2 4") workers per stage: wrk cheap
#     and expensive, req/s and p99
# Every table is also written as CSV, and the sweep drawn as SVG plots
# (gnuplot), to OUT_DIR (default BUILD_DIR/bench-results; bench_out.sh).
# Installs wrk, apache2-utils, nginx-light and gnuplot-nox with apt-get when
# missing.
# Not a test: it prints numbers; every loop and every tool run is bounded.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${1:-}
if [ -z "$build" ]; then
  if [ -x "$top/build/daemons/prime_serverd" ]; then build="$top/build"; else build=.; fi
fi
build=$(cd "$build" && pwd)
QUICK=${QUICK:-0}
RUNS=${RUNS:-3}

if [ "$QUICK" = 1 ]; then
  SIM_COUNT=100000; AB_N=5000; AB_N_EXPENSIVE=2000; PY_N_EXPENSIVE=200
  WRK_SECONDS=3; RSS_STEP=50000; RSS_STEPS=4
else
  SIM_COUNT=1000000; AB_N=20000; AB_N_EXPENSIVE=20000; PY_N_EXPENSIVE=1000
  WRK_SECONDS=10; RSS_STEP=250000; RSS_STEPS=4
fi
if [ "${SMOKE:-0}" = 1 ]; then
  SIM_COUNT=2000; AB_N=200; AB_N_EXPENSIVE=100; PY_N_EXPENSIVE=10
  WRK_SECONDS=1; RSS_STEP=1000; RSS_STEPS=2; RUNS=1
fi
SWEEP=${SWEEP:-1 2 4}
CHEAP="/is_prime?possible_prime=7"
EXPENSIVE="/is_prime?possible_prime=32416190071"
DAEMON_WORKERS=2

# --- tools -------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v ab >/dev/null || missing+=(apache2-utils)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}" >&2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# shellcheck source-path=SCRIPTDIR source=bench_out.sh
source "$here/bench_out.sh"
# shellcheck source-path=SCRIPTDIR source=nginx_conf.sh
source "$here/nginx_conf.sh"
bench_out_init bench_prime_serverd "$build"

if [ -f "$build/Makefile" ]; then
  make -C "$build" -s daemons/prime_serverd bench/bench_trial_division bench/bench_stream_floor >&2
fi
FLOOR="$build/bench/bench_stream_floor"
BIN="$build/daemons/prime_serverd"
TRIAL="$build/bench/bench_trial_division"
[ -x "$BIN" ] || { echo "bench: $BIN not built" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # pid port
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$1" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

median() { # numbers on stdin -> the median (the lower middle for even counts)
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'
}

kib_status() { # pid field -> kB value from /proc/PID/status
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- one measurement: "req/s p50_ms p99_ms" ----------------------------------
run_ab() { # url n keepalive(0|1)
  local k=""
  [ "$3" = 1 ] && k="-k"
  timeout 600 ab -q $k -n "$2" -c 8 "$1" >"$tmp/ab.out" 2>&1 || true
  if grep -q '^Non-2xx responses' "$tmp/ab.out" ||
    ! grep -q '^Failed requests: *0$' "$tmp/ab.out"; then
    echo "bench: ab $k against ${bench_server:-?} $1: failures: $(grep -E '^(Failed|Non-2xx)' "$tmp/ab.out" | tr '\n' ' ')" >&2
  fi
  awk '/^Requests per second:/ { rps = $4 }
       /^ *50%/ { p50 = $2 } /^ *99%/ { p99 = $2 }
       END { if (rps == "") print "- - -"; else print rps, p50, p99 }' "$tmp/ab.out"
}

run_wrk() { # url
  timeout $((WRK_SECONDS + 60)) wrk -t1 -c64 -d"${WRK_SECONDS}s" --latency "$1" >"$tmp/wrk.out" 2>&1 || true
  if grep -q 'Non-2xx\|Socket errors' "$tmp/wrk.out"; then
    echo "bench: wrk against ${bench_server:-?} $1: $(grep 'Non-2xx\|Socket errors' "$tmp/wrk.out" | tr '\n' ' ')" >&2
  fi
  awk 'function ms(v) {
         if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
         if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
         if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
         return v }
       /^Requests\/sec:/ { rps = $2 }
       /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
       END { if (rps == "") print "- - -"; else printf "%s %.3f %.3f\n", rps, p50, p99 }' "$tmp/wrk.out"
}

# median over RUNS of a measurement command: "req/s p50 p99"
measure() {
  local i
  : >"$tmp/runs"
  for ((i = 0; i < RUNS; i++)); do "$@" >>"$tmp/runs"; done
  printf '%s %s %s\n' "$(awk '{print $1}' "$tmp/runs" | median)" \
    "$(awk '{print $2}' "$tmp/runs" | median)" "$(awk '{print $3}' "$tmp/runs" | median)"
}

# --- servers -----------------------------------------------------------------
start_c() { # [workers per stage, default DAEMON_WORKERS]
  local try
  for ((try = 0; try < 5; try++)); do
    c_port=$(free_port)
    "$BIN" --quiet "tcp://127.0.0.1:$c_port" "${1:-$DAEMON_WORKERS}" 2>>"$tmp/c.err" &
    c_pid=$!
    pids+=("$c_pid")
    wait_port "$c_pid" "$c_port" && return 0
    kill -KILL "$c_pid" 2>/dev/null || true
  done
  echo "bench: prime_serverd did not start: $(cat "$tmp/c.err")" >&2
  exit 1
}
stop_c() {
  kill -TERM "$c_pid" 2>/dev/null || true
  timeout 40 tail --pid="$c_pid" -f /dev/null || kill -KILL "$c_pid" 2>/dev/null || true
}

start_py() {
  py_port=$(free_port)
  python3 "$top/py/prime_serverd.py" "$py_port" 2>>"$tmp/py.err" &
  py_pid=$!
  pids+=("$py_pid")
  wait_port "$py_pid" "$py_port" || { echo "bench: python did not start" >&2; exit 1; }
}

start_nginx() {
  ng_port=$(free_port)
  nginx_conf "$tmp/nginx" "$ng_port" "worker_processes 1;"
  "$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>>"$tmp/nginx/stderr" &
  ng_pid=$!
  pids+=("$ng_pid")
  wait_port "$ng_pid" "$ng_port" || { echo "bench: nginx did not start: $(cat "$tmp/nginx/stderr")" >&2; exit 1; }
}
nginx_worker() { pgrep -P "$ng_pid" | head -n 1; }

start_floor() {
  fl_port=$(free_port)
  "$FLOOR" "$fl_port" 2>>"$tmp/floor.err" &
  fl_pid=$!
  pids+=("$fl_pid")
  wait_port "$fl_pid" "$fl_port" || { echo "bench: bench_stream_floor did not start: $(cat "$tmp/floor.err")" >&2; exit 1; }
}

# --- run ---------------------------------------------------------------------
cores=$(nproc)
echo "prime_serverd benchmarks: $(uname -m), $cores cores, $(date -u '+%Y-%m-%d %H:%M UTC'), QUICK=$QUICK, median of $RUNS runs"
echo

echo "simulation                            wall s      req/s"
bench_csv simulation requests workers wall_s rps
for w in 1 2 8; do
  : >"$tmp/sim"
  for ((i = 0; i < RUNS; i++)); do
    timeout 600 "$BIN" "$SIM_COUNT" "$w" 2>/dev/null |
      awk -F'[:,] *' '/^requests:/ { print $4, $6 }' >>"$tmp/sim"
  done
  wall=$(awk '{print $1}' "$tmp/sim" | median)
  rps=$(awk '{print $2}' "$tmp/sim" | median)
  printf '  prime_serverd %-8s %-12s %8s %10s\n' "$SIM_COUNT" "$w" "$wall" "$rps"
  bench_row simulation "$SIM_COUNT" "$w" "$wall" "$rps"
  [ "$w" = 2 ] && sim2_wall=$wall
done
echo

start_c
start_py
start_nginx
start_floor
c_url="http://127.0.0.1:$c_port"
py_url="http://127.0.0.1:$py_port"
ng_url="http://127.0.0.1:$ng_port"

declare -A result
for load in cheap expensive; do
  path=$CHEAP; n=$AB_N; py_n=$AB_N
  if [ $load = expensive ]; then path=$EXPENSIVE; n=$AB_N_EXPENSIVE; py_n=$PY_N_EXPENSIVE; fi
  for server in c py nginx; do
    [ $server = nginx ] && [ $load = expensive ] && continue # a fixed 200 costs the same
    case $server in c) url=$c_url$path ;; py) url=$py_url$path ;; nginx) url=$ng_url$path ;; esac
    server_n=$n; [ $server = py ] && server_n=$py_n
    case $server in c) bench_server=prime_serverd ;; py) bench_server=prime_serverd.py ;; *) bench_server=nginx ;; esac
    result[$load,abk,$server]=$(measure run_ab "$url" "$server_n" 1)
    result[$load,ab,$server]=$(measure run_ab "$url" "$server_n" 0)
    result[$load,wrk,$server]=$(measure run_wrk "$url")
  done
done
bench_server=bench_stream_floor
result[cheap,wrk,floor]=$(measure run_wrk "http://127.0.0.1:$fl_port$CHEAP")
c_hwm=$(kib_status "$c_pid" VmHWM)
py_hwm=$(kib_status "$py_pid" VmHWM)
ng_hwm=$(kib_status "$(nginx_worker)" VmHWM)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
field() { awk -v i="$2" '{ print $i }' <<<"$1"; }

echo "daemon: prime_serverd tcp://127.0.0.1:PORT $DAEMON_WORKERS; py/prime_serverd.py; nginx worker_processes 1, return 200"
echo "requests              tool                          prime_serverd          |  prime_serverd.py     |  nginx                | C/py    C/nginx"
echo "                                                  req/s   p50ms   p99ms  |  req/s  p50ms  p99ms  |  req/s  p50ms  p99ms  |"
bench_csv daemon load tool server rps p50_ms p99_ms
for load in cheap expensive; do
  for tool in abk ab wrk; do
    case $tool in
      abk) label="ab -k -c 8";;
      ab) label="ab -c 8 (no -k)";;
      wrk) label="wrk -t1 -c64 ${WRK_SECONDS}s";;
    esac
    c=${result[$load,$tool,c]}
    p=${result[$load,$tool,py]}
    g=${result[$load,$tool,nginx]:-"- - -"}
    printf '%-10s %-26s %9s %7s %7s  | %6s %6s %6s  | %6s %6s %6s  | %-7s %s\n' \
      "$load" "$label" $c $p $g "$(ratio "$(field "$c" 1)" "$(field "$p" 1)")" \
      "$(ratio "$(field "$c" 1)" "$(field "$g" 1)")"
    for server in c py nginx; do
      v=${result[$load,$tool,$server]:-"- - -"}
      case $server in c) name=prime_serverd ;; py) name=prime_serverd.py ;; *) name=nginx ;; esac
      bench_row daemon "$load" "$label" "$name" $v
    done
  done
done
f_wrk=${result[cheap,wrk,floor]}
f_rps_ratio=$(ratio "$(field "$f_wrk" 1)" "$(field "${result[cheap,wrk,nginx]}" 1)")
f_p99_ratio=$(ratio "$(field "$f_wrk" 3)" "$(field "${result[cheap,wrk,nginx]}" 3)")
printf '%-10s %-26s %9s %7s %7s  | the floor of a ZMQ_STREAM front (bench_stream_floor); against nginx %s, p99 %s\n' \
  cheap "wrk -t1 -c64 ${WRK_SECONDS}s" $f_wrk "$f_rps_ratio" "$f_p99_ratio"
bench_row daemon cheap "wrk -t1 -c64 ${WRK_SECONDS}s" bench_stream_floor $f_wrk
echo "peak RSS (VmHWM): prime_serverd $(mib "$c_hwm") MiB, prime_serverd.py $(mib "$py_hwm") MiB, nginx worker $(mib "$ng_hwm") MiB"
echo

# compute limit: cores / time of one trial division measured alone
limit="-"
if [ -x "$TRIAL" ]; then
  trial=$("$TRIAL" 32416190071 51)
  limit=$(sed -n 's/.*limit requests\/s: \([0-9]*\).*/\1/p' <<<"$trial")
  echo "trial division alone: $trial"
fi

stop_c
kill -TERM "$py_pid" "$ng_pid" "$fl_pid" 2>/dev/null || true

# RSS along 1,000,000 requests (fresh daemon, cheap requests, keep-alive)
start_c
c_url="http://127.0.0.1:$c_port"
timeout 60 ab -q -k -n 1000 -c 8 "$c_url$CHEAP" >/dev/null 2>&1 || true
rss_line="RSS along $((RSS_STEP * RSS_STEPS)) requests (MiB): after 1000: $(mib "$(kib_status "$c_pid" VmRSS)")"
for ((s = 1; s <= RSS_STEPS; s++)); do
  timeout 900 ab -q -k -n "$RSS_STEP" -c 64 "$c_url$CHEAP" >/dev/null 2>&1 || true
  rss_line+=", after $((RSS_STEP * s)): $(mib "$(kib_status "$c_pid" VmRSS)")"
done
# VmHWM is updated lazily; the last VmRSS can be a little above it
rss_hwm=$(kib_status "$c_pid" VmHWM)
rss_now=$(kib_status "$c_pid" VmRSS)
[ "$rss_now" -gt "$rss_hwm" ] && rss_hwm=$rss_now
echo "$rss_line; peak $(mib "$rss_hwm")"
stop_c
echo

# --- req/s and p99 against workers per stage ------------------------------------
echo "prime_serverd with W workers per stage, wrk -t1 -c64 ${WRK_SECONDS}s, median of $RUNS"
echo "workers     cheap req/s   p50ms   p99ms    expensive req/s   p50ms   p99ms"
bench_csv sweep workers load rps p50_ms p99_ms
for w in $SWEEP; do
  start_c "$w"
  c_url="http://127.0.0.1:$c_port"
  bench_server="prime_serverd $w"
  cheap=$(measure run_wrk "$c_url$CHEAP")
  expensive=$(measure run_wrk "$c_url$EXPENSIVE")
  stop_c
  printf '%-8s %14s %7s %7s %18s %7s %7s\n' "$w" $cheap $expensive
  bench_row sweep "$w" cheap $cheap
  bench_row sweep "$w" expensive $expensive
done
echo
bench_plot_lines sweep sweep_rps "prime_serverd: req/s against workers per stage (wrk -t1 -c64)" \
  workers "requests/s" load rps
bench_plot_lines sweep sweep_p99 "prime_serverd: p99 against workers per stage (wrk -t1 -c64)" \
  workers "p99 (ms)" load p99_ms

# --- targets -------------------------------------------------------------------
check() { # description value op target
  local ok
  ok=$(awk -v v="$2" -v t="$4" -v op="$3" 'BEGIN {
    if (v == "-") { print "n/a"; exit }
    if (op == ">=") print (v >= t ? "met" : "NOT met")
    else if (op == "<=") print (v <= t ? "met" : "NOT met")
    else print (v < t ? "met" : "NOT met") }')
  printf '  %-62s %10s  (target %s %s)  %s\n' "$1" "$2" "$3" "$4" "$ok"
  bench_row targets "$1" "$2" "$3" "$4" "$ok"
}
bench_csv targets figure value op target verdict
c_wrk=${result[cheap,wrk,c]}
echo "targets (ratios from this run)"
check "cheap, wrk -c64: prime_serverd / nginx" "$(ratio "$(field "$c_wrk" 1)" "$(field "${result[cheap,wrk,nginx]}" 1)")" ">=" 0.45
check "cheap, wrk -c64: prime_serverd p99 / nginx p99" "$(ratio "$(field "$c_wrk" 3)" "$(field "${result[cheap,wrk,nginx]}" 3)")" "<=" 2
echo "  (the bare ZMQ_STREAM floor in the same run: $f_rps_ratio of nginx, p99 ${f_p99_ratio}x nginx's; prime_serverd $(ratio "$(field "$c_wrk" 1)" "$(field "$f_wrk" 1)") of the floor)"
check "expensive, ab -k: prime_serverd / python" "$(ratio "$(field "${result[expensive,abk,c]}" 1)" "$(field "${result[expensive,abk,py]}" 1)")" ">=" 20
check "cheap, ab -k: prime_serverd / python" "$(ratio "$(field "${result[cheap,abk,c]}" 1)" "$(field "${result[cheap,abk,py]}" 1)")" ">=" 5
check "expensive, wrk -c64: prime_serverd / compute limit ($limit req/s)" "$(ratio "$(field "${result[expensive,wrk,c]}" 1)" "$limit")" ">=" 0.9
check "simulation $SIM_COUNT, 2 workers: wall seconds" "${sim2_wall:--}" "<=" "$(awk -v n="$SIM_COUNT" 'BEGIN { print 8 * n / 1000000 }')"
check "RSS after $((RSS_STEP * RSS_STEPS)) requests (MiB)" "$(mib "$rss_hwm")" "<" 64
bench_out_done
