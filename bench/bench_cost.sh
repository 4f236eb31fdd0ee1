#!/usr/bin/env bash
# bench_cost.sh: what one cheap request costs the service, counted rather
# than timed, for the one-process daemon and the split deployment.
#
#   bench/bench_cost.sh [BUILD_DIR]        (default: ./build, else .)
#   N=20000 STRACE_N=5000 WORKERS=2 CONFIGS="one ipc tcp" bench/bench_cost.sh
#
# Configurations (CONFIGS, default "nginx floor one ipc"):
#   one  prime_serverd --quiet tcp://127.0.0.1:PORT WORKERS (one process)
#   ipc  prime_httpd + prime_proxyd x2 + prime_workerd parse + compute over
#        ipc (5 processes, started as bench/bench_split.sh does)
#   tcp  the same split over tcp on loopback
#   ipc3, tcp3  each stage one process: prime_httpd + prime_workerd --proxy
#        parse + compute (3 processes, the proxy beside its workers, as
#        bench/bench_split.sh's ipc3/tcp3)
# and the references, to read the others against:
#   floor  bench/bench_stream_floor: a bare ZMQ_STREAM socket answering a
#        fixed 200 from the thread that read the request (libzmq only: no
#        parser, no pipeline), the least any ZMQ_STREAM front costs
#   nginx  nginx-light, one process (master_process off), `return 200`
#        with the cheap request's answer
# Every figure is summed over all the configuration's processes and threads.
#
# Load: keep-alive requests `ab -k -c 8` on /is_prime?possible_prime=7 (the
# cheap request: parse, one trial division of 7, answer), after a 1000
# request warm-up. Per request it reports:
#   CPU us     user + system time of every thread of every process, from
#              /proc/PID/task/*/schedstat (run time in ns) around N requests;
#              usr/sys split from /proc/PID/task/*/stat. LOAD-SENSITIVE: on a
#              busy machine caches are cold, spinning and scheduling cost
#              more, and fewer messages are batched per wake-up, so it
#              reads high. Compare within one run, or on a quiet machine.
#   vol cs     voluntary context switches (a thread blocked: poll(2) or a
#              futex with nothing to do), from /proc/PID/task/*/status. This
#              counts the hand-offs that put a thread to sleep: mostly
#              independent of load, but it moves with batching (a thread
#              that finds more work queued sleeps less often), so a loaded
#              machine can read lower or higher by some 10-20%.
#   invol cs   involuntary switches (preempted): pure load; shown only to
#              tell how disturbed the run was.
#   syscalls   system calls by name, `strace -c -f -p PID` (one strace per
#              process) over a SEPARATE run of STRACE_N requests. What a
#              request asks of the kernel does not depend on the machine's
#              load, only on how much is batched per wake-up (see vol cs);
#              strace slows every syscall, which lets more queue up per
#              wake-up, so the figure errs low on poll/recv-side calls if
#              at all (the perf total below checks that). Idle background
#              (heartbeats, timers) is included: a few calls per second,
#              under 0.01 per request here. (Switches are not counted under
#              strace: every traced syscall stops the thread.)
#   threads    tasks of the processes (all their threads, libzmq's I/O and
#              reaper threads included).
#   perf sys   where `perf stat` works, the total of raw_syscalls:sys_enter
#              over the untraced run as well: a low-overhead cross-check of
#              the strace total.
#
# Prints the tables and writes each as CSV (bench_out.sh) to OUT_DIR
# (default BUILD_DIR/bench-results): bench_cost_requests.csv,
# bench_cost_syscalls.csv (every syscall seen, per request),
# bench_cost_processes.csv and bench_cost_threads.csv, and a bar plot of
# the syscalls per request by name (bench_cost_syscalls.svg). Installs
# apache2-utils (ab), strace and gnuplot-nox with apt-get when missing. Not a
# test: it prints counts; every run is bounded.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${1:-}
if [ -z "$build" ]; then
  if [ -x "$top/build/daemons/prime_serverd" ]; then build="$top/build"; else build=.; fi
fi
build=$(cd "$build" && pwd)
N=${N:-20000}
STRACE_N=${STRACE_N:-5000}
WORKERS=${WORKERS:-2}
CONCURRENCY=${CONCURRENCY:-8}
CONFIGS=${CONFIGS:-nginx floor one ipc}
TOP_SYSCALLS=${TOP_SYSCALLS:-12}
CHEAP="/is_prime?possible_prime=7"

