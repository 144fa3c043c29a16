#!/usr/bin/env bash
# What a log line costs Sluice and HAProxy, measured in pairs: the proxy
# without logs and the same proxy with a line per request (httplog to a file
# in /dev/shm, so a disk's writeback is not in the figure) run at the same
# time, both pinned to CPU 1 and loaded by two wrk on CPU 0, so that the
# neighbours' load on a shared machine hits both alike. The CPU time of each
# (utime + stime, /proc) over its requests gives µs per request; their
# difference is what a line costs. bench/load.ts with BENCH_LOGS=1 runs the
# variants one after the other instead, and its difference swings by
# several µs with the load.
#
#   bash bench/logs_paired.sh [ROUNDS] [SLUICE_ROOT]
#
# Needs nginx (the backend), haproxy, wrk, taskset, python3.
set -euo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "${2:-$(dirname "$0")/..}" && pwd)
DIR=$(mktemp -d /tmp/sluice-logs-paired-XXXXXX)
SHM=$(mktemp -d /dev/shm/sluice-logs-paired-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$DIR" "$SHM"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BE=$(port); S_OFF=$(port); S_ON=$(port); H_OFF=$(port); H_ON=$(port)

cat > "$DIR/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/nginx_error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$BE; location / { return 200 "hello\n"; } }
}
NGINX
sluice_cfg() { # PORT LOG
  cat <<YAML
global: { maxconn: 4096, bufsize: 16k, log: $2 }
defaults:
  mode: http
  maxconn: 4096
  timeout: { connect: 5s, client: 30s, server: 30s }
  option: [http-keep-alive$([ "$2" = stdout ] && echo ", httplog")]
frontends:
  fe: { bind: "127.0.0.1:$1", default_backend: be }
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:$BE" } ]
YAML
}
haproxy_cfg() { # PORT LOGS(0|1)
  printf 'global\n  maxconn 4096\n  nbthread 1\n'
  [ "$2" = 1 ] && printf '  log stdout format raw local0\n'
  printf 'defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  option http-keep-alive\n'
  [ "$2" = 1 ] && printf '  log global\n  option httplog\n'
  printf 'frontend fe\n  bind 127.0.0.1:%s\n  default_backend be\nbackend be\n  server s1 127.0.0.1:%s\n' "$1" "$BE"
}
sluice_cfg "$S_OFF" none > "$DIR/s_off.yaml"
sluice_cfg "$S_ON" stdout > "$DIR/s_on.yaml"
haproxy_cfg "$H_OFF" 0 > "$DIR/h_off.cfg"
haproxy_cfg "$H_ON" 1 > "$DIR/h_on.cfg"

taskset -c 0 nginx -c "$DIR/nginx.conf" -p "$DIR/" 2>/dev/null &
PIDS+=($!)
run() { # LOGFILE CMD...
  local out=$1
  shift
  taskset -c 1 "$@" > "$out" 2> "$DIR/$(basename "$out").err" &
  PIDS+=($!)
}
# The V8 flags of the tree's `deno task start` (as users run it).
V8FLAGS=$(grep '"start"' "$ROOT/deno.json" | grep -o -- '--v8-flags=[^ "]*')
# shellcheck disable=SC2086
run "$SHM/s_off.log" deno run -A $V8FLAGS --config "$ROOT/deno.json" "$ROOT/main.ts" -q -f "$DIR/s_off.yaml"
SOFF=${PIDS[-1]}
# shellcheck disable=SC2086
run "$SHM/s_on.log" deno run -A $V8FLAGS --config "$ROOT/deno.json" "$ROOT/main.ts" -q -f "$DIR/s_on.yaml"
SON=${PIDS[-1]}
run "$SHM/h_off.log" haproxy -db -f "$DIR/h_off.cfg"
HOFF=${PIDS[-1]}
run "$SHM/h_on.log" haproxy -db -f "$DIR/h_on.cfg"
HON=${PIDS[-1]}
sleep 2
for p in $S_OFF $S_ON $H_OFF $H_ON; do taskset -c 0 wrk -t1 -c25 -d2s "http://127.0.0.1:$p/" > /dev/null; done

ticks() { for p in "$@"; do awk '{ sub(/.*\) /, ""); split($0, f, " "); printf "%d ", f[12] + f[13] }' "/proc/$p/stat"; done; }
HZ=$(getconf CLK_TCK)
echo "Sluice tree: $ROOT; a line per request in /dev/shm; 2 x wrk -t1 -c25 -d8s at once per pair"
for r in $(seq "$ROUNDS"); do
  for pair in "$S_OFF $S_ON $SOFF $SON Sluice" "$H_OFF $H_ON $HOFF $HON HAProxy"; do
    set -- $pair
    t0=$(ticks "$3" "$4")
    taskset -c 0 wrk -t1 -c25 -d8s "http://127.0.0.1:$1/" > "$DIR/w1.txt" &
    W1=$!
    taskset -c 0 wrk -t1 -c25 -d8s "http://127.0.0.1:$2/" > "$DIR/w2.txt" &
    W2=$!
    wait $W1 $W2
    t1=$(ticks "$3" "$4")
    n1=$(awk '/requests in/ { print $1 }' "$DIR/w1.txt")
    n2=$(awk '/requests in/ { print $1 }' "$DIR/w2.txt")
    python3 - "$t0" "$t1" "$n1" "$n2" "$HZ" "$5" "$r" <<'PY'
import sys
a = list(map(int, sys.argv[1].split())); b = list(map(int, sys.argv[2].split()))
n1, n2, hz = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
off = (b[0] - a[0]) / hz * 1e6 / n1
on = (b[1] - a[1]) / hz * 1e6 / n2
print(f"{sys.argv[6]} round {sys.argv[7]}: logs off {off:.2f} us/req ({n1} req), on {on:.2f} us/req ({n2} req): a line costs {on - off:.2f} us")
PY
  done
done
