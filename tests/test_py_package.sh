#!/usr/bin/env bash
# test_py_package.sh: py/ installs with pip, offline, and its command works.
#
# In a venv that sees Debian's python3-zmq (--system-site-packages),
# `pip install py/` with no index at all (PIP_NO_INDEX: offline, and a
# bounded time), then:
# - the prime_worker command and the prime_worker module come from the
#   venv, not from the source tree, with configure's version;
# - the command, as the echo stage behind real prime_httpd and
#   prime_proxyd processes, answers a request, and exits 0 on SIGTERM
#   counting its job;
# - pip uninstall takes the command away again.
# Run by make check from the build directory (SPLIT_BINDIR overrides ./daemons).
set -u
. "$(dirname "$0")/split_lib.sh"
need_binary prime_httpd prime_proxyd
if ! find_pyzmq; then
  echo "test_py_package: no python3 with zmq (apt-get install python3-zmq)" >&2
  exit 99
fi
venv=$tmp/venv
if ! timeout 120 "$PYZMQ" -m venv --system-site-packages "$venv" >"$tmp/venv.log" 2>&1; then
  echo "test_py_package: python3 -m venv failed (apt-get install python3-venv): $(tail -n 3 "$tmp/venv.log")" >&2
  exit 99
fi

if PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 180 "$venv/bin/pip" install "$srcdir/py" \
    >"$tmp/pip.log" 2>&1; then
  pass "pip install py/ without an index: $(grep -o 'Successfully installed.*' "$tmp/pip.log")"
else
  fail "pip install py/: $(tail -n 15 "$tmp/pip.log")"
  finish
fi

command=$venv/bin/prime_worker
[ -x "$command" ] && pass "console script $command" || fail "no $command"
version=$("$bindir/prime_httpd" --version | awk '{print $2}')  # configure's
out=$(cd "$tmp" && timeout 10 "$command" --version 2>&1)
[[ "$out" == *" $version" ]] && pass "prime_worker --version: $out" || fail "--version: '$out' (want $version)"
where=$(cd "$tmp" && timeout 10 "$venv/bin/python" -c 'import prime_worker; print(prime_worker.__file__)')
[[ "$where" == "$venv/"* ]] && pass "module from the venv: $where" || fail "module from '$where'"

# The command as the only stage of a split pipeline
d=ipc://$tmp/pkg
for ((try = 0; try < 5; try++)); do
  port=$(free_port)
  start front "$bindir/prime_httpd" "tcp://127.0.0.1:$port" "$d-up" "$d-loop" "$d-int"
  wait_port front "$port" && break
  kill_now front
done
start proxy "$bindir/prime_proxyd" "$d-up" "$d-down"
wait_line proxy "jobs in on" || fail "prime_proxyd did not start: $(cat "$tmp/proxy.err")"
(cd "$tmp" && exec "$command" --stage echo "$d-down" - "$d-loop" "$d-int") 2>"$tmp/worker.err" &
PID[worker]=$!
pids+=("$!")
wait_line worker "echo worker" || fail "prime_worker did not start: $(cat "$tmp/worker.err")"
body=$(curl -s --max-time 10 -w '\n%{http_code}' "http://127.0.0.1:$port/from/the/package?x=1")
code=$(tail -n 1 <<<"$body")
[ "$code" = 200 ] && grep -q '"path":"/from/the/package"' <<<"$body" &&
  pass "a request answered by the installed prime_worker: 200" || fail "answer: $body"
stop worker 5000
grep -q "stopped after 1 jobs" "$tmp/worker.err" && pass "prime_worker: $(tail -n 1 "$tmp/worker.err")" ||
  fail "prime_worker's exit line: $(tail -n 2 "$tmp/worker.err")"
stop front 5000
stop proxy 5000

PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 60 "$venv/bin/pip" uninstall -y prime-worker \
  >"$tmp/uninstall.log" 2>&1
[ ! -e "$command" ] && pass "pip uninstall removed the command" ||
  fail "pip uninstall: $(tail -n 3 "$tmp/uninstall.log")"
finish
