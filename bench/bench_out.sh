# shellcheck shell=bash
# bench_out.sh: CSV files and SVG plots next to the tables the bench
# scripts print (sourced by bench_cost.sh, bench_prime_serverd.sh,
# bench_split.sh).
#
#   source "$here/bench_out.sh"
#   bench_out_init NAME BUILD_DIR   output in $BENCH_OUT (OUT_DIR, default
#                                   BUILD_DIR/bench-results), files NAME_*.csv
#   bench_csv TABLE col...          starts $BENCH_OUT/NAME_TABLE.csv (header)
#   bench_row TABLE value...        appends a row to it
#   bench_plot_lines TABLE PLOT TITLE XCOL YLABEL SERIESCOL YCOL
#       NAME_PLOT.svg: YCOL against XCOL (whole numbers), one line per value
#       of SERIESCOL (values without commas)
#   bench_plot_bars TABLE PLOT TITLE LABELCOL YLABEL YCOL...
#       NAME_PLOT.svg: one group of bars per row, one bar per YCOL
#   bench_out_done                  lists what was written
#
# Columns are named as in the header. Values are written as given; a value
# holding a comma or a quote is quoted (RFC 4180). Plots need gnuplot
# (Debian's gnuplot-nox, installed with apt-get when missing); PLOTS=0
# skips them, and a missing gnuplot only skips them with a word on stderr.
# Every CSV also gets a first comment-free header line, so any spreadsheet
# or `python3 -c 'import csv'` reads it; the machine, date and load go in a
# sibling NAME_meta.txt, not in the tables.

bench_out_init() { # NAME BUILD_DIR
  BENCH_NAME=$1
  BENCH_OUT=${OUT_DIR:-$2/bench-results}
  mkdir -p "$BENCH_OUT"
  BENCH_WRITTEN=()
  {
    echo "script: $BENCH_NAME"
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine: $(uname -srm), $(nproc) cores"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$BENCH_OUT/${BENCH_NAME}_meta.txt"
  BENCH_WRITTEN+=("$BENCH_OUT/${BENCH_NAME}_meta.txt")
  BENCH_GNUPLOT=""
  [ "${PLOTS:-1}" = 0 ] && return 0
  if ! command -v gnuplot >/dev/null; then
    echo "$BENCH_NAME: installing gnuplot-nox (for the SVG plots)" >&2
    local sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    { $sudo_cmd apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q gnuplot-nox; } >&2 ||
      echo "$BENCH_NAME: gnuplot could not be installed: no plots" >&2
  fi
  BENCH_GNUPLOT=$(command -v gnuplot || true)
}

s_bench_csv_file() { echo "$BENCH_OUT/${BENCH_NAME}_$1.csv"; }

s_bench_csv_line() { # values... -> one CSV line
  local out="" v sep=""
  for v in "$@"; do
    if [[ "$v" == *[,\"]* ]]; then v="\"${v//\"/\"\"}\""; fi
    out+="$sep$v"
    sep=,
  done
  printf '%s\n' "$out"
}

bench_csv() { # TABLE columns...
  local file
  file=$(s_bench_csv_file "$1")
  shift
  s_bench_csv_line "$@" >"$file"
  BENCH_WRITTEN+=("$file")
}

bench_row() { # TABLE values...
  local file
  file=$(s_bench_csv_file "$1")
  shift
  s_bench_csv_line "$@" >>"$file"
}

# The column number of NAME in a CSV's header (plain names only), or "".
s_bench_column() { # file name
  head -n 1 "$1" | tr ',' '\n' | awk -v n="$2" '$0 == n { print NR; exit }'
}

s_bench_gnuplot() { # svg script-on-stdin
  local svg=$1
  if [ -z "$BENCH_GNUPLOT" ]; then
    cat >/dev/null
    return 0
  fi
  if "$BENCH_GNUPLOT" 2>"$BENCH_OUT/.gnuplot.err"; then
    BENCH_WRITTEN+=("$svg")
  else
    echo "$BENCH_NAME: gnuplot failed for $svg: $(head -n 3 "$BENCH_OUT/.gnuplot.err")" >&2
  fi
  rm -f "$BENCH_OUT/.gnuplot.err"
}

# Lines: YCOL against XCOL, one line per value of SERIESCOL (in order of
# first appearance); points only where a row has a number.
bench_plot_lines() { # TABLE PLOT TITLE XCOL YLABEL SERIESCOL YCOL
  local csv svg x s y series plot="" first=1 name
  csv=$(s_bench_csv_file "$1")
  svg="$BENCH_OUT/${BENCH_NAME}_$2.svg"
  x=$(s_bench_column "$csv" "$4")
  s=$(s_bench_column "$csv" "$6")
  y=$(s_bench_column "$csv" "$7")
  if [ -z "$x" ] || [ -z "$s" ] || [ -z "$y" ]; then
    echo "$BENCH_NAME: plot $2: no column $4, $6 or $7 in $csv" >&2
    return 0
  fi
  mapfile -t series < <(tail -n +2 "$csv" | awk -F, -v s="$s" '!seen[$s]++ { print $s }')
  # A line joins consecutive rows only: the rows of a series go together,
  # in a copy (header kept)
  local grouped="$BENCH_OUT/.${BENCH_NAME}_$2.csv"
  head -n 1 "$csv" >"$grouped"
  for name in "${series[@]}"; do
    tail -n +2 "$csv" | awk -F, -v s="$s" -v n="$name" '$s == n' >>"$grouped"
  done
  for name in "${series[@]}"; do
    [ $first = 1 ] || plot+=", "
    first=0
    plot+="'$grouped' using $x:(strcol($s) eq '$name' ? column($y) : 1/0) with linespoints title '$name'"
  done
  [ -n "$plot" ] || { rm -f "$grouped"; return 0; }
  s_bench_gnuplot "$svg" <<EOF
set terminal svg size 720,440 dynamic noenhanced font 'sans,12'
set output '$svg'
set datafile separator ','
set datafile columnheaders
set title "$3"
set xlabel '$4'
set ylabel "$5"
set grid
set yrange [0:*]
set offsets graph 0.05, graph 0.05, 0, 0
set xtics 1
set key below
plot $plot
EOF
  rm -f "$grouped"
}

# Bars: one group per row (labelled by LABELCOL), one bar per YCOL.
bench_plot_bars() { # TABLE PLOT TITLE LABELCOL YLABEL YCOL...
  local csv svg label col plot="" first=1 ycol
  csv=$(s_bench_csv_file "$1")
  svg="$BENCH_OUT/${BENCH_NAME}_$2.svg"
  label=$(s_bench_column "$csv" "$4")
  local title=$3 ylabel=$5
  shift 5
  for ycol in "$@"; do
    col=$(s_bench_column "$csv" "$ycol")
    [ -n "$col" ] || { echo "$BENCH_NAME: plot: no column $ycol in $csv" >&2; return 0; }
    [ $first = 1 ] || plot+=", "
    first=0
    plot+="'$csv' using $col:xtic($label) title '$ycol'"
  done
  [ -n "$label" ] && [ -n "$plot" ] || return 0
  s_bench_gnuplot "$svg" <<EOF
set terminal svg size 720,440 dynamic noenhanced font 'sans,12'
set output '$svg'
set datafile separator ','
set datafile columnheaders
set title "$title"
set ylabel "$ylabel"
set style data histograms
set style histogram clustered gap 1
set xtics font ',10'
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set key top right
plot $plot
EOF
}

bench_out_done() {
  local f
  echo "$BENCH_NAME: wrote"
  for f in "${BENCH_WRITTEN[@]}"; do echo "  $f"; done
}
