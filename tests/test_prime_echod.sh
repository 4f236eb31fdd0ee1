#!/usr/bin/env bash
# test_prime_echod.sh: prime_echod and prime_workerd --stage echo from the
# outside.
#
# - bad arguments exit 2 with a message and the usage;
# - raw requests (duplicate query keys and headers, percent-encoding, a
#   body with control bytes, quotes, backslashes, valid UTF-8 and bytes
#   that are not UTF-8, a chunked body with trailers, HTTP/1.0) come back
#   as JSON that parses and describes exactly what was sent, every
#   non-UTF-8 byte as \u00XX;
# - the echo stage split over processes answers byte for byte the same;
# - the positional WORKERS and DRAIN_SECONDS work; SIGTERM with an idle
#   connection open exits 0 within the drain time + 1 s.
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_echod prime_httpd prime_proxyd prime_workerd

usage_checks prime_echod "" "8002" "tcp://*:1|0" "tcp://*:1|1|x" "tcp://*:1|1|2|extra" \
  "--workers|0|tcp://*:1" "--bogus|tcp://*:1" "--drain-seconds" "ipc://"

port_of() { grep -o '(port [0-9]*)' "$tmp/$1.err" | grep -o '[0-9]*'; }

# The check: sends each request raw, parses the JSON answer and compares
# it with what was sent. Prints one line per case; "FAIL" lines fail.
cat >"$tmp/echo_check.py" <<'EOF'
import json, socket, sys

port = int(sys.argv[1])
dump = sys.argv[2] if len(sys.argv) > 2 else None

def send(raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(raw)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.decode("latin-1"), body

def as_json_text(b):
    """What the echo stage promises: valid UTF-8 as is, other bytes as U+00XX."""
    s = b.decode("utf-8", "surrogateescape")
    return "".join(chr(ord(c) - 0xDC00) if 0xDC80 <= ord(c) <= 0xDCFF else c for c in s)

body_bytes = b'line\nquote " back \\ tab\t nul \x00 bell \x07 del \x7f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad \xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x82 end'
cases = [
    ("GET with query and duplicate headers",
     b"GET /p%20a/th?x=1&x=2&y&z=a%26b+c HTTP/1.1\r\nHost: h\r\nX-Dup: one\r\nX-Dup: two\r\nConnection: close\r\n\r\n",
     {"method": "GET", "target": "/p%20a/th?x=1&x=2&y&z=a%26b+c", "path": "/p a/th", "version": "1.1",
      "query": [["x", "1"], ["x", "2"], ["y", ""], ["z", "a&b c"]],
      "headers": [["Host", "h"], ["X-Dup", "one"], ["X-Dup", "two"], ["Connection", "close"]],
      "body": "", "trailers": []}),
    ("POST with every kind of byte",
     b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body_bytes) + body_bytes,
     {"method": "POST", "target": "/b", "path": "/b", "version": "1.1", "query": [],
      "headers": [["Host", "h"], ["Content-Length", str(len(body_bytes))], ["Connection", "close"]],
      "body": as_json_text(body_bytes), "trailers": []}),
    ("chunked body with trailers",
     b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n3\r\n\xff!!\r\n0\r\nX-Trail: t\r\n\r\n",
     {"method": "PUT", "target": "/c", "path": "/c", "version": "1.1", "query": [],
      "headers": [["Host", "h"], ["Transfer-Encoding", "chunked"], ["Connection", "close"]],
      "body": "hello\u00ff!!", "trailers": [["X-Trail", "t"]]}),
    ("HTTP/1.0, UTF-8 in the path",
     b"DELETE /%C3%A9t%C3%A9/%FF?k=%E2%82%AC HTTP/1.0\r\n\r\n",
     {"method": "DELETE", "target": "/%C3%A9t%C3%A9/%FF?k=%E2%82%AC", "path": "/\u00e9t\u00e9/\u00ff",
      "version": "1.0", "query": [["k", "\u20ac"]], "headers": [], "body": "", "trailers": []}),
]
out = open(dump, "wb") if dump else None
for name, raw, want in cases:
    status, head, body = send(raw)
    if out:
        out.write(body + b"\n")
    try:
        got = json.loads(body.decode("utf-8"))  # strict: the answer must be UTF-8 JSON
    except Exception as e:
        print("FAIL %s: not JSON (%s): %r" % (name, e, body[:200]))
        continue
    client = got.pop("client", None)  # the connection's address, as the server saw it
    if status != 200 or "content-type: application/json" not in head.lower():
        print("FAIL %s: status %d, head %r" % (name, status, head))
    elif client != "127.0.0.1":
        print("FAIL %s: client is %r, expected '127.0.0.1'" % (name, client))
    elif got != want:
        for k in want:
            if got.get(k) != want[k]:
                print("FAIL %s: %s is %r, expected %r" % (name, k, got.get(k), want[k]))
    else:
        print("ok %s" % name)
