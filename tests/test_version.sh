#!/usr/bin/env bash
# test_version.sh: the version is written once (configure.ac) and every
# place that shows it agrees: the generated ps_version.h (PS_VERSION_MAJOR,
# _MINOR, _PATCH and _STRING), configure's PACKAGE_VERSION (config.h), the
# built libprime_server.pc (pkg-config --modversion), the daemons' --version
# (PS_VERSION_STRING as compiled) and py/prime_worker.py, which runs from the
# source tree and so keeps a copy. Run by make check from the build
# directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
header=./include/prime_server/ps_version.h
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

[ -f "$header" ] || { echo "test_version: $header not generated (run configure)" >&2; exit 99; }
define() { sed -n -E "s/^#define $1 +\"?([^\"]*)\"?\$/\\1/p" "$2"; }
major=$(define PS_VERSION_MAJOR "$header")
minor=$(define PS_VERSION_MINOR "$header")
patch=$(define PS_VERSION_PATCH "$header")
version=$(define PS_VERSION_STRING "$header")
if [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && [ "$version" = "$major.$minor.$patch" ]; then
  pass "ps_version.h: $version = $major.$minor.$patch"
else
  fail "ps_version.h: PS_VERSION_STRING '$version', numbers '$major.$minor.$patch'"
fi

configured=$(define PACKAGE_VERSION ./config.h)
[ "$configured" = "$version" ] && pass "configure: $configured" ||
  fail "configure's PACKAGE_VERSION '$configured' is not the header's '$version'"

if command -v pkg-config >/dev/null; then
  modversion=$(PKG_CONFIG_PATH=. pkg-config --modversion libprime_server 2>&1)
  [ "$modversion" = "$version" ] && pass "pkg-config --modversion: $modversion" ||
    fail "pkg-config --modversion libprime_server: '$modversion', header '$version'"
else
  fail "pkg-config not found (configure needs it too)"
fi

for daemon in prime_serverd prime_httpd prime_proxyd prime_workerd prime_echod prime_filed; do
  out=$(timeout 10 "./daemons/$daemon" --version 2>&1)
  [ "$out" = "$daemon $version" ] && pass "$daemon --version: $out" ||
    fail "$daemon --version: '$out', want '$daemon $version'"
done

python=$(sed -n -E 's/^VERSION = "(.*)"$/\1/p' "$srcdir/py/prime_worker.py")
[ "$python" = "$version" ] && pass "py/prime_worker.py: $python" ||
  fail "py/prime_worker.py VERSION '$python' is not '$version' (configure.ac)"

echo "test_version: $failures failures"
[ "$failures" -eq 0 ]
