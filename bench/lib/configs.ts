// Configuration files of the processes the load bench starts: nginx (the
// backend), HAProxy (the reference proxy), Sluice (the proxy under test) and,
// in HTTP mode, a second nginx as a reverse proxy (a second reference).
//
// The proxies get the same settings: one frontend on 127.0.0.1, one backend
// with one server, the same mode, timeouts, maxconn and buffer size, and no
// logging (but in the logged variants, where both log each request to stdout). HAProxy runs one thread (`nbthread 1`) and nginx one worker
// process, since Sluice runs its proxying on one JavaScript thread. These
// functions only build text; load.ts writes it into the run's temporary
// directory.

/** Settings the two proxies share. */
export interface ProxyParams {
  mode: "tcp" | "http";
  /** Port the frontend binds on 127.0.0.1. */
  bindPort: number;
  /** Port of the backend server on 127.0.0.1. */
  backendPort: number;
  /** Global and frontend connection limit. */
  maxconn: number;
  /** Buffer size in bytes (tune.bufsize / global.bufsize). */
  bufsize: number;
  /**
   * A log line per request to stdout (HTTP mode): HAProxy `log stdout format
   * raw local0` with `option httplog`, Sluice's default `log: stdout` with
   * httplog. Default false: no logging.
   */
  logs?: boolean;
  /**
   * Words after the bind address, spelt alike by both proxies (e.g. `ssl crt
   * FILE alpn http/1.1`, `proto h2`). Default: none.
   */
  bindOptions?: string;
}

/** The bind line's value: address and options. */
function bindText(p: ProxyParams): string {
  return `127.0.0.1:${p.bindPort}${p.bindOptions === undefined ? "" : " " + p.bindOptions}`;
}

/** Timeouts of both proxies (HAProxy spelling and Sluice spelling agree). */
const TIMEOUTS = { connect: "5s", client: "60s", server: "60s" } as const;

/** HAProxy configuration (haproxy -f) for `p`. */
export function haproxyConfig(p: ProxyParams): string {
  const http = p.mode === "http";
  return [
    "global",
    `  maxconn ${p.maxconn}`,
    "  nbthread 1",
    `  tune.bufsize ${p.bufsize}`,
    ...(p.logs === true ? ["  log stdout format raw local0"] : []),
    "",
    "defaults",
    `  mode ${p.mode}`,
    ...(p.logs === true ? ["  log global", "  option httplog"] : []),
    `  maxconn ${p.maxconn}`,
    `  timeout connect ${TIMEOUTS.connect}`,
    `  timeout client ${TIMEOUTS.client}`,
    `  timeout server ${TIMEOUTS.server}`,
    ...(http ? ["  option http-keep-alive"] : []),
    "",
    "frontend fe",
    `  bind ${bindText(p)}`,
    "  default_backend be",
    "",
    "backend be",
    "  balance roundrobin",
    `  server s1 127.0.0.1:${p.backendPort}`,
    "",
  ].join("\n");
}

/** A byte count in config size syntax: "16k" when a whole number of KiB. */
function sizeText(n: number): string {
  return n % 1024 === 0 ? `${n / 1024}k` : String(n);
}

/** Sluice configuration (YAML, main.ts -f) for `p`. */
export function sluiceConfig(p: ProxyParams): string {
  const http = p.mode === "http";
  return [
    `global: { maxconn: ${p.maxconn}, bufsize: ${sizeText(p.bufsize)}, log: ${
      p.logs === true ? "stdout" : "none"
    } }`,
    "defaults:",
    `  mode: ${p.mode}`,
    `  maxconn: ${p.maxconn}`,
    `  timeout: { connect: ${TIMEOUTS.connect}, client: ${TIMEOUTS.client}, server: ${TIMEOUTS.server} }`,
    ...(http ? [`  option: [http-keep-alive${p.logs === true ? ", httplog" : ""}]`] : []),
    "frontends:",
    `  fe: { bind: "${bindText(p)}", default_backend: be }`,
    "backends:",
    "  be:",
    "    balance: roundrobin",
    `    servers: [ { name: s1, address: "127.0.0.1:${p.backendPort}" } ]`,
    "",
  ].join("\n");
}

