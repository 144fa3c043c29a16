// The HTML statistics page (HAProxy's stats_dump_html_*): one table per
// frontend and per backend, a row per server, status cells coloured by state,
// a process information header, and, with `admin: true`, one form per server
// that POSTs `s=<backend>/<server>&action=ready|drain|maint` back to the stats
// URI (parsed by admin.ts). Plain HTML and inline CSS: no script, no external
// asset, so the page works in any browser and behind any policy.
// This file only renders a StatsSnapshot; it never reads live objects.

import type {
  BackendStats,
  FrontendStats,
  HttpResponses,
  ServerStats,
  StatsSnapshot,
  StatusClass,
} from "./snapshot.ts";
import { HTTP_CLASSES } from "./snapshot.ts";

export interface StatsPageOptions {
  /** The stats URI: target of the admin forms and base of the ;csv/;json links. */
  uri: string;
  /** Auto-refresh period in ms; 0 = no refresh. */
  refresh: number;
  /** Show the per-server admin forms. */
  admin: boolean;
  /** A notice shown above the tables (e.g. the result of an admin action). */
  message?: string;
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Formats a duration like HAProxy's human_time(): "12s", "5m03s", "2h07m",
 * "3d04h". Negative or non-finite input gives "-".
 */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d${pad2(h)}h`;
  if (h > 0) return `${h}h${pad2(m)}m`;
  if (m > 0) return `${m}m${pad2(s)}s`;
  return `${s}s`;
}

/** Formats an uptime like HAProxy's header: "0d 0h05m12s". */
export function formatUptime(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${d}d ${h}h${pad2(m)}m${pad2(s)}s`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** The admin actions offered by the forms, in display order. */
const ADMIN_BUTTONS: ReadonlyArray<[action: string, label: string]> = [
  ["ready", "Ready"],
  ["drain", "Drain"],
  ["maint", "Maint"],
];

const CSS = `
body{font-family:Arial,Helvetica,sans-serif;font-size:12px;color:#000;background:#fff;margin:8px}
h1{font-size:18px;margin:0 0 2px;color:#fff;background:#20377d;padding:4px 8px}
h2{font-size:14px;margin:4px 0 8px;color:#20377d}
a{color:#20377d}
table{border-collapse:collapse;font-size:12px}
table.px{margin:0 0 14px;min-width:60%}
table.px caption{text-align:left;font-weight:bold;font-size:13px;color:#fff;background:#20377d;padding:3px 6px;white-space:nowrap}
table.px caption small{font-weight:normal;color:#c8d4f0;margin-left:8px}
table.px th{background:#b7c2e0;border:1px solid #8090b8;padding:2px 4px;font-weight:normal;white-space:nowrap}
table.px td{border:1px solid #aab;padding:1px 4px;text-align:right;white-space:nowrap}
table.px td.name{text-align:left;font-weight:bold}
table.px tr.fe td,table.px tr.be td{background:#dde4f4;font-weight:bold}
table.px tr.srv:nth-child(even) td{background:#f5f7fc}
table.info td{padding:1px 10px 1px 0;vertical-align:top}
table.legend td{padding:1px 6px;border:1px solid #aab}
.st{text-align:center!important;font-weight:bold}
.st-up,.st-open{background:#c0ffc0!important}
.st-going-down{background:#ffd080!important}
.st-going-up{background:#ffb060!important}
.st-down,.st-stop{background:#ff9090!important}
.st-full{background:#ffd080!important}
.st-maint{background:#c8c8d8!important}
.st-drain,.st-nolb{background:#a0c8ff!important}
tr.backup td.name{font-style:italic}
.msg{border:1px solid #c09000;background:#fff4c0;padding:4px 8px;margin:6px 0;display:inline-block}
.links{margin:6px 0 12px}
.links a{margin-right:14px}
form.adm{margin:0;display:inline}
form.adm button{font-size:11px;padding:0 4px;margin:0 1px}
.muted{color:#777}
`;

/**
 * Renders the whole page for `snap`. Adds `<meta http-equiv="refresh">` when
 * `opts.refresh` > 0 (rounded up to whole seconds) and the admin forms when
 * `opts.admin` is true. Every name and message is HTML-escaped.
 */
export function renderStatsHtml(snap: StatsSnapshot, opts: StatsPageOptions): string {
  const p = snap.process;
  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
    `<title>Statistics Report for sluice on pid ${p.pid}</title>\n`,
  );
  if (opts.refresh > 0) {
    out.push(`<meta http-equiv="refresh" content="${Math.ceil(opts.refresh / 1000)}">\n`);
  }
  out.push(`<style>${CSS}</style>\n</head>\n<body>\n`);
  out.push(`<h1>Sluice version ${escapeHtml(p.version)}</h1>\n`);
  out.push(`<h2>Statistics Report for pid ${p.pid}</h2>\n`);
  if (opts.message !== undefined && opts.message !== "") {
    out.push(`<div class="msg">${escapeHtml(opts.message)}</div>\n`);
  }
  renderInfo(out, snap);
  const uri = escapeHtml(opts.uri);
  out.push(
    `<div class="links"><a href="${uri}">Refresh now</a>`,
    `<a href="${uri};csv">CSV export</a><a href="${uri};json">JSON export</a></div>\n`,
  );
  for (const fe of snap.frontends) renderFrontend(out, fe);
  for (const be of snap.backends) renderBackend(out, be, snap.process.now, opts);
  out.push("</body>\n</html>\n");
  return out.join("");
}

