#!/usr/bin/env bash
# test_py_worker_liveness.sh: the Python worker (py/prime_worker.py) takes
# part in liveness (docs/PROTOCOL.md, "Liveness") as the C worker does.
#
#   prime_httpd -> prime_proxyd --loopback -> 2 x prime_worker.py --stage sleep
#
# The "sleep" stage answers GET|POST /sleep?ms=N after N ms and logs when it
# starts, so the test knows which worker holds a job; its body names the pid
# of the worker that answered.
#
# 1. a Python worker SIGKILLed while holding a GET: the proxy expires it
#    (it had beaten), reports the job lost, and the front retries it on the
#    other Python worker: 200 from that worker well before the request
#    timeout (30 s);
# 2. the proxy SIGKILLed: the idle Python workers notice the silence (their
#    own expiry, logged with -v), and when a proxy is started again on the
#    same endpoints both register again by themselves and requests are
#    answered, the workers never restarted;
# 3. a job longer than the proxy's expiry (5 s against 3 s) is not expired
#    (busy beats): a POST, which would not be retried, gets its 200 and the
#    proxy reports nothing lost.
# Every wait polls with a deadline; every request has curl --max-time.
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_httpd prime_proxyd
command -v curl >/dev/null || { echo "test_py_worker_liveness: curl missing" >&2; exit 99; }
if ! find_pyzmq; then
  fail "no python3 with pyzmq (apt-get install python3-zmq; ./quickstart.sh test does)"
  finish
fi
worker_py=$srcdir/py/prime_worker.py

# wait_count NAME PATTERN COUNT LIMIT_MS: until $tmp/NAME.err holds PATTERN
# on at least COUNT lines (0) or LIMIT_MS passed (1)
wait_count() {
  local t0 n
  t0=$(now_ms)
  while (($(now_ms) - t0 < $4)); do
    n=$(grep -c -- "$2" "$tmp/$1.err" 2>/dev/null)
    ((${n:-0} >= $3)) && return 0
    sleep 0.05
  done
  return 1
}

# holder PATTERN LIMIT_MS: prints which of pyA, pyB logged PATTERN first
# (or none within the limit)
holder() {
  local t0 w
  t0=$(now_ms)
  while (($(now_ms) - t0 < $2)); do
    for w in pyA pyB; do
      grep -q -- "$1" "$tmp/$w.err" 2>/dev/null && { echo $w; return; }
    done
    sleep 0.02
  done
  echo none
}

d=ipc://$tmp/l
start httpd "$bindir/prime_httpd" --drain-seconds 1 --request-timeout 30 "tcp://127.0.0.1:*" \
  "$d.up" "$d.loop" "$d.int"
start_both proxy "$bindir/prime_proxyd" -v "$d.up" "$d.down" --loopback "$d.loop"
wait_line httpd "(port [0-9]*)" && wait_line proxy "workers on" ||
  { fail "front did not start: $(cat "$tmp/httpd.err" "$tmp/proxy.err")"; finish; }
port=$(grep -o '(port [0-9]*)' "$tmp/httpd.err" | grep -o '[0-9]*')
url=http://127.0.0.1:$port

start_py() {
  start "$1" "$PYZMQ" "$worker_py" -v --stage sleep "$d.down" - "$d.loop" "$d.int"
}
start_py pyA
start_py pyB
wait_workers proxy 2 10000 ||
  { fail "the Python workers did not register: $(cat "$tmp/pyA.err" "$tmp/pyB.err")"; finish; }

# 1. SIGKILL while holding a GET: retried on the other worker
curl -s --max-time 25 -o "$tmp/get.body" -w '%{http_code}' "$url/sleep?ms=2000" \
  >"$tmp/get.status" &
client=$!
pids+=("$client")
victim=$(holder "sleeping 2000 ms" 10000)
if [ "$victim" = none ]; then
  fail "[1] no Python worker took the GET"
  wait "$client"
else
  survivor=pyB
  [ "$victim" = pyB ] && survivor=pyA
  kill -KILL "${PID[$victim]}"
  t0=$(now_ms)
  wait "${PID[$victim]}" 2>/dev/null
  wait "$client"
  took=$(($(now_ms) - t0))
  answer="$(cat "$tmp/get.status") $(cat "$tmp/get.body")"
  want="200 {\"slept_ms\":2000,\"pid\":${PID[$survivor]}}"
  if [ "$answer" = "$want" ] && [ $took -lt 12000 ]; then
    pass "[1] GET whose Python worker was SIGKILLed: retried, 200 from the other $took ms after the kill"
  else
    fail "[1] GET whose Python worker was SIGKILLed: '$answer' after $took ms (want '$want', < 12000 ms)"
  fi
  grep -q "lost with its worker" "$tmp/proxy.err" &&
    pass "[1] the proxy expired the killed Python worker and reported its job lost" ||
    fail "[1] the proxy did not report the job lost: $(cat "$tmp/proxy.err")"
  # the pool has two workers again
  start_py "$victim"
  wait_line "$victim" "sleep worker" || fail "$victim did not restart"
