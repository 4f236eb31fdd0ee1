#!/usr/bin/env bash
# test_installed_service.sh: a service built outside the tree, against the
# installed library only, as a user would build it.
#
# Installs the build into a temporary prefix (make install prefix=...),
# compiles examples/hello_service.c (ps_pipeline and ps_service) with
# nothing but pkg-config's flags for that prefix, runs it on a wildcard
# port it reports, asks it over real HTTP, and stops it with SIGTERM (the
# drain: exit 0). Run by make check from the build directory; CC and the
# sanitizer flags of the build come from the environment (Makefile.am).
# Bounded: every step has a timeout; the prefix is removed on exit.
set -u
srcdir=${srcdir:-..}
CC=${CC:-cc}
tmp=$(mktemp -d /tmp/ps-installed.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! timeout 300 "${MAKE:-make}" -s install prefix="$tmp" >"$tmp/install.log" 2>&1; then
  echo "test_installed_service: make install failed:" >&2
  tail -n 20 "$tmp/install.log" >&2
  exit 1
fi
[ -f "$tmp/include/prime_server/ps_pipeline.h" ] && [ -f "$tmp/include/prime_server/ps_service.h" ] &&
  pass "headers installed" || fail "ps_pipeline.h or ps_service.h not installed"

# The .pc file names the prefix given to configure, not the one given to
# make install: the installed copy is told where it now is (as a package
# relocated by hand would be; --define-variable would move czmq's too).
sed -i "s|^prefix=.*|prefix=$tmp|" "$tmp/lib/pkgconfig/libprime_server.pc"
export PKG_CONFIG_PATH="$tmp/lib/pkgconfig"
if ! flags=$(pkg-config --cflags --libs libprime_server); then
  echo "test_installed_service: pkg-config does not find libprime_server in $tmp" >&2
  exit 1
fi
case "$flags" in
  *"$tmp/include"*) pass "pkg-config: $flags" ;;
  *) fail "pkg-config flags do not point at $tmp: $flags" ;;
esac

# shellcheck disable=SC2086 # flags are words
if ! timeout 120 "$CC" -std=c11 -Wall -Wextra -Werror ${SAN_CFLAGS:-} \
    "$srcdir/examples/hello_service.c" $flags ${SAN_LDFLAGS:-} -Wl,-rpath,"$tmp/lib" \
    -o "$tmp/hello_service" 2>"$tmp/cc.err"; then
  fail "compile against the installed library: $(cat "$tmp/cc.err")"
  exit 1
fi
pass "compiled against the installed library"
if ldd "$tmp/hello_service" | grep -q "$tmp/lib/libprime_server"; then
  pass "linked to the installed libprime_server"
else
  fail "not linked to $tmp/lib: $(ldd "$tmp/hello_service" | grep prime_server)"
fi

help=$(timeout 10 "$tmp/hello_service" --help)
rc=$?
[ $rc -eq 0 ] && grep -q -- "--drain-seconds" <<<"$help" && pass "--help lists the server options" ||
  fail "--help: exit $rc: $help"

"$tmp/hello_service" "tcp://127.0.0.1:*" 2>"$tmp/hello.err" &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(grep -o 'port [0-9]*' "$tmp/hello.err" | awk '{print $2}')
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05 # waits for the service to report its port: nothing to handshake with
done
if [ -z "$port" ]; then
  fail "hello_service did not report a port: $(cat "$tmp/hello.err")"
  exit 1
fi
pass "serving: $(head -n 1 "$tmp/hello.err")"

answer=$(curl -s --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$port/hello?name=Ada")
[ "$answer" = "Hello, Ada!
 200" ] && pass "GET /hello?name=Ada: 200 Hello, Ada!" || fail "GET /hello?name=Ada: '$answer'"
answer=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/bye")
[ "$answer" = 404 ] && pass "GET /bye: 404" || fail "GET /bye: '$answer'"

kill -TERM "$pid"
status=
for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    status=$?
    break
  fi
  sleep 0.05 # waits for the process to exit after its drain
done
if [ -z "$status" ]; then
  fail "hello_service still running 5 s after SIGTERM"
else
  pid=
  [ "$status" = 0 ] && grep -q "draining" "$tmp/hello.err" && pass "SIGTERM: drained, exit 0" ||
    fail "SIGTERM: exit $status: $(cat "$tmp/hello.err")"
fi

[ $failures -eq 0 ] && { echo "all passed"; exit 0; }
echo "$failures failure(s)"
exit 1
