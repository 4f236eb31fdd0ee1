#!/usr/bin/env bash
# test_py_worker_stream.sh: the Python worker (py/prime_worker.py) answers in
# parts (docs/PROTOCOL.md, "Streamed answers") behind the C front.
#
#   prime_httpd -> prime_proxyd -> prime_worker.py --stage stream
#
# GET /stream?bytes=N streams N bytes (byte k is k % 251) in 64 KiB parts.
# Checked with curl: 3,000,000 bytes byte for byte with Content-Length, the
# same chunked (size not announced), HTTP/1.0 close-delimited, HEAD with the
# length and no body, and an empty body. Then prime_worker.Request on both
# wire forms of a request.
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_httpd prime_proxyd
command -v curl >/dev/null || { echo "test_py_worker_stream: curl missing" >&2; exit 99; }
if ! find_pyzmq; then
  fail "no python3 with pyzmq (apt-get install python3-zmq; ./quickstart.sh test does)"
  finish
fi
worker_py=$srcdir/py/prime_worker.py

d=ipc://$tmp/s
start httpd "$bindir/prime_httpd" --drain-seconds 1 "tcp://127.0.0.1:*" "$d.up" "$d.loop" "$d.int"
start proxy "$bindir/prime_proxyd" "$d.up" "$d.down"
wait_line httpd "(port [0-9]*)" && wait_line proxy "workers on" ||
  { fail "front did not start: $(cat "$tmp/httpd.err" "$tmp/proxy.err")"; finish; }
port=$(grep -o '(port [0-9]*)' "$tmp/httpd.err" | grep -o '[0-9]*')
url=http://127.0.0.1:$port
start py "$PYZMQ" "$worker_py" --stage stream "$d.down" - "$d.loop" "$d.int"
wait_line py "stream worker" || { fail "the Python worker did not start: $(cat "$tmp/py.err")"; finish; }

"$PYZMQ" -c 'import sys; sys.stdout.buffer.write(bytes(k % 251 for k in range(3000000)))' \
  >"$tmp/expected"

# fetch LABEL CURL_ARGS...: the body into $tmp/got, the head into $tmp/head
fetch() {
  local label=$1 status
  shift
  status=$(curl -s --max-time 20 -o "$tmp/got" -D "$tmp/head" -w '%{http_code}' "$@")
  [ "$status" = 200 ] || fail "$label: status $status"
}
header() { tr -d '\r' <"$tmp/head" | grep -i "^$1:" | head -n 1 | cut -d' ' -f2-; }

fetch "known size" "$url/stream?bytes=3000000"
cmp -s "$tmp/got" "$tmp/expected" && [ "$(header content-length)" = 3000000 ] &&
  pass "3,000,000 bytes with Content-Length, byte for byte" ||
  fail "known size: $(wc -c <"$tmp/got") bytes, Content-Length '$(header content-length)'"

fetch "chunked" "$url/stream?bytes=3000000&known=0"
cmp -s "$tmp/got" "$tmp/expected" && [ "$(header transfer-encoding)" = chunked ] &&
  [ -z "$(header content-length)" ] && pass "3,000,000 bytes chunked, byte for byte" ||
  fail "chunked: $(wc -c <"$tmp/got") bytes, Transfer-Encoding '$(header transfer-encoding)'"

fetch "HTTP/1.0" -0 "$url/stream?bytes=3000000&known=0"
cmp -s "$tmp/got" "$tmp/expected" && [ "$(header connection)" = close ] &&
  pass "HTTP/1.0: 3,000,000 bytes up to the close, byte for byte" ||
  fail "HTTP/1.0: $(wc -c <"$tmp/got") bytes, Connection '$(header connection)'"

fetch "HEAD" -I "$url/stream?bytes=3000000"
[ "$(header content-length)" = 3000000 ] && pass "HEAD: Content-Length 3000000" ||
  fail "HEAD: $(tr -d '\r' <"$tmp/head")"
if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
  printf 'HEAD /stream?bytes=3000000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >&3
  bytes=$(timeout 10 cat <&3 | wc -c)
  exec 3<&-
  [ "$bytes" -lt 400 ] && pass "HEAD sends no body ($bytes bytes)" || fail "HEAD sent $bytes bytes"
fi

fetch "empty" "$url/stream?bytes=0"
[ ! -s "$tmp/got" ] && [ "$(header content-length)" = 0 ] && pass "an empty streamed body" ||
  fail "empty: $(wc -c <"$tmp/got") bytes, Content-Length '$(header content-length)'"

# The requests above came in the one-frame form (docs/PROTOCOL.md, kind 1);
# the frame-per-field form of earlier servers reads the same, junk is refused
if out=$(cd "$srcdir/py" && "$PYZMQ" -c '
import prime_worker as pw
one = pw.Request([b"3:GET,6:/p?a=1,2:/p,2:11,8:1:a,1:1,,11:4:Host,1:h,,0:,0:,3:::1,"])
old = pw.Request([b"GET", b"/p?a=1", b"/p", b"11", b"1:a,1:1,", b"4:Host,1:h,", b"", b"", b"::1"])
assert vars(one) == vars(old), (vars(one), vars(old))
assert one.query == [("a", "1")] and one.header("host") == "h" and one.client == "::1"
for junk in ([b"3:GET,"], [b"3:GET,6:/p?a=1,2:/p,2:11,0:,0:,0:,0:,0:,x"], [b"GET", b"/"]):
    try:
        pw.Request(junk)
        raise SystemExit("accepted %r" % junk)
    except pw.ProtocolError:
        pass
print("ok")' 2>&1) && [ "$out" = ok ]; then
  pass "the Python worker reads both request forms and refuses junk"
else
  fail "request forms: $out"
fi

stop py 3000
stop proxy 3000
stop httpd 3000
finish
