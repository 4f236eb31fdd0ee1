#!/usr/bin/env bash
# test_ipc_cleanup.sh: the ipc:// files a daemon binds are gone after a
# clean exit, and only its own.
#
# libzmq leaves a bound socket's file at close (it cannot tell whether
# another process has bound the path since); the library removes it
# (ps_socket_destroy) when it is still the file it bound.
# - prime_httpd (LOOPBACK, INTERRUPT), prime_proxyd (both ends) and
#   prime_echod (a one-process pipeline) on ipc:// endpoints: SIGTERM,
#   exit 0, no file left in the directory;
# - a second proxy binds the same UPSTREAM path (libzmq replaces the file):
#   the first one's exit leaves the second's socket alone, and a worker
#   pool still reaches the second through it;
# - after SIGKILL the files stay (nothing runs to remove them) and a new
#   daemon binds the same paths.
# Run by make check from the build directory (SPLIT_BINDIR overrides ./daemons).
set -u
. "$(dirname "$0")/split_lib.sh"
need_binary prime_httpd prime_proxyd prime_echod prime_workerd

d=$tmp/run
mkdir "$d"
left() { ls -A "$d"; }

start front "$bindir/prime_httpd" "tcp://127.0.0.1:*" "ipc://$d/proxy" "ipc://$d/loopback" \
  "ipc://$d/interrupt"
start proxy "$bindir/prime_proxyd" "ipc://$d/up" "ipc://$d/down"
wait_line front "serving" || fail "prime_httpd did not start: $(cat "$tmp/front.err")"
wait_line proxy "jobs in on" || fail "prime_proxyd did not start: $(cat "$tmp/proxy.err")"
[ "$(left | tr '\n' ' ')" = "down interrupt loopback up " ] && pass "bound: $(left | tr '\n' ' ')" ||
  fail "files while running: $(left | tr '\n' ' ')"
stop front 5000
stop proxy 5000
[ -z "$(left)" ] && pass "prime_httpd and prime_proxyd left no file" ||
  fail "left after a clean exit: $(left | tr '\n' ' ')"

start echod "$bindir/prime_echod" "ipc://$d/echo"
wait_line echod "serving" || fail "prime_echod did not start: $(cat "$tmp/echod.err")"
[ -S "$d/echo" ] && pass "prime_echod bound ipc://$d/echo" || fail "no $d/echo"
stop echod 5000
[ -z "$(left)" ] && pass "prime_echod left no file" || fail "left: $(left | tr '\n' ' ')"

# Two proxies, one path: the newer bind owns the name
start old "$bindir/prime_proxyd" "ipc://$d/up" "ipc://$d/down-old"
wait_line old "jobs in on" || fail "first proxy did not start"
start new "$bindir/prime_proxyd" "ipc://$d/up" "ipc://$d/down-new"
wait_line new "jobs in on" || fail "second proxy did not start"
stop old 5000
[ "$(left | tr '\n' ' ')" = "down-new up " ] && pass "the first proxy's exit kept the second's up" ||
  fail "after the first proxy's exit: $(left | tr '\n' ' ')"
# The path still leads to the second proxy: a job sent there is answered
port=$(free_port)
start front2 "$bindir/prime_httpd" "tcp://127.0.0.1:$port" "ipc://$d/up" "ipc://$d/loopback" \
  "ipc://$d/interrupt"
start echo "$bindir/prime_workerd" --stage echo "ipc://$d/down-new" - "ipc://$d/loopback" \
  "ipc://$d/interrupt"
wait_port front2 "$port" || fail "second front did not start: $(cat "$tmp/front2.err")"
wait_line echo "echo worker" || fail "echo worker did not start"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/through")
[ "$code" = 200 ] && pass "a request through the kept path: 200" || fail "through the kept path: '$code'"
stop echo 5000
stop front2 5000
stop new 5000
[ -z "$(left)" ] && pass "all gone after the second proxy" || fail "left: $(left | tr '\n' ' ')"

# SIGKILL: files stay, and a restart binds over them
start proxy2 "$bindir/prime_proxyd" "ipc://$d/up" "ipc://$d/down"
wait_line proxy2 "jobs in on" || fail "proxy did not start"
kill -KILL "${PID[proxy2]}"
wait_exit proxy2 5000
[ "$(left | tr '\n' ' ')" = "down up " ] && pass "SIGKILL leaves the files (nothing runs)" ||
  fail "after SIGKILL: $(left | tr '\n' ' ')"
start proxy3 "$bindir/prime_proxyd" "ipc://$d/up" "ipc://$d/down"
wait_line proxy3 "jobs in on" && pass "a new proxy binds over the files left" ||
  fail "restart over left files: $(cat "$tmp/proxy3.err")"
stop proxy3 5000
[ -z "$(left)" ] && pass "and removes them at its clean exit" || fail "left: $(left | tr '\n' ' ')"
finish
