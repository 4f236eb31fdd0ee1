#!/usr/bin/env bash
# test_prime_serverd_cli.sh: prime_serverd as a user runs it, from the outside.
#
# Bad arguments exit 2 with a message; the simulation's count equals an
# independent count (a sieve in awk, trial division in Python); the daemon
# answers the HTTP contract over loopback TCP and exits 0 within the drain
# time + 1 s on SIGTERM; py/prime_serverd.py answers the same requests
# identically; the hello_service example serves. Run by make check from the
# build directory (PRIME_SERVERD and HELLO_SERVICE override the binaries).
# Every command is bounded with timeout; the trap kills whatever is left.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
bin=${PRIME_SERVERD:-./daemons/prime_serverd}
hello=${HELLO_SERVICE:-./examples/hello_service}
if [ ! -x "$bin" ]; then
  echo "test_prime_serverd_cli: $bin is not built" >&2
  exit 99
fi
for tool in curl timeout awk; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool missing"; exit 77; }
done
have_python=no
command -v python3 >/dev/null && have_python=yes

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

now_ms() { date +%s%3N; }

# A free loopback TCP port (bind to 0 and let go); the caller retries if it
# is gone by the time it binds.
free_port() {
  if [ "$have_python" = yes ]; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
  else
    echo $((20000 + RANDOM % 20000))
  fi
}

