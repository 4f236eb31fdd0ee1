#!/usr/bin/env bash
# test_factor.sh: the /factor workflow next to /is_prime, from the outside.
#
# - prime_serverd --workers parse=1,prime=1,factor=2: a few hundred factor
#   answers (GET and POST) checked against an independent factorisation
#   (tests/factor_client.py: Pollard's rho, not trial division), squares
#   of primes, powers of two, a large prime and a semiprime of two 32-bit
#   primes among them; the 400 answers; a path no route takes is the
#   server's own 404; --cors puts its origin on every answer;
# - the same graph split over ipc, one process per component: prime_httpd
#   with two routes, three prime_proxyd, prime_workerd --stage parse with
#   both named downstreams, --stage compute and --stage factor; the same
#   check; then, under a load of factor and is_prime requests, a second
#   factor worker process starts, takes factor jobs (its exit line counts
#   them), and every answer of both workflows is right;
# - every daemon exits 0 on SIGTERM within its bound.
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_httpd prime_proxyd prime_workerd prime_serverd
for tool in curl timeout python3; do
  command -v "$tool" >/dev/null || { echo "test_factor: $tool missing" >&2; exit 99; }
done
client="$srcdir/tests/factor_client.py"

# check LABEL URL: the factor client's whole list
check() {
  local out
  out=$(timeout 300 python3 "$client" check "$2" 2>&1)
  if [[ "$out" =~ ^ok\ [0-9]+$ ]]; then
    pass "$1: ${out#ok } factor answers right, and the 400s and 405"
  else
    fail "$1: $out"
  fi
}

# ---------------------------------------------------------------------------
# One process
usage_checks prime_serverd "--cors||100" "--workers|parse=0|100" "--workers|bogus=1|100" \
  "--workers|parse=1,parse=2|100" "--workers|prime|100"
usage_checks prime_workerd "--stage|parse|ipc://$tmp/a|prime=ipc://$tmp/b|ipc://$tmp/c|ipc://$tmp/d" \
  "--stage|parse|ipc://$tmp/a|prime=ipc://$tmp/b,other=ipc://$tmp/x|ipc://$tmp/c|ipc://$tmp/d"
usage_checks prime_httpd "--route|nope|tcp://127.0.0.1:1|ipc://$tmp/b|ipc://$tmp/c|ipc://$tmp/d"

for ((try = 0; try < 4; try++)); do
  port=$(free_port)
  start serverd "$bindir/prime_serverd" --drain-seconds 2 --workers parse=1,prime=1,factor=2 \
    --cors https://app.example.org "tcp://127.0.0.1:$port"
  wait_port serverd "$port" && break
  kill_now serverd
done
if alive serverd; then
  wait_line serverd "workers parse=1,prime=1,factor=2" &&
    pass "prime_serverd sizes each pool" || fail "startup line: $(cat "$tmp/serverd.err")"
  check "prime_serverd" "http://127.0.0.1:$port"
  summary=$(http_summary "http://127.0.0.1:$port/elsewhere")
  [ "$summary" = "404|text/plain||404 Not Found" ] && pass "no route: the server's 404" ||
    fail "no route: '$summary'"
  # --cors: on a worker's answer, a worker's 400 and the server's own 404
  for target in "/factor?n=12" "/factor?n=x" "/elsewhere"; do
    origin=$(curl -s --max-time 10 -D - -o /dev/null "http://127.0.0.1:$port$target" |
      tr -d '\r' | grep -i '^access-control-allow-origin:')
    [ "$origin" = "Access-Control-Allow-Origin: https://app.example.org" ] &&
      pass "--cors on $target" || fail "--cors on $target: '$origin'"
  done
  stop serverd 5000
else
  fail "prime_serverd did not start: $(cat "$tmp/serverd.err")"
fi

# ---------------------------------------------------------------------------
# Split over ipc
d="ipc://$tmp/s"
start httpd "$bindir/prime_httpd" --drain-seconds 2 --route /is_prime --route /factor \
  "tcp://127.0.0.1:$(free_port)" "$d.parse_up" "$d.loopback" "$d.interrupt"
for pool in parse prime factor; do
  start "proxy_$pool" "$bindir/prime_proxyd" "$d.${pool}_up" "$d.${pool}_down"
done
if wait_line httpd "serving http" && wait_line proxy_parse "workers on" &&
  wait_line proxy_prime "workers on" && wait_line proxy_factor "workers on"; then
  url=http://127.0.0.1:$(grep -o '(port [0-9]*)' "$tmp/httpd.err" | grep -o '[0-9]*')
  start parse "$bindir/prime_workerd" --stage parse "$d.parse_down" \
    "prime=$d.prime_up,factor=$d.factor_up" "$d.loopback" "$d.interrupt"
  start prime "$bindir/prime_workerd" --stage compute "$d.prime_down" - "$d.loopback" "$d.interrupt"
  start factor "$bindir/prime_workerd" --stage factor "$d.factor_down" - "$d.loopback" \
    "$d.interrupt"
  if wait_line parse "prime to" && wait_line prime "compute worker" &&
    wait_line factor "factor worker"; then
    # A factor job may take seconds: none is held behind one by default
    grep -q "factor worker (credit 1)" "$tmp/factor.err" && pass "factor: default credit 1" ||
      fail "factor: default credit: $(cat "$tmp/factor.err")"
    check "split over ipc" "$url"
    summary=$(http_summary "$url/elsewhere")
    [ "$summary" = "404|text/plain||404 Not Found" ] && pass "split: no route, prime_httpd's 404" ||
      fail "split: no route: '$summary'"

    # A second factor worker process added under load: ~45 ms factor jobs
    # and cheap is_prime ones in turn, 6 connections, one factor worker at
    # first: the load lasts seconds, the second process starts within it.
    timeout 300 python3 "$client" load "$url" 240 6 "$tmp/progress" >"$tmp/load.out" 2>&1 &
    load_pid=$!
    pids+=("$load_pid")
    for ((i = 0; i < 600; i++)); do
      progress=$(cat "$tmp/progress" 2>/dev/null)
      [ "${progress:-0}" -ge 10 ] && break
      kill -0 "$load_pid" 2>/dev/null || break
      sleep 0.05
    done
    start factor2 "$bindir/prime_workerd" --stage factor "$d.factor_down" - "$d.loopback" \
      "$d.interrupt"
    wait_line factor2 "factor worker" || fail "second factor worker did not start"
    wait "$load_pid"
    load_status=$?
    if [ "$load_status" = 0 ] && grep -q "^ok 240$" "$tmp/load.out"; then
      pass "240 factor and is_prime requests under load, every answer right"
    else
      fail "load: exit $load_status: $(cat "$tmp/load.out")"
    fi
    stop factor2 3000
    jobs=$(grep -o 'stopped after [0-9]* jobs' "$tmp/factor2.err" | grep -o '[0-9]*')
    if [ "${jobs:-0}" -gt 0 ]; then
      pass "the factor worker process started under load took $jobs jobs"
    else
      fail "the second factor worker took no job: $(cat "$tmp/factor2.err")"
    fi
  else
    fail "split workers did not start: $(tail -n 2 "$tmp"/{parse,prime,factor}.err)"
  fi
  for name in parse prime factor; do stop "$name" 3000; done
  for name in proxy_parse proxy_prime proxy_factor httpd; do stop "$name" 5000; done
else
  fail "split front did not start: $(tail -n 2 "$tmp"/{httpd,proxy_parse}.err)"
fi
finish