missing=()
command -v ab >/dev/null || missing+=(apache2-utils)
command -v strace >/dev/null || missing+=(strace)
command -v curl >/dev/null || missing+=(curl)
case " $CONFIGS " in *" nginx "*) command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light) ;; esac
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench_cost: installing ${missing[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}" >&2
fi
# shellcheck source-path=SCRIPTDIR source=bench_out.sh
source "$here/bench_out.sh"
# shellcheck source-path=SCRIPTDIR source=wait_200.sh
source "$here/wait_200.sh"
# shellcheck source-path=SCRIPTDIR source=split_endpoints.sh
source "$here/split_endpoints.sh"
# shellcheck source-path=SCRIPTDIR source=nginx_conf.sh
source "$here/nginx_conf.sh"
bench_out_init bench_cost "$build"
if [ -f "$build/Makefile" ]; then
  make -C "$build" -s daemons/prime_serverd daemons/prime_httpd daemons/prime_proxyd daemons/prime_workerd \
    bench/bench_stream_floor >&2
fi
for b in prime_serverd prime_httpd prime_proxyd prime_workerd; do
  [ -x "$build/daemons/$b" ] || { echo "bench_cost: $build/daemons/$b not built" >&2; exit 1; }
done
BIN=$build/daemons
PERF=""
if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
  PERF=$(command -v perf)
fi

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

# launch LABEL command...: a daemon of the current configuration
declare -a cpids clabels
launch() {
  local label=$1
  shift
  "$@" 2>>"$tmp/daemons.err" &
  pids+=("$!")
  cpids+=("$!")
  clabels+=("$label")
}

stop_config() {
  local pid i
  for pid in "${cpids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${cpids[@]}"; do
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  cpids=()
  clabels=()
}

# start CONFIG: its processes in cpids/clabels, its URL in $url
start_config() {
  local config=$1 port parse_up parse_down compute_up compute_down loopback interrupt
  port=$(free_port)
  url="http://127.0.0.1:$port"
  case "$config" in
    one)
      launch prime_serverd "$BIN/prime_serverd" --quiet "tcp://127.0.0.1:$port" "$WORKERS"
      ;;
    ipc | tcp)
      split_endpoints "$config" s
      launch prime_httpd "$BIN/prime_httpd" --quiet "tcp://127.0.0.1:$port" "$parse_up" "$loopback" "$interrupt"
      launch prime_proxyd:parse "$BIN/prime_proxyd" --quiet "$parse_up" "$parse_down"
      launch prime_proxyd:compute "$BIN/prime_proxyd" --quiet "$compute_up" "$compute_down"
      sleep 0.2 # binding sides first (a worker's first forward would wait)
      launch prime_workerd:parse "$BIN/prime_workerd" --quiet --stage parse --workers "$WORKERS" \
        "$parse_down" "$compute_up" "$loopback" "$interrupt"
      launch prime_workerd:compute "$BIN/prime_workerd" --quiet --stage compute --workers "$WORKERS" \
        "$compute_down" - "$loopback" "$interrupt"
      ;;
    ipc3 | tcp3)
      split_endpoints "${config%3}" t
      launch prime_httpd "$BIN/prime_httpd" --quiet "tcp://127.0.0.1:$port" "$parse_up" "$loopback" "$interrupt"
      launch prime_workerd:compute "$BIN/prime_workerd" --quiet --stage compute --workers "$WORKERS" \
        --proxy "$compute_up,$compute_down" - - "$loopback" "$interrupt"
      sleep 0.2 # the compute proxy bound before parse forwards to it
      launch prime_workerd:parse "$BIN/prime_workerd" --quiet --stage parse --workers "$WORKERS" \
        --proxy "$parse_up,$parse_down" - "$compute_up" "$loopback" "$interrupt"
      ;;
    floor)
      launch bench_stream_floor "$build/bench/bench_stream_floor" "$port"
      ;;
    nginx)
      nginx_conf "$tmp/nginx" "$port" "master_process off;"
      launch nginx "$(command -v nginx || echo /usr/sbin/nginx)" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
      ;;
    *)
      echo "bench_cost: unknown configuration '$config'" >&2
      exit 2
      ;;
  esac
  wait_200 "$url$CHEAP" ||
    { echo "bench_cost: $config did not start: $(tail -n 5 "$tmp/daemons.err")" >&2; exit 1; }
}

