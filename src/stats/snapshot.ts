// A plain-data snapshot of the running process's statistics (HAProxy's
// stats_fill_fe_stats / stats_fill_be_stats / stats_fill_sv_stats).
//
// buildSnapshot() reads the live frontends, backends, servers, counters and
// pools once and copies every number into plain objects, so that the
// renderers (stats_page.ts, stats_csv.ts, stats_json.ts, prometheus.ts) are
// pure functions of a StatsSnapshot and can be tested without a process.
// This file must never change what it reads and never touch a socket; it
// allocates, so it runs per stats request, never per proxied request.
//
// The sources are described by small structural interfaces that the core
// objects (Process, Frontend, Backend, Server) already satisfy. Fields the
// core may not have (a backend-wide queue, a denied counter on backends and
// servers) are optional and read as 0 when absent. Health-check state comes
// from an optional provider (src/check/), so that the snapshot works with and
// without checks.

import type { PoolStats } from "../buf/pool.ts";
import type { Address, ProxyMode } from "../config/types.ts";
import { VERSION } from "../version.ts";

// ---------------------------------------------------------------------------
// Sources: what the snapshot reads from the live objects.

/** A queue of streams waiting for a server slot (src/backend/queue.ts's PendQueue). */
export interface QueueSource {
  /** Streams waiting now. */
  readonly length: number;
  /** Highest length seen since start; absent = not tracked (reported as `length`). */
  readonly max?: number;
}

/** Frontend counters as kept in src/frontend/counters.ts (FrontendCounters). */
export interface FrontendCountersSource {
  readonly cumSessions: number;
  readonly maxSessions: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly denied: number;
  /** Responses denied by http-response rules (absent = 0). */
  readonly deniedResp?: number;
  /** Connections rejected by tcp-request connection rules (absent = 0). */
  readonly deniedConn?: number;
  readonly errors: number;
  readonly httpReqs: number;
  /** Responses by status class: index 1..5 = 1xx..5xx, 0 = other. */
  readonly httpResp: readonly number[];
  /** Compression bytes in / out / bypassed and responses compressed (absent = 0). */
  readonly compIn?: number;
  readonly compOut?: number;
  readonly compByp?: number;
  readonly compRsp?: number;
  /** TLS handshakes that failed (absent = 0). */
  readonly failedHandshakes?: number;
}

/** Backend/server counters as kept in src/backend/counters.ts (BackendCounters). */
export interface BackendCountersSource {
  readonly cumSessions: number;
  readonly maxSessions: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connErrors: number;
  readonly respErrors: number;
  readonly retries: number;
  readonly redispatches: number;
  readonly failedNoServer: number;
  readonly httpResp: readonly number[];
  readonly connectTimeSum: number;
  readonly connectSamples: number;
  /** Response time sum and samples (absent = none). */
  readonly respTimeSum?: number;
  readonly respSamples?: number;
  /** Requests denied by rules (backends; absent = 0). */
  readonly denied?: number;
  /** Responses denied by rules (absent = 0). */
  readonly deniedResp?: number;
  /** Compression bytes in / out / bypassed and responses compressed (absent = 0). */
  readonly compIn?: number;
  readonly compOut?: number;
  readonly compByp?: number;
  readonly compRsp?: number;
}

/** What the snapshot reads of a server (src/backend/server.ts's Server satisfies it). */
export interface ServerSource {
  readonly name: string;
  readonly address: Address;
  readonly cfg: { readonly disabled: boolean; readonly check: boolean; readonly maxqueue: number };
  readonly weight: number;
  readonly usable: boolean;
  readonly backup: boolean;
  readonly cur: number;
  readonly maxconn: number;
  readonly counters: BackendCountersSource;
  /** Streams waiting for this server; absent = no queue (reported as 0). */
  readonly queue?: QueueSource | null;
}

/** What the snapshot reads of a backend (src/backend/backend.ts's Backend satisfies it). */
export interface BackendSource<S extends ServerSource = ServerSource> {
  readonly name: string;
  readonly cfg: { readonly mode: ProxyMode; readonly balance: { readonly algo: string } };
  readonly servers: readonly S[];
  readonly beconn: number;
  readonly counters: BackendCountersSource;
  /**
   * A backend-wide queue, if the core ever keeps one. Without it the
   * backend's queue is its servers' queues: current = their sum, max = the
   * highest of that sum now and each server's own max (a lower bound).
   */
  readonly queue?: QueueSource | null;
}

