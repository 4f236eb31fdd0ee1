#!/usr/bin/env bash
# test_access_log.sh: the access log file, the client's address and the
# log signals from the outside.
#
# - prime_echod --access-log FILE: one Combined Log Format line per answer
#   (client address, time, request line, status, bytes, referer, user agent)
#   plus the duration, also for answers the server gives itself (400, the
#   health check); diagnostics stay on stderr;
# - a request whose client leaves first (a split deployment with no worker
#   yet) is logged with 499, here on stdout (--access-log -);
# - --trust-forwarded: the log and the echo stage show the address from
#   X-Forwarded-For; without it, the connection's;
# - SIGUSR1 after a rotation (mv) writes the next lines to a new file;
#   SIGHUP reopens too and kills no daemon (prime_echod, prime_httpd,
#   prime_proxyd, prime_workerd), each of which then stops on SIGTERM with 0.
set -u
. "$(cd "$(dirname "$0")" && pwd)/split_lib.sh"

need_binary prime_echod prime_httpd prime_proxyd prime_workerd

port_of() { grep -o '(port [0-9]*)' "$tmp/$1.err" | grep -o '[0-9]*'; }

# check_log FILE LINES...: FILE holds, within 3 s, lines matching each
# Python regex given (in order, one line each, nothing else)
cat >"$tmp/log_check.py" <<'EOF'
import re, sys, time
path, patterns = sys.argv[1], sys.argv[2:]
skip_scrapes = patterns[:1] == ["--skip-scrapes"]  # the test's own polling
patterns = patterns[1:] if skip_scrapes else patterns
combined = re.compile(r'^(\S+) - - \[(\d\d/[A-Z][a-z][a-z]/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
                      r'"((?:[^"\\]|\\x[0-9a-f]{2})*)" (\d{3}) (\d+) "((?:[^"\\]|\\x[0-9a-f]{2})*)" '
                      r'"((?:[^"\\]|\\x[0-9a-f]{2})*)" (\d+\.\d{6})$')
deadline = time.time() + 3
while True:
    try:
        lines = [l for l in open(path).read().splitlines()
                 if not (skip_scrapes and '"GET /metrics HTTP/1.1"' in l)]
    except FileNotFoundError:
        lines = []
    if len(lines) >= len(patterns) or time.time() > deadline:
        break
    time.sleep(0.05)
if len(lines) != len(patterns):
    print("FAIL: %d lines, expected %d: %r" % (len(lines), len(patterns), lines))
    sys.exit(1)
for line, pattern in zip(lines, patterns):
    m = combined.match(line)
    if not m:
        print("FAIL: not a Combined Log Format line with a duration: %r" % line)
        sys.exit(1)
    # client, request, status, referer, agent compared; bytes > 0 unless 499
    fields = "%s|%s|%s|%s|%s" % (m.group(1), m.group(3), m.group(4), m.group(6), m.group(7))
    if not re.fullmatch(pattern, fields):
        print("FAIL: %r does not match %r" % (fields, pattern))
        sys.exit(1)
    if (int(m.group(5)) > 0) != (m.group(4) != "499") or float(m.group(8)) > 5:
        print("FAIL: bytes or duration: %r" % line)
        sys.exit(1)
print("ok")
EOF

check_log() {
  local what=$1
  shift
  local out
  if out=$("$PYTHON" "$tmp/log_check.py" "$@" 2>&1); then
    pass "$what"
  else
    fail "$what: $out"
  fi
}

request() {  # request PORT RAW: the status line's code
  "$PYTHON" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.split(b" ")[1].decode() if data else "none")
print(data.partition(b"\r\n\r\n")[2].decode("latin-1"))
EOF
}

# --- prime_echod, a file ---------------------------------------------------------
log=$tmp/access.log
start echod "$bindir/prime_echod" --access-log "$log" --health-check /health \
  --trust-forwarded tcp://127.0.0.1:*
wait_line echod "serving" || fail "prime_echod did not start: $(cat "$tmp/echod.err")"
port=$(port_of echod)
out=$(request "$port" 'GET /a?x=1 HTTP/1.1\r\nHost: h\r\nReferer: http://ref/\r\nUser-Agent: t "1"\r\nConnection: close\r\n\r\n')
[ "$(head -n 1 <<<"$out")" = 200 ] || fail "GET: $out"
request "$port" 'POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi' >/dev/null
request "$port" 'GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' >/dev/null
request "$port" 'BAD\r\n\r\n' >/dev/null
# Behind a trusted proxy: the address it reports, in the log and the job
out=$(request "$port" 'GET /f HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6, 192.0.2.9\r\nConnection: close\r\n\r\n')
grep -q '"client":"192.0.2.9"' <<<"$out" && pass "echo shows the forwarded client" ||
  fail "echo: $out"
