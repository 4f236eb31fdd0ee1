#!/usr/bin/env bash
# test_worker_liveness.sh: the split prime service survives a worker
# process killed with SIGKILL mid-request and a proxy process restarted.
#
# Proxies get --loopback so that they report the jobs of a lost worker to
# the server, which retries a GET/HEAD once and otherwise answers 502.
#
# - a compute worker process is SIGKILLed while working on a GET: that
#   client still gets the right answer (retried on the other worker)
#   within a few seconds;
# - the same with a POST: 502 or 503 within a few seconds;
# - afterwards 20 requests are all answered at once: none is routed to the
#   dead worker;
# - the compute proxy is SIGKILLed and started again on the same
#   endpoints: the workers re-register and service resumes by itself
#   within a few seconds;
# - the same after a proxy stopped with SIGTERM and started again;
# - each restarted proxy comes to know all its workers (its own count of
#   known and idle workers), takes each in once and drops none;
# - nothing hangs: every request is bounded by curl --max-time and the
#   whole script by the waits below.
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_httpd prime_proxyd prime_workerd

# A prime whose trial division takes about a second here, found with a
# deterministic Miller-Rabin (no trial division in Python)
slow_prime=$("$PYTHON" - <<'EOF'
def is_prime(n):
    if n < 2: return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0: return n == p
    d, s = n - 1, 0
    while d % 2 == 0: d, s = d // 2, s + 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        x = pow(a, d, n)
        if x in (1, n - 1): continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1: break
        else: return False
    return True
n = 2 ** 57 + 1
while not is_prime(n): n += 2
print(n)
EOF
)

d=ipc://$tmp/l
start httpd "$bindir/prime_httpd" --drain-seconds 1 --request-timeout 30 "tcp://127.0.0.1:*" \
  "$d.parse_up" "$d.loop" "$d.int"
start_both proxy1 "$bindir/prime_proxyd" -v "$d.parse_up" "$d.parse_down" --loopback "$d.loop"
start_both proxy2 "$bindir/prime_proxyd" -v "$d.compute_up" "$d.compute_down" --loopback "$d.loop"
wait_line httpd "(port [0-9]*)" && wait_line proxy1 "workers on" && wait_line proxy2 "workers on" ||
  { fail "front did not start"; finish; }
port=$(grep -o '(port [0-9]*)' "$tmp/httpd.err" | grep -o '[0-9]*')
url=http://127.0.0.1:$port
start parse "$bindir/prime_workerd" --stage parse "$d.parse_down" "$d.compute_up" "$d.loop" "$d.int"
start computeA "$bindir/prime_workerd" --stage compute "$d.compute_down" - "$d.loop" "$d.int"
start computeB "$bindir/prime_workerd" --stage compute "$d.compute_down" - "$d.loop" "$d.int"
for w in parse computeA computeB; do wait_line $w "worker" || fail "$w did not start"; done
wait_workers proxy1 1 10000 && wait_workers proxy2 2 10000 ||
  { fail "the workers did not register: $(proxy_state proxy1), $(proxy_state proxy2)"; finish; }

# CPU ticks used by a process so far
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# busy_worker: the compute process burning CPU now (bounded wait)
busy_worker() {
  local i a0 b0
  for ((i = 0; i < 40; i++)); do
    a0=$(ticks "${PID[computeA]}") b0=$(ticks "${PID[computeB]}")
    sleep 0.1
    (($(ticks "${PID[computeA]}") - a0 > 3)) && { echo computeA; return; }
    (($(ticks "${PID[computeB]}") - b0 > 3)) && { echo computeB; return; }
  done
  echo none
}

want="{\"possible_prime\":$slow_prime,\"is_prime\":true}"

# kill_mid_request LABEL CURL_ARGS...: sends the slow request, SIGKILLs the
# worker computing it, waits for the answer ($tmp/slow.status and .body)
# and prints the victim's name. Runs in a subshell: state goes by files.
kill_mid_request() {
  local label=$1 victim
  shift
  curl -s --max-time 20 -o "$tmp/slow.body" -w '%{http_code}' "$@" >"$tmp/slow.status" &
  local client=$!
  pids+=("$client")
  victim=$(busy_worker)
  if [ "$victim" = none ]; then
    fail "$label: no compute worker took the request"
    wait "$client"
    return 1
  fi
  kill -KILL "${PID[$victim]}"
  now_ms >"$tmp/killed_at"
  wait "${PID[$victim]}" 2>/dev/null
  wait "$client"
  echo "$victim"
}

# 1. SIGKILL mid-GET: retried on the other worker
victim=$(kill_mid_request "GET" "$url/is_prime?possible_prime=$slow_prime")
answer="$(cat "$tmp/slow.status") $(cat "$tmp/slow.body")"
if [ "$answer" = "200 $want" ]; then
  pass "[liveness] GET whose worker was SIGKILLed: retried, right answer"
