#!/usr/bin/env bash
# test_exported_symbols.sh: libprime_server.so exports its public API and
# nothing else.
#
# The library is built with -fvisibility=hidden and PS_EXPORT on every
# function of include/prime_server/. This compares the dynamic symbol table
# of the built shared library with the function names declared in those
# headers (comments stripped), and fails on a symbol exported but not
# declared (a private helper leaking into the ABI), on an exported name
# without the ps_ prefix, and on a declared function not exported (a
# declaration missing PS_EXPORT: users would fail to link). Run by make
# check from the build directory (PS_LIBRARY overrides the library).
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
library=${PS_LIBRARY:-./.libs/libprime_server.so}
for tool in nm perl; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool missing"; exit 77; }
done
if [ ! -f "$library" ]; then
  # configure --disable-shared: there is no dynamic symbol table to check
  echo "SKIP: $library not built (static-only build)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declared: every "ps_name (" outside comments. Function-pointer typedefs
# read "(*ps_name_fn) (" and are not matched.
perl -0777 -ne 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g; print "$1\n" while /\b(ps_[A-Za-z0-9_]+) \(/g' \
  "$srcdir"/include/prime_server/*.h | sort -u > "$tmp/declared"
nm -D --defined-only "$library" | awk 'NF >= 3 { print $3 }' | sort -u > "$tmp/exported"

failures=0
declared=$(wc -l < "$tmp/declared")
exported=$(wc -l < "$tmp/exported")
if [ "$declared" -lt 50 ]; then
  echo "FAIL: only $declared functions found in $srcdir/include/prime_server/*.h"
  failures=$((failures + 1))
fi
for name in $(grep -v '^ps_' "$tmp/exported"); do
  echo "FAIL: exported without the ps_ prefix: $name"
  failures=$((failures + 1))
done
for name in $(comm -23 "$tmp/exported" "$tmp/declared" | grep '^ps_'); do
  echo "FAIL: exported but not declared in a public header: $name"
  failures=$((failures + 1))
done
for name in $(comm -13 "$tmp/exported" "$tmp/declared"); do
  echo "FAIL: declared in a public header but not exported (PS_EXPORT missing?): $name"
  failures=$((failures + 1))
done
echo "$exported symbols exported, $declared functions declared, $failures problems"
[ "$failures" -eq 0 ]
