// The CSV statistics export (HAProxy's `show stat` / `;csv`), served at
// `<stats uri>;csv`.
//
// The columns are HAProxy's first 77 fields, in HAProxy's order and spelling
// (management.txt §9.1, "pxname" to "algo"), so that tools written for
// HAProxy's CSV read ours. As in HAProxy: the header line starts with "# ",
// every line ends with a comma, a frontend is one FRONTEND row, a backend is a
// row per server followed by one BACKEND row, and a field that does not apply
// is left empty. Fields this proxy does not track (rates, compression,
// agents, throttle, ...) are always empty.
// This file only renders a StatsSnapshot; it never reads live objects.

import type {
  BackendStats,
  FrontendStats,
  HttpResponses,
  ServerStats,
  StatsSnapshot,
} from "./snapshot.ts";

/** HAProxy's CSV fields 0..76, in order. */
export const CSV_COLUMNS = [
  "pxname",
  "svname",
  "qcur",
  "qmax",
  "scur",
  "smax",
  "slim",
  "stot",
  "bin",
  "bout",
  "dreq",
  "dresp",
  "ereq",
  "econ",
  "eresp",
  "wretr",
  "wredis",
  "status",
  "weight",
  "act",
  "bck",
  "chkfail",
  "chkdown",
  "lastchg",
  "downtime",
  "qlimit",
  "pid",
  "iid",
  "sid",
  "throttle",
  "lbtot",
  "tracked",
  "type",
  "rate",
  "rate_lim",
  "rate_max",
  "check_status",
  "check_code",
  "check_duration",
  "hrsp_1xx",
  "hrsp_2xx",
  "hrsp_3xx",
  "hrsp_4xx",
  "hrsp_5xx",
  "hrsp_other",
  "hanafail",
  "req_rate",
  "req_rate_max",
  "req_tot",
  "cli_abrt",
  "srv_abrt",
  "comp_in",
  "comp_out",
  "comp_byp",
  "comp_rsp",
  "lastsess",
  "last_chk",
  "last_agt",
  "qtime",
  "ctime",
  "rtime",
  "ttime",
  "agent_status",
  "agent_code",
  "agent_duration",
  "check_desc",
  "agent_desc",
  "check_rise",
  "check_fall",
  "check_health",
  "agent_rise",
  "agent_fall",
  "agent_health",
  "addr",
  "cookie",
  "mode",
  "algo",
] as const;

export type CsvColumn = typeof CSV_COLUMNS[number];

/** One CSV line as fields; an absent field is empty. */
export type CsvRow = Partial<Record<CsvColumn, string | number>>;
type Row = CsvRow;

/** HAProxy's `type` field values. */
const TYPE_FRONTEND = 0;
const TYPE_BACKEND = 1;
const TYPE_SERVER = 2;

/** Quotes a field when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(v: string | number | undefined): string {
  if (v === undefined) return "";
  const s = typeof v === "number" ? String(v) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function line(r: Row): string {
  let out = "";
  for (const c of CSV_COLUMNS) out += csvField(r[c]) + ",";
  return out + "\n";
}

function http(r: Row, h: HttpResponses): void {
  r.hrsp_1xx = h["1xx"];
  r.hrsp_2xx = h["2xx"];
  r.hrsp_3xx = h["3xx"];
  r.hrsp_4xx = h["4xx"];
  r.hrsp_5xx = h["5xx"];
  r.hrsp_other = h.other;
}

/**
 * Renders the snapshot as HAProxy-style CSV: the header, then a FRONTEND row
 * per frontend, then per backend its server rows and a BACKEND row. Proxy ids
 * (`iid`) number frontends from 1, then backends after them; server ids
 * (`sid`) number a backend's servers from 1.
 */
export function renderStatsCsv(snap: StatsSnapshot): string {
  let out = "# " + CSV_COLUMNS.join(",") + ",\n";
  for (const r of statsCsvRows(snap)) out += line(r);
  return out;
}

/**
 * The rows of renderStatsCsv() as field maps (a field absent = empty), in
 * the same order; the runtime API's `show stat typed|json` encode them.
 */