# snapshot FILE: one line per thread of the configuration's processes:
# process-index tid comm run_ns utime stime vcs ivcs
snapshot() {
  local i t comm stat rest run vcs ivcs
  : >"$1"
  for i in "${!cpids[@]}"; do
    for t in /proc/"${cpids[$i]}"/task/*; do
      stat=$(cat "$t/stat" 2>/dev/null) || continue
      comm=${stat#*\(}; comm=${comm%)*}; comm=${comm// /_}
      rest=${stat##*) }
      read -r run _ <"$t/schedstat" 2>/dev/null || run=0
      vcs=$(awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "$t/status" 2>/dev/null || echo 0)
      ivcs=$(awk '$1 == "nonvoluntary_ctxt_switches:" { print $2 }' "$t/status" 2>/dev/null || echo 0)
      # fields after "comm) ": state=1 ... utime=12 stime=13
      awk -v i="$i" -v tid="${t##*/}" -v comm="$comm" -v run="$run" -v vcs="${vcs:-0}" \
        -v ivcs="${ivcs:-0}" '{ print i, tid, comm, run, $12, $13, vcs, ivcs }' <<<"$rest" >>"$1"
    done
  done
}

# delta BEFORE AFTER: per-thread differences (threads present in both)
delta() {
  awk 'NR == FNR { b[$2] = $0; next }
       ($2 in b) { split(b[$2], o, " ")
                   print $1, $2, $3, $4 - o[4], $5 - o[5], $6 - o[6], $7 - o[7], $8 - o[8] }' "$1" "$2"
}

run_ab() { # n
  timeout 900 ab -q -k -n "$1" -c "$CONCURRENCY" "$url$CHEAP" >"$tmp/ab.out" 2>&1 || true
  if ! grep -q '^Complete requests: *'"$1"'$' "$tmp/ab.out" ||
    ! grep -q '^Failed requests: *0$' "$tmp/ab.out" || grep -q '^Non-2xx' "$tmp/ab.out"; then
    echo "bench_cost: ab -n $1 against $config: $(grep -E '^(Complete|Failed|Non-2xx)' "$tmp/ab.out" | tr '\n' ' ')" >&2
    return 1
  fi
}

