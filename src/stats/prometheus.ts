// The Prometheus exporter (HAProxy's addons/promex): the snapshot in the
// Prometheus text exposition format 0.0.4, served at the `prometheus` URI of
// a stats-enabled frontend with Content-Type PROMETHEUS_CONTENT_TYPE.
//
// Every family is written once, HELP and TYPE first, then all its samples
// (one per proxy or server), as the format requires. Counters end in
// `_total`; times are in seconds, sizes in bytes. Label values are escaped
// per the format (backslash, double quote, line feed). Families that have no
// sample (e.g. check metrics when no server is checked) are left out.
//
// Two one-hot families follow HAProxy's exporter: `sluice_server_status`
// (state = UP, DOWN, MAINT, DRAIN, NOLB; "UP 1/3" counts as UP and
// "DOWN 1/2" as DOWN) and `sluice_server_check_status` (state = the last
// check result code, from CHECK_STATES, plus the actual code when it is not
// in that list). Exactly one series of each is 1 per server.
// This file only renders a StatsSnapshot; it never reads live objects.

import type { PoolStats } from "../buf/pool.ts";
import type {
  BackendStats,
  FrontendStats,
  HttpResponses,
  ServerStats,
  StatsSnapshot,
  StatusClass,
} from "./snapshot.ts";
import { HTTP_CLASSES, isUpClass } from "./snapshot.ts";

/** The Content-Type of the 0.0.4 text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Server states of the one-hot `sluice_server_status` family. */
export const SERVER_STATES = ["DOWN", "UP", "MAINT", "DRAIN", "NOLB"] as const;

/** Check result codes of the one-hot `sluice_server_check_status` family (HAProxy's). */
export const CHECK_STATES = [
  "UNK",
  "INI",
  "HANA",
  "SOCKERR",
  "L4OK",
  "L4TOUT",
  "L4CON",
  "L6OK",
  "L6TOUT",
  "L6RSP",
  "L7OK",
  "L7OKC",
  "L7TOUT",
  "L7RSP",
  "L7STS",
] as const;

type MetricType = "gauge" | "counter";
type Labels = ReadonlyArray<readonly [string, string]>;

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Formats a sample value as Go's ParseFloat reads it (NaN, +Inf, -Inf). */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** Collects families; a family's header is written only with its first sample. */
class Exposition {
  #out: string[] = [];
  #name = "";
  #type: MetricType = "gauge";
  #help = "";
  #started = false;

  /** Opens a new family; samples added next belong to it. */
  family(name: string, type: MetricType, help: string): void {
    this.#name = name;
    this.#type = type;
    this.#help = help;
    this.#started = false;
  }

  sample(labels: Labels, value: number): void {
    if (!this.#started) {
      this.#out.push(
        `# HELP ${this.#name} ${escapeHelp(this.#help)}\n`,
        `# TYPE ${this.#name} ${this.#type}\n`,
      );
      this.#started = true;
    }
    let s = this.#name;
    if (labels.length > 0) {
      s += "{" + labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",") + "}";
    }
    this.#out.push(`${s} ${formatValue(value)}\n`);
  }

  text(): string {
    return this.#out.join("");
  }
}

/** One per-proxy or per-server metric: its family and how to read it (null = no sample). */
interface Metric<T> {
  name: string;
  type: MetricType;
  help: string;
  value: (x: T) => number | null;
}

const FRONTEND_METRICS: ReadonlyArray<Metric<FrontendStats>> = [
  g("frontend_current_sessions", "Current number of active sessions.", (f) => f.curSessions),
  g("frontend_max_sessions", "Maximum observed number of active sessions.", (f) => f.maxSessions),
  g("frontend_limit_sessions", "Configured session limit.", (f) => f.limitSessions),
  c("frontend_sessions_total", "Total number of sessions.", (f) => f.totalSessions),
  c("frontend_bytes_in_total", "Total number of request bytes received.", (f) => f.bytesIn),
  c("frontend_bytes_out_total", "Total number of response bytes sent.", (f) => f.bytesOut),
  c("frontend_requests_denied_total", "Total number of denied requests.", (f) => f.deniedRequests),
  c(
    "frontend_denied_connections_total",
    'Total number of requests denied by "tcp-request connection" rules.',
    (f) => f.deniedConnections,
  ),
  c("frontend_request_errors_total", "Total number of request errors.", (f) => f.requestErrors),
  c(
    "frontend_http_requests_total",
    "Total number of HTTP requests received.",
    (f) => f.mode === "http" ? f.httpRequests : null,
  ),
];