function renderInfo(out: string[], snap: StatsSnapshot): void {
  const p = snap.process;
  const pool = p.pool;
  const small = p.smallPool;
  out.push(
    '<table class="info"><tr><td>',
    `<b>pid = </b>${p.pid}<br>`,
    `<b>uptime = </b>${formatUptime(p.uptimeMs)}<br>`,
    `<b>version = </b>${escapeHtml(p.version)}<br>`,
    `<b>started = </b>${new Date(p.startedAt).toISOString()}<br>`,
    `<b>log messages = </b>${p.logSent} sent, <span class="log-dropped">${p.logDropped} dropped</span>`,
    "</td><td>",
    `<b>system limits:</b> maxconn = ${p.maxconn}<br>`,
    `<b>current conns = </b>${p.actconn}${p.stopping ? " <b>(stopping)</b>" : ""}<br>`,
    `<b>pool buffers (${pool.size} B) = </b>${pool.used} used / ${pool.allocated} allocated`,
    ` (peak ${pool.peak}, failed ${pool.failed})<br>`,
    `<b>small buffers (${small.size} B) = </b>${small.used} used / ${small.allocated} allocated`,
    p.bulkPool === null
      ? ""
      : `<br><b>bulk buffers (${p.bulkPool.size} B) = </b>${p.bulkPool.used} used / ${p.bulkPool.allocated} allocated (peak ${p.bulkPool.peak}, failed ${p.bulkPool.failed})`,
    "</td><td>",
    '<table class="legend">',
    '<tr><td class="st st-up">UP</td><td class="st st-going-down">UP, going down</td>',
    '<td class="st st-down">DOWN</td><td class="st st-going-up">DOWN, going up</td></tr>',
    '<tr><td class="st st-maint">MAINT</td><td class="st st-drain">DRAIN</td>',
    '<td class="st st-nolb">NOLB</td><td></td></tr>',
    "</table>",
    "</td></tr></table>\n",
  );
}

/** The two header rows shared by every proxy table. */
function headerRows(admin: boolean): string {
  return (
    '<tr><th rowspan="2"></th>' +
    '<th colspan="3">Queue</th><th colspan="4">Sessions</th><th colspan="2">Bytes</th>' +
    '<th colspan="2">Denied</th><th colspan="3">Errors</th><th colspan="2">Warnings</th>' +
    '<th colspan="9">Server</th><th colspan="6">HTTP responses</th>' +
    '<th rowspan="2">Ctime</th>' +
    (admin ? '<th rowspan="2">Admin</th>' : "") +
    "</tr>\n<tr>" +
    "<th>Cur</th><th>Max</th><th>Limit</th>" +
    "<th>Cur</th><th>Max</th><th>Limit</th><th>Total</th>" +
    "<th>In</th><th>Out</th>" +
    "<th>Req</th><th>Resp</th>" +
    "<th>Req</th><th>Conn</th><th>Resp</th>" +
    "<th>Retr</th><th>Redis</th>" +
    "<th>Status</th><th>LastChg</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th>" +
    "<th>Chk</th><th>Dwn</th><th>Dwntme</th>" +
    HTTP_CLASSES.map((c) => `<th>${c}</th>`).join("") +
    "</tr>\n"
  );
}

function td(v: string | number): string {
  return `<td>${typeof v === "number" ? v : escapeHtml(v)}</td>`;
}

function limit(n: number): string {
  return n > 0 ? `${n}` : "";
}

function httpCells(r: HttpResponses, http: boolean): string {
  return HTTP_CLASSES.map((c) => td(http ? r[c] : "")).join("");
}

function ctime(ms: number): string {
  return `${Math.round(ms)} ms`;
}