clk_tck=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A row
for config in $CONFIGS; do
  start_config "$config"
  run_ab 1000 # warm-up: connections, first allocations, every thread awake

  # The untraced run: CPU, switches, and (perf) the syscall total
  snapshot "$tmp/before"
  perf_pid=""
  if [ -n "$PERF" ]; then
    pid_list=$(IFS=,; echo "${cpids[*]}")
    "$PERF" stat -x, -e raw_syscalls:sys_enter -p "$pid_list" -o "$tmp/perf.out" &
    perf_pid=$!
    sleep 0.3
  fi
  run_ab "$N"
  snapshot "$tmp/after"
  perf_total="-"
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf_total=$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' "$tmp/perf.out" 2>/dev/null || true)
    [ -n "$perf_total" ] || perf_total="-"
  fi
  delta "$tmp/before" "$tmp/after" >"$tmp/delta.$config"
  threads=$(wc -l <"$tmp/after")
  rps=$(awk '/^Requests per second:/ { printf "%.0f", $4 }' "$tmp/ab.out")

  # The traced run: syscalls by name, one strace per process
  stracers=()
  for i in "${!cpids[@]}"; do
    strace -c -f -p "${cpids[$i]}" -o "$tmp/strace.$config.$i" 2>/dev/null &
    stracers+=("$!")
  done
  sleep 1 # every thread attached
  run_ab "$STRACE_N"
  for s in "${stracers[@]}"; do kill -INT "$s" 2>/dev/null || true; done
  for s in "${stracers[@]}"; do wait "$s" 2>/dev/null || true; done
  # per process: "process-index syscall calls"
  : >"$tmp/calls.$config"
  for i in "${!cpids[@]}"; do
    awk -v i="$i" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print i, $NF, $4 }' \
      "$tmp/strace.$config.$i" >>"$tmp/calls.$config" 2>/dev/null || true
  done
  printf '%s\n' "${clabels[@]}" >"$tmp/labels.$config"
  stop_config

  row[$config]=$(awk -v n="$N" -v tck="$clk_tck" -v threads="$threads" -v rps="$rps" \
    -v procs="$(wc -l <"$tmp/labels.$config")" '
    { run += $4; ut += $5; st += $6; v += $7; iv += $8 }
    END { printf "%d %d %d %.1f %.1f %.1f %.2f %.2f %s\n", procs, threads, n, run / 1000 / n,
            ut * 1e6 / tck / n, st * 1e6 / tck / n, v / n, iv / n, rps }' "$tmp/delta.$config")
  sc=$(awk -v n="$STRACE_N" '{ c += $3 } END { printf "%.1f", c / n }' "$tmp/calls.$config")
  pt="-"
  [ "$perf_total" != "-" ] && pt=$(awk -v c="$perf_total" -v n="$N" 'BEGIN { printf "%.1f", c / n }')
  row[$config]+=" $sc $pt"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

declare -A names=([one]="prime_serverd (one process)" [ipc]="split over ipc" [tcp]="split over tcp"
  [ipc3]="ipc, proxy in each stage" [tcp3]="tcp, proxy in each stage"
  [floor]="bare ZMQ_STREAM, fixed 200" [nginx]="nginx, one process")
field() { awk -v i="$2" '{ print $i }' <<<"$1"; }

echo "bench_cost: $(uname -m), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $load_before -> $load_after"
echo "ab -k -c $CONCURRENCY $CHEAP: $N requests counted (CPU, switches), $STRACE_N under strace -c -f (syscalls); $WORKERS workers per stage"
echo
table_line() { printf '%-28s %5s %7s %9s %8s %8s %7s %7s %9s %8s %9s\n' "$@"; }
table_line "per request" procs threads "CPU us" "usr us" "sys us" "vol cs" "inv cs" syscalls "perf sys" "ab req/s"
bench_csv requests config processes threads requests cpu_us user_us sys_us voluntary_cs \
  involuntary_cs syscalls perf_syscalls ab_rps load_before load_after
for config in $CONFIGS; do
  r=${row[$config]}
  table_line "${names[$config]}" "$(field "$r" 1)" "$(field "$r" 2)" "$(field "$r" 4)" \
    "$(field "$r" 5)" "$(field "$r" 6)" "$(field "$r" 7)" "$(field "$r" 8)" "$(field "$r" 10)" \
    "$(field "$r" 11)" "$(field "$r" 9)"
  # shellcheck disable=SC2046
  bench_row requests "$config" $(awk '{ print $1, $2, $3, $4, $5, $6, $7, $8, $10, $11, $9 }' <<<"$r") \
    "$load_before" "$load_after"
done
echo "(CPU us: all threads, load-sensitive; vol cs: voluntary switches, the hand-offs, nearly"
echo " load-independent; inv cs: preemptions, pure load; syscalls: strace run, load-independent;"
echo " perf sys: total syscalls counted by perf over the untraced run, the check on strace's)"
# The targets for the one-process daemon, from this run
if [ -n "${row[one]:-}" ]; then
  bench_csv targets figure value op target verdict
  for target in "4 CPU_us 30" "7 voluntary_cs 1.5"; do
    read -r col what limit <<<"$target"
    v=$(field "${row[one]}" "$col")
    verdict=$(awk -v v="$v" -v t="$limit" 'BEGIN { print (v <= t ? "met" : "NOT met") }')
    echo "target: one process, $what per cheap request <= $limit: $v ($verdict)"
    bench_row targets "one process $what per request" "$v" "<=" "$limit" "$verdict"
  done
fi
# Every configuration against the references of the same run
for ref in floor nginx; do
  [ -n "${row[$ref]:-}" ] || continue
  for config in $CONFIGS; do
    case $config in floor | nginx) continue ;; esac
    awk -v c="$config" -v r="$ref" -v a="$(field "${row[$config]}" 4)" -v b="$(field "${row[$ref]}" 4)" \
      -v va="$(field "${row[$config]}" 7)" -v vb="$(field "${row[$ref]}" 7)" \
      'BEGIN { printf "%s against %s: %.2fx the CPU per request (%+.1f us), %+.2f voluntary switches\n", c, r, a / b, a - b, va - vb }'
  done
