# shellcheck shell=bash
# hardening_lib.sh: what the hardening bench scripts share (sourced by
# bench_slowloris.sh, bench_slow_readers.sh, bench_overload.sh, bench_soak.sh
# and tests/test_soak_short.sh).
#
# Every process a script starts goes through `launch`, which records its pid;
# the EXIT trap kills whatever is left (TERM, then KILL after a bounded wait)
# and removes the scratch directory. Every wait is bounded. Loopback only.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
# shellcheck source-path=SCRIPTDIR source=nginx_conf.sh
source "$here/nginx_conf.sh"
QUICK=${QUICK:-0}

# The build directory: the argument, else ./build under the source tree, else .
pick_build() { # [dir]
  local b=${1:-}
  if [ -z "$b" ]; then
    if [ -x "$top/build/daemons/prime_serverd" ]; then b="$top/build"; else b=.; fi
  fi
  build=$(cd "$b" && pwd)
}

# Debian packages for missing commands: install_missing cmd:package ...
install_missing() {
  local want=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] ||
      want+=("${pair#*:}")
  done
  [ ${#want[@]} -eq 0 ] && return 0
  echo "bench: installing ${want[*]}" >&2
  local sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${want[@]}" >&2
}

# Debian's python3 (the drivers use the standard library only, but a pyenv
# python3 on PATH may lack what Debian packages add, such as pyzmq).
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ps_bench.XXXXXX")
pids=()

stop_pid() { # pid: TERM, up to 5 s, then KILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# launch NAME command...: runs it in the background, stderr to $tmp/NAME.err;
# the pid is in $last_pid (libtool wrappers exec, so it is the daemon's).
launch() {
  local name=$1
  shift
  "$@" 2>>"$tmp/$name.err" &
  last_pid=$!
  pids+=("$last_pid")
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # pid port: until it accepts, bounded (10 s)
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$1" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "-") print "-"; else printf "%.2f", a / b }'; }

median() { # numbers on stdin -> the median (the lower middle for even counts)
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'
}

# sampler PID FILE: "seconds rss_kib fds" once a second until killed
# (its pid goes to pids, so the trap stops it).
sampler() {
  local pid=$1 file=$2
  (
    t0=$(date +%s%N)
    while kill -0 "$pid" 2>/dev/null; do
      echo "$((($(date +%s%N) - t0) / 1000000)) $(rss_kib "$pid") $(fds_of "$pid")"
      sleep 1
    done
  ) >"$file" &
  sampler_pid=$!
  pids+=("$sampler_pid")
}

# wrk_run URL SECONDS CONNECTIONS OUT: wrk -t1 --latency, bounded; prints
# "req/s p50_ms p99_ms non2xx socket_errors" ("- - - - -" when wrk failed).
wrk_run() {
  timeout $(($2 + 30)) wrk -t1 -c"$3" -d"$2s" --timeout 10s --latency "$1" >"$4" 2>&1 || true
  awk 'function ms(v) {
         if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
         if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
         if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
         return v }
       /^Requests\/sec:/ { rps = $2 }
       /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
       /Non-2xx or 3xx responses:/ { non2xx = $NF }
       /Socket errors:/ { gsub(",", ""); errs = $4 + $6 + $8 + $10 }
       END { if (rps == "") print "- - - - -";
             else printf "%s %.3f %.3f %d %d\n", rps, p50, p99, non2xx, errs }' "$4"
}

# start_nginx DIR EXTRA_HTTP_DIRECTIVES: nginx, worker_processes 1, on a free
# port answering every request 200 with a short JSON body; sets ng_pid,
# ng_port and ng_worker (the worker process: the one that holds connections).
start_nginx() {
  local dir=$1 extra=$2
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  ng_port=$(free_port)
  nginx_conf "$dir" "$ng_port" "worker_processes 1;" "$extra"
  launch nginx "$NGINX" -p "$dir" -c "$dir/nginx.conf"
  ng_pid=$last_pid
  wait_port "$ng_pid" "$ng_port" || { echo "bench: nginx did not start: $(cat "$tmp/nginx.err")" >&2; exit 1; }
  ng_worker=$(pgrep -P "$ng_pid" | head -n 1)
}
