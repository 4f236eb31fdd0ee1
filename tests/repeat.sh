#!/usr/bin/env bash
# repeat.sh: run tests many times in a row under `make check`, to show that
# they are stable (or to catch a rare failure), optionally beside a CPU hog.
#
#   tests/repeat.sh [-n RUNS] [--hog] TEST...    (from a build directory)
#   make check-repeat REPEAT_TESTS='tests/test_worker_liveness.sh' [REPEAT=20] [HOG=1]
#
# TEST is a name from the Makefile's TESTS (tests/check_ps_proxy,
# tests/test_worker_liveness.sh, ...). Each run is `make check TESTS=TEST`,
# so a test runs with the environment make check gives it. --hog keeps one
# busy loop per core running beside the tests (a loaded 2-core machine).
# The log of each failed run is kept as TEST.fail-K.log. Prints a table and
# a closing line; exits 1 if any run failed. Every run is bounded by the
# test's own limits (Check's timeout, the scripts' bounded waits).
set -u
runs=20
hog=no
tests=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) runs=$2; shift 2 ;;
    --hog) hog=yes; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "repeat.sh: unknown option $1" >&2; exit 2 ;;
    *) tests+=("$1"); shift ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "repeat.sh: -n takes a positive count" >&2; exit 2; }
[ ${#tests[@]} -gt 0 ] || { echo "usage: repeat.sh [-n RUNS] [--hog] TEST..." >&2; exit 2; }
[ -f Makefile ] || { echo "repeat.sh: run it from a configured build directory" >&2; exit 2; }

hogs=()
stop_hogs() {
  local pid
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${hogs[@]}"; do wait "$pid" 2>/dev/null; done
}
trap stop_hogs EXIT
trap 'exit 1' INT TERM
if [ $hog = yes ]; then
  for ((i = 0; i < $(nproc); i++)); do
    (while :; do :; done) &
    hogs+=("$!")
  done
fi

make -s check TESTS= >/dev/null 2>&1 || { echo "repeat.sh: the build failed" >&2; exit 1; }

failed_total=0
rows=()
for t in "${tests[@]}"; do
  pass=0 fail=0 slowest=0
  for ((k = 1; k <= runs; k++)); do
    t0=$(date +%s%3N)
    if make -s check TESTS="$t" >/dev/null 2>&1; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      cp "$t.log" "$t.fail-$k.log" 2>/dev/null
      echo "repeat.sh: $t failed in run $k (log: $t.fail-$k.log)" >&2
    fi
    took=$(($(date +%s%3N) - t0))
    ((took > slowest)) && slowest=$took
  done
  failed_total=$((failed_total + fail))
  rows+=("$(printf '%-40s %5d %5d %9.1f' "$t" "$pass" "$fail" "$(awk -v ms="$slowest" 'BEGIN { print ms / 1000 }')")")
done

printf '%-40s %5s %5s %9s   (%d runs each, CPU hog: %s)\n' test pass fail slowest_s "$runs" "$hog"
printf '%s\n' "${rows[@]}"
total=$((runs * ${#tests[@]}))
echo "repeat: $((total - failed_total)) passed, $failed_total failed"
[ $failed_total -eq 0 ]
