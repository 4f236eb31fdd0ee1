#!/bin/sh
#   fuzz/run.sh [SECONDS]: builds the libFuzzer harnesses with clang
#   (configure --enable-fuzzing, make fuzz) in a directory of its own, then
#   runs each for SECONDS (default 60) on one core, from the seed corpora in
#   fuzz/corpus/. Fails on any crash, leak, timeout (> 1 s for one input)
#   or out-of-memory (> 2048 MB). Prints the executions of each harness.
#   With FUZZ_MIN_HTTP_RATE=83334 (5 million in 60 s) it also fails when the
#   HTTP harness runs slower; off by default, since the rate says more about
#   the machine (a shared CI runner) than about the code.
#
#   Environment: FUZZ_BUILD_DIR (default build-fuzz/ in the source tree),
#   FUZZ_HARNESSES (default all three), FUZZ_MIN_HTTP_RATE.
#   Inputs found are kept in $FUZZ_BUILD_DIR/run/<harness>/corpus, failures
#   in $FUZZ_BUILD_DIR/run/<harness>/ (crash-*, leak-*, timeout-*, oom-*).
set -eu
seconds=${1:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
harnesses=${FUZZ_HARNESSES:-"fuzz_http_parser fuzz_netstring fuzz_frames"}
min_rate=${FUZZ_MIN_HTTP_RATE:-0}

command -v clang >/dev/null || { echo "fuzz/run.sh: needs clang (apt-get install clang libclang-rt-dev)"; exit 1; }
[ -x "$src/configure" ] || (cd "$src" && ./autogen.sh)
# A build directory configured from another source tree (another clone)
# would build that tree's code, or fail on its missing files: start anew.
if [ -f "$build/Makefile" ] &&
   [ "$(sed -n 's/^abs_top_srcdir = //p' "$build/Makefile")" != "$src" ]; then
    echo "fuzz/run.sh: $build was configured for another source tree; configuring it anew"
    rm -rf "$build"
fi
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || CC=clang "$src/configure" -q --enable-fuzzing --enable-werror
# make does not see changed compiler flags: when the Makefile is newer than
# a harness (Makefile.am or configure changed), compile the harnesses anew.
make -s Makefile
for harness in fuzz/fuzz_http_parser fuzz/fuzz_netstring fuzz/fuzz_frames; do
    if [ -f "$harness" ] && [ -n "$(find Makefile -newer "$harness")" ]; then
        rm -f fuzz/*.o src/fuzz_*.o fuzz/fuzz_http_parser fuzz/fuzz_netstring fuzz/fuzz_frames
        break
    fi
done
make -s -j2 fuzz

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
failed=0
printf '%-18s %12s %10s %8s  %s\n' harness executions exec/s seconds result
for harness in $harnesses; do
    work="$build/run/$harness"
    rm -rf "$work"
    mkdir -p "$work/corpus"
    seeds="$src/fuzz/corpus/$harness"
    [ ! -d "$src/fuzz/regressions/$harness" ] || seeds="$seeds $src/fuzz/regressions/$harness"
    dict=""
    [ "$harness" = fuzz_netstring ] || dict="-dict=$src/fuzz/http.dict"
    result=ok
    # shellcheck disable=SC2086
    ./fuzz/$harness -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 \
        -detect_leaks=1 -max_len=8192 -print_final_stats=1 $dict \
        -artifact_prefix="$work/" "$work/corpus" $seeds \
        >"$work/log" 2>&1 || result=FAILED
    # A timeout on a loaded machine can be the scheduler, not the code: run
    # each timeout input again alone, three times; it counts only if it is
    # still over the limit.
    for unit in "$work"/timeout-*; do
        [ -e "$unit" ] || continue
        if "./fuzz/$harness" -timeout=1 -runs=3 "$unit" >"$unit.rerun" 2>&1; then
            echo "fuzz/run.sh: $harness: $(basename "$unit") ran in time when repeated alone (machine load); not counted"
            mv "$unit" "$unit.unconfirmed"
            [ "$result" != FAILED ] || ! grep -q 'libFuzzer: timeout' "$work/log" || result=ok
        fi
    done
    if ls "$work" | grep -qE '^(crash|leak|timeout|oom|slow-unit)-[0-9a-f]+$'; then
        result=FAILED
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    runs=${runs:-0}
    rate=$((runs / seconds))
    if [ "$harness" = fuzz_http_parser ] && [ "$result" = ok ] && [ "$rate" -lt "$min_rate" ]; then
        result="TOO SLOW (< $min_rate/s)"
    fi
    printf '%-18s %12s %10s %8s  %s\n' "$harness" "$runs" "$rate" "$seconds" "$result"
    if [ "$result" != ok ]; then
        failed=1
        echo "--- $work/log (tail)"
        tail -40 "$work/log"
    fi
done
exit $failed