/** What the snapshot reads of a frontend (src/frontend/frontend.ts's Frontend satisfies it). */
export interface FrontendSource {
  readonly name: string;
  readonly cfg: { readonly mode: ProxyMode; readonly maxconn: number };
  /** The limit now, when it can change at run time (absent = cfg.maxconn). */
  readonly maxconn?: number;
  readonly feconn: number;
  readonly counters: FrontendCountersSource;
}

/** A buffer pool as seen by stats (src/buf/pool.ts's BufferPool satisfies it). */
export interface PoolSource {
  stats(): PoolStats;
}

/**
 * What the snapshot reads of the process (src/proxy/process.ts's Process
 * satisfies it). `pid` defaults to Deno.pid, `version` to VERSION and
 * `startedAt` (epoch ms) to performance.timeOrigin.
 */
export interface SnapshotSource<S extends ServerSource = ServerSource> {
  readonly pid?: number;
  readonly version?: string;
  readonly startedAt?: number;
  readonly actconn: number;
  readonly maxconn: number;
  /** Soft or hard stop in progress: frontends report STOP. */
  readonly stopping?: boolean;
  /** Log messages sent and dropped (src/log's Logger.counters). */
  readonly logger?: { readonly counters: { readonly sent: number; readonly dropped: number } };
  readonly killing?: boolean;
  /** The data, idle and (optional) bulk buffer pools. */
  readonly pools: {
    readonly big: PoolSource;
    readonly small: PoolSource;
    readonly bulk?: PoolSource;
    /** Output buffers of HTTP/2 connections (show pools lists it once used). */
    readonly out?: PoolSource;
  };
  readonly frontends: readonly FrontendSource[];
  readonly backends: readonly BackendSource<S>[];
}

/**
 * Health-check state of one server, as the check subsystem reports it.
 * `status` is HAProxy's server status text: "UP", "DOWN", "UP 1/3" (going
 * down), "DOWN 1/2" (going up), "MAINT", "DRAIN", "NOLB". `lastCheck` is the
 * last check result code ("L4OK", "L7OK", "L4CON", "L7STS", ...; "INI" before
 * the first one).
 */
export interface CheckState {
  status: string;
  lastCheck: string;
  /** Duration of the last check in ms (-1 or absent result = unknown). */
  checkDuration: number;
  /** Epoch ms of the last UP/DOWN/MAINT transition. */
  lastChange: number;
  /** Total ms spent DOWN since start. */
  downtime: number;
  /** HTTP status (L7) or other code of the last check, when there is one. */
  checkCode?: number;
  /** Failed checks since start (HAProxy chkfail). */
  checkFails?: number;
  /** UP→DOWN transitions since start (HAProxy chkdown). */
  checkDowns?: number;
  /** Health counter out of rise+fall-1, for display (HAProxy check_health). */
  health?: number;
  /** Info text of the last check ("Connection refused", a reason phrase). */
  desc?: string;
  /**
   * False when the server has no health check but the provider still knows
   * its state (admin MAINT/DRAIN): the status is used, the check fields are
   * not. Absent = true. A status of "no check" means the same.
   */
  checked?: boolean;
}

/** Returns the check state of a server, or null when it is not checked. */
export type CheckStateProvider<S extends ServerSource = ServerSource> = (
  server: S,
) => CheckState | null;

// ---------------------------------------------------------------------------
// The snapshot: plain data, JSON-serialisable.

/** HTTP responses by status class. */
export interface HttpResponses {
  "1xx": number;
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
  other: number;
}

/** The keys of HttpResponses in display order. */
export const HTTP_CLASSES: ReadonlyArray<keyof HttpResponses> = [
  "1xx",
  "2xx",
  "3xx",
  "4xx",
  "5xx",
  "other",
];

/**
 * Display class of a server status, for colours and one-hot metrics:
 * up, going-down ("UP 1/3"), down, going-up ("DOWN 1/2"), maint, drain, nolb.
 */
export type StatusClass = "up" | "going-down" | "down" | "going-up" | "maint" | "drain" | "nolb";

