# split_lib.sh: helpers for the process-level tests of the daemons
# (sourced by tests/test_split_pipeline.sh, test_prime_echod.sh,
# test_prime_filed.sh, test_worker_liveness.sh).
#
# Every process a test starts goes through `start`, which records its pid;
# the EXIT trap kills whatever is left, whatever happened. Every wait is
# bounded. Ports are picked by binding port 0 and letting go; a daemon that
# loses the race exits 1 and the caller starts again on other ports.

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
bindir=${SPLIT_BINDIR:-./daemons}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ps_split.XXXXXX")
pids=()
declare -A PID=()
failures=0

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
now_ms() { date +%s%3N; }

finish() {
  if [ $failures -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
  fi
  echo "all passed"
  exit 0
}

need_binary() {
  local b
  for b in "$@"; do
    if [ ! -x "$bindir/$b" ]; then
      echo "$(basename "$0"): $bindir/$b is not built" >&2
      exit 99
    fi
  done
}

# Any python3 for the stdlib helpers; PYZMQ: one that can import zmq
# (Debian's python3-zmq lives in /usr/bin/python3's path, which a pyenv or
# venv python3 first in PATH does not see).
PYTHON=$(command -v python3 || echo /usr/bin/python3)
find_pyzmq() {
  local candidate
  PYZMQ=""
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import zmq' 2>/dev/null; then
      PYZMQ=$(command -v "$candidate")
      return 0
    fi
  done
  return 1
}

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME CMD ARGS...: runs it in the background, stderr in $tmp/NAME.err
start() {
  local name=$1
  shift
  "$@" 2>"$tmp/$name.err" &
  PID[$name]=$!
  pids+=("$!")
}

alive() { kill -0 "${PID[$1]}" 2>/dev/null; }

# start_both NAME CMD ARGS...: as start, stdout too in $tmp/NAME.err (a
# daemon's -v lines are czmq log lines, on stdout)
start_both() {
  local name=$1
  shift
  "$@" >"$tmp/$name.err" 2>&1 &
  PID[$name]=$!
  pids+=("$!")
}

# proxy_state NAME: the worker counts "K I" of the last state a proxy
# started with -v reported ("... (K known, I idle)"), or "0 0"
proxy_state() {
  local line
  line=$(grep -o '([0-9]* known, [0-9]* idle)' "$tmp/$1.err" 2>/dev/null | tail -n 1)
  [[ "$line" =~ \(([0-9]+)\ known,\ ([0-9]+)\ idle\) ]] &&
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" || echo "0 0"
}

# wait_workers NAME N LIMIT_MS: until the proxy NAME (started with -v)
# reports N workers known and all N idle (0), or LIMIT_MS passed (1)
wait_workers() {
  local t0
  t0=$(now_ms)
  while (($(now_ms) - t0 < $3)); do
    [ "$(proxy_state "$1")" = "$2 $2" ] && return 0
    alive "$1" || return 1
    sleep 0.02
  done
  return 1
}

# wait_line NAME PATTERN [TRIES]: until $tmp/NAME.err holds PATTERN (0), or
# the process died or 10 s passed (1)
wait_line() {
  local i tries=${3:-200}
  for ((i = 0; i < tries; i++)); do
    grep -q -- "$2" "$tmp/$1.err" 2>/dev/null && return 0
    alive "$1" || { grep -q -- "$2" "$tmp/$1.err" 2>/dev/null; return; }
    sleep 0.05
  done
  return 1
}

# wait_port NAME PORT: until PORT accepts connections (0) or NAME died (1)
wait_port() {
  local i
  for ((i = 0; i < 200; i++)); do
    alive "$1" || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# wait_exit NAME LIMIT_MS: sets $status to the exit status or "timeout"
# (in this shell: only the parent can collect a child's status)
wait_exit() {
  local pid=${PID[$1]} limit=$2 start_ms
  start_ms=$(now_ms)
  while kill -0 "$pid" 2>/dev/null; do
    if (($(now_ms) - start_ms > limit)); then
      status=timeout
      return
    fi
    sleep 0.02
  done
  wait "$pid"
  status=$?
}

# stop NAME LIMIT_MS [SIGNAL]: signal it, expect exit 0 within the limit
stop() {
  local name=$1 limit=$2 signal=${3:-TERM} t0
  t0=$(now_ms)
  kill -"$signal" "${PID[$name]}" 2>/dev/null
  wait_exit "$name" "$limit"
  local took=$(($(now_ms) - t0))
  if [ "$status" = 0 ]; then
    pass "$name: SIG$signal, exit 0 after $took ms"
  else
    fail "$name: SIG$signal, exit '$status' after $took ms: $(tail -n 3 "$tmp/$name.err")"
    kill -KILL "${PID[$name]}" 2>/dev/null
  fi
}

# kill_now NAME...: no questions asked (between retries)
kill_now() {
  local name
  for name in "$@"; do
    [ -n "${PID[$name]:-}" ] || continue
    kill -KILL "${PID[$name]}" 2>/dev/null
    wait "${PID[$name]}" 2>/dev/null
  done
}

# usage_checks PROGRAM BAD_ARGS...: --help, --version, and each bad
# argument list (separated by '|' inside one word per case) exits 2 with
# "PROGRAM: ..." and the usage on stderr.
usage_checks() {
  local program=$1 out rc
  shift
  out=$(timeout 10 "$bindir/$program" --help 2>/dev/null)
  rc=$?
  if [ $rc -eq 0 ] && grep -q "^usage: $program" <<<"$out"; then
    pass "$program --help"
  else
    fail "$program --help: exit $rc"
  fi
  out=$(timeout 10 "$bindir/$program" --version 2>/dev/null)
  if [[ "$out" =~ ^$program\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    pass "$program --version: $out"
  else
    fail "$program --version: '$out'"
  fi
  local case args
  for case in "$@"; do
    IFS='|' read -r -a args <<<"$case"
    [ "$case" = "" ] && args=()
    out=$(timeout 10 "$bindir/$program" "${args[@]}" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -ne 2 ]; then
      fail "$program ${args[*]}: exit $rc, expected 2 ($out)"
    elif [ "$(head -n 1 <<<"$out" | grep -c "^$program: ")" -ne 1 ] ||
      ! grep -q "^usage: $program" <<<"$out"; then
      fail "$program ${args[*]}: no one-line message and usage: $out"
    else
      pass "$program ${args[*]}: $(head -n 1 <<<"$out")"
    fi
  done
}

# http_summary URL [CURL ARGS...]: "status|content-type|allow|body" of one request
http_summary() {
  local url=$1 headers body status
  shift
  status=$(curl -s --max-time 20 -D "$tmp/h.$$" -o "$tmp/b.$$" -w '%{http_code}' "$@" "$url")
  headers=$(tr -d '\r' <"$tmp/h.$$" 2>/dev/null)
  # curl -I writes the head as the body: the Date line differs by nature
  body=$(grep -av '^Date: ' "$tmp/b.$$" 2>/dev/null)
  printf '%s|%s|%s|%s' "$status" \
    "$(grep -i '^content-type:' <<<"$headers" | cut -d' ' -f2-)" \
    "$(grep -i '^allow:' <<<"$headers" | cut -d' ' -f2-)" "$body"
}
