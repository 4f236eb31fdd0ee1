#!/usr/bin/env bash
# test_prime_filed.sh: prime_filed (and prime_workerd --stage file) from
# the outside.
#
# - bad arguments exit 2 with a message and the usage;
# - over 30 traversal attempts, sent as raw bytes so that no client
#   normalises the path (.., encoded and double-encoded dots, encoded
#   slashes and backslashes, NUL bytes, symlinks out of ROOT, absolute-form
#   targets, a FIFO, a sibling directory sharing ROOT's prefix), are all
#   refused with 400, 403 or 404, and no answer holds a byte of the files
#   outside ROOT; the same with --no-symlinks, which also refuses symlinks
#   inside ROOT;
# - real files are served with the right Content-Type and bytes, HEAD gives
#   the length without a body, Last-Modified / If-Modified-Since and ETag /
#   If-None-Match give 304, directories redirect, serve index.html or a
#   listing (--listing) or 403, other methods 405, files over
#   --max-file-size 500; large files stream; Range: first bytes, middle,
#   suffix, open, 416, several ranges and other units (200 whole), If-Range
#   match and mismatch, HEAD with a range;
# - the file stage split over processes (prime_httpd + prime_proxyd +
#   prime_workerd --stage file) serves the same bytes;
# - SIGTERM: exit 0.
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_filed prime_httpd prime_proxyd prime_workerd
command -v curl >/dev/null || { echo "test_prime_filed: curl missing" >&2; exit 99; }

usage_checks prime_filed "" "nope" "tcp://*:1|/|extra" "--workers|0|tcp://*:1" \
  "--max-file-size|x|tcp://*:1" "--bogus|tcp://*:1" "--mime-types" "tcp://*:x"

# ---------------------------------------------------------------------------
# The tree: ROOT inside $tmp/site, secrets next to it
site=$tmp/site
root=$site/root
mkdir -p "$root/sub/deeper" "$root/emptydir" "$root/.git" "$site/root_evil"
echo "TOPSECRET-OUTSIDE" >"$site/secret.txt"
echo "TOPSECRET-SIBLING" >"$site/root_evil/secret.txt"
printf 'hello\n' >"$root/hello.txt"
printf '<!doctype html><title>page</title>\n' >"$root/page.html"
printf 'body { color: red }\n' >"$root/style.css"
printf '{"a":1}\n' >"$root/data.json"
printf '\x89PNG\r\n\x1a\n\x00\x01\x02binary' >"$root/image.png"
printf 'no extension\n' >"$root/noext"
printf 'spaced\n' >"$root/sp ace.txt"
printf 'sub index\n' >"$root/sub/index.html"
printf 'deep\n' >"$root/sub/deeper/file.txt"
printf 'TOPSECRET-HIDDEN\n' >"$root/.hidden"
printf 'TOPSECRET-GIT\n' >"$root/.git/config"
printf '0123456789abcdefghij' >"$root/twenty.bin"
head -c 3000000 /dev/urandom >"$root/big.bin"
ln -s hello.txt "$root/inside_link"
ln -s sub "$root/dir_link"
ln -s ../secret.txt "$root/out_link"
ln -s /etc/passwd "$root/abs_link"
ln -s .. "$root/dir_out"
ln -s ../../secret.txt "$root/sub/up_link"
ln -s "$site" "$root/abs_dir_out"
mkfifo "$root/fifo"

# start_filed NAME ARGS...: prime_filed on an ephemeral port; sets $port
start_filed() {
  local name=$1
  shift
  start "$name" "$bindir/prime_filed" --drain-seconds 1 "$@" "tcp://127.0.0.1:*" "$root"
  if wait_line "$name" "(port [0-9]*)"; then
    port=$(grep -o '(port [0-9]*)' "$tmp/$name.err" | grep -o '[0-9]*')
    return 0
  fi
  fail "$name did not start: $(cat "$tmp/$name.err")"
  return 1
}