export interface ProcessStats {
  pid: number;
  version: string;
  /** Epoch ms the process started. */
  startedAt: number;
  /** Epoch ms the snapshot was taken. */
  now: number;
  uptimeMs: number;
  /** Current client sessions in the whole process, and the global limit. */
  actconn: number;
  maxconn: number;
  stopping: boolean;
  /** The bufsize (data) pool, the small (idle) pool, the bulk-bufsize pool (null if none). */
  pool: PoolStats;
  smallPool: PoolStats;
  bulkPool: PoolStats | null;
  /** Log messages sent, and dropped because a log target was too slow (HAProxy's DroppedLogs). */
  logSent: number;
  logDropped: number;
}

/** Compression counters of a frontend or backend (HAProxy's comp_in/out/byp/rsp). */
export interface CompStats {
  bytesIn: number;
  bytesOut: number;
  bypassed: number;
  responses: number;
}

function compStats(c: {
  readonly compIn?: number;
  readonly compOut?: number;
  readonly compByp?: number;
  readonly compRsp?: number;
}): CompStats {
  return {
    bytesIn: c.compIn ?? 0,
    bytesOut: c.compOut ?? 0,
    bypassed: c.compByp ?? 0,
    responses: c.compRsp ?? 0,
  };
}

export interface FrontendStats {
  name: string;
  /** Compression counters. */
  comp: CompStats;
  mode: ProxyMode;
  /** OPEN, FULL (own maxconn reached) or STOP (stopping). */
  status: "OPEN" | "FULL" | "STOP";
  curSessions: number;
  maxSessions: number;
  /** The frontend's maxconn, or the global one when it has none. */
  limitSessions: number;
  totalSessions: number;
  bytesIn: number;
  bytesOut: number;
  deniedRequests: number;
  deniedResponses: number;
  /** Connections rejected by tcp-request connection rules (HAProxy's dcon). */
  deniedConnections: number;
  requestErrors: number;
  httpRequests: number;
  httpResponses: HttpResponses;
  /** TLS handshakes that failed (HAProxy's ssl module `ssl_failed_handshake`). */
  failedHandshakes?: number;
}

export interface ServerCheckStats {
  /** Last check result code ("L7OK", "L4CON", ...). */
  status: string;
  /** Info text of the last check, "" when none. */
  desc: string;
  code: number | null;
  /** Duration of the last check in ms, null when unknown. */
  durationMs: number | null;
  fails: number;
  downs: number;
  health: number | null;
}

export interface ServerStats {
  name: string;
  /** "host:port", "[v6]:port" or "unix@/path". */
  address: string;
  /** HAProxy's status text ("UP", "DOWN 1/2", "MAINT", ...). */
  status: string;
  statusClass: StatusClass;
  weight: number;
  backup: boolean;
  curSessions: number;
  maxSessions: number;
  totalSessions: number;
  /** maxconn, 0 = unlimited. */
  limitSessions: number;
  queueCur: number;
  queueMax: number;
  /** maxqueue, 0 = unlimited. */
  queueLimit: number;
  bytesIn: number;
  bytesOut: number;
  denied: number;
  connErrors: number;
  respErrors: number;
  retries: number;
  redispatches: number;
  httpResponses: HttpResponses;
  /** Average connect time in ms over all connections, 0 without samples. */
  avgConnectMs: number;
  /** Average server response time (ms) since start, 0 without samples. */
  avgResponseMs: number;
  /** Null when the server has no health check ("no check"). */
  check: ServerCheckStats | null;
  /** Epoch ms of the last state change (process start when none). */
  lastChange: number;
  /** Total ms spent DOWN. */
  downtimeMs: number;
}

export interface BackendStats {
  name: string;
  /** Compression counters. */
  comp: CompStats;
  mode: ProxyMode;
  algo: string;
  /** UP when at least one server can take traffic (usable, weight > 0). */
  status: "UP" | "DOWN";
  /** Total weight of the servers taking traffic (actives, else backups). */
  weight: number;
  curSessions: number;
  maxSessions: number;
  totalSessions: number;
  queueCur: number;
  queueMax: number;
  bytesIn: number;
  bytesOut: number;
  /** Requests denied by the backend's rules. */
  denied: number;
  /** Responses denied by http-response rules. */
  deniedResponses: number;
  connErrors: number;
  respErrors: number;
  retries: number;
  redispatches: number;
  /** Streams refused for lack of a server (none up, queue full or timed out). */
  failedNoServer: number;
  httpResponses: HttpResponses;
  avgConnectMs: number;
  /** Average server response time (ms) since start, 0 without samples. */
  avgResponseMs: number;
  /** Active / backup servers that are up (usable, weight > 0), and the totals. */
  activeUp: number;
  backupUp: number;
  activeTotal: number;
  backupTotal: number;
  servers: ServerStats[];
}

