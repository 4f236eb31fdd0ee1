# shellcheck shell=bash
# nginx_conf.sh: nginx_conf DIR PORT MAIN_DIRECTIVES [HTTP_DIRECTIVES [SERVER]]
# writes DIR/nginx.conf for the benches' reference nginx: in the foreground,
# on 127.0.0.1:PORT, no access log, keep-alive without a request limit, every
# temporary file under DIR. By default it answers every request 200 with the
# cheap request's JSON body (what prime_serverd answers for possible_prime=7);
# SERVER replaces that (bench_stream.sh's "root DIR;"). MAIN_DIRECTIVES picks
# the processes ("worker_processes 1;" or "master_process off;"). Sourced by
# bench_cost.sh, bench_prime_serverd.sh, bench_stream.sh and hardening_lib.sh.

nginx_conf() { # dir port main_directives [http_directives [server]]
  local dir=$1 port=$2 main=$3 http=${4:-}
  local server=${5:-"location / { default_type application/json; return 200 '{\"possible_prime\":7,\"is_prime\":true}'; }"}
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
$main
worker_rlimit_nofile 16384;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000000;
    $http
    server {
        listen 127.0.0.1:$port;
        $server
    }
}
EOF
}
