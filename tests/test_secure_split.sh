#!/usr/bin/env bash
# test_secure_split.sh: the prime service split into one process per
# component over tcp on 127.0.0.1, its backend links secured with CURVE
# (--keys, keys from prime_keygen), from the outside.
#
# - the secured split answers a list of requests (primes, composites,
#   errors, HEAD, POST) exactly as the same split in plaintext does;
# - py/prime_worker.py takes the same keys and serves;
# - two strangers (no key; a key the deployment does not trust), each with
#   a DEALER offering READY on every proxy downstream, a PUSH of forged
#   JOBs to every proxy upstream, a PUSH of forged RESULTs for ids
#   1..10000 to the loopback and a SUB on the interrupt, run beside 500
#   real requests: every answer is right, the strangers' handshakes all
#   fail, they receive no frame, and the workers ran exactly the real jobs;
#   the binders log each refused key once;
# - a plaintext worker pointed at the secured proxy, and a secured worker
#   pointed at a plaintext proxy, do not connect and say why in the log;
# - a worker whose key is removed from the key directory is refused on its
#   next connection, and admitted again once the key is back, without a
#   restart;
# - a parse worker of the graph started with its key untrusted is refused
#   on its named downstreams too, and forwards by both names once the key
#   is back, without a restart;
# - a secret key with mode 0644 is refused with exit 1.
# Run by make check from the build directory (SPLIT_BINDIR overrides ./daemons).
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_httpd prime_proxyd prime_workerd prime_keygen
for tool in curl timeout; do
  command -v "$tool" >/dev/null || { echo "test_secure_split: $tool missing" >&2; exit 99; }
done
find_pyzmq || { echo "test_secure_split: no python3 with pyzmq (apt-get install python3-zmq)" >&2; exit 99; }

keys=$tmp/keys
"$bindir/prime_keygen" "$keys" server parse compute >/dev/null || { fail "prime_keygen"; finish; }
if [ "$(stat -c %a "$keys/compute_secret")" = 600 ] && [ "$(stat -c %a "$keys/compute")" = 644 ]; then
  pass "prime_keygen: secret 0600, public 0644"
else
  fail "prime_keygen modes: $(stat -c '%n %a' "$keys"/*)"
fi

# start_split NAME SECURE: the split service on fresh tcp ports, daemons
# named NAME_httpd, NAME_proxy1, ...; SECURE 1 adds the keys. Sets url and
# the endpoint variables.
start_split() {
  local name=$1 secure=$2 try listen
  local -a k=() kp=() kc=()
  if [ "$secure" = 1 ]; then
    k=(--keys "$keys") kp=(--keys "$keys" --key parse) kc=(--keys "$keys" --key compute)
  fi
  for ((try = 0; try < 4; try++)); do
    parse_up=tcp://127.0.0.1:$(free_port) parse_down=tcp://127.0.0.1:$(free_port)
    compute_up=tcp://127.0.0.1:$(free_port) compute_down=tcp://127.0.0.1:$(free_port)
    loopback=tcp://127.0.0.1:$(free_port) interrupt=tcp://127.0.0.1:$(free_port)
    listen=$(free_port)
    start_both "${name}_httpd" "$bindir/prime_httpd" "${k[@]}" --drain-seconds 2 \
      "tcp://127.0.0.1:$listen" "$parse_up" "$loopback" "$interrupt"
    start_both "${name}_proxy1" "$bindir/prime_proxyd" "${k[@]}" -v --loopback "$loopback" \
      "$parse_up" "$parse_down"
    start_both "${name}_proxy2" "$bindir/prime_proxyd" "${k[@]}" -v --loopback "$loopback" \
      "$compute_up" "$compute_down"
    if wait_port "${name}_httpd" "$listen" && wait_line "${name}_proxy1" "workers on" &&
      wait_line "${name}_proxy2" "workers on"; then
      start_both "${name}_parse" "$bindir/prime_workerd" "${kp[@]}" --stage parse --workers 2 \
        "$parse_down" "$compute_up" "$loopback" "$interrupt"
      start_both "${name}_compute" "$bindir/prime_workerd" "${kc[@]}" --stage compute --workers 2 \
        "$compute_down" - "$loopback" "$interrupt"
      if wait_workers "${name}_proxy1" 2 10000 && wait_workers "${name}_proxy2" 2 10000; then
        url="http://127.0.0.1:$listen"
        return 0
      fi
    fi
    echo "note: $name did not start (try $try): $(cat "$tmp/${name}"_*.err 2>/dev/null | tail -n 5)"
    kill_now "${name}_httpd" "${name}_proxy1" "${name}_proxy2" "${name}_parse" "${name}_compute"
  done
  fail "$name: the split service did not start"
  return 1
}