export interface StatsSnapshot {
  process: ProcessStats;
  frontends: FrontendStats[];
  backends: BackendStats[];
}

// ---------------------------------------------------------------------------
// Building.

/**
 * Copies the live statistics of `p` into a StatsSnapshot. `checks`, when
 * given, supplies each server's health-check state; a server for which it
 * returns null or the status "no check" (or every server without it) is
 * reported "UP", "DRAIN" (weight 0) or "MAINT" (disabled or not usable),
 * with `check` null ("no check").
 * Never throws on a consistent process; changes nothing.
 */
export function buildSnapshot<S extends ServerSource>(
  p: SnapshotSource<S>,
  checks?: CheckStateProvider<S>,
): StatsSnapshot {
  const now = Date.now();
  const startedAt = Math.floor(p.startedAt ?? performance.timeOrigin);
  const stopping = (p.stopping ?? false) || (p.killing ?? false);
  return {
    process: {
      pid: p.pid ?? Deno.pid,
      version: p.version ?? VERSION,
      startedAt,
      now,
      uptimeMs: Math.max(0, now - startedAt),
      actconn: p.actconn,
      maxconn: p.maxconn,
      stopping,
      pool: p.pools.big.stats(),
      smallPool: p.pools.small.stats(),
      bulkPool: p.pools.bulk?.stats() ?? null,
      logSent: p.logger?.counters.sent ?? 0,
      logDropped: p.logger?.counters.dropped ?? 0,
    },
    frontends: p.frontends.map((fe) => frontendStats(fe, p.maxconn, stopping)),
    backends: p.backends.map((be) => backendStats(be, startedAt, checks)),
  };
}

function frontendStats(
  fe: FrontendSource,
  globalMaxconn: number,
  stopping: boolean,
): FrontendStats {
  const c = fe.counters;
  const own = fe.maxconn ?? fe.cfg.maxconn;
  return {
    name: fe.name,
    mode: fe.cfg.mode,
    status: stopping ? "STOP" : own > 0 && fe.feconn >= own ? "FULL" : "OPEN",
    curSessions: fe.feconn,
    maxSessions: c.maxSessions,
    limitSessions: own > 0 ? own : globalMaxconn,
    totalSessions: c.cumSessions,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    deniedRequests: c.denied,
    deniedResponses: c.deniedResp ?? 0,
    deniedConnections: c.deniedConn ?? 0,
    requestErrors: c.errors,
    httpRequests: c.httpReqs,
    httpResponses: responses(c.httpResp),
    comp: compStats(c),
    ...(c.failedHandshakes ? { failedHandshakes: c.failedHandshakes } : {}),
  };
}

function backendStats<S extends ServerSource>(
  be: BackendSource<S>,
  startedAt: number,
  checks: CheckStateProvider<S> | undefined,
): BackendStats {
  const c = be.counters;
  let activeUp = 0, backupUp = 0, activeTotal = 0, backupTotal = 0;
  let activeWeight = 0, backupWeight = 0;
  const servers: ServerStats[] = [];
  for (const srv of be.servers) {
    const taking = srv.usable && srv.weight > 0;
    if (srv.backup) {
      backupTotal++;
      if (taking) {
        backupUp++;
        backupWeight += srv.weight;
      }
    } else {
      activeTotal++;
      if (taking) {
        activeUp++;
        activeWeight += srv.weight;
      }
    }
    servers.push(serverStats(srv, startedAt, checks?.(srv) ?? null));
  }
  let queueCur = 0, queueMax = 0;
  const q = be.queue ?? null;
  if (q !== null) {
    queueCur = q.length;
    queueMax = Math.max(q.max ?? 0, q.length);
  } else {
    for (const s of servers) {
      queueCur += s.queueCur;
      queueMax = Math.max(queueMax, s.queueMax);
    }
    queueMax = Math.max(queueMax, queueCur);
  }
  return {
    name: be.name,
    mode: be.cfg.mode,
    algo: be.cfg.balance.algo,
    status: activeUp + backupUp > 0 ? "UP" : "DOWN",
    weight: activeUp > 0 ? activeWeight : backupWeight,
    curSessions: be.beconn,
    maxSessions: c.maxSessions,
    totalSessions: c.cumSessions,
    queueCur,
    queueMax,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    denied: c.denied ?? 0,
    deniedResponses: c.deniedResp ?? 0,
    connErrors: c.connErrors,
    respErrors: c.respErrors,
    retries: c.retries,
    redispatches: c.redispatches,
    failedNoServer: c.failedNoServer,
    httpResponses: responses(c.httpResp),
    comp: compStats(c),
    avgConnectMs: average(c.connectTimeSum, c.connectSamples),
    avgResponseMs: average(c.respTimeSum ?? 0, c.respSamples ?? 0),
    activeUp,
    backupUp,
    activeTotal,
    backupTotal,
    servers,
  };
}