function renderFrontend(out: string[], fe: FrontendStats): void {
  const http = fe.mode === "http";
  const cls = fe.status === "OPEN" ? "st-open" : fe.status === "FULL" ? "st-full" : "st-stop";
  out.push(
    `<table class="px frontend" id="fe-${escapeHtml(fe.name)}">`,
    `<caption>${escapeHtml(fe.name)}<small>frontend, mode ${fe.mode}</small></caption>\n`,
    headerRows(false),
    '<tr class="fe"><td class="name">Frontend</td>',
    td(""),
    td(""),
    td(""),
    td(fe.curSessions),
    td(fe.maxSessions),
    td(fe.limitSessions),
    td(fe.totalSessions),
    td(fe.bytesIn),
    td(fe.bytesOut),
    td(fe.deniedRequests),
    td(""),
    td(fe.requestErrors),
    td(""),
    td(""),
    td(""),
    td(""),
    `<td class="st ${cls}">${fe.status}</td>`,
    td(""),
    td(""),
    td(""),
    td(""),
    td(""),
    td(""),
    td(""),
    td(""),
    httpCells(fe.httpResponses, http),
    td(""),
    "</tr>\n</table>\n",
  );
}

function renderBackend(
  out: string[],
  be: BackendStats,
  now: number,
  opts: StatsPageOptions,
): void {
  const http = be.mode === "http";
  out.push(
    `<table class="px backend" id="be-${escapeHtml(be.name)}">`,
    `<caption>${escapeHtml(be.name)}<small>backend, mode ${be.mode}, balance ${
      escapeHtml(be.algo)
    }</small></caption>\n`,
    headerRows(opts.admin),
  );
  for (const srv of be.servers) renderServer(out, be, srv, http, now, opts);
  const st: StatusClass = be.status === "UP" ? "up" : "down";
  let chkdown = 0;
  for (const s of be.servers) if (s.check !== null) chkdown += s.check.downs;
  out.push(
    '<tr class="be"><td class="name">Backend</td>',
    td(be.queueCur),
    td(be.queueMax),
    td(""),
    td(be.curSessions),
    td(be.maxSessions),
    td(""),
    td(be.totalSessions),
    td(be.bytesIn),
    td(be.bytesOut),
    td(be.denied),
    td(""),
    td(""),
    td(be.connErrors),
    td(be.respErrors),
    td(be.retries),
    td(be.redispatches),
    `<td class="st st-${st}">${be.status}</td>`,
    td(""),
    td(""),
    td(be.weight),
    td(`${be.activeUp}/${be.activeTotal}`),
    td(`${be.backupUp}/${be.backupTotal}`),
    td(""),
    td(chkdown),
    td(""),
    httpCells(be.httpResponses, http),
    td(ctime(be.avgConnectMs)),
    opts.admin ? td("") : "",
    "</tr>\n</table>\n",
  );
}

function renderServer(
  out: string[],
  be: BackendStats,
  srv: ServerStats,
  http: boolean,
  now: number,
  opts: StatsPageOptions,
): void {
  const chk = srv.check;
  let lastChk = '<td class="muted">no check</td>';
  if (chk !== null) {
    let text = chk.status;
    if (chk.code !== null) text += `/${chk.code}`;
    if (chk.durationMs !== null) text += ` in ${chk.durationMs}ms`;
    lastChk = chk.desc === ""
      ? td(text)
      : `<td title="${escapeHtml(chk.desc)}">${escapeHtml(text)}</td>`;
  }
  out.push(
    `<tr class="srv${srv.backup ? " backup" : ""}"><td class="name">${escapeHtml(srv.name)}</td>`,
    td(srv.queueCur),
    td(srv.queueMax),
    td(limit(srv.queueLimit)),
    td(srv.curSessions),
    td(srv.maxSessions),
    td(limit(srv.limitSessions)),
    td(srv.totalSessions),
    td(srv.bytesIn),
    td(srv.bytesOut),
    td(""),
    td(srv.denied),
    td(""),
    td(srv.connErrors),
    td(srv.respErrors),
    td(srv.retries),
    td(srv.redispatches),
    `<td class="st st-${srv.statusClass}">${escapeHtml(srv.status)}</td>`,
    td(humanDuration(now - srv.lastChange)),
    lastChk,
    td(srv.weight),
    td(srv.backup ? "-" : "Y"),
    td(srv.backup ? "Y" : "-"),
    td(chk === null ? "" : chk.fails),
    td(chk === null ? "" : chk.downs),
    td(chk === null ? "" : humanDuration(srv.downtimeMs)),
    httpCells(srv.httpResponses, http),
    td(ctime(srv.avgConnectMs)),
  );
  if (opts.admin) {
    const target = escapeHtml(`${be.name}/${srv.name}`);
    out.push(
      `<td><form class="adm" method="post" action="${escapeHtml(opts.uri)}">`,
      `<input type="hidden" name="s" value="${target}">`,
    );
    for (const [action, label] of ADMIN_BUTTONS) {
      out.push(`<button type="submit" name="action" value="${action}">${label}</button>`);
    }
    out.push(
      `<input type="number" name="weight" min="0" max="256" value="${srv.weight}" style="width:3.2em" title="weight">`,
      `<button type="submit" name="action" value="weight">Weight</button>`,
    );
    out.push("</form></td>");
  }
  out.push("</tr>\n");
}