stop_split() {
  local name=$1 d
  for d in parse compute proxy1 proxy2 httpd; do stop "${name}_$d" 3000; done
}

requests() {
  cat <<'EOF2'
/is_prime?possible_prime=2
/is_prime?possible_prime=9
/is_prime?possible_prime=7919
/is_prime?possible_prime=1000000007
/is_prime?possible_prime=4294967297
/is_prime?possible_prime=999999999989
/is_prime?possible_prime=18446744073709551615
/is_prime?possible_prime=
/is_prime?possible_prime=-3
/is_prime?possible_prime=18446744073709551616
/is_prime
/elsewhere
-d 97 /is_prime
-d abc /is_prime
-X DELETE /is_prime
-I /is_prime?possible_prime=7
EOF2
}

# ---------------------------------------------------------------------------
# The secured split answers as the plain one
if start_split plain 0; then
  plain_url=$url
  if start_split secure 1; then
    same=0
    while IFS= read -r line; do
      read -r -a args <<<"$line"
      path=${args[-1]}
      unset 'args[-1]'
      a=$(http_summary "$plain_url$path" "${args[@]}")
      b=$(http_summary "$url$path" "${args[@]}")
      if [ "$a" = "$b" ] && [ "${a%%|*}" != 000 ]; then
        same=$((same + 1))
      else
        fail "'$line': plain '$a', secured '$b'"
      fi
    done < <(requests)
    pass "secured split: $same requests answered exactly as the plain split"
    grep -q "CURVE-secured" "$tmp/secure_proxy1.err" && grep -q "CURVE-secured" "$tmp/secure_httpd.err" ||
      fail "the secured daemons do not say they are secured"

    # A plaintext worker at the secured proxy, a secured one at the plain
    # proxy: neither connects, both say why
    start_both plainworker "$bindir/prime_workerd" --stage compute "$compute_down" - \
      "$loopback" "$interrupt"
    start_both curveworker "$bindir/prime_workerd" --keys "$keys" --key compute --stage compute \
      "$(grep -o 'workers on tcp://[0-9.:]*' "$tmp/plain_proxy2.err" | head -n 1 | cut -d' ' -f3)" - \
      "$loopback" "$interrupt"
    if wait_line plainworker "handshake failed" && wait_line curveworker "handshake failed"; then
      pass "mismatch: $(grep -h -m1 -o 'upstream socket.*' "$tmp/plainworker.err")"
      pass "mismatch: $(grep -h -m1 -o 'upstream socket.*' "$tmp/curveworker.err")"
    else
      fail "mismatch not logged: $(tail -n 3 "$tmp/plainworker.err" "$tmp/curveworker.err")"
    fi
    # and the binders, which see the peer's mechanism in its greeting
    for d in secure_proxy2 plain_proxy2; do
      if wait_line $d "security mechanism is not ours"; then
        pass "mismatch: $d: $(grep -h -m1 -o 'downstream socket.*' "$tmp/$d.err")"
      else
        fail "mismatch not logged by $d"
      fi
    done
    kill_now plainworker curveworker

    # The Python worker reads the same keys: with the C compute workers
    # gone, it answers alone
    start_both pyworker "$PYZMQ" "$srcdir/py/prime_worker.py" --keys "$keys" --key compute \
      --stage compute "$compute_down" - "$loopback" "$interrupt"
    if wait_workers secure_proxy2 3 10000; then
      stop secure_compute 3000
      summary=$(http_summary "$url/is_prime?possible_prime=1000000007")
      if [ "$summary" = '200|application/json||{"possible_prime":1000000007,"is_prime":true}' ]; then
        pass "py/prime_worker.py --keys: admitted, and answers alone"
      else
        fail "py/prime_worker.py --keys: '$summary'"
      fi
    else
      fail "py/prime_worker.py --keys was not admitted: $(tail -n 3 "$tmp/pyworker.err")"
      stop secure_compute 3000
    fi
    stop pyworker 5000
    for d in parse proxy1 proxy2 httpd; do stop "secure_$d" 3000; done
  fi
  stop_split plain
fi

# ---------------------------------------------------------------------------
# Strangers beside 500 real requests, on a fresh secured split (so that the
# workers' job counts are those of the load alone)
if start_split load 1; then
  rm -f "$tmp/stop"
  for mode in nokey untrusted; do
    start_both "stranger_$mode" timeout 150 "$PYZMQ" "$here/curve_stranger.py" "$mode" "$keys/server" \
      "$tmp/stop" "$loopback" "$interrupt" "$parse_up" "$parse_down" "$compute_up" "$compute_down"
  done
  "$PYTHON" - "$url" 500 4 >"$tmp/load.out" 2>&1 <<'EOF2'
