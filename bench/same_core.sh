#!/bin/bash
# Side-by-side CPU cost on one core, at the same moment: two proxies pinned to
# core 0, each loaded by its own client on core 1 for the same 6 s, so that the
# host's noise (a shared VM: sequential rounds swing by 20-50 %) hits both alike.
# Prints, per round, the requests each served and its CPU (user+sys, /proc) per
# request. Two proxies on one core cost more each than one alone: compare the
# two columns of a round, not these figures with the sequential benches'.
#
#   bench/same_core.sh ab ROOT_A ROOT_B [h1|h2] [PATH] [ROUNDS]
#       two Sluice trees (A/B of a change), HTTP/1.1 keep-alive (wrk -c 50)
#       or h2c (h2load -c 10 -m 10); PATH "/" is a 6-byte reply, "/index.html" 1,000 bytes
#   bench/same_core.sh protect ROOT [ROUNDS]
#       Sluice (ROOT) against HAProxy 2.6, both with bench/stick_protect.ts's
#       full protection config (track-sc0, rate ACL, 10,000-line map, capture, unique id)
#   bench/same_core.sh h2 ROOT [h2c|tls] [ROUNDS]
#       Sluice (ROOT) against HAProxy 2.6 (nbthread 1) over HTTP/2, the
#       configuration of bench/h2_load.ts: `proto h2`, or `ssl crt PEM alpn h2`
#       with an ECDSA P-256 certificate made for the run; h2load -c 10 -m 10 on "/"
#
# Needs nginx, wrk, h2load, haproxy, taskset, bc (and openssl for tls). Ports
# 18480-18502 on 127.0.0.1.
set -u
MODE=${1:?ab, protect or h2}
D=$(mktemp -d /tmp/sluice_same_core.XXXXXX)
PIDS=""
trap 'kill $PIDS $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
head -c 1000 /dev/zero | tr '\0' a > "$D/index.html"
cat > "$D/nginx.conf" <<NG
worker_processes 1;
daemon off;
error_log $D/nginx.err;
pid $D/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:18480; location = / { return 200 "hello\n"; } root $D; } }
NG
for i in $(seq 0 9999); do echo "host$i.example.com be"; done > "$D/hosts.map"
sluice_yaml() { # port h2(0|1) protect(0|1) [bind options replacing "proto h2"]
  local bind="127.0.0.1:$1"; [ "$2" = 1 ] && bind="$bind ${4:-proto h2}"
  echo "global: { maxconn: 4096, bufsize: 16k, log: none }"
  echo "defaults: { mode: http, maxconn: 4096, timeout: { connect: 5s, client: 60s, server: 60s }, option: [http-keep-alive] }"
  echo "frontends:"
  echo "  fe:"
  echo "    bind: \"$bind\""
  echo "    default_backend: be"
  if [ "$3" = 1 ]; then cat <<P
    use_backend: "%[req.hdr(host),lower,map_str($D/hosts.map,be)]"
    capture: ["request header Host len 20"]
    unique-id-format: "%ci:%cp_%fi:%fp_%Ts_%rt:%pid"
    unique-id-header: X-Unique-ID
    stick-table: "type ip size 100k expire 30s store http_req_rate(10s)"
    http-request:
      - "track-sc0 src"
      - "deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }"
P
  fi
  echo "backends: { be: { balance: roundrobin, servers: [ { name: s1, address: \"127.0.0.1:18480\" } ] } }"
}
v8flags() { # root -> the --v8-flags of its `deno task start` (as users run it)
  grep '"start"' "$1/deno.json" | grep -o -- '--v8-flags=[^ "]*'
}
start_sluice() { # root yaml -> pid (its output to a file: $(...) would wait for it to close)
  # shellcheck disable=SC2046
  taskset -c 0 deno run -A $(v8flags "$1") --config "$1/deno.json" "$1/main.ts" -f "$2" -q > "$2.out" 2>&1 &
  echo $!
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# haproxy_cfg BIND_OPTIONS: HAProxy 2.6's configuration on 127.0.0.1:18492,
# the frontend's extra lines read from stdin.
haproxy_cfg() {
  cat <<H
global
  maxconn 4096
  nbthread 1
  tune.bufsize 16384
defaults
  mode http
  maxconn 4096
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:18492${1:+ $1}
H
  cat
  cat <<H
  default_backend be
backend be
  balance roundrobin
  server s1 127.0.0.1:18480
H
}
# load PORT SECONDS KIND -> requests done
S=http
load() {
  if [ "$3" = h2 ]; then
    taskset -c 1 h2load -c 10 -m 10 -D "$2" "$S://127.0.0.1:$1$P" 2>&1 |
      sed -n 's/.*requests: [0-9]* total, [0-9]* started, \([0-9]*\) done.*/\1/p'
  else
    taskset -c 1 wrk -t1 -c50 -d"$2" "http://127.0.0.1:$1$P" | sed -n 's/ *\([0-9]*\) requests in.*/\1/p'
  fi
}
taskset -c 1 nginx -c "$D/nginx.conf" -p "$D" 2>/dev/null &
if [ "$MODE" = ab ]; then
  A=${2:?ROOT_A}; B=${3:?ROOT_B}; KIND=${4:-h1}; P=${5:-/}; R=${6:-4}
  h2=0; [ "$KIND" = h2 ] && h2=1
  sluice_yaml 18491 $h2 0 > "$D/a.yaml"; sluice_yaml 18492 $h2 0 > "$D/b.yaml"
  PA=$(start_sluice "$A" "$D/a.yaml"); PB=$(start_sluice "$B" "$D/b.yaml"); PIDS="$PA $PB"
  NA="A $A"; NB="B $B"; KA=$KIND; KB=$KIND
elif [ "$MODE" = h2 ]; then
  A=${2:?ROOT}; OVER=${3:-h2c}; R=${4:-4}; P=/
  BINDOPT="proto h2"
  if [ "$OVER" = tls ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj /CN=localhost -keyout "$D/k.pem" -out "$D/c.pem" 2>/dev/null
    cat "$D/c.pem" "$D/k.pem" > "$D/both.pem"
    BINDOPT="ssl crt $D/both.pem alpn h2"; S=https
  fi
  sluice_yaml 18491 1 0 "$BINDOPT" > "$D/a.yaml"
  haproxy_cfg "$BINDOPT" < /dev/null > "$D/h.cfg"
  PA=$(start_sluice "$A" "$D/a.yaml")
  taskset -c 0 haproxy -q -db -f "$D/h.cfg" &
  PB=$!
  PIDS="$PA $PB"
  NA="Sluice $A ($OVER)"; NB="HAProxy"; KA=h2; KB=h2
else
  A=${2:?ROOT}; R=${3:-4}; P=/
  sluice_yaml 18491 0 1 > "$D/a.yaml"
  haproxy_cfg "" > "$D/h.cfg" <<H
  stick-table type ip size 100k expire 30s store http_req_rate(10s)
  http-request track-sc0 src
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }
  capture request header Host len 20
  unique-id-format %ci:%cp_%fi:%fp_%Ts_%rt:%pid
  unique-id-header X-Unique-ID
  use_backend %[req.hdr(host),lower,map_str($D/hosts.map,be)]
H
  PA=$(start_sluice "$A" "$D/a.yaml")
  taskset -c 0 haproxy -q -db -f "$D/h.cfg" &
  PB=$!
  PIDS="$PA $PB"
  NA="Sluice $A"; NB="HAProxy"; KA=h1; KB=h1
fi
sleep 3
load 18491 2 $KA > /dev/null & load 18492 2 $KB > /dev/null; wait $! 2>/dev/null; sleep 1
for r in $(seq "$R"); do
  ca=$(cpu $PA); cb=$(cpu $PB)
  load 18491 6 $KA > "$D/na" & J=$!
  load 18492 6 $KB > "$D/nb"
  wait $J
  ca1=$(cpu $PA); cb1=$(cpu $PB); na=$(cat "$D/na"); nb=$(cat "$D/nb")
  ua=$(echo "($ca1-$ca)*10000/$na" | bc -l); ub=$(echo "($cb1-$cb)*10000/$nb" | bc -l)
  printf 'round %d: %s %d req %.1f us/req | %s %d req %.1f us/req | requests A/B %.2f, CPU per request B/A %.2f\n' \
    "$r" "$NA" "$na" "$ua" "$NB" "$nb" "$ub" "$(echo "$na/$nb" | bc -l)" "$(echo "$ub/$ua" | bc -l)"
  sleep 0.5
done