fi
pidA=${PID[pyA]} pidB=${PID[pyB]}

# 2. The proxy SIGKILLed, both workers idle: they notice, and register with
# the new proxy by themselves
kill -KILL "${PID[proxy]}"
wait "${PID[proxy]}" 2>/dev/null
t0=$(now_ms)
if wait_count pyA "reconnecting" 1 8000 && wait_count pyB "reconnecting" 1 8000; then
  pass "[2] both idle Python workers noticed the silent proxy after $(($(now_ms) - t0)) ms"
else
  fail "[2] the Python workers did not notice the silent proxy within 8 s"
fi
start_both proxy "$bindir/prime_proxyd" -v "$d.up" "$d.down" --loopback "$d.loop"
wait_line proxy "workers on" || fail "[2] the proxy did not restart: $(cat "$tmp/proxy.err")"
t0=$(now_ms)
if wait_workers proxy 2 8000; then
  pass "[2] both Python workers registered with the new proxy after $(($(now_ms) - t0)) ms"
else
  fail "[2] the new proxy does not know both Python workers within 8 s: $(proxy_state proxy)"
fi
bad=0 seen=""
for ((i = 0; i < 10; i++)); do
  got=$(curl -s --max-time 5 -w ' %{http_code}' "$url/sleep?ms=0")
  if [[ "$got" =~ ^\{\"slept_ms\":0,\"pid\":([0-9]+)\}\ 200$ ]]; then
    seen="$seen ${BASH_REMATCH[1]}"
  else
    bad=$((bad + 1))
    ((bad >= 2)) && break  # no need to wait out eight more timeouts
  fi
done
if [ $bad -eq 0 ] && [[ " $seen " == *" $pidA "* ]] && [[ " $seen " == *" $pidB "* ]] &&
  alive pyA && alive pyB && [ "${PID[pyA]}" = "$pidA" ] && [ "${PID[pyB]}" = "$pidB" ]; then
  pass "[2] after the proxy restart 10 of 10 answered, by both (never restarted) Python workers"
else
  fail "[2] after the proxy restart: $bad failed; answered by pids:$seen (workers $pidA $pidB)"
fi
# each worker joined the new proxy once, and none was ever found unreachable
registered=$(grep -c "registered" "$tmp/proxy.err") dropped=$(grep -c "dropped" "$tmp/proxy.err")
[ "$registered" = 2 ] && [ "$dropped" = 0 ] &&
  pass "[2] the new proxy took each Python worker in once, dropped none" ||
  fail "[2] the new proxy logged $registered registrations and $dropped drops for 2 workers"

# 3. A job longer than the proxy's expiry is not expired: busy beats. A POST
# is not retried, so a lost job would be a 502.
lost_before=$(grep -c "lost with its worker" "$tmp/proxy.err")
t0=$(now_ms)
answer=$(curl -s --max-time 25 -d x -w ' %{http_code}' "$url/sleep?ms=5000")
took=$(($(now_ms) - t0))
if [[ "$answer" =~ ^\{\"slept_ms\":5000,\"pid\":($pidA|$pidB)\}\ 200$ ]] && [ $took -ge 5000 ] &&
  [ $took -lt 15000 ]; then
  pass "[3] a 5 s POST on a Python worker (proxy expiry 3 s): 200 after $took ms"
else
  fail "[3] a 5 s POST on a Python worker: '$answer' after $took ms"
fi
[ "$(grep -c "lost with its worker" "$tmp/proxy.err")" = "$lost_before" ] &&
  pass "[3] the proxy did not expire the busy Python worker" ||
  fail "[3] the proxy expired a busy Python worker: $(tail -n 3 "$tmp/proxy.err")"
jobs=$(cat "$tmp/pyA.err" "$tmp/pyB.err" | grep -c "sleeping 5000 ms")
[ "$jobs" = 1 ] && pass "[3] the 5 s job ran once" || fail "[3] the 5 s job ran $jobs times"

for name in pyA pyB proxy httpd; do
  alive "$name" && stop "$name" 3000
done
finish
