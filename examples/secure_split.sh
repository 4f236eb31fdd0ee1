#!/usr/bin/env bash
# secure_split.sh PORT: the prime service split into processes over tcp on
# 127.0.0.1, every backend link secured with CurveZMQ, in one command.
#
#   prime_httpd -> prime_proxyd -> prime_workerd parse -> prime_proxyd
#               -> prime_workerd compute, answers over the loopback
#
# Keys are made by prime_keygen in a temporary directory (the binders'
# "server" pair, one pair per worker stage). Ports: PORT (HTTP), PORT+1
# and PORT+2 (parse proxy up/down), PORT+3 and PORT+4 (compute proxy
# up/down), PORT+5 (loopback), PORT+6 (interrupt). Prints one line per
# socket a stranger could try, "NAME ENDPOINT", then "ready" once a request
# has gone through the whole chain. Serves until SIGTERM or SIGINT, then
# stops every process and removes the keys. Daemons are taken from
# $PRIME_BINDIR, else ./daemons (a build tree), else $PATH.
#
#   examples/secure_split.sh 8002 &
#   curl 'http://127.0.0.1:8002/is_prime?possible_prime=32416190071'
#   kill %1
set -u
port=${1:-}
if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port + 6 > 65535)); then
  echo "usage: secure_split.sh PORT   (PORT..PORT+6 on 127.0.0.1)" >&2
  exit 2
fi
bindir=${PRIME_BINDIR:-}
if [ -z "$bindir" ] && [ -x ./daemons/prime_httpd ]; then bindir=./daemons; fi
bin() { if [ -n "$bindir" ]; then echo "$bindir/$1"; else command -v "$1"; fi; }
for b in prime_keygen prime_httpd prime_proxyd prime_workerd; do
  [ -x "$(bin $b)" ] || { echo "secure_split.sh: $b not found (set PRIME_BINDIR)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/secure_split.XXXXXX")
keys=$tmp/keys
pids=()
stop_all() {
  local pid i
  # Workers first, the front last, as in docs/DEPLOY.md
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap 'stop_all; exit 0' TERM INT
trap stop_all EXIT

"$(bin prime_keygen)" "$keys" server parse compute >/dev/null || exit 1

h=tcp://127.0.0.1
http=$port parse_up=$h:$((port + 1)) parse_down=$h:$((port + 2))
compute_up=$h:$((port + 3)) compute_down=$h:$((port + 4))
loopback=$h:$((port + 5)) interrupt=$h:$((port + 6))
run() {
  local name=$1
  shift
  "$@" >"$tmp/$name.log" 2>&1 &
  pids+=("$!")
}
run httpd "$(bin prime_httpd)" --keys "$keys" "$h:$http" "$parse_up" "$loopback" "$interrupt"
run proxy1 "$(bin prime_proxyd)" --keys "$keys" --loopback "$loopback" "$parse_up" "$parse_down"
run proxy2 "$(bin prime_proxyd)" --keys "$keys" --loopback "$loopback" "$compute_up" "$compute_down"
run parse "$(bin prime_workerd)" --keys "$keys" --key parse --stage parse --workers 2 \
  "$parse_down" "$compute_up" "$loopback" "$interrupt"
run compute "$(bin prime_workerd)" --keys "$keys" --key compute --stage compute --workers 2 \
  "$compute_down" - "$loopback" "$interrupt"

# Ready when a request has gone through every stage and back
ready=0
for ((i = 0; i < 200; i++)); do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || {
      echo "secure_split.sh: a daemon exited:" >&2
      tail -n 3 "$tmp"/*.log >&2
      exit 1
    }
  done
  if { exec 3<>"/dev/tcp/127.0.0.1/$http"; } 2>/dev/null; then
    printf 'GET /is_prime?possible_prime=7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
    answer=$(timeout 5 cat <&3)
    exec 3<&-
    if [[ "$answer" == *'"is_prime":true'* ]]; then ready=1; break; fi
  fi
  sleep 0.05
done
if [ $ready != 1 ]; then
  echo "secure_split.sh: no answer through the pipeline:" >&2
  tail -n 3 "$tmp"/*.log >&2
  exit 1
fi

echo "http $h:$http"
echo "proxy-upstream $parse_up"
echo "proxy-downstream $parse_down"
echo "proxy-upstream $compute_up"
echo "proxy-downstream $compute_down"
echo "loopback $loopback"
echo "interrupt $interrupt"
echo "ready"
# Until a signal (the traps stop everything) or a daemon dies
while :; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "secure_split.sh: a daemon exited" >&2; exit 1; }
  done
  sleep 1 &
  wait $!
done
