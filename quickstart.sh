#!/usr/bin/env bash
# quickstart.sh: install what the mode needs and is missing (Debian), build
# from scratch (a fresh configure in an emptied directory), then
#   ./quickstart.sh demo   run the prime_serverd simulation
#   ./quickstart.sh test   run the whole test suite (make check), after building
#                          the bench programs (make bench) so they keep compiling
#   ./quickstart.sh sanitize   the suite again under ASan/UBSan (build-san/)
#   ./quickstart.sh valgrind   every Check suite under valgrind memcheck (reuses build/)
#   ./quickstart.sh fuzz [S]   every libFuzzer harness for S seconds (default 60)
# Builds out of tree in ./build (./build-san for the sanitizer build), with
# --enable-werror.
set -euo pipefail
cd "$(dirname "$0")"
what=${1:-}
case "$what" in
  demo|test|sanitize|valgrind|fuzz) ;;
  *) echo "usage: $0 demo|test|sanitize|valgrind|fuzz [seconds]" >&2; exit 2 ;;
esac

# What each mode needs, no more: the demo builds and runs the daemon; the
# tests add what the process-level tests drive the daemons with (curl,
# py/prime_worker.py); valgrind and the fuzzers (clang with its libFuzzer
# runtime, unversioned so Debian's default clang's) only for their modes.
# The sanitizer build uses gcc's ASan/UBSan, which build-essential brings.
packages=(build-essential autoconf automake libtool pkg-config
          libzmq3-dev libczmq-dev node-llhttp check help2man)
# The install tests: systemd-analyze (systemd; no running systemd needed),
# man (man-db), pip in a venv (python3-venv); the metrics tests read every
# scrape with the reference parser (python3-prometheus-client) and let a real
# Prometheus server scrape a split front (prometheus)
install_test_packages=(systemd man-db python3-venv python3-prometheus-client prometheus)
case "$what" in
  test|sanitize) packages+=(python3 python3-zmq curl "${install_test_packages[@]}") ;;
  valgrind) packages+=(python3 python3-zmq curl valgrind) ;;
  fuzz) packages+=(clang libclang-rt-dev) ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "quickstart: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
autogen() { # (re)generate configure when it is missing or older than its inputs
  if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    ./autogen.sh
  fi
}
build() { # build DIR [configure args...]: configured afresh in an empty DIR
  local dir=$1; shift
  autogen
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && ../configure --enable-werror "$@" && make -j"$jobs")
}
reuse_build() { # build DIR: make in DIR if configured there, else build afresh
  local dir=$1
  if [ -f "$dir/Makefile" ]; then (cd "$dir" && make -j"$jobs"); else build "$dir"; fi
}

show_failures() { # the logs of the suites that failed
  local trs
  for trs in "$1"/tests/*.trs; do
    grep -qE '^:test-result: (FAIL|ERROR)' "$trs" || continue
    echo "==== ${trs%.trs}.log"; tail -n 60 "${trs%.trs}.log"
  done
}

case "$what" in
  demo)
    build build
    echo "quickstart: running the simulation: build/daemons/prime_serverd 100000 2"
    build/daemons/prime_serverd 100000 2
    cat <<'NEXT'

Next, the daemon (Ctrl-C drains and stops it):
  build/daemons/prime_serverd tcp://127.0.0.1:8002 2
  curl 'http://127.0.0.1:8002/is_prime?possible_prime=32416190071'
  ab -k -n 1000 -c 8 'http://127.0.0.1:8002/is_prime?possible_prime=32416190071'
NEXT
    ;;
  test)
    build build
    # The bench programs too, so that -Werror keeps them compiling
    (cd build && make -j"$jobs" bench && make -j"$jobs" check) || { show_failures build; exit 1; }
    ;;
  sanitize)
    build build-san --enable-sanitizers
    (cd build-san && ASAN_OPTIONS=detect_leaks=1 make -j"$jobs" check) ||
      { show_failures build-san; exit 1; }
    ;;
  valgrind)
    # reuses the build of ./quickstart.sh test when there is one (CI runs
    # test first and then summarises its logs, which a fresh build would delete)
    reuse_build build
    (cd build && make -j"$jobs" check-valgrind)
    ;;
  fuzz)
    autogen
    fuzz/run.sh "${2:-60}"
    ;;
esac