else
  fail "[liveness] GET whose worker was SIGKILLed: '$answer'"
fi
# bring the killed worker back, so the pool has two again
start "$victim" "$bindir/prime_workerd" --stage compute "$d.compute_down" - "$d.loop" "$d.int"
wait_line "$victim" "worker" || fail "$victim did not restart"

# 2. SIGKILL mid-POST: 502 or 503 within a few seconds of the kill (the
# proxy's expiry), not a wait for the request timeout
# (timed from the kill: finding the busy worker may take a while on a
# loaded machine, and is not what is measured)
victim=$(kill_mid_request "POST" -d "$slow_prime" "$url/is_prime")
took=$(($(now_ms) - $(cat "$tmp/killed_at")))
status=$(cat "$tmp/slow.status")
if { [ "$status" = 502 ] || [ "$status" = 503 ]; } && [ $took -lt 8000 ]; then
  pass "[liveness] POST whose worker was SIGKILLed: $status after $took ms"
else
  fail "[liveness] POST whose worker was SIGKILLed: '$status' after $took ms"
fi
# and back again: the restart cases below have two compute workers
start "$victim" "$bindir/prime_workerd" --stage compute "$d.compute_down" - "$d.loop" "$d.int"
wait_line "$victim" "worker" || fail "$victim did not restart"
wait_workers proxy2 2 10000 || fail "$victim did not register: $(proxy_state proxy2)"

# 3. No later request goes to the dead worker
bad=0
for ((i = 0; i < 20; i++)); do
  got=$(curl -s --max-time 3 "$url/is_prime?possible_prime=$((1000000007 + 2 * i))" -w ' %{http_code}')
  [[ "$got" == *" 200" ]] || bad=$((bad + 1))
done
[ $bad -eq 0 ] && pass "[liveness] 20 requests after the kill, all answered at once" ||
  fail "[liveness] $bad of 20 requests after the kill not answered within 3 s"

# expect_resume LABEL: service answers again within 8 s, then 10 in a row
expect_resume() {
  local label=$1 i ok=no t0
  t0=$(now_ms)
  while (($(now_ms) - t0 < 8000)); do
    if [ "$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$url/is_prime?possible_prime=97")" = 200 ]; then
      ok=yes
      break
    fi
  done
  if [ $ok = yes ] && (($(now_ms) - t0 < 8000)); then
    bad=0
    for ((i = 0; i < 10; i++)); do
      [ "$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "$url/is_prime?possible_prime=$((7 + i))")" = 200 ] ||
        bad=$((bad + 1))
    done
    [ $bad -eq 0 ] && pass "[liveness] $label: service resumed after $(($(now_ms) - t0)) ms" ||
      fail "[liveness] $label: $bad of 10 failed after resuming"
  else
    fail "[liveness] $label: service did not resume within 8 s"
  fi
}

# restarted NAME WORKERS LABEL: the proxy NAME, just started again, comes to
# know its WORKERS workers by itself (each reachable and idle), takes each
# in once and drops none: no worker flaps between its old and new connection
restarted() {
  local t0 registered dropped
  t0=$(now_ms)
  if wait_workers "$1" "$2" 8000; then
    pass "[liveness] $3: $2 worker(s) registered after $(($(now_ms) - t0)) ms"
  else
    fail "[liveness] $3: the new proxy does not know its $2 worker(s) within 8 s: $(proxy_state "$1")"
  fi
  registered=$(grep -c "registered" "$tmp/$1.err") dropped=$(grep -c "dropped" "$tmp/$1.err")
  [ "$registered" = "$2" ] && [ "$dropped" = 0 ] &&
    pass "[liveness] $3: each worker taken in once, none dropped" ||
    fail "[liveness] $3: $registered registrations and $dropped drops for $2 worker(s)"
}

# 4. The compute proxy killed and started again on the same endpoints
kill -KILL "${PID[proxy2]}"
wait "${PID[proxy2]}" 2>/dev/null
start_both proxy2 "$bindir/prime_proxyd" -v "$d.compute_up" "$d.compute_down" --loopback "$d.loop"
wait_line proxy2 "workers on" || fail "proxy2 did not restart"
restarted proxy2 2 "compute proxy SIGKILLed and restarted"
expect_resume "compute proxy SIGKILLed and restarted"

# 5. The parse proxy stopped cleanly and started again
stop proxy1 3000
start_both proxy1 "$bindir/prime_proxyd" -v "$d.parse_up" "$d.parse_down" --loopback "$d.loop"
wait_line proxy1 "workers on" || fail "proxy1 did not restart"
restarted proxy1 1 "parse proxy stopped and restarted"
expect_resume "parse proxy stopped and restarted"

for name in parse computeA computeB proxy1 proxy2 httpd; do
  alive "$name" && stop "$name" 3000
done
finish
