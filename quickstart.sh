#!/usr/bin/env bash
# quickstart.sh: install what is missing (Debian), build from scratch, then
#   ./quickstart.sh demo   run the prime_serverd simulation
#   ./quickstart.sh test   run the whole test suite (make check)
#   ./quickstart.sh sanitize   the suite again under ASan/UBSan
# Builds out of tree in ./build (./build-san for the sanitizer build).
set -euo pipefail
cd "$(dirname "$0")"
what=${1:-}
case "$what" in
  demo|test|sanitize) ;;
  *) echo "usage: $0 demo|test|sanitize" >&2; exit 2 ;;
esac

packages=(build-essential autoconf automake libtool pkg-config
          libzmq3-dev libczmq-dev libhttp-parser-dev check clang
          python3 python3-zmq curl)  # the process-level tests (py/prime_worker.py)
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
build() { # build DIR [configure args...]
  local dir=$1; shift
  [ -x configure ] || ./autogen.sh
  mkdir -p "$dir"
  (cd "$dir" && { [ -f Makefile ] || ../configure "$@"; } && make -j"$jobs")
}

case "$what" in
  demo)
    build build
    (cd build && make -j"$jobs" check TESTS= )   # builds the test programs and examples too
    if [ -x build/src/prime_serverd ]; then
      echo "quickstart: running the simulation: build/src/prime_serverd 100000 2"
      build/src/prime_serverd 100000 2
    else
      echo "quickstart: prime_serverd is not built yet; running the end-to-end pipeline tests"
      (cd build && make check TESTS=tests/check_e2e_pipeline)
    fi
    ;;
  test)
    build build
    (cd build && make -j"$jobs" check) || { cat build/tests/*.log 2>/dev/null | tail -n 200; exit 1; }
    ;;
  sanitize)
    build build-san --enable-sanitizers
    (cd build-san && ASAN_OPTIONS=detect_leaks=1 make -j"$jobs" check) ||
      { cat build-san/tests/*.log 2>/dev/null | tail -n 200; exit 1; }
    ;;
esac
