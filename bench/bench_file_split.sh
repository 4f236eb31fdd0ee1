#!/usr/bin/env bash
# bench_file_split.sh: the static file service split into three processes
# (prime_httpd, prime_proxyd, prime_workerd --stage file) over ipc and over
# tcp, against prime_filed (the same server, proxy and file workers in one
# process), under one wrk workload.
#
#   bench/bench_file_split.sh [BUILD_DIR]     (default: ./build, else .)
#   QUICK=1 bench/bench_file_split.sh         3 s runs instead of 10 s
#   RUNS=5 WORKERS=1 SIZE=16384 bench/bench_file_split.sh
#   SMOKE=1 bench/bench_file_split.sh         1 s, one run: proves the output
#   WORKER_CREDIT=4 bench/bench_file_split.sh  --worker-credit for the split's
#                                             file workers (default: theirs, 16)
#
# Load: wrk -t1 -c64 --latency GET of one small file (SIZE bytes, default
# 1024) on keep-alive connections, WORKERS (default 2) file workers each
# with their daemon's default credit; each figure the median of RUNS
# (default 3) runs after a 1 s warm-up, the configurations' runs
# interleaved so that the machine's load falls on all alike. Prints req/s,
# p50 and p99 (ms) and each split figure as a ratio of prime_filed's. The
# target: the 3-process split at least 0.6 of prime_filed. Writes the
# table as CSV (bench_out.sh) to OUT_DIR (default BUILD_DIR/bench-results):
# bench_file_split_runs.csv. Installs wrk and curl with apt-get when missing.
# Not a test: it prints numbers. Loopback only; every run is bounded.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=hardening_lib.sh
. "$(cd "$(dirname "$0")" && pwd)/hardening_lib.sh"

pick_build "${1:-}"
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-2}
SIZE=${SIZE:-1024}
WORKER_CREDIT=${WORKER_CREDIT:-}
credit_args=()
[ -n "$WORKER_CREDIT" ] && credit_args=(--worker-credit "$WORKER_CREDIT")
SECONDS_PER_RUN=10
[ "$QUICK" = 1 ] && SECONDS_PER_RUN=3
if [ "${SMOKE:-0}" = 1 ]; then SECONDS_PER_RUN=1; RUNS=1; fi

install_missing wrk:wrk curl:curl
# shellcheck source-path=SCRIPTDIR source=bench_out.sh
source "$here/bench_out.sh"
# shellcheck source-path=SCRIPTDIR source=wait_200.sh
source "$here/wait_200.sh"
bench_out_init bench_file_split "$build"
if [ -f "$build/Makefile" ]; then
  make -C "$build" -s daemons/prime_filed daemons/prime_httpd daemons/prime_proxyd daemons/prime_workerd >&2
fi
BIN=$build/daemons
for b in prime_filed prime_httpd prime_proxyd prime_workerd; do
  [ -x "$BIN/$b" ] || { echo "bench_file_split: $BIN/$b not built" >&2; exit 1; }
done

root=$tmp/root
mkdir -p "$root"
head -c "$SIZE" /dev/urandom >"$root/file.bin"
FILE_PATH=/file.bin

# start CONFIG: the service; sets url[CONFIG]
declare -A url
start() {
  local config=$1 port e upstream downstream loopback interrupt
  port=$(free_port)
  url[$config]="http://127.0.0.1:$port"
  if [ "$config" = one ]; then
    launch filed "$BIN/prime_filed" --quiet --workers "$WORKERS" "tcp://127.0.0.1:$port" "$root"
  else
    if [ "$config" = ipc ]; then
      e="ipc://$tmp/f"
      upstream=$e.up downstream=$e.down loopback=$e.lb interrupt=$e.in
    else
      e="tcp://127.0.0.1"
      upstream=$e:$(free_port) downstream=$e:$(free_port) loopback=$e:$(free_port)
      interrupt=$e:$(free_port)
    fi
    launch "httpd-$config" "$BIN/prime_httpd" --quiet "tcp://127.0.0.1:$port" "$upstream" "$loopback" "$interrupt"
    launch "proxyd-$config" "$BIN/prime_proxyd" --quiet "$upstream" "$downstream"
    launch "workerd-$config" "$BIN/prime_workerd" --quiet --stage file --root "$root" --workers "$WORKERS" "${credit_args[@]}" \
      "$downstream" - "$loopback" "$interrupt"
  fi
  wait_200 "${url[$config]}$FILE_PATH" ||
    { echo "bench_file_split: $config did not start: $(tail -q -n 3 "$tmp"/*.err)" >&2; exit 1; }
}

configs=(one ipc tcp)
declare -A names=([one]="prime_filed (one process)" [ipc]="split over ipc (3 processes)"
  [tcp]="split over tcp (3 processes)")
field() { awk -v i="$2" '{ print $i }' <<<"$1"; }

for config in "${configs[@]}"; do
  start "$config"
  wrk_run "${url[$config]}$FILE_PATH" 1 64 "$tmp/warm.out" >/dev/null
  : >"$tmp/runs.$config"
done
for ((r = 0; r < RUNS; r++)); do
  for config in "${configs[@]}"; do
    out=$(wrk_run "${url[$config]}$FILE_PATH" "$SECONDS_PER_RUN" 64 "$tmp/wrk.out")
    if [ "$(field "$out" 4)" != 0 ] || [ "$(field "$out" 5)" != 0 ]; then
      echo "bench_file_split: $config: $(field "$out" 4) non-2xx answers, $(field "$out" 5) socket errors" >&2
    fi
    echo "$out" >>"$tmp/runs.$config"
  done
done
declare -A result
for config in "${configs[@]}"; do
  f=$tmp/runs.$config
  result[$config]="$(awk '{ print $1 }' "$f" | median) $(awk '{ print $2 }' "$f" | median) $(awk '{ print $3 }' "$f" | median)"
done

echo "bench_file_split: $(uname -m), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "GET of a $SIZE-byte file, wrk -t1 -c64 -d${SECONDS_PER_RUN}s, median of $RUNS, $WORKERS file workers, split's worker credit ${WORKER_CREDIT:-16 (default)}"
printf '%-32s %10s %8s %8s %8s\n' "" "req/s" "p50 ms" "p99 ms" "ratio"
bench_csv runs config workers size rps p50_ms p99_ms ratio_to_one
for config in "${configs[@]}"; do
  v=${result[$config]}
  rat=$(ratio "$(field "$v" 1)" "$(field "${result[one]}" 1)")
  printf '%-32s %10s %8s %8s %8s\n' "${names[$config]}" "$(field "$v" 1)" "$(field "$v" 2)" \
    "$(field "$v" 3)" "$rat"
  # shellcheck disable=SC2086
  bench_row runs "$config" "$WORKERS" "$SIZE" $v "$rat"
done
for config in ipc tcp; do
  r=$(ratio "$(field "${result[$config]}" 1)" "$(field "${result[one]}" 1)")
  verdict=$(awk -v r="$r" 'BEGIN { print (r != "-" && r >= 0.6) ? "met" : "NOT met" }')
  echo "target: the 3-process split over $config >= 0.6 of prime_filed: $r ($verdict)"
done
bench_out_done