import http.client, sys, threading, urllib.parse
url, total, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host = urllib.parse.urlsplit(url)
def is_prime(n):
    if n < 2: return False
    d = 2
    while d * d <= n:
        if n % d == 0: return False
        d += 1
    return True
wrong, done, lock = [], [0], threading.Lock()
def run(k):
    c = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    for i in range(k, total, conns):
        n = 1000 + 7 * i
        c.request("GET", "/is_prime?possible_prime=%d" % n)
        r = c.getresponse()
        body = r.read().decode()
        want = '{"possible_prime":%d,"is_prime":%s}' % (n, "true" if is_prime(n) else "false")
        with lock:
            if r.status != 200 or body != want:
                wrong.append("%d: %d %s" % (n, r.status, body))
            done[0] += 1
ts = [threading.Thread(target=run, args=(k,)) for k in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
print("ok %d" % done[0] if not wrong else "wrong %d: %s" % (len(wrong), wrong[:3]))
EOF2
  touch "$tmp/stop"
  if grep -q "^ok 500$" "$tmp/load.out"; then
    pass "500 requests beside the strangers, every answer right"
  else
    fail "load: $(cat "$tmp/load.out")"
  fi
  for mode in nokey untrusted; do
    wait_exit "stranger_$mode" 20000
    line=$(tail -n 1 "$tmp/stranger_$mode.err")
    if [[ "$line" =~ ^sockets=([0-9]+)\ refused=([0-9]+)\ admitted=0\ frames=0\ queued=([0-9]+)$ ]] &&
      [ "${BASH_REMATCH[1]}" = 6 ] && [ "${BASH_REMATCH[2]}" = 6 ] && [ "${BASH_REMATCH[3]}" -gt 0 ]; then
      pass "stranger ($mode): $line"
    else
      fail "stranger ($mode): exit $status: $(tail -n 3 "$tmp/stranger_$mode.err")"
    fi
  done
  # Each refused key logged once per peer, by the binder that refused it
  for d in httpd proxy1 proxy2; do
    n=$(grep -c "refused the peer at 127.0.0.1 with key" "$tmp/load_$d.err")
    [ "$n" = 1 ] || fail "load_$d: $n refusal lines, expected 1 (the untrusted key, once)"
  done
  stop_split load
  parse_jobs=$(grep -o 'stopped after [0-9]* jobs' "$tmp/load_parse.err" | grep -o '[0-9]*')
  compute_jobs=$(grep -o 'stopped after [0-9]* jobs' "$tmp/load_compute.err" | grep -o '[0-9]*')
  if [ "$parse_jobs" = 500 ] && [ "$compute_jobs" = 500 ]; then
    pass "the workers ran the 500 real jobs per stage and no forged one"
  else
    fail "jobs run: parse '$parse_jobs', compute '$compute_jobs' (expected 500 each)"
  fi
fi

# ---------------------------------------------------------------------------
# Keys removed and added without a restart, and an open secret refused
if start_split keys 1; then
  mv "$keys/compute" "$tmp/compute.pub"
  start_both late "$bindir/prime_workerd" --keys "$keys" --key compute --stage compute \
    "$compute_down" - "$loopback" "$interrupt"
  if wait_line late "the peer refused our key" && wait_line keys_proxy2 "refused the peer"; then
    pass "key removed: a new worker is refused ($(grep -h -m1 -o 'refused the peer.*' "$tmp/keys_proxy2.err" | cut -c1-60)...)"
  else
    fail "key removed: the new worker was not refused: $(tail -n 3 "$tmp/late.err")"
  fi
  kill_now late
  t0=$(now_ms)
  mv "$tmp/compute.pub" "$keys/compute"
  start_both late2 "$bindir/prime_workerd" --keys "$keys" --key compute --stage compute \
    "$compute_down" - "$loopback" "$interrupt"
  if wait_workers keys_proxy2 3 10000; then
    pass "key back: a new worker admitted $(($(now_ms) - t0)) ms after (process start included)"
  else
    fail "key back: the new worker was not admitted: $(proxy_state keys_proxy2)"
  fi
  summary=$(http_summary "$url/is_prime?possible_prime=7919")
  [ "$summary" = '200|application/json||{"possible_prime":7919,"is_prime":true}' ] ||
    fail "after the key changes: '$summary'"
  stop late2 3000
  stop_split keys
fi
# ---------------------------------------------------------------------------
# A parse worker of the /is_prime + /factor graph started before its key is
# trusted: refused on every socket, its two named downstreams included; once
# the key is back it forwards by both names, without a restart
gk=(--keys "$keys")
gp=tcp://127.0.0.1
g_up=$gp:$(free_port) g_loopback=$gp:$(free_port) g_interrupt=$gp:$(free_port) g_listen=$(free_port)
start_both graph_httpd "$bindir/prime_httpd" "${gk[@]}" --drain-seconds 2 --route /is_prime \
  --route /factor "$gp:$g_listen" "$g_up" "$g_loopback" "$g_interrupt"
declare -A g_pool_up g_pool_down
for pool in parse prime factor; do
  if [ $pool = parse ]; then g_pool_up[$pool]=$g_up; else g_pool_up[$pool]=$gp:$(free_port); fi
  g_pool_down[$pool]=$gp:$(free_port)
  start_both "graph_$pool" "$bindir/prime_proxyd" "${gk[@]}" -v --loopback "$g_loopback" \
    "${g_pool_up[$pool]}" "${g_pool_down[$pool]}"
done
if wait_port graph_httpd "$g_listen" && wait_line graph_parse "workers on" &&
  wait_line graph_prime "workers on" && wait_line graph_factor "workers on"; then
  start_both graph_w_prime "$bindir/prime_workerd" "${gk[@]}" --key compute --stage compute \
    "${g_pool_down[prime]}" - "$g_loopback" "$g_interrupt"
  start_both graph_w_factor "$bindir/prime_workerd" "${gk[@]}" --key compute --stage factor \
    "${g_pool_down[factor]}" - "$g_loopback" "$g_interrupt"
  mv "$keys/parse" "$tmp/parse.pub"
  start_both graph_w_parse "$bindir/prime_workerd" "${gk[@]}" --key parse --stage parse \
    "${g_pool_down[parse]}" "prime=${g_pool_up[prime]},factor=${g_pool_up[factor]}" \
    "$g_loopback" "$g_interrupt"
  if wait_line graph_w_parse "prime socket.*refused our key" &&
    wait_line graph_w_parse "factor socket.*refused our key"; then
    t0=$(now_ms)
    mv "$tmp/parse.pub" "$keys/parse"
    # Until the parse worker is back on every socket, a request fails or
    # times out: ask again, both routes, for at most 15 s
    g_ok=0
    while ((g_ok == 0 && $(now_ms) - t0 < 15000)); do
      a=$(curl -s --max-time 1 "http://127.0.0.1:$g_listen/factor?n=360")
      b=$(curl -s --max-time 1 "http://127.0.0.1:$g_listen/is_prime?possible_prime=7919")
      [ "$a" = '{"n":360,"factors":[2,2,2,3,3,5]}' ] &&
        [ "$b" = '{"possible_prime":7919,"is_prime":true}' ] && g_ok=1
    done
    if [ $g_ok = 1 ]; then
      pass "named downstreams: a refused parse worker forwards by both names $(($(now_ms) - t0)) ms after its key is back"
    else
      fail "named downstreams: the parse worker did not recover within 15 s: $(tail -n 3 "$tmp/graph_w_parse.err")"
    fi
    n=$(grep -c "refused our key" "$tmp/graph_w_parse.err")
    # one line per socket (upstream, beater, loopback, interrupt, prime,
    # factor), not one per try
    [ "$n" -le 6 ] || fail "named downstreams: $n refusal lines for 6 sockets"
  else
    fail "named downstreams: the parse worker was not refused: $(tail -n 3 "$tmp/graph_w_parse.err")"
    [ -e "$tmp/parse.pub" ] && mv "$tmp/parse.pub" "$keys/parse"
  fi
  for d in w_parse w_prime w_factor parse prime factor httpd; do stop "graph_$d" 3000; done
else
  fail "the secured graph did not start: $(tail -n 3 "$tmp"/graph_*.err)"
  kill_now graph_httpd graph_parse graph_prime graph_factor
fi

chmod 644 "$keys/compute_secret"
start open "$bindir/prime_workerd" --keys "$keys" --key compute --stage compute \
  tcp://127.0.0.1:1 - tcp://127.0.0.1:2 tcp://127.0.0.1:3
wait_exit open 10000
if [ "$status" = 1 ] && grep -q "accessible by group or others (mode 0644)" "$tmp/open.err"; then
  pass "secret mode 0644: exit 1, $(head -c 90 "$tmp/open.err")..."
else
  fail "secret mode 0644: exit '$status': $(cat "$tmp/open.err")"
fi
timeout 20 "$PYZMQ" "$srcdir/py/prime_worker.py" --keys "$keys" --key compute --stage compute \
  tcp://127.0.0.1:1 - tcp://127.0.0.1:2 tcp://127.0.0.1:3 2>"$tmp/pyopen.err"
rc=$?
if [ $rc = 1 ] && grep -q "accessible by group or others (mode 0644)" "$tmp/pyopen.err"; then
  pass "secret mode 0644: py/prime_worker.py exits 1 too"
else
  fail "secret mode 0644: py/prime_worker.py exit $rc: $(cat "$tmp/pyopen.err")"
fi
finish