# Wait (bounded) until file $1 contains $2; 0 if it did.
wait_for_line() {
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Wait (bounded, $2 ms) for process $1, a child of this shell, to end; sets
# $status to its exit status or "timeout" (not in a subshell: only the
# parent shell can collect a child's status).
wait_exit() {
  local pid=$1 limit=$2 start
  start=$(now_ms)
  while kill -0 "$pid" 2>/dev/null; do
    if (($(now_ms) - start > limit)); then
      status=timeout
      return
    fi
    sleep 0.02
  done
  wait "$pid"
  status=$?
}

# Wait (bounded) until process $1 accepts connections on port $2.
wait_port() {
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$1" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------------------
# Bad arguments: exit 2, a one-line message and the usage on stderr.
bad_args() {
  local out rc
  out=$(timeout 10 "$bin" "$@" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -ne 2 ]; then
    fail "prime_serverd $* exited $rc, expected 2"
  elif ! grep -q '^prime_serverd: ' <<<"$out" || ! grep -q '^usage: prime_serverd' <<<"$out"; then
    fail "prime_serverd $*: no message and usage: $out"
  else
    pass "bad arguments ($*): $(head -n 1 <<<"$out")"
  fi
}
bad_args
bad_args --bogus 10
bad_args -x 10
bad_args -- -5
bad_args abc
bad_args 10x
bad_args 0
bad_args ''
bad_args 18446744073709551616
bad_args 10,5
bad_args 5,x
bad_args ,
bad_args 10 0
bad_args 10 100000
bad_args 10 two
bad_args 10 -1
bad_args foo://bar
bad_args tcp://nohost
bad_args tcp://127.0.0.1:99999
bad_args tcp://127.0.0.1:
bad_args ipc://
bad_args --drain-seconds -1 10
bad_args --drain-seconds x 10
bad_args --drain-seconds 10
bad_args --request-timeout abc 10
bad_args --health-check nope 10
bad_args --max-in-flight 0 10
bad_args --max-request-size 1k 10
bad_args --affinity x 10
bad_args --worker-credit 0 10
bad_args --worker-credit x 10
bad_args --worker-credit 1025 10
bad_args --max-connections 0 10
bad_args --max-connections x 10
bad_args -n 1000001 10
bad_args --header-timeout x 10
bad_args --header-timeout -1 10
bad_args --idle-timeout inf 10
bad_args --idle-timeout 86401 10
bad_args --send-timeout -1 10
bad_args --send-timeout 0x10 10
bad_args 10 --send-timeout
bad_args 10 1 2 /health extra
bad_args 10 1 x

out=$(timeout 10 "$bin" --help 2>/dev/null)
rc=$?
if [ $rc -eq 0 ] && grep -q '^usage: prime_serverd' <<<"$out"; then pass "--help"; else fail "--help: $rc"; fi
# The server options every daemon shares are all listed
for option in --drain-seconds --health-check --request-timeout --max-request-size \
  --max-in-flight --max-connections --header-timeout --idle-timeout --send-timeout \
  --worker-credit --affinity --log --quiet; do
  grep -q -- "$option " <<<"$out" || fail "--help does not list $option"
done
out=$(timeout 10 "$bin" --version 2>/dev/null)
if [[ "$out" =~ ^prime_serverd\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then pass "--version: $out"; else fail "--version: $out"; fi

# ---------------------------------------------------------------------------
# Simulation: the count against an independent one.

# Primes among the odd numbers in [lo, hi] (lo odd >= 3), by a sieve.
sieve_count() {
  awk -v lo="$1" -v hi="$2" 'BEGIN {
    for (i = 2; i * i <= hi; i++) if (!c[i]) for (j = i * i; j <= hi; j += i) c[j] = 1
    n = 0; for (k = lo; k <= hi; k += 2) if (!c[k]) n++
    print n }'
}

# run_sim EXPECTED REQUESTS ARGS...: checks the two output lines exactly.
run_sim() {
  local expected=$1 requests=$2 out rc
  shift 2
  out=$(timeout 120 "$bin" "$@" 2>"$tmp/sim.err")
  rc=$?
  if [ $rc -ne 0 ]; then
    fail "prime_serverd $* exited $rc: $(cat "$tmp/sim.err")"
    return
  fi
  local first second
  first=$(sed -n 1p <<<"$out")
  second=$(sed -n 2p <<<"$out")
  if [ "$first" != "$expected primes found" ]; then
    fail "prime_serverd $*: '$first', expected '$expected primes found'"
  elif ! [[ "$second" =~ ^requests:\ $requests,\ seconds:\ [0-9]+\.[0-9]+,\ requests/s:\ [0-9]+$ ]]; then
    fail "prime_serverd $*: summary line '$second'"
  elif [ "$(wc -l <<<"$out")" -ne 2 ]; then
    fail "prime_serverd $*: more than two lines on stdout: $out"
  elif [ -s "$tmp/sim.err" ]; then
    fail "prime_serverd $*: stderr not empty (not a terminal): $(cat "$tmp/sim.err")"
  else
    pass "prime_serverd $*: $first; $second"
  fi
}

run_sim "$(sieve_count 3 2001)" 1000 1000 2
run_sim "$(sieve_count 3 20001)" 10000 10000 1
run_sim "$(sieve_count 101 199)" 50 100,200
run_sim "$(sieve_count 3 29)" 14 0,30 3
run_sim 1 1 7,7
run_sim "$(sieve_count 3 4001)" 2000 --worker-credit 16 2000 2
run_sim "$(sieve_count 3 2001)" 1000 1000 2 -w 4
run_sim "$(sieve_count 3 2001)" 1000 --worker-credit 1 1000 2
run_sim 0 0 8,8
# The server options apply to the simulation's own server; one connection
# allowed: the client keeps to it
run_sim "$(sieve_count 3 2001)" 1000 -n 1 --header-timeout 5 --idle-timeout 5 \
  --send-timeout 5 --max-in-flight 16 1000 2
run_sim 0 0 1,2
if [ "$have_python" = yes ]; then
  # Large numbers, counted by trial division in Python
  big=$(python3 -c '
import math
def p(n): return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))
print(sum(p(n) for n in range(1000000001, 1000001001, 2)))')
  run_sim "$big" 500 1000000000,1000001000 2
fi

# Two simulations at once: each on its own ephemeral port
expected=$(sieve_count 3 40001)
timeout 120 "$bin" 20000 1 >"$tmp/a.out" 2>&1 &
a=$!
pids+=("$a")
timeout 120 "$bin" 20000 2 >"$tmp/b.out" 2>&1 &
b=$!
pids+=("$b")
wait $a; ra=$?
wait $b; rb=$?
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && [ "$(sed -n 1p "$tmp/a.out")" = "$expected primes found" ] &&
  [ "$(sed -n 1p "$tmp/b.out")" = "$expected primes found" ]; then
  pass "two simulations at once"
else
  fail "two simulations at once: $ra $rb $(cat "$tmp/a.out" "$tmp/b.out")"
fi

# ---------------------------------------------------------------------------
# CPU placement is the user's: without --affinity every thread of a running
# simulation may run wherever this shell may; with --affinity CPU, only there.
# (Threads inherit main's mask, so a built-in placement would show on main
# and the pipeline's threads once they exist.)
check_affinity() { # check_affinity WANT ARGS...
  local want=$1 pid i n lists
  shift
  # not under timeout (its pid would be timeout's): bounded by the kill below
  "$bin" "$@" 100000000 1 >/dev/null 2>"$tmp/aff.err" &
  pid=$!
  pids+=("$pid")
  n=0
  for ((i = 0; i < 200 && n < 6; i++)); do
    n=$(ls "/proc/$pid/task" 2>/dev/null | wc -l)
    [ "$n" -ge 6 ] || sleep 0.05
  done
  lists=$(cat /proc/"$pid"/task/*/status 2>/dev/null | sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' | sort -u)
  kill -INT "$pid" 2>/dev/null
  wait_exit "$pid" 10000
  [ "$status" != timeout ] || kill -KILL "$pid" 2>/dev/null
  if [ "$n" -lt 6 ]; then
    fail "affinity ($*): only $n threads seen: $(cat "$tmp/aff.err")"
  elif [ "$lists" != "$want" ]; then
    fail "affinity ($*): threads allowed on '$(tr '\n' ' ' <<<"$lists")', want '$want'"
  else
    pass "affinity ${*:-(none)}: all $n threads on CPUs $want"
  fi
}
own=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
check_affinity "$own"
first=$(awk -F'[-,]' '{ print $1 }' <<<"$own")
check_affinity "$first" --affinity "$first"

# ---------------------------------------------------------------------------
# Daemon

# start_daemon NAME ARGS...: starts prime_serverd on a free port; sets
# $port and $daemon (pid). ENDPOINT in ARGS is written as @ENDPOINT@.
start_daemon() {
  local name=$1 try
  shift
  for ((try = 0; try < 5; try++)); do
    port=$(free_port)
    local args=("${@//@ENDPOINT@/tcp://127.0.0.1:$port}")
    "$bin" "${args[@]}" 2>"$tmp/$name.err" &
    daemon=$!
    pids+=("$daemon")
    if wait_port "$daemon" "$port"; then
      return 0
    fi
    kill -KILL "$daemon" 2>/dev/null
    wait "$daemon" 2>/dev/null
  done
  fail "$name: the daemon did not start: $(cat "$tmp/$name.err")"
  return 1
}

# expect STATUS BODY CURL_ARGS...: one request; checks status and body.
expect() {
  local status=$1 body=$2 got_status got_body
  shift 2
  got_status=$(curl -s --max-time 10 -o "$tmp/body" -w '%{http_code}' "$@")
  got_body=$(cat "$tmp/body" 2>/dev/null)
  if [ "$got_status" != "$status" ] || { [ "$body" != "*" ] && [ "$got_body" != "$body" ]; }; then
    fail "curl $*: $got_status '$got_body', expected $status '$body'"
  else
    pass "curl $*: $got_status"
  fi
}

if start_daemon daemon --quiet --drain-seconds 2 @ENDPOINT@ 2 2 /health; then
  url="http://127.0.0.1:$port"
  expect 200 '{"possible_prime":7,"is_prime":true}' "$url/is_prime?possible_prime=7"
  expect 200 '{"possible_prime":32416190071,"is_prime":true}' "$url/is_prime?possible_prime=32416190071"
  expect 200 '{"possible_prime":1,"is_prime":false}' "$url/is_prime?possible_prime=1"
  expect 200 '{"possible_prime":1000000007,"is_prime":true}' -d 1000000007 "$url/is_prime"
  expect 400 '*' "$url/is_prime?possible_prime=abc"
  expect 404 '*' "$url/nothing"
  expect 405 '*' -X DELETE "$url/is_prime"
  expect 200 '*' "$url/health"
  allow=$(curl -s --max-time 10 -D - -o /dev/null -X PUT "$url/is_prime" | tr -d '\r' | grep -i '^allow:')
  [ "$allow" = "Allow: GET, HEAD, POST" ] && pass "405 Allow" || fail "405 Allow: '$allow'"
  head=$(curl -s --max-time 10 -I "$url/is_prime?possible_prime=7" | tr -d '\r' | head -n 1)
  [[ "$head" =~ ^HTTP/1.1\ 200 ]] && pass "HEAD" || fail "HEAD: '$head'"

  # Keep-alive: three requests on one connection, over bash's /dev/tcp
  if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
    printf 'GET /is_prime?possible_prime=3 HTTP/1.1\r\nHost: t\r\n\r\nGET /is_prime?possible_prime=4 HTTP/1.1\r\nHost: t\r\n\r\nGET /is_prime?possible_prime=5 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >&3
    timeout 10 cat <&3 >"$tmp/raw"
    exec 3<&-
    bodies=$(grep -o '{.*}' "$tmp/raw" | tr '\n' ' ')
    if [ "$bodies" = '{"possible_prime":3,"is_prime":true} {"possible_prime":4,"is_prime":false} {"possible_prime":5,"is_prime":true} ' ]; then
      pass "pipelined keep-alive requests in order"
    else
      fail "pipelined keep-alive: $(cat "$tmp/raw")"
    fi
  fi

  # SIGTERM with an idle connection open and a request that takes over ten
  # seconds in flight: exit 0 within drain (2 s) + 1 s.
  exec 4<>"/dev/tcp/127.0.0.1/$port"
  curl -s --max-time 20 -o "$tmp/slow" -w '%{http_code}' \
    "$url/is_prime?possible_prime=18446744073709551557" >"$tmp/slow.status" &
  slow=$!
  pids+=("$slow")
  sleep 0.3 # let the request reach a worker; not a synchronisation
  start=$(now_ms)
  kill -TERM "$daemon"
  wait_exit "$daemon" 3500
  rc=$status
  took=$(($(now_ms) - start))
  exec 4<&-
  wait "$slow"
  if [ "$rc" = 0 ] && [ $took -le 3000 ]; then
    pass "SIGTERM: exit 0 after $took ms (drain 2 s), slow request got $(cat "$tmp/slow.status")"
  else
    fail "SIGTERM: exit '$rc' after $took ms (drain 2 s): $(cat "$tmp/daemon.err")"
  fi
fi

# Nothing connected: the drain ends at once.
if start_daemon quick --quiet @ENDPOINT@; then
  expect 200 '*' "http://127.0.0.1:$port/is_prime?possible_prime=11"
  start=$(now_ms)
  kill -INT "$daemon"
  wait_exit "$daemon" 29000
  rc=$status
  took=$(($(now_ms) - start))
  if [ "$rc" = 0 ] && [ $took -le 1500 ]; then
    pass "SIGINT without clients: exit 0 after $took ms"
  else
    fail "SIGINT without clients: exit '$rc' after $took ms"
  fi
fi

# A second signal stops at once, long drain or not.
if start_daemon second --drain-seconds 30 @ENDPOINT@; then
  exec 5<>"/dev/tcp/127.0.0.1/$port"
  start=$(now_ms)
  kill -TERM "$daemon"
  wait_for_line "$tmp/second.err" "draining"
  kill -TERM "$daemon"
  wait_exit "$daemon" 5000
  rc=$status
  took=$(($(now_ms) - start))
  exec 5<&-
  if [ "$rc" = 0 ] && [ $took -le 2000 ]; then
    pass "second signal: exit 0 after $took ms (drain 30 s)"
  else
    fail "second signal: exit '$rc' after $took ms: $(cat "$tmp/second.err")"
  fi
fi

# A port already taken: a runtime error (1), not a usage error (2)
if start_daemon taken --quiet @ENDPOINT@; then
  timeout 10 "$bin" --quiet "tcp://127.0.0.1:$port" 2>"$tmp/taken2.err"
  rc=$?
  [ $rc -eq 1 ] && pass "port in use: exit 1" || fail "port in use: exit $rc"
  kill -TERM "$daemon"
  wait_exit "$daemon" 29000
  rc=$status
  [ "$rc" = 0 ] || fail "taken: exit '$rc'"
fi

# --header-timeout, --idle-timeout and --max-connections reach the daemon's
# server: a slow header section gets 408, an idle keep-alive connection is
# closed, and a second connection while one is open is closed unanswered.
# (--send-timeout needs a client that stops reading: check_ps_server.)
if [ "$have_python" = yes ] &&
  start_daemon limits --quiet -n 1 --header-timeout 0.5 --idle-timeout 2 --send-timeout 5 \
    @ENDPOINT@ 1; then
  line=$(timeout 30 python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
request = b"GET /is_prime?possible_prime=7 HTTP/1.1\r\nHost: t\r\n"
def until_close(sock):
    data = b""
    sock.settimeout(5)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data
def ask(extra=b"Connection: close\r\n"):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(request + extra + b"\r\n")
    return sock
# The probe that found the port open may not be gone from the server's
# count yet: wait (bounded) until a connection of ours is served.
for _ in range(100):
    if until_close(ask()).startswith(b"HTTP/1.1 200"):
        break
    time.sleep(0.05)
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(request)
start = time.monotonic()
answer = until_close(slow)
slow_s = time.monotonic() - start
held = ask(b"")
held.settimeout(5)
first = held.recv(65536)
start = time.monotonic()
refused = until_close(ask())
rest = until_close(held)
idle_s = time.monotonic() - start
after = b""
for _ in range(100):
    after = until_close(ask())
    if after:
        break
    time.sleep(0.05)
ok = (answer.startswith(b"HTTP/1.1 408") and 0.4 <= slow_s < 4
      and first.startswith(b"HTTP/1.1 200") and refused == b""
      and rest == b"" and 1.5 <= idle_s < 5
      and after.startswith(b"HTTP/1.1 200") and after.endswith(b'{"possible_prime":7,"is_prime":true}'))
print("%s slow header: %r after %.2f s; second connection: %r; idle: closed after %.2f s; "
      "then: %r" % ("ok" if ok else "bad", answer[:12], slow_s, refused[:12], idle_s, after[:12]))
PY
)
  case "$line" in
    ok*) pass "--header-timeout/--idle-timeout/--max-connections: ${line#ok }" ;;
    *) fail "--header-timeout/--idle-timeout/--max-connections: $line $(cat "$tmp/limits.err")" ;;
  esac
  kill -TERM "$daemon"
  wait_exit "$daemon" 29000
  rc=$status
  [ "$rc" = 0 ] || fail "limits daemon: exit '$rc'"
fi

# ---------------------------------------------------------------------------
# The Python twin answers like the C daemon (status and body).
if [ "$have_python" = yes ] && start_daemon twin --quiet @ENDPOINT@; then
  c_url="http://127.0.0.1:$port"
  c_daemon=$daemon
  py=""
  for ((try = 0; try < 5; try++)); do
    py_port=$(free_port)
    python3 "$srcdir/py/prime_serverd.py" "$py_port" 2>"$tmp/py.err" &
    py=$!
    pids+=("$py")
    wait_for_line "$tmp/py.err" "serving http on" && break
    kill -KILL "$py" 2>/dev/null
    py=""
  done
  if [ -z "$py" ]; then
    fail "py/prime_serverd.py did not start: $(cat "$tmp/py.err")"
  else
    py_url="http://127.0.0.1:$py_port"
    same=0
    while IFS= read -r line; do
      read -r -a args <<<"$line"
      a=$(curl -s --max-time 10 -w ' %{http_code} %{content_type}' "${args[@]/#\//$c_url/}")
      b=$(curl -s --max-time 10 -w ' %{http_code} %{content_type}' "${args[@]/#\//$py_url/}")
      if [ "$a" = "$b" ]; then
        same=$((same + 1))
      else
        fail "C and Python differ on '$line': '$a' vs '$b'"
      fi
    done <<'EOF'
/is_prime?possible_prime=0
/is_prime?possible_prime=2
/is_prime?possible_prime=9
/is_prime?possible_prime=1000000007
/is_prime?possible_prime=18446744073709551615
/is_prime?possible_prime=%37
/is_prime?possible_prime=
/is_prime?possible_prime
/is_prime?possible_prime=1&possible_prime=2
/is_prime?possible_prime=-3
/is_prime?possible_prime=1.5
/is_prime?possible_prime=+5
/is_prime?possible_prime=18446744073709551616
/is_prime
/is_prime?other=1
/elsewhere
-d 97 /is_prime
-d -5 /is_prime
-X DELETE /is_prime
-X PUT /is_prime
/factor?n=0
/factor?n=360
/factor?n=18446744073709551615
/factor?n=1000000007
/factor?n=
/factor?n=1&n=2
/factor?n=-3
/factor
-d 600851475143 /factor
-X DELETE /factor
EOF
    pass "C and Python agree on $same requests"
    kill -TERM "$py" 2>/dev/null
  fi
  kill -TERM "$c_daemon"
  wait_exit "$c_daemon" 29000
  rc=$status
  [ "$rc" = 0 ] || fail "twin daemon: exit '$rc'"
fi

# ---------------------------------------------------------------------------
# The example service
if [ -x "$hello" ]; then
  "$hello" "tcp://127.0.0.1:*" 2>"$tmp/hello.err" &
  hello_pid=$!
  pids+=("$hello_pid")
  if wait_for_line "$tmp/hello.err" "serving on"; then
    hello_port=$(grep -o 'port [0-9]*' "$tmp/hello.err" | awk '{print $2}')
    expect 200 'Hello, Ada!' "http://127.0.0.1:$hello_port/hello?name=Ada"
    expect 404 '*' "http://127.0.0.1:$hello_port/bye"
  else
    fail "hello_service did not start: $(cat "$tmp/hello.err")"
  fi
  kill -TERM "$hello_pid"
  wait_exit "$hello_pid" 5000
  rc=$status
  [ "$rc" = 0 ] && pass "hello_service: SIGTERM, exit 0" || fail "hello_service: exit '$rc'"
fi

if [ $failures -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"
exit 0