# Raw requests: one target per line on stdin; prints "STATUS LEAK TARGET"
# per line, LEAK being "leak" if the answer holds a secret.
cat >"$tmp/raw_requests.py" <<'EOF'
import socket, sys
port = int(sys.argv[1])
for line in sys.stdin.read().split("\n"):
    if not line:
        continue
    # \0 in the list stands for a real NUL byte
    target = line.encode("latin-1").replace(b"\\0", b"\0")
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        data += b" TIMEOUT"
    s.close()
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.") else "none"
    leak = "leak" if (b"TOPSECRET" in data or b"root:x:" in data) else "clean"
    print(status, leak, line)
EOF
raw_requests() { "$PYTHON" "$tmp/raw_requests.py" "$1"; }

traversals() {
  cat <<'EOF'
/../secret.txt
/../../../../../../etc/passwd
/%2e%2e/secret.txt
/%2E%2E/secret.txt
/%2e%2e%2fsecret.txt
/..%2fsecret.txt
/.%2e/secret.txt
/%2e./secret.txt
/%252e%252e/secret.txt
/sub/../../secret.txt
/sub/%2e%2e/%2e%2e/secret.txt
/sub/deeper/../../../secret.txt
/./../secret.txt
/sub/./../../secret.txt
/../root_evil/secret.txt
/%2e%2e/root_evil/secret.txt
/out_link
/abs_link
/dir_out/secret.txt
/dir_out/
/dir_out/root_evil/secret.txt
/sub/up_link
/abs_dir_out/secret.txt
/dir_link/up_link
/hello.txt%00.png
/%00/../secret.txt
/hello.txt\0
/etc/passwd
//etc/passwd
///../secret.txt
/..\..\secret.txt
/..%5c..%5csecret.txt
/%c0%ae%c0%ae/secret.txt
/%e0%80%ae%e0%80%ae/secret.txt
http://t/../secret.txt
http://t/%2e%2e/secret.txt
../secret.txt
/.hidden
/.git/config
/%2egit/config
/fifo
EOF
}

check_traversals() {
  local label=$1 count=0 status leak target
  declare -A seen=()
  while read -r status leak target; do
    count=$((count + 1))
    seen[$status]=$((${seen[$status]:-0} + 1))
    case "$status" in
      400 | 403 | 404)
        [ "$leak" = clean ] || fail "$label: $target: $status with a secret in the answer" ;;
      *) fail "$label: $target: status $status ($leak), expected 400, 403 or 404" ;;
    esac
  done < <(traversals | raw_requests "$port")
  [ $count -ge 20 ] || fail "$label: only $count traversal attempts answered"
  local summary="" code
  for code in "${!seen[@]}"; do summary+=" $code x${seen[$code]}"; done
  pass "$label: $count traversal attempts refused ($summary ), nothing from outside ROOT served"
}

# expect LABEL STATUS CONTENT_TYPE BODY_FILE|- CURL_ARGS...
expect() {
  local label=$1 want_status=$2 want_type=$3 want_body=$4 status type
  shift 4
  rm -f "$tmp/got"
  status=$(curl -s --max-time 10 -o "$tmp/got" -D "$tmp/head" -w '%{http_code}' "$@")
  type=$(tr -d '\r' <"$tmp/head" | grep -i '^content-type:' | cut -d' ' -f2-)
  if [ "$status" != "$want_status" ]; then
    fail "$label: status $status, expected $want_status"
  elif [ "$want_type" != "*" ] && [ "$type" != "$want_type" ]; then
    fail "$label: Content-Type '$type', expected '$want_type'"
  elif [ "$want_body" != "-" ] && ! cmp -s "$tmp/got" "$want_body"; then
    fail "$label: body differs from $want_body"
  else
    pass "$label: $status $type"
  fi
}

header() { tr -d '\r' <"$tmp/head" | grep -i "^$1:" | head -n 1 | cut -d' ' -f2-; }