const BACKEND_METRICS: ReadonlyArray<Metric<BackendStats>> = [
  g(
    "backend_up",
    "1 when the backend has a server that can take traffic, else 0.",
    (b) => b.status === "UP" ? 1 : 0,
  ),
  g("backend_current_sessions", "Current number of active sessions.", (b) => b.curSessions),
  g("backend_max_sessions", "Maximum observed number of active sessions.", (b) => b.maxSessions),
  c("backend_sessions_total", "Total number of sessions.", (b) => b.totalSessions),
  g("backend_current_queue", "Current number of queued requests.", (b) => b.queueCur),
  g("backend_max_queue", "Maximum observed number of queued requests.", (b) => b.queueMax),
  c("backend_bytes_in_total", "Total number of request bytes sent to servers.", (b) => b.bytesIn),
  c(
    "backend_bytes_out_total",
    "Total number of response bytes received from servers.",
    (b) => b.bytesOut,
  ),
  c("backend_requests_denied_total", "Total number of denied requests.", (b) => b.denied),
  c(
    "backend_connection_errors_total",
    "Total number of failed connection attempts.",
    (b) => b.connErrors,
  ),
  c("backend_response_errors_total", "Total number of response errors.", (b) => b.respErrors),
  c("backend_retry_warnings_total", "Total number of connection retries.", (b) => b.retries),
  c(
    "backend_redispatch_warnings_total",
    "Total number of redispatches to another server.",
    (b) => b.redispatches,
  ),
  c(
    "backend_failed_no_server_total",
    "Total number of streams refused because no server could take them.",
    (b) => b.failedNoServer,
  ),
  g(
    "backend_connect_time_average_seconds",
    "Average connect time since start, in seconds.",
    (b) => b.avgConnectMs / 1000,
  ),
  g(
    "backend_response_time_average_seconds",
    "Average server response time (to the response head) since start, in seconds.",
    (b) => b.avgResponseMs / 1000,
  ),
  g("backend_active_servers", "Number of active servers up.", (b) => b.activeUp),
  g("backend_backup_servers", "Number of backup servers up.", (b) => b.backupUp),
  g("backend_weight", "Total weight of the servers taking traffic.", (b) => b.weight),
];

