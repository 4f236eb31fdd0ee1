#!/usr/bin/env bash
# test_split_pipeline.sh: the prime service split into one process per
# component, from the outside.
#
#   prime_httpd -> prime_proxyd -> prime_workerd parse -> prime_proxyd
#               -> prime_workerd compute, answers over the loopback
#
# - bad arguments of prime_httpd, prime_proxyd and prime_workerd exit 2 with
#   a message and the usage; --help and --version;
# - over ipc and over tcp, the split service answers a list of requests
#   (primes, composites, every kind of error, HEAD, POST, pipelining)
#   exactly as the one-process prime_serverd does: status, Content-Type,
#   Allow and body;
# - the same, with each stage in one process (prime_workerd --proxy: the
#   stage's proxy beside its workers), over ipc and tcp; a plain compute
#   worker process that joins the stage's DOWN endpoint takes jobs;
# - a second compute worker process started while the service is under
#   load takes jobs (its exit line counts them), and no answer is wrong;
# - the Python worker (py/prime_worker.py) in the same compute pool as a C
#   worker takes jobs and every answer is right;
# - every daemon exits 0 on SIGTERM within its bound.
# Run by make check from the build directory (SPLIT_BINDIR overrides ./daemons).
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_httpd prime_proxyd prime_workerd prime_serverd
for tool in curl timeout; do
  command -v "$tool" >/dev/null || { echo "test_split_pipeline: $tool missing" >&2; exit 99; }
done

# ---------------------------------------------------------------------------
# Command lines
ipc=ipc://$tmp/x
usage_checks prime_httpd "" "$ipc" "$ipc|$ipc.2|$ipc.3" "--bogus|$ipc|$ipc.2|$ipc.3|$ipc.4" \
  "foo://x|$ipc.2|$ipc.3|$ipc.4" "tcp://127.0.0.1:99999|$ipc.2|$ipc.3|$ipc.4" \
  "$ipc|tcp://*:5555|$ipc.3|$ipc.4" "$ipc|$ipc.2|$ipc|$ipc.4" "inproc://a|$ipc.2|$ipc.3|$ipc.4" \
  "$ipc|$ipc.2|$ipc.3|$ipc.4|maybe" "$ipc|$ipc.2|$ipc.3|$ipc.4|true|1k" \
  "$ipc|$ipc.2|$ipc.3|$ipc.4|true|100|x" "$ipc|$ipc.2|$ipc.3|$ipc.4|true|100|5|/h|extra" \
  "--drain-seconds|-1|$ipc|$ipc.2|$ipc.3|$ipc.4" "--health-check|nope|$ipc|$ipc.2|$ipc.3|$ipc.4" \
  "--max-in-flight|0|$ipc|$ipc.2|$ipc.3|$ipc.4" "--request-timeout|$ipc|$ipc.2|$ipc.3|$ipc.4"
usage_checks prime_proxyd "" "$ipc" "$ipc|$ipc" "$ipc|$ipc.2|$ipc.3" "-x|$ipc|$ipc.2" \
  "tcp://127.0.0.1|$ipc.2" "$ipc|ipc://" "tcp://*:abc|$ipc.2" "tcp://*:0|$ipc.2"
