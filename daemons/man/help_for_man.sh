#!/bin/sh
# help_for_man.sh: runs $PS_MAN_PROGRAM with the arguments help2man gives
# it (--help, --version) and turns the first "usage:" into "Usage:", joined
# with a continuation line, so that help2man makes it the SYNOPSIS (it
# looks for "Usage:"; the daemons say "usage:", which their tests and
# users' scripts read).
"$PS_MAN_PROGRAM" "$@" | awk '
  NR == 1 { sub(/^usage:/, "Usage:"); first = $0; next }
  NR == 2 && /^ +\[/ { sub(/^ +/, " "); print first $0; first = ""; next }
  NR == 2 { print first }
  { print }
  END { if (NR == 1) print first }'
