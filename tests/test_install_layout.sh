#!/usr/bin/env bash
# test_install_layout.sh: what make install puts beside the library, as an
# operator meets it.
#
# Installs the build into a temporary prefix (make install prefix=...), then:
# - the systemd units are there, name the installed daemons, and
#   systemd-analyze verify passes on all of them without a word (it checks
#   the syntax, that ExecStart is executable and that the Documentation=
#   man pages exist: MANPATH points at the prefix's); a unit with a mistake
#   makes it speak (the check can fail);
# - man finds every page in the prefix and renders it without a warning;
# - a program built against the installed library without an rpath does
#   not start (the loader does not search a private prefix: the README's
#   custom-prefix section), and starts with LD_LIBRARY_PATH;
# - make uninstall removes the units and the pages.
# Run by make check from the build directory. Bounded: every step has a
# timeout; the prefix is removed on exit.
set -u
srcdir=${srcdir:-..}
CC=${CC:-cc}
for tool in systemd-analyze man pkg-config; do
  command -v "$tool" >/dev/null ||
    { echo "test_install_layout: $tool missing (quickstart.sh test installs it)" >&2; exit 99; }
done
tmp=$(mktemp -d /tmp/ps-layout.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

prefix=$tmp/prefix
if ! timeout 300 "${MAKE:-make}" -s install prefix="$prefix" >"$tmp/install.log" 2>&1; then
  echo "test_install_layout: make install failed:" >&2
  tail -n 20 "$tmp/install.log" >&2
  exit 1
fi

# --- systemd units ---------------------------------------------------------
units=$prefix/lib/systemd/system
expected="prime_echod.service prime_filed.service prime_httpd.service prime_proxyd@.service prime_serverd.service prime_workerd@.service"
found=$(cd "$units" 2>/dev/null && ls | tr '\n' ' ' | sed 's/ $//')
[ "$found" = "$expected" ] && pass "units installed: $found" || fail "units in $units: '$found'"
for unit in $expected; do
  daemon=${unit%%[.@]*}
  grep -q "^ExecStart=$prefix/bin/$daemon " "$units/$unit" && grep -q "^Type=notify$" "$units/$unit" ||
    fail "$unit: no Type=notify or ExecStart=$prefix/bin/$daemon"
done
[ $failures -eq 0 ] && pass "every unit is Type=notify and starts $prefix/bin/<its daemon>"

verify() { # verify UNIT...: systemd-analyze's words on $tmp/verify.out, its status returned
  (cd "$tmp" && MANPATH=$prefix/share/man SYSTEMD_LOG_COLOR=0 timeout 60 \
    systemd-analyze verify "$@") >"$tmp/verify.out" 2>&1
}
verify "$units"/*.service
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$tmp/verify.out" ]; then
  pass "systemd-analyze verify: all six, silent"
else
  fail "systemd-analyze verify: exit $rc: $(cat "$tmp/verify.out")"
fi
# The same verify on broken copies: an unknown key (a warning only) and a
# daemon that is not there must both be reported
mkdir "$tmp/broken"
sed 's/^KillSignal=SIGTERM$/KillSignal=SIGTERM\nDrainSeconds=28/' "$units/prime_workerd@.service" \
  >"$tmp/broken/prime_workerd@.service"
sed "s|^ExecStart=$prefix/bin/prime_httpd|ExecStart=$prefix/bin/prime_httpd_gone|" \
  "$units/prime_httpd.service" >"$tmp/broken/prime_httpd.service"
verify "$tmp/broken/prime_workerd@.service"
grep -q "Unknown key 'DrainSeconds'" "$tmp/verify.out" && pass "verify reports an unknown key" ||
  fail "verify said nothing of an unknown key: $(cat "$tmp/verify.out")"
verify "$tmp/broken/prime_httpd.service" && fail "verify passed a unit whose daemon is missing" ||
  pass "verify fails a missing daemon: $(head -n 1 "$tmp/verify.out")"

# --- man pages ---------------------------------------------------------------
for page in prime_serverd.1 prime_httpd.1 prime_proxyd.1 prime_workerd.1 prime_echod.1 \
    prime_filed.1 prime_server.7; do
  name=${page%.*}
  section=${page##*.}
  where=$(MANPATH=$prefix/share/man man -w "$section" "$name" 2>/dev/null)
  if [ "$where" != "$prefix/share/man/man$section/$page" ]; then
    fail "man -w $section $name: '$where'"
    continue
  fi
  MANPATH=$prefix/share/man LC_ALL=C.UTF-8 MANWIDTH=80 timeout 30 \
    man --warnings=w -E UTF-8 "$section" "$name" >"$tmp/page" 2>"$tmp/warn"
  if [ -s "$tmp/warn" ] || ! grep -q "^NAME" "$tmp/page"; then
    fail "man $section $name: $(cat "$tmp/warn")"
  else
    pass "man $section $name: installed, renders without warnings"
  fi
done

# --- a program outside the tree, in a private prefix -------------------------
sed -i "s|^prefix=.*|prefix=$prefix|" "$prefix/lib/pkgconfig/libprime_server.pc"
flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs libprime_server)
# shellcheck disable=SC2086 # flags are words
if timeout 120 "$CC" -std=c11 ${SAN_CFLAGS:-} "$srcdir/examples/hello_service.c" $flags \
    ${SAN_LDFLAGS:-} -o "$tmp/hello_service" 2>"$tmp/cc.err"; then
  pass "hello_service built with pkg-config's flags only (no rpath)"
  out=$(timeout 10 "$tmp/hello_service" --version 2>&1)
  rc=$?
  [ $rc -ne 0 ] && grep -q "libprime_server.so.0" <<<"$out" &&
    pass "without rpath or LD_LIBRARY_PATH it does not start: $out" ||
    fail "expected a loader error for libprime_server.so.0: exit $rc: $out"
  out=$(LD_LIBRARY_PATH=$prefix/lib timeout 10 "$tmp/hello_service" --version 2>&1)
  rc=$?
  [ $rc -eq 0 ] && grep -q "^hello_service [0-9]" <<<"$out" &&
    pass "with LD_LIBRARY_PATH=$prefix/lib: $out" || fail "with LD_LIBRARY_PATH: exit $rc: $out"
else
  fail "build against the installed library: $(cat "$tmp/cc.err")"
fi

# --- make uninstall ------------------------------------------------------------
timeout 120 "${MAKE:-make}" -s uninstall prefix="$prefix" >"$tmp/uninstall.log" 2>&1 ||
  fail "make uninstall: $(tail -n 5 "$tmp/uninstall.log")"
left=$(find "$units" "$prefix/share/man" -type f 2>/dev/null)
[ -z "$left" ] && pass "make uninstall removed the units and the man pages" ||
  fail "left after make uninstall: $left"

[ $failures -eq 0 ] && echo "all passed" || echo "$failures failure(s)"
exit $((failures > 0))