/** Server metrics; `now` is the snapshot time for the state-change age. */
function serverMetrics(now: number): ReadonlyArray<Metric<ServerStats>> {
  return [
    g(
      "server_up",
      "1 when the server is up (UP, going down, DRAIN or NOLB), else 0.",
      (s) => isUpClass(s.statusClass) ? 1 : 0,
    ),
    g("server_current_sessions", "Current number of active sessions.", (s) => s.curSessions),
    g("server_max_sessions", "Maximum observed number of active sessions.", (s) => s.maxSessions),
    g(
      "server_limit_sessions",
      "Configured maxconn (absent when unlimited).",
      (s) => s.limitSessions > 0 ? s.limitSessions : null,
    ),
    c("server_sessions_total", "Total number of sessions.", (s) => s.totalSessions),
    g("server_current_queue", "Current number of queued requests.", (s) => s.queueCur),
    g("server_max_queue", "Maximum observed number of queued requests.", (s) => s.queueMax),
    g(
      "server_queue_limit",
      "Configured maxqueue (absent when unlimited).",
      (s) => s.queueLimit > 0 ? s.queueLimit : null,
    ),
    c("server_bytes_in_total", "Total number of request bytes sent.", (s) => s.bytesIn),
    c("server_bytes_out_total", "Total number of response bytes received.", (s) => s.bytesOut),
    c("server_responses_denied_total", "Total number of denied responses.", (s) => s.denied),
    c(
      "server_connection_errors_total",
      "Total number of failed connection attempts.",
      (s) => s.connErrors,
    ),
    c("server_response_errors_total", "Total number of response errors.", (s) => s.respErrors),
    c("server_retry_warnings_total", "Total number of connection retries.", (s) => s.retries),
    c(
      "server_redispatch_warnings_total",
      "Total number of redispatches away from this server.",
      (s) => s.redispatches,
    ),
    g("server_weight", "Current weight of the server.", (s) => s.weight),
    g(
      "server_connect_time_average_seconds",
      "Average connect time since start, in seconds.",
      (s) => s.avgConnectMs / 1000,
    ),
    g(
      "server_response_time_average_seconds",
      "Average response time (to the response head) since start, in seconds.",
      (s) => s.avgResponseMs / 1000,
    ),
    g(
      "server_last_status_change_seconds",
      "Seconds since the last status change.",
      (s) => Math.max(0, (now - s.lastChange) / 1000),
    ),
    c(
      "server_downtime_seconds_total",
      "Total time spent DOWN, in seconds (checked servers).",
      (s) => s.check === null ? null : s.downtimeMs / 1000,
    ),
    g(
      "server_check_duration_seconds",
      "Duration of the last health check, in seconds.",
      (s) => s.check === null || s.check.durationMs === null ? null : s.check.durationMs / 1000,
    ),
    g(
      "server_check_code",
      "Code of the last health check (HTTP status for L7 checks).",
      (s) => s.check?.code ?? null,
    ),
    c(
      "server_check_failures_total",
      "Total number of failed health checks.",
      (s) => s.check?.fails ?? null,
    ),
    c(
      "server_check_up_down_total",
      "Total number of UP to DOWN transitions.",
      (s) => s.check?.downs ?? null,
    ),
  ];
}

function g<T>(name: string, help: string, value: (x: T) => number | null): Metric<T> {
  return { name: "sluice_" + name, type: "gauge", help, value };
}

function c<T>(name: string, help: string, value: (x: T) => number | null): Metric<T> {
  return { name: "sluice_" + name, type: "counter", help, value };
}

/** UP for "up"/"going-down", DOWN for "down"/"going-up", else the state itself. */
function serverState(sc: StatusClass): typeof SERVER_STATES[number] {
  switch (sc) {
    case "up":
    case "going-down":
      return "UP";
    case "down":
    case "going-up":
      return "DOWN";
    case "maint":
      return "MAINT";
    case "drain":
      return "DRAIN";
    case "nolb":
      return "NOLB";
  }
}

/** The check result code without HAProxy's "* " in-progress mark, upper case. */
function checkState(status: string): string {
  const s = status.replace(/^\*\s*/, "").trim().toUpperCase();
  return s === "" ? "UNK" : s;
}

/**
 * Renders the snapshot in the Prometheus text format 0.0.4. Process metrics
 * first, then frontend, backend and server families. Output ends with a
 * line feed.
 */