export function statsCsvRows(snap: StatsSnapshot): CsvRow[] {
  const rows: CsvRow[] = [];
  let iid = 0;
  for (const fe of snap.frontends) rows.push(frontendRow(fe, ++iid));
  for (const be of snap.backends) {
    iid++;
    be.servers.forEach((srv, i) => {
      rows.push(serverRow(be, srv, iid, i + 1, snap.process.now));
    });
    rows.push(backendRow(be, iid));
  }
  return rows;
}

function frontendRow(fe: FrontendStats, iid: number): Row {
  const r: Row = {
    pxname: fe.name,
    svname: "FRONTEND",
    scur: fe.curSessions,
    smax: fe.maxSessions,
    slim: fe.limitSessions,
    stot: fe.totalSessions,
    bin: fe.bytesIn,
    bout: fe.bytesOut,
    dreq: fe.deniedRequests,
    dresp: fe.deniedResponses,
    ereq: fe.requestErrors,
    status: fe.status,
    pid: 1,
    iid,
    sid: 0,
    type: TYPE_FRONTEND,
    mode: fe.mode,
  };
  if (fe.mode === "http") {
    http(r, fe.httpResponses);
    r.req_tot = fe.httpRequests;
  }
  return r;
}

function serverRow(
  be: BackendStats,
  srv: ServerStats,
  iid: number,
  sid: number,
  now: number,
): Row {
  const r: Row = {
    pxname: be.name,
    svname: srv.name,
    qcur: srv.queueCur,
    qmax: srv.queueMax,
    scur: srv.curSessions,
    smax: srv.maxSessions,
    stot: srv.totalSessions,
    bin: srv.bytesIn,
    bout: srv.bytesOut,
    dresp: srv.denied,
    econ: srv.connErrors,
    eresp: srv.respErrors,
    wretr: srv.retries,
    wredis: srv.redispatches,
    status: srv.status,
    weight: srv.weight,
    act: srv.backup ? 0 : 1,
    bck: srv.backup ? 1 : 0,
    lastchg: Math.max(0, Math.floor((now - srv.lastChange) / 1000)),
    pid: 1,
    iid,
    sid,
    lbtot: srv.totalSessions,
    type: TYPE_SERVER,
    ctime: Math.round(srv.avgConnectMs),
    rtime: Math.round(srv.avgResponseMs),
    addr: srv.address,
    mode: be.mode,
  };
  if (srv.limitSessions > 0) r.slim = srv.limitSessions;
  if (srv.queueLimit > 0) r.qlimit = srv.queueLimit;
  const chk = srv.check;
  if (chk !== null) {
    r.chkfail = chk.fails;
    r.chkdown = chk.downs;
    r.downtime = Math.floor(srv.downtimeMs / 1000);
    r.check_status = chk.status;
    if (chk.code !== null) r.check_code = chk.code;
    if (chk.durationMs !== null) r.check_duration = chk.durationMs;
    if (chk.health !== null) r.check_health = chk.health;
    if (chk.desc !== "") r.last_chk = chk.desc;
  }
  if (be.mode === "http") http(r, srv.httpResponses);
  return r;
}

function backendRow(be: BackendStats, iid: number): Row {
  const r: Row = {
    pxname: be.name,
    svname: "BACKEND",
    qcur: be.queueCur,
    qmax: be.queueMax,
    scur: be.curSessions,
    smax: be.maxSessions,
    stot: be.totalSessions,
    bin: be.bytesIn,
    bout: be.bytesOut,
    dreq: be.denied,
    dresp: be.deniedResponses,
    econ: be.connErrors,
    eresp: be.respErrors,
    wretr: be.retries,
    wredis: be.redispatches,
    status: be.status,
    weight: be.weight,
    act: be.activeUp,
    bck: be.backupUp,
    pid: 1,
    iid,
    sid: 0,
    lbtot: be.totalSessions,
    type: TYPE_BACKEND,
    ctime: Math.round(be.avgConnectMs),
    rtime: Math.round(be.avgResponseMs),
    mode: be.mode,
    algo: be.algo,
  };
  if (be.mode === "http") http(r, be.httpResponses);
  return r;
}