if start_filed filed --listing; then
  u="http://127.0.0.1:$port"
  check_traversals "prime_filed"

  expect "text file" 200 "text/plain" "$root/hello.txt" "$u/hello.txt"
  expect "html" 200 "text/html" "$root/page.html" "$u/page.html"
  expect "css" 200 "text/css" "$root/style.css" "$u/style.css"
  expect "json" 200 "application/json" "$root/data.json" "$u/data.json"
  expect "png" 200 "image/png" "$root/image.png" "$u/image.png"
  expect "no extension" 200 "application/octet-stream" "$root/noext" "$u/noext"
  expect "encoded space" 200 "text/plain" "$root/sp ace.txt" "$u/sp%20ace.txt"
  expect "3 MB binary" 200 "application/octet-stream" "$root/big.bin" "$u/big.bin"
  # The type goes by the name asked for, as with any web server
  # Symlinks inside ROOT are followed where the kernel has openat2 (not
  # under valgrind, for one); the daemon says which on its first line
  if grep -q "symlinks followed inside ROOT" "$tmp/filed.err"; then
    expect "symlink inside ROOT" 200 "application/octet-stream" "$root/hello.txt" "$u/inside_link"
    expect "symlinked directory inside ROOT" 200 "text/plain" "$root/sub/deeper/file.txt" \
      "$u/dir_link/deeper/file.txt"
  else
    grep -q "symlinks refused" "$tmp/filed.err" || fail "startup line: $(head -n 1 "$tmp/filed.err")"
    expect "no openat2: symlink inside ROOT refused" 403 "*" - "$u/inside_link"
  fi
  expect "deep file" 200 "text/plain" "$root/sub/deeper/file.txt" "$u/sub/deeper/file.txt"
  expect "directory index" 200 "text/html" "$root/sub/index.html" "$u/sub/"
  expect "directory without slash" 301 "*" - "$u/sub?x=1"
  [ "$(header location)" = "/sub/?x=1" ] && pass "Location: /sub/?x=1" ||
    fail "redirect Location '$(header location)'"
  expect "listing" 200 "text/html; charset=utf-8" - "$u/"
  if grep -q 'href="hello.txt"' "$tmp/got" && grep -q 'href="sp%20ace.txt"' "$tmp/got" &&
    grep -q 'href="sub/"' "$tmp/got" && ! grep -q 'hidden\|\.git' "$tmp/got"; then
    pass "listing names the files, escaped, and not the hidden ones"
  else
    fail "listing: $(cat "$tmp/got")"
  fi
  expect "empty directory listing" 200 "text/html; charset=utf-8" - "$u/emptydir/"
  expect "missing" 404 "*" - "$u/nothing.txt"
  expect "POST" 405 "*" - -d x "$u/hello.txt"
  [ "$(header allow)" = "GET, HEAD" ] && pass "405 Allow: GET, HEAD" || fail "Allow '$(header allow)'"

  # HEAD: the length, no body
  curl -s --max-time 10 -I -o "$tmp/head" "$u/big.bin"
  tr -d '\r' <"$tmp/head" >"$tmp/head2"
  if grep -q '^HTTP/1.1 200' "$tmp/head2" && grep -qi '^content-length: 3000000$' "$tmp/head2"; then
    pass "HEAD: 200, Content-Length 3000000"
  else
    fail "HEAD: $(cat "$tmp/head2")"
  fi
  if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
    printf 'HEAD /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >&3
    bytes=$(timeout 10 cat <&3 | wc -c)
    exec 3<&-
    [ "$bytes" -lt 400 ] && pass "HEAD sends no body ($bytes bytes)" || fail "HEAD sent $bytes bytes"
  fi

  # Conditional requests
  curl -s --max-time 10 -D "$tmp/head" -o /dev/null "$u/hello.txt"
  last_modified=$(header last-modified)
  etag=$(header etag)
  [ -n "$last_modified" ] && [ -n "$etag" ] && pass "Last-Modified: $last_modified, ETag: $etag" ||
    fail "no Last-Modified or ETag"
  expect "If-Modified-Since: Last-Modified" 304 "*" - -H "If-Modified-Since: $last_modified" "$u/hello.txt"
  [ -s "$tmp/got" ] && fail "304 with a body"
  [ -z "$(header content-length)" ] || fail "304 with Content-Length $(header content-length)"
  expect "If-Modified-Since in the future" 304 "*" - -H "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT" "$u/hello.txt"
  expect "If-Modified-Since, asctime form" 304 "*" - -H "If-Modified-Since: Fri Jan  1 00:00:00 2100" "$u/hello.txt"
  expect "If-Modified-Since long ago" 200 "text/plain" "$root/hello.txt" -H "If-Modified-Since: Thu, 01 Jan 1998 00:00:00 GMT" "$u/hello.txt"
  expect "If-Modified-Since garbage" 200 "text/plain" "$root/hello.txt" -H "If-Modified-Since: yesterday" "$u/hello.txt"
  expect "If-None-Match: the ETag" 304 "*" - -H "If-None-Match: $etag" "$u/hello.txt"
  expect "If-None-Match: a list with it" 304 "*" - -H "If-None-Match: \"x\", $etag" "$u/hello.txt"
  expect "If-None-Match: another, If-Modified-Since matching" 200 "text/plain" "$root/hello.txt" \
    -H 'If-None-Match: "other"' -H "If-Modified-Since: $last_modified" "$u/hello.txt"
  touch -d '2030-01-01 00:00:00 UTC' "$root/hello.txt"
  expect "modified since" 200 "text/plain" "$root/hello.txt" -H "If-Modified-Since: $last_modified" "$u/hello.txt"

  # Range: one byte range (206), 416 outside the file, the whole file for
  # what is not served as a range; If-Range; HEAD with a range
  expect "Range: first bytes" 206 "application/octet-stream" - -H "Range: bytes=0-3" "$u/twenty.bin"
  [ "$(cat "$tmp/got")" = "0123" ] && [ "$(header content-range)" = "bytes 0-3/20" ] &&
    [ "$(header accept-ranges)" = "bytes" ] && [ "$(header content-length)" = "4" ] &&
    pass "206 0123, Content-Range: bytes 0-3/20, Accept-Ranges: bytes" ||
    fail "first bytes: '$(cat "$tmp/got")' $(tr -d '\r' <"$tmp/head")"
  expect "Range: middle" 206 "*" - -H "Range: bytes=5-9" "$u/twenty.bin"
  [ "$(cat "$tmp/got")" = "56789" ] && [ "$(header content-range)" = "bytes 5-9/20" ] &&
    pass "middle: 56789" || fail "middle: '$(cat "$tmp/got")' $(header content-range)"
  expect "Range: suffix" 206 "*" - -H "Range: bytes=-4" "$u/twenty.bin"
  [ "$(cat "$tmp/got")" = "ghij" ] && [ "$(header content-range)" = "bytes 16-19/20" ] &&
    pass "suffix: ghij" || fail "suffix: '$(cat "$tmp/got")' $(header content-range)"
  expect "Range: open" 206 "*" - -H "Range: bytes=15-" "$u/twenty.bin"
  [ "$(cat "$tmp/got")" = "fghij" ] && pass "open: fghij" || fail "open: '$(cat "$tmp/got")'"
  tail -c +1000001 "$root/big.bin" | head -c 1500000 >"$tmp/big_range"
  expect "Range: 1.5 MB of a streamed file" 206 "*" "$tmp/big_range" \
    -H "Range: bytes=1000000-2499999" "$u/big.bin"
  [ "$(header content-range)" = "bytes 1000000-2499999/3000000" ] && pass "Content-Range of the big file" ||
    fail "big file Content-Range: $(header content-range)"
  expect "Range: unsatisfiable" 416 "*" - -H "Range: bytes=20-" "$u/twenty.bin"
  [ "$(header content-range)" = "bytes */20" ] && pass "416 Content-Range: bytes */20" ||
    fail "416 Content-Range: $(header content-range)"
  expect "Range: several ranges, whole file" 200 "*" "$root/twenty.bin" -H "Range: bytes=0-1,4-5" "$u/twenty.bin"
  expect "Range: another unit, whole file" 200 "*" "$root/twenty.bin" -H "Range: items=0-1" "$u/twenty.bin"
  curl -s --max-time 10 -D "$tmp/head" -o /dev/null "$u/twenty.bin"
  twenty_etag=$(header etag)
  expect "If-Range: the ETag" 206 "*" - -H "Range: bytes=0-3" -H "If-Range: $twenty_etag" "$u/twenty.bin"
  [ "$(cat "$tmp/got")" = "0123" ] && pass "If-Range match: the range" || fail "If-Range match: '$(cat "$tmp/got")'"
  expect "If-Range: another ETag, whole file" 200 "*" "$root/twenty.bin" -H "Range: bytes=0-3" \
    -H 'If-Range: "other"' "$u/twenty.bin"
  curl -s --max-time 10 -I -H "Range: bytes=2-5" -o "$tmp/head" "$u/twenty.bin"
  if tr -d '\r' <"$tmp/head" | grep -q '^HTTP/1.1 206' && [ "$(header content-length)" = "4" ] &&
    [ "$(header content-range)" = "bytes 2-5/20" ]; then
    pass "HEAD with Range: 206, Content-Length 4, Content-Range bytes 2-5/20"
  else
    fail "HEAD with Range: $(tr -d '\r' <"$tmp/head")"
  fi

  # The FIFO did not block a worker: the server still answers at once
  expect "still serving after the FIFO" 200 "text/plain" "$root/hello.txt" "$u/hello.txt"
  stop filed 3000