/** Settings of the nginx backend. */
export interface NginxParams {
  /** Temporary directory: prefix, pid file, logs, temp paths, document root `www/`. */
  dir: string;
  port: number;
  /** worker_connections (idle connections of the memory phase + load). */
  workerConnections: number;
  /** worker_rlimit_nofile. */
  nofile: number;
}

/**
 * nginx configuration: one process (no master, no daemon, so that its pid is
 * the one the bench started and stopping it leaves nothing behind), access
 * log off, `GET /` → 200 "hello\n", `GET /big.bin` → the file in `www/`,
 * `POST /upload` → 200 "hello\n" once the whole body arrived (nginx reads a
 * request body whole before proxying it, here to its own `/`: a stalled
 * upload keeps its server connection waiting, as an application would).
 * Keep-alive connections are never closed by request count, and idle
 * connections (and stalled bodies) are held for minutes, so that the memory
 * phases measure connections that are really open.
 */
export function nginxConfig(p: NginxParams): string {
  const d = p.dir;
  return `worker_processes 1;
master_process off;
daemon off;
pid ${d}/nginx.pid;
error_log ${d}/nginx_error.log warn;
worker_rlimit_nofile ${p.nofile};
events {
  worker_connections ${p.workerConnections};
}
http {
  access_log off;
  client_body_temp_path ${d}/nginx_body;
  proxy_temp_path ${d}/nginx_proxy;
  fastcgi_temp_path ${d}/nginx_fastcgi;
  uwsgi_temp_path ${d}/nginx_uwsgi;
  scgi_temp_path ${d}/nginx_scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_header_timeout 300s;
  server {
    listen 127.0.0.1:${p.port} backlog=4096;
    location = / {
      default_type text/plain;
      return 200 "hello\\n";
    }
    location = /upload {
      client_max_body_size 0;
      client_body_timeout 300s;
      proxy_pass http://127.0.0.1:${p.port}/;
    }
    location / {
      root ${d}/www;
    }
  }
}
`;
}

/** Settings of the nginx reverse proxy (HTTP mode only). */
export interface NginxProxyParams extends ProxyParams {
  /** Its own directory: prefix, pid file, logs, temp paths. */
  dir: string;
  /** worker_rlimit_nofile. */
  nofile: number;
}

/**
 * nginx as a reverse proxy, configured like the two other proxies: one
 * process (no master, no daemon), access log off, the same timeouts, and
 * upstream connections kept alive in a pool (`keepalive 64`, HTTP/1.1 with
 * the Connection header cleared), as HAProxy and Sluice reuse theirs.
 * worker_connections counts client and upstream connections alike, hence
 * twice maxconn. Neither side is closed by request count (nginx's default
 * closes a keep-alive connection after 1000 requests, which HAProxy never
 * does). Responses are buffered in memory only (no temporary files): a
 * download streams through nginx's buffers as through the others'.
 */
export function nginxProxyConfig(p: NginxProxyParams): string {
  const d = p.dir;
  const buf = sizeText(p.bufsize);
  return `worker_processes 1;
master_process off;
daemon off;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
worker_rlimit_nofile ${p.nofile};
events {
  worker_connections ${Math.min(p.nofile, 2 * p.maxconn + 100)};
}
http {
  access_log off;
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout ${TIMEOUTS.client};
  client_header_timeout ${TIMEOUTS.client};
  client_body_timeout ${TIMEOUTS.client};
  send_timeout ${TIMEOUTS.client};
  upstream be {
    server 127.0.0.1:${p.backendPort};
    keepalive 64;
    keepalive_requests 100000000;
    keepalive_timeout ${TIMEOUTS.server};
  }
  server {
    listen 127.0.0.1:${p.bindPort} backlog=${p.maxconn};
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout ${TIMEOUTS.connect};
      proxy_read_timeout ${TIMEOUTS.server};
      proxy_send_timeout ${TIMEOUTS.server};
      proxy_buffer_size ${buf};
      proxy_buffers 4 ${buf};
      proxy_max_temp_file_size 0;
    }
  }
}
`;
}
