# shellcheck shell=bash
# wait_200.sh: wait_200 URL, until URL is answered 200 (bounded: 200 tries,
# 50 ms apart, each at most 1 s); 0 on success, 1 if it never was. Sourced
# by the bench scripts that start a service and must know it serves before
# they load it (bench_cost.sh, bench_split.sh, bench_file_split.sh).

wait_200() { # url
  local i
  for ((i = 0; i < 200; i++)); do
    [ "$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.05
  done
  return 1
}