usage_checks prime_workerd "" "$ipc|$ipc.2|$ipc.3" "--stage|bogus|$ipc|$ipc.2|$ipc.3|$ipc.4" \
  "--stage|parse|$ipc|-|$ipc.3|$ipc.4" "--workers|0|$ipc|-|$ipc.3|$ipc.4" \
  "--workers|257|$ipc|-|$ipc.3|$ipc.4" "--stage|compute|--root|/|$ipc|-|$ipc.3|$ipc.4" \
  "tcp://*:5555|-|$ipc.3|$ipc.4" "$ipc|-|$ipc.3|$ipc.4|$ipc.5" "--stage" \
  "--max-file-size|0|$ipc|-|$ipc.3|$ipc.4" "--worker-credit|0|$ipc|-|$ipc.3|$ipc.4" \
  "--worker-credit|1025|$ipc|-|$ipc.3|$ipc.4" "$ipc|-|$ipc.3|$ipc.4" "--root|/|$ipc|-|$ipc.3|$ipc.4" \
  "--stage|compute|--proxy|$ipc.5|-|-|$ipc.3|$ipc.4" "--stage|compute|--proxy|$ipc.5,$ipc.6|$ipc|-|$ipc.3|$ipc.4" \
  "--stage|compute|-|-|$ipc.3|$ipc.4" "--stage|compute|--proxy|$ipc.5,$ipc.5|-|-|$ipc.3|$ipc.4" \
  "--stage|compute|--proxy|$ipc.5,$ipc.6,$ipc.7|-|-|$ipc.3|$ipc.4" \
  "--stage|compute|--proxy|$ipc.5,tcp://127.0.0.1|-|-|$ipc.3|$ipc.4"

# A proxy that cannot bind: exit 1, saying so (no worker started)
out=$(timeout 10 "$bindir/prime_workerd" --stage compute --proxy \
  "ipc:///nonexistent-dir/up,ipc:///nonexistent-dir/down" - - "$ipc.3" "$ipc.4" 2>&1)
rc=$?
if [ $rc = 1 ] && grep -q "^prime_workerd: cannot bind the proxy to ipc:///nonexistent-dir/up" <<<"$out"; then
  pass "prime_workerd --proxy that cannot bind: exit 1, said"
else
  fail "prime_workerd --proxy that cannot bind: exit $rc: $out"
fi

# ---------------------------------------------------------------------------
# The reference: prime_serverd, one process.
ref_url=""
for ((try = 0; try < 5; try++)); do
  port=$(free_port)
  start serverd "$bindir/prime_serverd" --quiet --drain-seconds 2 "tcp://127.0.0.1:$port" 2
  if wait_port serverd "$port"; then ref_url="http://127.0.0.1:$port"; break; fi
  kill_now serverd
done
[ -n "$ref_url" ] || { fail "prime_serverd did not start: $(cat "$tmp/serverd.err")"; finish; }

# split_endpoints TRANSPORT NAME: sets the six endpoints of a split service,
# ipc files named after NAME or free tcp ports on loopback.
split_endpoints() {
  if [ "$1" = ipc ]; then
    local d="ipc://$tmp/$2"
    parse_up=$d.parse_up parse_down=$d.parse_down compute_up=$d.compute_up
    compute_down=$d.compute_down loopback=$d.loopback interrupt=$d.interrupt
  else
    parse_up=tcp://127.0.0.1:$(free_port) parse_down=tcp://127.0.0.1:$(free_port)
    compute_up=tcp://127.0.0.1:$(free_port) compute_down=tcp://127.0.0.1:$(free_port)
    loopback=tcp://127.0.0.1:$(free_port) interrupt=tcp://127.0.0.1:$(free_port)
  fi
}

