# shellcheck shell=bash
# split_endpoints.sh: split_endpoints TRANSPORT NAME sets the six endpoints
# of the split prime service (parse_up, parse_down, compute_up, compute_down,
# loopback, interrupt): ipc files $tmp/NAME.* for "ipc", else free tcp ports
# on 127.0.0.1 (the caller's free_port). Sourced by bench_cost.sh and
# bench_split.sh; callers declare the variables local where they want them.

split_endpoints() { # transport name
  local e
  if [ "$1" = ipc ]; then
    e="ipc://$tmp/$2"
    parse_up=$e.pu parse_down=$e.pd compute_up=$e.cu compute_down=$e.cd
    loopback=$e.lb interrupt=$e.in
  else
    e="tcp://127.0.0.1"
    parse_up=$e:$(free_port) parse_down=$e:$(free_port) compute_up=$e:$(free_port)
    compute_down=$e:$(free_port) loopback=$e:$(free_port) interrupt=$e:$(free_port)
  fi
}