check_log "lines: format, fields, 200s, the health check, 400" "$log" \
  '127\.0\.0\.1\|GET /a\?x=1 HTTP/1\.1\|200\|http://ref/\|t \\x221\\x22' \
  '127\.0\.0\.1\|POST /b HTTP/1\.1\|200\|-\|-' \
  '127\.0\.0\.1\|GET /health HTTP/1\.1\|200\|-\|-' \
  '127\.0\.0\.1\|-\|400\|-\|-' \
  '192\.0\.2\.9\|GET /f HTTP/1\.1\|200\|-\|-'
grep -q 'GET /a' "$tmp/echod.err" && fail "access lines on stderr" || pass "stderr has no access lines"

# logrotate: move, then SIGUSR1; the next lines go to a new file
mv "$log" "$log.1"
kill -USR1 "${PID[echod]}"
wait_line echod "User defined signal 1, logs reopened" || fail "no reopen line: $(cat "$tmp/echod.err")"
request "$port" 'GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' >/dev/null
check_log "SIGUSR1: the next line in a new file" "$log" '127\.0\.0\.1\|GET /after HTTP/1\.1\|200\|-\|-'
[ "$(wc -l <"$log.1")" = 5 ] && pass "the rotated file keeps its 5 lines" ||
  fail "rotated file: $(cat "$log.1")"

# SIGHUP: reopens too, and the daemon goes on
mv "$log" "$log.2"
kill -HUP "${PID[echod]}"
wait_line echod "Hangup, logs reopened" || fail "no SIGHUP line: $(cat "$tmp/echod.err")"
alive echod && pass "prime_echod survives SIGHUP" || fail "prime_echod died of SIGHUP"
request "$port" 'GET /hup HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' >/dev/null
check_log "SIGHUP: the next line in a new file" "$log" '127\.0\.0\.1\|GET /hup HTTP/1\.1\|200\|-\|-'
stop echod 3000

# --- a split deployment: 499, stdout, SIGHUP everywhere --------------------------
ipc="ipc://$tmp"
start_out() {  # as start, stdout in $tmp/NAME.out
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  PID[$name]=$!
  pids+=("$!")
}
start_out httpd "$bindir/prime_httpd" --access-log - --metrics /metrics --drain-seconds 1 \
  tcp://127.0.0.1:* \
  "$ipc/up" "$ipc/loop" "$ipc/int"
wait_line httpd "serving" || fail "prime_httpd did not start: $(cat "$tmp/httpd.err")"
front=$(port_of httpd)
start proxy "$bindir/prime_proxyd" --loopback "$ipc/loop" "$ipc/up" "$ipc/down"
# No worker yet: the request waits; its client leaves
"$PYTHON" - "$front" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /gone HTTP/1.1\r\nHost: h\r\nUser-Agent: leaver\r\n\r\n")
# Wait until the server holds it (its metrics say so), then leave
deadline = time.time() + 10
while time.time() < deadline:
    m = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    m.sendall(b"GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    text = b""
    while True:
        chunk = m.recv(65536)
        if not chunk:
            break
        text += chunk
    m.close()
    if b"\nprime_server_requests_in_flight 1\n" in text:
        break
    time.sleep(0.02)
s.close()
EOF
check_log "a client that leaves: 499 on stdout" "$tmp/httpd.out" --skip-scrapes \
  '127\.0\.0\.1\|GET /gone HTTP/1\.1\|499\|-\|leaver'
start workers "$bindir/prime_workerd" --stage echo "$ipc/down" - "$ipc/loop" "$ipc/int"
wait_line workers "answers to" || fail "prime_workerd did not start: $(cat "$tmp/workers.err")"
for name in httpd proxy workers; do
  kill -HUP "${PID[$name]}"
done
for name in httpd proxy workers; do
  wait_line "$name" "Hangup" || fail "$name: no line for SIGHUP: $(cat "$tmp/$name.err")"
  alive "$name" && pass "$name survives SIGHUP" || fail "$name died of SIGHUP"
done
out=$(request "$front" 'GET /served HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
[ "$(head -n 1 <<<"$out")" = 200 ] && pass "served after SIGHUP" || fail "after SIGHUP: $out"
grep -q '"client":"127.0.0.1"' <<<"$out" && pass "echo shows the connection's client" ||
  fail "echo: $out"
stop workers 4000
stop proxy 3000
stop httpd 3000

finish
