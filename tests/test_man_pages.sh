#!/usr/bin/env bash
# test_man_pages.sh: every man page renders without a warning.
#
# The daemons' pages (section 1, generated from their --help by help2man
# into the build directory) and the library's (docs/prime_server.7) are
# rendered by man -l with all of groff's warnings on (--warnings=w); any
# line on stderr fails. Each rendering must also show the page's name, a
# SYNOPSIS naming the daemon, and the options its --help lists. Run by
# make check from the build directory.
set -u
srcdir=${srcdir:-..}
command -v man >/dev/null || { echo "test_man_pages: man missing (apt-get install man-db)" >&2; exit 99; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

render() { # render PAGE: text on $tmp/out, warnings on $tmp/err
  LC_ALL=C.UTF-8 MANWIDTH=80 timeout 30 man --warnings=w -E UTF-8 -l "$1" >"$tmp/out" 2>"$tmp/err"
}

for daemon in prime_serverd prime_httpd prime_proxyd prime_workerd prime_echod prime_filed; do
  page=daemons/man/$daemon.1
  if [ ! -f "$page" ]; then
    fail "$page was not generated"
    continue
  fi
  render "$page"
  if [ -s "$tmp/err" ]; then
    fail "$page: warnings: $(cat "$tmp/err")"
  else
    pass "$page: renders without warnings"
  fi
  grep -q "^NAME" "$tmp/out" && grep -qE "^ +$daemon +- " "$tmp/out" &&
    pass "$page: NAME $(grep -A1 '^NAME' "$tmp/out" | tail -n 1 | sed 's/^ *//')" ||
    fail "$page: no NAME line for $daemon"
  grep -A1 "^SYNOPSIS" "$tmp/out" | grep -qE "^ +$daemon +\[OPTIONS\]" &&
    pass "$page: SYNOPSIS" || fail "$page: no SYNOPSIS naming $daemon: $(head -n 12 "$tmp/out")"
  # Every long option of --help is in the page (help2man saw the same text)
  missing=
  for option in $("daemons/$daemon" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
    grep -qF -- "$option" "$tmp/out" || missing="$missing $option"
  done
  [ -z "$missing" ] && pass "$page: every option of --help" || fail "$page: missing$missing"
  grep -q "^ENVIRONMENT" "$tmp/out" && grep -q "NOTIFY_SOCKET" "$tmp/out" &&
    pass "$page: ENVIRONMENT (NOTIFY_SOCKET)" || fail "$page: no ENVIRONMENT section"
done

page=$srcdir/docs/prime_server.7
render "$page"
[ -s "$tmp/err" ] && fail "$page: warnings: $(cat "$tmp/err")" || pass "$page: renders without warnings"
grep -qE "^ +prime_server +- " "$tmp/out" && grep -q "^SYNOPSIS" "$tmp/out" &&
  pass "$page: NAME and SYNOPSIS" || fail "$page: NAME or SYNOPSIS missing"

# The check itself: a page with an undefined macro must fail it
printf '.TH BAD 1\n.SH NAME\nbad \\- a page\n.NOSUCHMACRO x\n' >"$tmp/bad.1"
render "$tmp/bad.1"
[ -s "$tmp/err" ] && pass "a page with an unknown macro warns: $(head -n 1 "$tmp/err")" ||
  fail "man -l did not warn about an unknown macro: the check above sees nothing"

[ $failures -eq 0 ] && echo "all passed" || echo "$failures failure(s)"
exit $((failures > 0))