# start_split TRANSPORT COMPUTE_WORKERS: the split service; sets $url and the
# endpoint variables. Retries on other ports if a bind loses a race.
start_split() {
  local transport=$1 workers=$2 try listen
  for ((try = 0; try < 4; try++)); do
    split_endpoints "$transport" "$transport$try"
    listen=$(free_port)
    # Binding sides first, then the workers that connect to them
    # The routes prime_serverd has: other paths get the server's own 404
    start httpd "$bindir/prime_httpd" --drain-seconds 2 --route /is_prime --route /factor \
      "tcp://127.0.0.1:$listen" \
      "$parse_up" "$loopback" "$interrupt"
    start proxy1 "$bindir/prime_proxyd" "$parse_up" "$parse_down"
    start proxy2 "$bindir/prime_proxyd" "$compute_up" "$compute_down"
    if wait_port httpd "$listen" && wait_line proxy1 "workers on" && wait_line proxy2 "workers on"; then
      # credit 4: the parse workers hold up to 4 jobs each (READY carries it)
      start parse "$bindir/prime_workerd" --stage parse --workers 2 --worker-credit 4 \
        "$parse_down" "$compute_up" "$loopback" "$interrupt"
      start compute "$bindir/prime_workerd" --stage compute --workers "$workers" "$compute_down" - \
        "$loopback" "$interrupt"
      if wait_line parse "parse workers" && wait_line compute "compute worker"; then
        # The credit asked for, and the short stage's default when none is
        grep -q "parse workers (credit 4)" "$tmp/parse.err" || fail "parse: $(cat "$tmp/parse.err")"
        grep -q "compute workers\? (credit 4)" "$tmp/compute.err" ||
          fail "compute: short jobs, default credit 4: $(cat "$tmp/compute.err")"
        url="http://127.0.0.1:$listen"
        return 0
      fi
    fi
    echo "note: split service did not start (try $try): $(cat "$tmp"/{httpd,proxy1,proxy2}.err 2>/dev/null | tail -n 3)"
    kill_now httpd proxy1 proxy2 parse compute
  done
  fail "$transport: the split service did not start"
  return 1
}

# The requests compared, one per line: URL path (or curl args then path)
requests() {
  cat <<'EOF'
/is_prime?possible_prime=0
/is_prime?possible_prime=1
/is_prime?possible_prime=2
/is_prime?possible_prime=3
/is_prime?possible_prime=4
/is_prime?possible_prime=9
/is_prime?possible_prime=97
/is_prime?possible_prime=7919
/is_prime?possible_prime=1000000007
/is_prime?possible_prime=4294967291
/is_prime?possible_prime=4294967297
/is_prime?possible_prime=32416190071
/is_prime?possible_prime=999999999989
/is_prime?possible_prime=18446744073709551615
/is_prime?possible_prime=%37
/is_prime?possible_prime=007
/is_prime?possible_prime=
/is_prime?possible_prime
/is_prime?possible_prime=1&possible_prime=2
/is_prime?possible_prime=-3
/is_prime?possible_prime=1.5
/is_prime?possible_prime=+5
/is_prime?possible_prime=0x10
/is_prime?possible_prime=18446744073709551616
/is_prime
/is_prime?other=1
/elsewhere
/
-d 97 /is_prime
-d 1000000007 /is_prime
-d -5 /is_prime
-d abc /is_prime
-X DELETE /is_prime
-X PUT /is_prime
-X POST /elsewhere
-I /is_prime?possible_prime=7
-I /is_prime?possible_prime=x
EOF
}

compare_with_reference() {
  local label=$1 same=0 line args a b
  while IFS= read -r line; do
    read -r -a args <<<"$line"
    local path=${args[-1]}
    unset 'args[-1]'
    a=$(http_summary "$ref_url$path" "${args[@]}")
    b=$(http_summary "$url$path" "${args[@]}")
    if [ "$a" = "$b" ]; then
      same=$((same + 1))
    else
      fail "$label: '$line': prime_serverd '$a', split '$b'"
    fi
  done < <(requests)
  pass "$label: $same requests answered exactly as prime_serverd does"

  # Pipelined keep-alive requests on one connection, answered in order
  if exec 3<>"/dev/tcp/127.0.0.1/${url##*:}"; then
    printf 'GET /is_prime?possible_prime=32416190071 HTTP/1.1\r\nHost: t\r\n\r\nGET /is_prime?possible_prime=4 HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\nPOST /is_prime HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nConnection: close\r\n\r\n5' >&3
    timeout 10 cat <&3 >"$tmp/raw"
    exec 3<&-
    local bodies
    bodies=$(grep -ao '{"possible_prime[^}]*}\|HTTP/1.1 [0-9]*' "$tmp/raw" | tr -d '\r' | tr '\n' ' ')
    if [ "$bodies" = 'HTTP/1.1 200 {"possible_prime":32416190071,"is_prime":true} HTTP/1.1 200 {"possible_prime":4,"is_prime":false} HTTP/1.1 404 HTTP/1.1 200 {"possible_prime":5,"is_prime":true} ' ]; then
      pass "$label: pipelined requests answered in order"
    else
      fail "$label: pipelined requests: '$bodies'"
    fi
  else
    fail "$label: cannot connect"
  fi
}