fi

# Without --listing a directory without index.html is 403; the size limit
if start_filed filed2 --max-file-size 10 --workers 1; then
  u="http://127.0.0.1:$port"
  expect "no listing" 403 "*" - "$u/emptydir/"
  expect "file over --max-file-size" 500 "*" - "$u/twenty.bin"
  grep -q "max-file-size" "$tmp/got" && pass "500 says why" || fail "500 body: $(cat "$tmp/got")"
  expect "file under --max-file-size" 200 "text/plain" "$root/hello.txt" "$u/hello.txt"
  stop filed2 3000
fi

# --no-symlinks: every symlink refused, the traversal list too
if start_filed filed3 --no-symlinks; then
  u="http://127.0.0.1:$port"
  check_traversals "prime_filed --no-symlinks"
  expect "--no-symlinks: symlink inside ROOT" 403 "*" - "$u/inside_link"
  expect "--no-symlinks: through a symlinked directory" 403 "*" - "$u/dir_link/index.html"
  expect "--no-symlinks: plain file" 200 "text/plain" "$root/sub/deeper/file.txt" "$u/sub/deeper/file.txt"
  stop filed3 3000
fi

# The file stage split over processes
d=ipc://$tmp/f
start fhttpd "$bindir/prime_httpd" --drain-seconds 1 "tcp://127.0.0.1:*" "$d.up" "$d.loop" "$d.int"
start fproxy "$bindir/prime_proxyd" "$d.up" "$d.down"
if wait_line fhttpd "(port [0-9]*)" && wait_line fproxy "workers on"; then
  port=$(grep -o '(port [0-9]*)' "$tmp/fhttpd.err" | grep -o '[0-9]*')
  start fworker "$bindir/prime_workerd" --stage file --workers 2 --root "$root" "$d.down" - \
    "$d.loop" "$d.int"
  wait_line fworker "file workers" || fail "prime_workerd --stage file did not start"
  # A streamed file gives back the jobs queued behind it, so file workers
  # take a credit of 16
  grep -q "file workers (credit 16)" "$tmp/fworker.err" && pass "split: file stage credit 16" ||
    fail "file stage credit: $(cat "$tmp/fworker.err")"
  u="http://127.0.0.1:$port"
  expect "split: binary file" 200 "application/octet-stream" "$root/big.bin" "$u/big.bin"
  expect "split: png" 200 "image/png" "$root/image.png" "$u/image.png"
  check_traversals "split file stage"
  stop fworker 3000
  stop fproxy 3000
  stop fhttpd 3000
else
  fail "split file service did not start: $(cat "$tmp/fhttpd.err" "$tmp/fproxy.err")"
fi

finish
