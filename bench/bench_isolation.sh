#!/usr/bin/env bash
# bench_isolation.sh: does a flood of expensive requests in one workflow
# leave the other workflow's cheap requests alone?
#
#   (a) separate pools: prime_serverd --workers parse=1,prime=1,factor=1
#   (b) one pluripotent pool of the same size: bench/bench_pluripotent with
#       3 workers, each doing parse, primality and factors
#
# For each: the cheap requests' latency idle (wrk -t1 -c16 --latency on
# /is_prime?possible_prime=1000000007, about 0.1 ms of trial division),
# then under a flood: 8 clients asking, one request each at a time, to
# factor semiprimes of two ~31-bit primes (1-3 s of trial division each),
# while wrk asks the same cheap question. Prints the p50 and p99 of the
# cheap requests and the factor jobs completed per second during the
# measurement. Run from the build directory after make and make bench:
#
#   ../bench/bench_isolation.sh [SECONDS per wrk run, default 10]
set -u
seconds=${1:-10}
bindir=${BENCH_BINDIR:-.}
for tool in wrk python3; do
  command -v "$tool" >/dev/null || { echo "bench_isolation: $tool missing (apt-get install $tool)" >&2; exit 1; }
done
for binary in daemons/prime_serverd bench/bench_pluripotent; do
  [ -x "$bindir/$binary" ] || { echo "bench_isolation: $bindir/$binary not built (make && make bench)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ps_isolation.XXXXXX")
server=""
flood=""
cleanup() {
  [ -n "$flood" ] && kill "$flood" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  for ((i = 0; i < 200; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# The flood: CONNECTIONS clients, one factor request each at a time, until
# killed; the count of answers so far in $tmp/floods.
flood_start() {
  rm -f "$tmp/floods"  #  the last set-up's count
  python3 - "$1" 8 "$tmp/floods" <<'PY' &
import http.client, os, sys, threading
port, clients, progress = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
semiprimes = [1500000001 * 2100000011, 1500000041 * 2100000017,
              1500000043 * 2100000053, 1500000059 * 2100000101]
lock, done = threading.Lock(), [0]
def run(k):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    i = k
    while True:
        conn.request("GET", "/factor?n=%d" % semiprimes[i % 4])
        r = conn.getresponse()
        body = r.read()
        i += 1
        with lock:
            if r.status == 200 and b"factors" in body:
                done[0] += 1
                # whole or not at all: the script may read it at any moment
                open(progress + ".new", "w").write("%d\n" % done[0])
                os.replace(progress + ".new", progress)
for k in range(clients):
    threading.Thread(target=run, args=(k,), daemon=True).start()
threading.Event().wait()
PY
  flood=$!
}

floods() {
  local count
  count=$(cat "$tmp/floods" 2>/dev/null)
  echo "${count:-0}"
}

# wrk's latency percentile $2 ("50%", "99%") of output $1, in ms
percentile() {
  awk -v p="$2" '$1 == p {
      v = $2; unit = v; gsub(/[0-9.]/, "", unit); gsub(/[a-z]/, "", v)
      if (unit == "us") v /= 1000; else if (unit == "s") v *= 1000; else if (unit == "m") v *= 60000
      printf "%.2f", v }' "$1"
}

cheap() {
  wrk -t1 -c16 -d"${seconds}s" --timeout 60s --latency \
    "http://127.0.0.1:$1/is_prime?possible_prime=1000000007" >"$2" 2>&1
}

declare -A result
measure() {
  local label=$1 port before after
  shift
  port=$(free_port)
  "$@" "tcp://127.0.0.1:$port" ${extra:-} 2>"$tmp/$label.err" &
  server=$!
  wait_port "$port" || { echo "bench_isolation: $label did not start: $(cat "$tmp/$label.err")" >&2; exit 1; }
  cheap "$port" "$tmp/$label.idle"
  flood_start "$port"
  sleep 2  # every factor worker busy before the measurement starts
  before=$(floods)
  cheap "$port" "$tmp/$label.flood"
  after=$(floods)
  kill "$flood"; wait "$flood" 2>/dev/null; flood=""
  kill "$server"; wait "$server" 2>/dev/null; server=""
  result[$label.idle50]=$(percentile "$tmp/$label.idle" "50%")
  result[$label.idle99]=$(percentile "$tmp/$label.idle" "99%")
  result[$label.flood50]=$(percentile "$tmp/$label.flood" "50%")
  result[$label.flood99]=$(percentile "$tmp/$label.flood" "99%")
  # wrk counts only what was answered within its run: none answered means
  # every cheap request waited longer than the run (a lower bound, marked >)
  if grep -q "^  0 requests in" "$tmp/$label.flood"; then
    result[$label.flood50]=">$((seconds * 1000))"
    result[$label.flood99]=">$((seconds * 1000))"
  fi
  result[$label.rps]=$(awk '/Requests\/sec/ {print $2}' "$tmp/$label.flood")
  result[$label.factor]=$(python3 -c "print('%.2f' % (($after - $before) / $seconds))")
}

extra="" measure separate "$bindir/daemons/prime_serverd" --quiet --request-timeout 0 \
  --drain-seconds 0 --workers parse=1,prime=1,factor=1
extra=3 measure pluripotent "$bindir/bench/bench_pluripotent" --quiet --request-timeout 0 \
  --drain-seconds 0

echo "bench_isolation: $(uname -m), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cheap: wrk -t1 -c16 -d${seconds}s /is_prime?possible_prime=1000000007; flood: 8 clients factoring semiprimes of two ~31-bit primes"
printf '%-34s %10s %10s %12s %12s %12s %12s\n' "set-up (3 workers)" "idle p50" "idle p99" "flood p50" "flood p99" \
  "cheap req/s" "factor/s"
for label in separate pluripotent; do
  printf '%-34s %8s ms %8s ms %10s ms %10s ms %12s %12s\n' \
    "$([ $label = separate ] && echo "(a) parse=1,prime=1,factor=1" || echo "(b) one pool of 3, every job")" \
    "${result[$label.idle50]}" "${result[$label.idle99]}" "${result[$label.flood50]}" \
    "${result[$label.flood99]}" "${result[$label.rps]}" "${result[$label.factor]}"
done
python3 - "${result[separate.idle99]}" "${result[separate.flood99]}" "${result[pluripotent.flood99]}" <<'PY'
import sys
idle, flood, pluri = (float(x.lstrip(">")) for x in sys.argv[1:])
bound = "at least " if sys.argv[3].startswith(">") else ""
print("(a) flood p99 / idle p99: %.1fx (target <= 5x); (b) flood p99 / (a) flood p99: %s%.0fx "
      "(target >= 20x)" % (flood / idle, bound, pluri / flood))
PY