done

# Syscalls by name: the top TOP_SYSCALLS over all configurations
echo
echo "syscalls per request by name (strace -c -f, $STRACE_N requests)"
# shellcheck disable=SC2086
bench_csv syscalls syscall $CONFIGS
for config in $CONFIGS; do
  awk -v n="$STRACE_N" -v c="$config" '{ s[$2] += $3 } END { for (k in s) printf "%s %s %.3f\n", c, k, s[k] / n }' \
    "$tmp/calls.$config"
done >"$tmp/by_name"
awk '{ t[$2] += $3 } END { for (k in t) print t[k], k }' "$tmp/by_name" | sort -gr | awk '{ print $2 }' >"$tmp/names"
printf '%-20s' "syscall"
for config in $CONFIGS; do printf ' %14s' "$config"; done
echo
count=0
while read -r name; do
  values=()
  ((count < TOP_SYSCALLS)) && printf '%-20s' "$name"
  for config in $CONFIGS; do
    v=$(awk -v c="$config" -v k="$name" '$1 == c && $2 == k { print $3 }' "$tmp/by_name")
    ((count < TOP_SYSCALLS)) && printf ' %14s' "${v:-0}"
    values+=("${v:-0}")
  done
  ((count < TOP_SYSCALLS)) && echo
  bench_row syscalls "$name" "${values[@]}"
  count=$((count + 1))
done <"$tmp/names"
# the plot: the top ones only (8 fit its width)
head -n 9 "$BENCH_OUT/bench_cost_syscalls.csv" >"$tmp/top.csv" # the top 8
# shellcheck disable=SC2086
bench_csv syscalls_top syscall $CONFIGS
tail -n +2 "$tmp/top.csv" >>"$BENCH_OUT/bench_cost_syscalls_top.csv"
# shellcheck disable=SC2086
bench_plot_bars syscalls_top syscalls "syscalls per cheap request by name (strace -c -f, ab -k -c $CONCURRENCY)" \
  syscall "calls per request" $CONFIGS

# Where it goes: per process, then per thread in creation order (tid), so
# that a thread can be told by when its actor started
echo
echo "per process: CPU us and voluntary cs (untraced run), syscalls (strace run) per request"
printf '%-8s %-24s %7s %8s %8s %9s\n' config process threads "CPU us" "vol cs" syscalls
bench_csv processes config process threads cpu_us voluntary_cs syscalls
for config in $CONFIGS; do
  awk -v n="$N" -v sn="$STRACE_N" -v c="$config" 'FILENAME == ARGV[1] { label[FNR - 1] = $0; next }
    FILENAME == ARGV[2] { s[$1] += $3; next }
    { th[$1]++; cpu[$1] += $4; v[$1] += $7 }
    END { for (i = 0; i in label; i++)
            printf "%-8s %-24s %7d %8.1f %8.2f %9.1f\n", c, label[i], th[i], cpu[i] / 1000 / n, v[i] / n, s[i] / sn }' \
    "$tmp/labels.$config" "$tmp/calls.$config" "$tmp/delta.$config" | tee "$tmp/processes"
  while read -r c p th cpu v sc; do bench_row processes "$c" "$p" "$th" "$cpu" "$v" "$sc"; done <"$tmp/processes"
done
echo
echo "per thread (tid order): CPU us, voluntary and involuntary cs per request"
printf '%-8s %-24s %-16s %8s %8s %8s %8s\n' config process thread tid "CPU us" "vol cs" "inv cs"
bench_csv threads config process thread tid cpu_us voluntary_cs involuntary_cs
for config in $CONFIGS; do
  awk -v n="$N" -v c="$config" 'NR == FNR { label[NR - 1] = $0; next }
    { printf "%-8s %-24s %-16s %8d %8.1f %8.2f %8.2f\n", c, label[$1], $3, $2, $4 / 1000 / n, $7 / n, $8 / n }' \
    "$tmp/labels.$config" "$tmp/delta.$config" | sort -k4,4n | tee "$tmp/threads"
  while read -r c p t tid cpu v iv; do bench_row threads "$c" "$p" "$t" "$tid" "$cpu" "$v" "$iv"; done <"$tmp/threads"
done
echo
bench_out_done