function serverStats(srv: ServerSource, startedAt: number, chk: CheckState | null): ServerStats {
  const c = srv.counters;
  const q = srv.queue ?? null;
  const checked = chk !== null && chk.checked !== false && !NO_CHECK.test(chk.status);
  const status = chk === null || NO_CHECK.test(chk.status) ? defaultStatus(srv) : chk.status;
  return {
    name: srv.name,
    address: formatAddress(srv.address),
    status,
    statusClass: statusClass(status),
    weight: srv.weight,
    backup: srv.backup,
    curSessions: srv.cur,
    maxSessions: c.maxSessions,
    totalSessions: c.cumSessions,
    limitSessions: srv.maxconn,
    queueCur: q?.length ?? 0,
    queueMax: q === null ? 0 : Math.max(q.max ?? 0, q.length),
    queueLimit: srv.cfg.maxqueue,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    denied: c.deniedResp ?? 0, // a server's denials are of its responses
    connErrors: c.connErrors,
    respErrors: c.respErrors,
    retries: c.retries,
    redispatches: c.redispatches,
    httpResponses: responses(c.httpResp),
    avgConnectMs: average(c.connectTimeSum, c.connectSamples),
    avgResponseMs: average(c.respTimeSum ?? 0, c.respSamples ?? 0),
    check: chk === null || !checked ? null : {
      status: chk.lastCheck,
      desc: chk.desc ?? "",
      code: chk.checkCode ?? null,
      durationMs: chk.checkDuration >= 0 ? chk.checkDuration : null,
      fails: chk.checkFails ?? 0,
      downs: chk.checkDowns ?? 0,
      health: chk.health ?? null,
    },
    lastChange: chk?.lastChange ?? startedAt,
    downtimeMs: chk?.downtime ?? 0,
  };
}

/** Formats an address as HAProxy's stats do: "host:port", "[v6]:port", "unix@/path". */
export function formatAddress(a: Address): string {
  if (a.kind === "unix") return `unix@${a.path}`;
  return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The status text HAProxy prints for a server without health check. */
const NO_CHECK = /^\s*no check\s*$/i;

/** Status of a server nobody checks: from its admin/config state only. */
function defaultStatus(srv: ServerSource): string {
  // The live state: a `disabled` server set ready by the admin is usable.
  if (!srv.usable) return "MAINT";
  return srv.weight === 0 ? "DRAIN" : "UP";
}

/**
 * Maps a status text to its display class. "UP n/m" is going down (checks
 * failing), "DOWN n/m" going up; anything unknown counts as down.
 */
export function statusClass(status: string): StatusClass {
  const s = status.trim().toUpperCase();
  if (s === "UP") return "up";
  if (s.startsWith("UP ")) return "going-down";
  if (s === "DOWN") return "down";
  if (s.startsWith("DOWN ")) return "going-up";
  if (s.startsWith("MAINT")) return "maint";
  if (s.startsWith("DRAIN")) return "drain";
  if (s.startsWith("NOLB")) return "nolb";
  return "down";
}

/** True when a status class means the server is alive (takes or may take traffic). */
export function isUpClass(c: StatusClass): boolean {
  return c === "up" || c === "going-down" || c === "drain" || c === "nolb";
}

function responses(r: readonly number[]): HttpResponses {
  return {
    "1xx": r[1] ?? 0,
    "2xx": r[2] ?? 0,
    "3xx": r[3] ?? 0,
    "4xx": r[4] ?? 0,
    "5xx": r[5] ?? 0,
    other: r[0] ?? 0,
  };
}

function average(sum: number, n: number): number {
  return n > 0 ? sum / n : 0;
}
