#!/usr/bin/env bash
# bench_metrics.sh: what scraping the metrics costs under load.
#
#   bench/bench_metrics.sh [BUILD_DIR]     (default: ./build, else .)
#   ROUNDS=5 SECONDS_PER_RUN=10 bench/bench_metrics.sh
#
# prime_serverd (2 workers per stage, --metrics /metrics) is loaded with
# wrk -t1 -c64 on the cheap request (possible_prime=7) for SECONDS_PER_RUN;
# every round runs once without scrapes and once with a scrape every second
# (curl, a new connection each time, as Prometheus would), in alternating
# order, so drift on a shared machine falls on both sides. Prints req/s of
# each run, the median of each side and the difference. On a machine that
# others use the spread between runs of the same side is the noise: read
# the difference against it. Not a test; installs wrk with apt-get when
# missing; every run is bounded.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${1:-}
if [ -z "$build" ]; then
  if [ -x "$top/build/daemons/prime_serverd" ]; then build="$top/build"; else build=.; fi
fi
build=$(cd "$build" && pwd)
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}

if ! command -v wrk >/dev/null; then
  echo "bench_metrics: installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
fi

tmp=$(mktemp -d /tmp/bench_metrics.XXXXXX)
daemon=""
cleanup() {
  [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null
  [ -n "$daemon" ] && wait "$daemon" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$build/daemons/prime_serverd" --metrics /metrics --drain-seconds 0 "tcp://127.0.0.1:$port" 2 \
  2>"$tmp/daemon.err" &
daemon=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/metrics" && break
  sleep 0.05
done
curl -s -o /dev/null "http://127.0.0.1:$port/metrics" ||
  { echo "prime_serverd did not start: $(cat "$tmp/daemon.err")"; exit 1; }
url="http://127.0.0.1:$port/is_prime?possible_prime=7"

# run SCRAPE: req/s of one wrk run, scraping every second if SCRAPE=1
run() {
  local scraper=""
  if [ "$1" = 1 ]; then
    (
      for _ in $(seq 1 $((SECONDS_PER_RUN + 2))); do
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/metrics" || true
        sleep 1
      done
    ) &
    scraper=$!
  fi
  local rps
  rps=$(timeout $((SECONDS_PER_RUN + 30)) wrk -t1 -c64 -d"${SECONDS_PER_RUN}s" "$url" |
    awk '/^Requests\/sec/ {print $2}')
  [ -n "$scraper" ] && { kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; }
  echo "${rps:-0}"
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# The server's own CPU per scrape, load-independent: 2000 scrapes on one
# keep-alive connection of an otherwise idle server, its utime + stime
# before and after (/proc/PID/stat, in clock ticks).
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$daemon/stat"; }
before=$(cpu_ticks)
python3 - "$port" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
request = b"GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n"
for _ in range(2000):
    s.sendall(request)
    data = b""
    while b"\nprocess_start_time_seconds " not in data or not data.endswith(b"\n"):
        data += s.recv(65536)
EOF
after=$(cpu_ticks)
hz=$(getconf CLK_TCK)
awk -v t=$((after - before)) -v hz="$hz" 'BEGIN {
  printf "server CPU per scrape (2000 scrapes, idle server): %.1f us; at 1 scrape/s that is %.4f%% of a core\n",
    t * 1e6 / hz / 2000, t * 100 / hz / 2000 }'

run 0 >/dev/null  # warm-up
echo "prime_serverd 2 workers/stage, wrk -t1 -c64 ${SECONDS_PER_RUN}s, cheap request; $ROUNDS rounds"
printf "%-6s %14s %14s\n" round "no scrape" "scrape 1/s"
: >"$tmp/off"
: >"$tmp/on"
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then
    off=$(run 0); on=$(run 1)
  else
    on=$(run 1); off=$(run 0)
  fi
  echo "$off" >>"$tmp/off"
  echo "$on" >>"$tmp/on"
  printf "%-6s %14s %14s\n" "$round" "$off" "$on"
done
off=$(median <"$tmp/off")
on=$(median <"$tmp/on")
spread() { sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.1f", lo ? (hi - lo) * 100 / lo : 0}'; }
printf "%-6s %14s %14s\n" median "$off" "$on"
awk -v off="$off" -v on="$on" -v s0="$(spread <"$tmp/off")" -v s1="$(spread <"$tmp/on")" 'BEGIN {
  printf "scraping every second: %+.2f%% req/s (spread between runs: %s%% without, %s%% with)\n",
    (on - off) * 100 / off, s0, s1 }'
