#!/usr/bin/env bash
# test_prometheus.sh: a real Prometheus server (Debian's prometheus) scrapes
# the front of a split deployment (prime_httpd, prime_proxyd --stage echo,
# prime_workerd with 3 echo workers) every second, on loopback, with a data
# directory of its own; its HTTP query API must then give
# prime_server_requests_total for the 20 POSTs sent and
# prime_server_stage_workers for the 3 workers.
#
# Skipped (exit 77, saying so) only where the prometheus binary is missing:
# apt-get install prometheus (quickstart.sh test-deps installs it).
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_httpd prime_proxyd prime_workerd
PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || true)}
if [ -z "$PROMETHEUS" ]; then
  echo "SKIP: no prometheus binary (Debian: apt-get install prometheus)"
  exit 77
fi

port_of() { grep -o '(port [0-9]*)' "$tmp/$1.err" | grep -o '[0-9]*'; }

ipc="ipc://$tmp"
start httpd "$bindir/prime_httpd" --metrics /metrics --drain-seconds 1 tcp://127.0.0.1:* \
  "$ipc/up" "$ipc/loop" "$ipc/int"
wait_line httpd "serving" || fail "prime_httpd did not start: $(cat "$tmp/httpd.err")"
front=$(port_of httpd)
start proxy "$bindir/prime_proxyd" --stage echo --loopback "$ipc/loop" "$ipc/up" "$ipc/down"
start workers "$bindir/prime_workerd" --stage echo --workers 3 "$ipc/down" - "$ipc/loop" "$ipc/int"
wait_line workers "answers to" || fail "prime_workerd did not start: $(cat "$tmp/workers.err")"

# 20 POSTs (the scrapes are GETs, so this count stays exact)
"$PYTHON" - "$front" <<'EOF' || fail "the POSTs were not all answered 200"
import socket, sys
for i in range(20):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 200 "), data[:100]
EOF

# Prometheus: 1 s scrapes of the front, its own data directory, loopback only
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prime_server
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$front"]
EOF
prom_port=$(free_port)
start prometheus "$PROMETHEUS" --config.file="$tmp/prometheus.yml" \
  --storage.tsdb.path="$tmp/prometheus-data" --web.listen-address="127.0.0.1:$prom_port"

# Ask its query API until both answers are right (or 60 s: a loaded
# machine starts Prometheus slowly)
"$PYTHON" - "$prom_port" <<'EOF' >"$tmp/query.out" 2>&1
import json, sys, time, urllib.parse, urllib.request
port = int(sys.argv[1])
def query(q):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(q))
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            answer = json.load(r)
    except Exception as e:
        return None
    if answer.get("status") != "success":
        return None
    return {tuple(sorted(x["metric"].items())): float(x["value"][1]) for x in answer["data"]["result"]}
wanted = {
    'prime_server_requests_total{code="200",method="POST"}': 20.0,
    'prime_server_stage_workers{stage="echo",state="idle"}': 3.0,
    'prime_server_stage_workers{stage="echo",state="busy"}': 0.0,
    'prime_server_stage_up{stage="echo"}': 1.0,
}
deadline = time.time() + 60
got = {}
while time.time() < deadline:
    got = {q: query(q) for q in wanted}
    if all(got[q] and list(got[q].values()) == [wanted[q]] for q in wanted):
        break
    time.sleep(0.5)
for q in wanted:
    values = list(got[q].values()) if got.get(q) else None
    print("%s %s = %r (expected %r)" % ("ok" if values == [wanted[q]] else "FAIL", q, values, wanted[q]))
# The series carry Prometheus's own labels: the target was scraped
labels = dict(list(got[list(wanted)[0]] or {(): 0})[0]) if got.get(list(wanted)[0]) else {}
print("%s job label %r" % ("ok" if labels.get("job") == "prime_server" else "FAIL", labels.get("job")))
EOF
while IFS= read -r line; do
  case "$line" in
    ok*) pass "prometheus: ${line#ok }" ;;
    *) fail "prometheus: $line" ;;
  esac
done <"$tmp/query.out"
grep -q '^ok' "$tmp/query.out" || fail "prometheus: no answer: $(tail -n 5 "$tmp/prometheus.err")"

stop prometheus 10000
stop workers 4000
stop proxy 3000
stop httpd 3000
finish
