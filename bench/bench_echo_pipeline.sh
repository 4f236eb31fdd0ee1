#!/usr/bin/env bash
# bench_echo_pipeline.sh [BUILD_DIR]: requests/s of a two-stage echo pipeline
# over inproc (bench/bench_echo_pipeline) under `wrk -t1 -c32 -d10s`, next to
# nginx (worker_processes 1, `return 200`) in the same run, median of 3.
# Loopback only; QUICK=1 for 3 s runs. Installs wrk and nginx-light if missing.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
seconds=10; [ "${QUICK:-0}" = 1 ] && seconds=3
for p in wrk nginx-light; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >/dev/null
done
(cd "$build" && make -s bench/bench_echo_pipeline)
tmp=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rps() { # URL -> median requests/s and p99 of 3 wrk runs
  local url=$1 i out
  for i in 1 2 3; do
    out=$(wrk -t1 -c32 -d"${seconds}s" --latency "$url")
    echo "$(echo "$out" | awk '/^Requests\/sec/ {print $2}') $(echo "$out" | awk '$1=="99%" {print $2}')"
  done | sort -n | sed -n 2p
}

port=$(free_port)
cat > "$tmp/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $tmp/nginx.pid; error_log $tmp/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$port; location / { return 200 "hello world\n"; } } }
NGINX
nginx -c "$tmp/nginx.conf" & pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

printf '%-34s %12s %10s %8s\n' "server (wrk -t1 -c32 -d${seconds}s)" "requests/s" "p99" "ratio"
read -r nginx_rps nginx_p99 < <(rps "http://127.0.0.1:$port/")
printf '%-34s %12s %10s %8s\n' "nginx, return 200" "$nginx_rps" "$nginx_p99" "1.00"
for w in 1 2; do
  "$build/bench/bench_echo_pipeline" "$w" 600 > "$tmp/out.$w" & pids+=($!)
  for _ in $(seq 100); do grep -q '^port' "$tmp/out.$w" && break; sleep 0.1; done
  pport=$(awk '/^port/ {print $2}' "$tmp/out.$w")
  read -r r p99 < <(rps "http://127.0.0.1:$pport/hello")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  printf '%-34s %12s %10s %8.2f\n' "2-stage echo, $w worker(s)/stage" "$r" "$p99" \
    "$(echo "$r $nginx_rps" | awk '{print $1 / $2}')"
done