# stop_split LABEL: every daemon exits 0 on SIGTERM, workers say how many
# jobs they took.
stop_split() {
  local label=$1
  stop parse 3000
  stop compute 3000
  grep -q "stopped after [1-9][0-9]* jobs" "$tmp/compute.err" ||
    fail "$label: compute workers: $(tail -n 1 "$tmp/compute.err")"
  stop proxy1 3000
  stop proxy2 3000
  stop httpd 3000
}

for transport in ipc tcp; do
  if start_split $transport 2; then
    compare_with_reference "$transport"
    stop_split "$transport"
  fi
done

# start_stages TRANSPORT: the same service with each stage in one process,
# its proxy beside its workers (prime_workerd --proxy); sets $url and the
# endpoint variables. Retries on other ports if a bind loses a race.
start_stages() {
  local transport=$1 try listen
  for ((try = 0; try < 4; try++)); do
    split_endpoints "$transport" "stages$try"
    listen=$(free_port)
    start httpd "$bindir/prime_httpd" --drain-seconds 2 --metrics /metrics --route /is_prime \
      --route /factor "tcp://127.0.0.1:$listen" "$parse_up" "$loopback" "$interrupt"
    # The startup line comes once the proxy is bound
    start compute "$bindir/prime_workerd" --stage compute --workers 2 \
      --proxy "$compute_up,$compute_down" - - "$loopback" "$interrupt"
    if wait_port httpd "$listen" && wait_line compute "compute workers"; then
      start parse "$bindir/prime_workerd" --stage parse --workers 2 \
        --proxy "$parse_up,$parse_down" - "$compute_up" "$loopback" "$interrupt"
      if wait_line parse "parse workers"; then
        grep -q "jobs from the proxy here (jobs in on $compute_up, workers elsewhere on $compute_down)" \
          "$tmp/compute.err" || fail "compute: $(cat "$tmp/compute.err")"
        url="http://127.0.0.1:$listen"
        return 0
      fi
    fi
    echo "note: stage processes did not start (try $try): $(cat "$tmp"/{httpd,parse,compute}.err 2>/dev/null | tail -n 3)"
    kill_now httpd parse compute
  done
  fail "$transport: the stage processes did not start"
  return 1
}

# scrape_until LINE...: scrapes the front's metrics (into $scrape) until
# every LINE is in it, for at most 20 s; fails (1) if they never are.
scrape_until() {
  local i line missing
  for ((i = 0; i < 200; i++)); do
    scrape=$(curl -s --max-time 5 "$url/metrics")
    missing=0
    for line in "$@"; do
      grep -qxF "$line" <<<"$scrape" || missing=1
    done
    [ $missing = 0 ] && return 0
    sleep 0.1 # the stages report once a second
  done
  return 1
}