# HEAD: the same length as GET, no body
status, head, body = send(b"HEAD /h HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
print("ok HEAD" if status == 200 and body == b"" and "content-length:" in head.lower()
      else "FAIL HEAD: %d %r %r" % (status, head, body))
EOF

run_checks() {
  local label=$1 port=$2 line
  while IFS= read -r line; do
    case "$line" in
      ok*) pass "$label: ${line#ok }" ;;
      *) fail "$label: $line" ;;
    esac
  done < <("$PYTHON" "$tmp/echo_check.py" "$port" "$tmp/$label.bodies" 2>&1)
}

start echod "$bindir/prime_echod" "tcp://127.0.0.1:*" 3 1
if wait_line echod "(port [0-9]*)"; then
  grep -q "3 workers, SIGTERM drains for 1 s" "$tmp/echod.err" && pass "positional WORKERS and DRAIN" ||
    fail "positional WORKERS and DRAIN: $(cat "$tmp/echod.err")"
  run_checks echod "$(port_of echod)"
  # An idle keep-alive connection does not hold the drain past its end
  exec 3<>"/dev/tcp/127.0.0.1/$(port_of echod)"
  stop echod 2500
  exec 3<&-
else
  fail "prime_echod did not start: $(cat "$tmp/echod.err")"
fi

# The echo stage over processes: the same bytes as prime_echod
d=ipc://$tmp/e
start ehttpd "$bindir/prime_httpd" --drain-seconds 1 "tcp://127.0.0.1:*" "$d.up" "$d.loop" "$d.int"
start eproxy "$bindir/prime_proxyd" "$d.up" "$d.down"
if wait_line ehttpd "(port [0-9]*)" && wait_line eproxy "workers on"; then
  start eworker "$bindir/prime_workerd" --stage echo --workers 2 "$d.down" - "$d.loop" "$d.int"
  wait_line eworker "echo workers" || fail "prime_workerd --stage echo did not start"
  run_checks split "$(port_of ehttpd)"
  if [ -s "$tmp/echod.bodies" ] && cmp -s "$tmp/echod.bodies" "$tmp/split.bodies"; then
    pass "prime_workerd --stage echo answers byte for byte as prime_echod"
  else
    fail "split echo differs from prime_echod"
  fi
  stop eworker 3000
  stop eproxy 3000
  stop ehttpd 3000
else
  fail "split echo service did not start"
fi

# --header-timeout and --idle-timeout: a slow header section gets 408 and a
# close, an idle keep-alive connection is closed, both about when asked
start etimeouts "$bindir/prime_echod" --header-timeout 0.3 --idle-timeout 0.6 "tcp://127.0.0.1:*" 1 1
if wait_line etimeouts "(port [0-9]*)"; then
  line=$("$PYTHON" - "$(port_of etimeouts)" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def until_close(sock):
    data = b""
    sock.settimeout(5)
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
start = time.monotonic()
answer = until_close(slow)
slow_s = time.monotonic() - start
idle = socket.create_connection(("127.0.0.1", port))
idle.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
idle.settimeout(5)
first = idle.recv(65536)
start = time.monotonic()
rest = until_close(idle)
idle_s = time.monotonic() - start
ok = (answer.startswith(b"HTTP/1.1 408") and 0.2 <= slow_s < 3
      and first.startswith(b"HTTP/1.1 200") and rest == b"" and 0.4 <= idle_s < 3)
print("%s slow header: %r after %.2f s; idle: closed after %.2f s"
      % ("ok" if ok else "bad", answer[:12], slow_s, idle_s))
PY
)
  case "$line" in
    ok*) pass "--header-timeout/--idle-timeout: ${line#ok }" ;;
    *) fail "--header-timeout/--idle-timeout: $line" ;;
  esac
  stop etimeouts 2500
else
  fail "prime_echod with timeouts did not start: $(cat "$tmp/etimeouts.err")"
fi

finish