export function renderPrometheus(snap: StatsSnapshot): string {
  const e = new Exposition();
  const p = snap.process;

  e.family("sluice_process_build_info", "gauge", "Build information (always 1).");
  e.sample([["version", p.version]], 1);
  e.family("sluice_process_start_time_seconds", "gauge", "Start time in seconds since the epoch.");
  e.sample([], p.startedAt / 1000);
  e.family("sluice_process_uptime_seconds", "gauge", "Seconds since the process started.");
  e.sample([], p.uptimeMs / 1000);
  e.family("sluice_process_current_connections", "gauge", "Current number of client sessions.");
  e.sample([], p.actconn);
  e.family("sluice_process_max_connections", "gauge", "Configured global maxconn.");
  e.sample([], p.maxconn);
  e.family("sluice_process_stopping", "gauge", "1 while a soft or hard stop is in progress.");
  e.sample([], p.stopping ? 1 : 0);
  const pools: Array<[string, PoolStats]> = [["big", p.pool], ["small", p.smallPool]];
  if (p.bulkPool !== null) pools.push(["bulk", p.bulkPool]);
  e.family("sluice_process_pool_used_buffers", "gauge", "Buffers currently handed out.");
  for (const [n, s] of pools) e.sample([["pool", n]], s.used);
  e.family("sluice_process_pool_allocated_buffers", "gauge", "Buffers carved (free + used).");
  for (const [n, s] of pools) e.sample([["pool", n]], s.allocated);
  e.family("sluice_process_pool_peak_buffers", "gauge", "Highest number of buffers in use.");
  for (const [n, s] of pools) e.sample([["pool", n]], s.peak);
  e.family("sluice_process_pool_buffer_size_bytes", "gauge", "Size of one buffer of the pool.");
  for (const [n, s] of pools) e.sample([["pool", n]], s.size);
  e.family(
    "sluice_process_pool_failures_total",
    "counter",
    "Buffer allocations refused by the pool limit.",
  );
  for (const [n, s] of pools) e.sample([["pool", n]], s.failed);

  for (const m of FRONTEND_METRICS) {
    e.family(m.name, m.type, m.help);
    for (const fe of snap.frontends) {
      const v = m.value(fe);
      if (v !== null) e.sample([["proxy", fe.name]], v);
    }
  }
  e.family("sluice_frontend_http_responses_total", "counter", "HTTP responses by status class.");
  for (const fe of snap.frontends) {
    if (fe.mode === "http") httpSamples(e, [["proxy", fe.name]], fe.httpResponses);
  }

  for (const m of BACKEND_METRICS) {
    e.family(m.name, m.type, m.help);
    for (const be of snap.backends) {
      const v = m.value(be);
      if (v !== null) e.sample([["proxy", be.name]], v);
    }
  }
  e.family("sluice_backend_http_responses_total", "counter", "HTTP responses by status class.");
  for (const be of snap.backends) {
    if (be.mode === "http") httpSamples(e, [["proxy", be.name]], be.httpResponses);
  }

  for (const m of serverMetrics(p.now)) {
    e.family(m.name, m.type, m.help);
    for (const be of snap.backends) {
      for (const srv of be.servers) {
        const v = m.value(srv);
        if (v !== null) e.sample([["proxy", be.name], ["server", srv.name]], v);
      }
    }
  }
  e.family(
    "sluice_server_status",
    "gauge",
    "Current server state, one-hot over DOWN, UP, MAINT, DRAIN, NOLB.",
  );
  for (const be of snap.backends) {
    for (const srv of be.servers) {
      const cur = serverState(srv.statusClass);
      for (const st of SERVER_STATES) {
        e.sample([["proxy", be.name], ["server", srv.name], ["state", st]], st === cur ? 1 : 0);
      }
    }
  }
  e.family(
    "sluice_server_check_status",
    "gauge",
    "Result of the last health check, one-hot over HAProxy's check codes (checked servers).",
  );
  for (const be of snap.backends) {
    for (const srv of be.servers) {
      if (srv.check === null) continue;
      const cur = checkState(srv.check.status);
      const px = be.name, sv = srv.name;
      const labels = (st: string): Labels => [["proxy", px], ["server", sv], ["state", st]];
      for (const st of CHECK_STATES) e.sample(labels(st), st === cur ? 1 : 0);
      if (!(CHECK_STATES as readonly string[]).includes(cur)) e.sample(labels(cur), 1);
    }
  }
  e.family("sluice_server_http_responses_total", "counter", "HTTP responses by status class.");
  for (const be of snap.backends) {
    if (be.mode !== "http") continue;
    for (const srv of be.servers) {
      httpSamples(e, [["proxy", be.name], ["server", srv.name]], srv.httpResponses);
    }
  }
  return e.text();
}

function httpSamples(e: Exposition, labels: Labels, r: HttpResponses): void {
  for (const k of HTTP_CLASSES) e.sample([...labels, ["code", k]], r[k]);
}