# The stage's own workers on long jobs: the jobs behind them wait in the
# stage process (one per local worker while no socket worker is known) and
# the front's scrape counts them queued; clients that leave cancel them
# all, and the stage is idle again.
check_stage_queue() {
  local label=$1 i seen=0 scrape="" pids
  local -a curls=()
  # 2^61 - 1, a prime: seconds of trial division, cancelled within 0.25 s
  for ((i = 0; i < 4; i++)); do
    curl -s --max-time 60 -o /dev/null "$url/is_prime?possible_prime=2305843009213693951" &
    curls+=("$!")
  done
  scrape_until 'prime_server_stage_queued_jobs{stage="compute"} 2' \
    'prime_server_stage_workers{stage="compute",state="busy"} 2' && seen=1
  pids="${curls[*]}"
  kill $pids 2>/dev/null
  wait $pids 2>/dev/null
  if [ $seen = 1 ]; then
    pass "$label: 2 jobs queued behind the stage's 2 busy workers, in the front's metrics"
  else
    fail "$label: queued jobs not seen: $(grep '^prime_server_stage_[a-z_]*{stage="compute"' <<<"$scrape" | tr '\n' ' ')"
  fi
  if scrape_until 'prime_server_stage_queued_jobs{stage="compute"} 0' \
    'prime_server_stage_workers{stage="compute",state="idle"} 2'; then
    pass "$label: the clients gone, their jobs cancelled, the stage idle"
  else
    fail "$label: the stage did not empty: $(grep '^prime_server_stage_[a-z_]*{stage="compute"' <<<"$scrape" | tr '\n' ' ')"
  fi
}

# A plain compute worker process joins the stage's DOWN: once the stage's
# proxy counts it (the stage's figures in the metrics), it takes the jobs
# that come while the stage's own workers are busy (they go first: no
# socket between them and the proxy): 40 expensive requests at once.
check_stage_grows() {
  local label=$1 i ok=0 counted=0 scrape
  local -a curls=()
  start remote "$bindir/prime_workerd" --stage compute "$compute_down" - "$loopback" "$interrupt"
  scrape_until 'prime_server_stage_workers{stage="compute",state="idle"} 3' && counted=1
  [ $counted = 1 ] || fail "$label: the compute proxy did not count the worker that joined"
  for ((i = 0; i < 40; i++)); do
    curl -s --max-time 20 -o "$tmp/grow.$i" "$url/is_prime?possible_prime=100000000000031" &
    curls+=("$!")
  done
  wait "${curls[@]}" || true
  for ((i = 0; i < 40; i++)); do
    [ "$(cat "$tmp/grow.$i")" = '{"possible_prime":100000000000031,"is_prime":true}' ] && ok=$((ok + 1))
  done
  [ $ok = 40 ] || fail "$label: $ok of 40 right answers with the joined worker"
  stop remote 3000
  if grep -q "stopped after [1-9][0-9]* jobs" "$tmp/remote.err"; then
    pass "$label: a worker process joining the stage took jobs ($(grep -o 'after [0-9]* jobs' "$tmp/remote.err"))"
  else
    fail "$label: the joined worker: $(tail -n 1 "$tmp/remote.err")"
  fi
}

for transport in ipc tcp; do
  if start_stages $transport; then
    compare_with_reference "$transport, a proxy in each stage's process"
    check_stage_queue "$transport, a proxy in each stage's process"
    check_stage_grows "$transport, a proxy in each stage's process"
    stop parse 3000
    stop compute 3000
    grep -q "stopped after [1-9][0-9]* jobs" "$tmp/compute.err" ||
      fail "$transport stages: compute workers: $(tail -n 1 "$tmp/compute.err")"
    stop httpd 3000
  fi
done

# ---------------------------------------------------------------------------
# Load client: N requests for number NUM over C connections; writes the
# number of correct answers so far to $tmp/progress.NAME and, at the end,
# "ok N" or the first wrong answers.
load() {
  local name=$1 n=$2 c=$3
  shift 3
  "$PYTHON" - "$url" "$n" "$c" "$tmp/progress.$name" "$@" >"$tmp/load.$name" 2>&1 <<'EOF' &
import http.client, sys, threading, urllib.parse, math
url, n, c, progress = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
numbers = [int(x) for x in sys.argv[5:]]
host = urllib.parse.urlsplit(url)
lock = threading.Lock()
state = {"next": 0, "done": 0, "errors": []}
def expected(k):
    return k > 1 and all(k % d for d in range(2, min(math.isqrt(k), 10**6) + 1)) if k < 10**12 else None
known = {k: expected(k) for k in numbers}
def run():
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    while True:
        with lock:
            i = state["next"]
            if i >= n:
                break
            state["next"] += 1
        k = numbers[i % len(numbers)]
        try:
            conn.request("GET", "/is_prime?possible_prime=%d" % k)
            r = conn.getresponse()
            body = r.read().decode()
            want = None if known[k] is None else '{"possible_prime":%d,"is_prime":%s}' % (k, "true" if known[k] else "false")
            ok = r.status == 200 and (body == want if want else body.startswith('{"possible_prime":%d,' % k))
        except Exception as e:
            ok, body = False, repr(e)
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        with lock:
            if ok:
                state["done"] += 1
                open(progress, "w").write("%d\n" % state["done"])
            else:
                state["errors"].append("%d: %s" % (k, body))
threads = [threading.Thread(target=run) for _ in range(c)]
for t in threads: t.start()
for t in threads: t.join()
print("ok %d" % state["done"] if not state["errors"] else "errors: %s" % state["errors"][:3])
EOF
  PID[load.$name]=$!
  pids+=("$!")
}

# wait_progress NAME COUNT: until the load has COUNT correct answers (bounded)
wait_progress() {
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(cat "$tmp/progress.$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
    alive "load.$1" || return 1
    sleep 0.05
  done
  return 1
}

wait_load() {
  wait_exit "load.$1" 120000
  if [ "$status" = 0 ] && grep -q "^ok $2\$" "$tmp/load.$1"; then
    pass "$3: $2 requests under load, every answer right"
  else
    fail "$3: load client: exit '$status': $(cat "$tmp/load.$1")"
  fi
}

# A second compute worker process added under load takes jobs. Each
# request is 30 ms of trial division, 8 in flight, one compute worker at
# first: the load lasts seconds, the second process starts within it.
if start_split ipc 1; then
  load grow 160 8 100000000000031 1000000007 100000000000031
  if wait_progress grow 8; then
    start compute2 "$bindir/prime_workerd" --stage compute "$compute_down" - "$loopback" "$interrupt"
    wait_line compute2 "compute worker" || fail "second compute worker did not start"
  else
    fail "load did not start: $(cat "$tmp/load.grow")"
  fi
  wait_load grow 160 "second compute worker"
  stop compute2 3000
  jobs=$(grep -o 'stopped after [0-9]* jobs' "$tmp/compute2.err" | grep -o '[0-9]*')
  if [ "${jobs:-0}" -gt 0 ]; then
    pass "the compute worker process started under load took $jobs jobs"
  else
    fail "the second compute worker took no job: $(cat "$tmp/compute2.err")"
  fi
  stop_split "grow"
fi

# ---------------------------------------------------------------------------
# The Python compute worker in a pool with a C compute worker
if ! find_pyzmq; then
  fail "no python3 with pyzmq (apt-get install python3-zmq; ./quickstart.sh test does)"
elif start_split ipc 1; then
  start pyworker "$PYZMQ" "$srcdir/py/prime_worker.py" --stage compute "$compute_down" - \
    "$loopback" "$interrupt"
  if wait_line pyworker "compute worker"; then
    # Both answer identically: the same list compared through the mixed pool
    compare_with_reference "ipc, C + Python compute workers"
    load mixed 200 4 7 97 7919 1000000007 4294967297 999999999989 32416190071 18446744073709551615
    wait_load mixed 200 "C + Python compute pool"
    stop pyworker 3000
    jobs=$(grep -o 'stopped after [0-9]* jobs' "$tmp/pyworker.err" | grep -o '[0-9]*' | head -n 1)
    if [ "${jobs:-0}" -gt 0 ]; then
      pass "the Python compute worker took $jobs jobs"
    else
      fail "the Python worker took no job: $(cat "$tmp/pyworker.err")"
    fi
  else
    fail "py/prime_worker.py did not start: $(cat "$tmp/pyworker.err")"
  fi
  stop_split "mixed"
fi

stop serverd 4000
finish
