// Runtime API commands that create, remove or re-limit objects: `add server`,
// `del server` (HAProxy's dynamic servers, server.c cli_parse_add_server /
// cli_parse_delete_server), `set maxconn frontend|global` (proxy.c, cli.c)
// and `clear counters [all]` (stats.c). The per-server changes shared with
// the stats page live in src/stats/server_admin.ts.
//
// Every function returns HAProxy's answer text ("" = silent success).

import type { Backend } from "../backend/backend.ts";
import { Server } from "../backend/server.ts";
import { SERVER_DEFAULTS } from "../config/keywords.ts";
import type { ServerConfig } from "../config/types.ts";
import { isIPv4, isIPv6, parseAddress, parseDuration } from "../config/units.ts";
import { didYouMean } from "../tools/suggest.ts";
import { SRV_ADMF_MAINT } from "../check/types.ts";
import type { CliFrontend, CliProcess } from "./types.ts";

/** Server keywords `add server` accepts, and whether each takes a value. */
const ADD_SERVER_KEYWORDS: ReadonlyMap<string, boolean> = new Map([
  ["weight", true],
  ["maxconn", true],
  ["maxqueue", true],
  ["check", false],
  ["inter", true],
  ["fastinter", true],
  ["downinter", true],
  ["rise", true],
  ["fall", true],
  ["port", true],
  ["addr", true],
  ["backup", false],
  ["cookie", true],
  ["disabled", false],
  ["enabled", false],
]);

const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

function int(v: string, min: number, max: number): number | null {
  if (!/^\d{1,10}$/.test(v)) return null;
  const n = Number(v);
  return n >= min && n <= max ? n : null;
}

/**
 * `add server B/S ADDR [keyword [value]]*`: a new server, in maintenance
 * (as HAProxy: `set server B/S state ready` puts it in service, or the
 * `enabled` keyword at once), with its health check (keyword `check`)
 * suspended until `enable health B/S`. Refuses a taken name, a bad address
 * or an unknown keyword with HAProxy's messages.
 */
export function addServer(p: CliProcess, target: string, args: readonly string[]): string {
  const slash = target.indexOf("/");
  if (slash < 0) return "Require 'backend/server'.\n";
  const bname = target.slice(0, slash), sname = target.slice(slash + 1);
  const be = p.backends.find((b) => b.name === bname);
  if (be === undefined) return "No such backend.\n";
  if (!NAME_RE.test(sname)) return `Invalid server name '${sname}'.\n`;
  if (be.servers.some((s) => s.name === sname)) {
    return "Already exists a server with the same name in backend.\n";
  }
  const addrText = args[0] ?? "";
  if (addrText === "") return "Require <addr>.\n";
  const address = parseAddress(addrText, false);
  if (typeof address === "string") return `'server ${bname}/${sname}' : ${address}.\n`;
  const cfg: ServerConfig = {
    name: sname,
    address,
    weight: SERVER_DEFAULTS.weight,
    maxconn: SERVER_DEFAULTS.maxconn,
    maxqueue: SERVER_DEFAULTS.maxqueue,
    disabled: true,
    backup: false,
    check: false,
    inter: SERVER_DEFAULTS.inter,
    fastinter: 0,
    downinter: 0,
    rise: SERVER_DEFAULTS.rise,
    fall: SERVER_DEFAULTS.fall,
    checkPort: null,
    checkAddr: null,
    cookie: null,
  };
  for (let i = 1; i < args.length; i++) {
    const kw = args[i]!;
    const takes = ADD_SERVER_KEYWORDS.get(kw);
    if (takes === undefined) {
      return `unknown keyword '${kw}'${didYouMean(kw, ADD_SERVER_KEYWORDS.keys())}.\n`;
    }
    let v = "";
    if (takes) {
      v = args[++i] ?? "";
      if (v === "") return `'${kw}' expects a value.\n`;
    }
    const bad = applyKeyword(cfg, kw, v);
    if (bad !== null) return bad;
  }
  if (cfg.fastinter === 0) cfg.fastinter = cfg.inter;
  if (cfg.downinter === 0) cfg.downinter = cfg.inter;
  let id = 0;
  for (const s of be.servers) id = Math.max(id, s.id + 1);
  const srv = new Server(id, cfg, be.id, p.idleBudget);
  (be.servers as Server[]).push(srv);
  const c = p.checks?.addServer(be, srv) ?? null;
  c?.setChecksEnabled(false);
  be.lb.update();
  return "New server registered.\n";
}

/** Sets one `add server` keyword on `cfg`; returns the refusal text or null. */
function applyKeyword(cfg: ServerConfig, kw: string, v: string): string | null {
  const bad = `invalid value '${v}' for '${kw}'.\n`;
  switch (kw) {
    case "weight":
    case "maxconn":
    case "maxqueue":
    case "rise":
    case "fall":
    case "port": {
      const max = kw === "weight" ? 256 : kw === "port" ? 65535 : 2147483647;
      const min = kw === "rise" || kw === "fall" || kw === "port" ? 1 : 0;
      const n = int(v, min, max);
      if (n === null) return bad;
      if (kw === "port") cfg.checkPort = n;
      else cfg[kw] = n;
      return null;
    }
    case "inter":
    case "fastinter":
    case "downinter": {
      const d = parseDuration(v);
      if (d === null || d < 1) return bad;
      cfg[kw] = d;
      return null;
    }
    case "addr":
      if (!isIPv4(v) && !isIPv6(v)) return bad;
      cfg.checkAddr = v;
      return null;
    case "cookie":
      cfg.cookie = v;
      return null;
    case "check":
      cfg.check = true;
      return null;
    case "backup":
      cfg.backup = true;
      return null;
    case "disabled":
      cfg.disabled = true;
      return null;
    case "enabled":
      cfg.disabled = false;
      return null;
  }
  return null;
}

/**
 * `del server B/S`: removes a server that is in maintenance and has no
 * session, queued stream or connection in progress (HAProxy's rule; Sluice
 * also removes servers from the configuration file, which then come back
 * with a reload).
 */
export function delServer(p: CliProcess, target: string): string {
  const slash = target.indexOf("/");
  if (slash < 0) return "Require 'backend/server'.\n";
  const be = p.backends.find((b) => b.name === target.slice(0, slash));
  if (be === undefined) return "No such backend.\n";
  const srv = be.servers.find((s) => s.name === target.slice(slash + 1));
  if (srv === undefined) return "No such server.\n";
  const c = p.checks?.stateOf(srv) ?? null;
  const maint = c !== null ? (c.admin & SRV_ADMF_MAINT) !== 0 : !srv.usable;
  if (!maint) return "Only servers in maintenance mode can be deleted.\n";
  if (srv.cur > 0 || srv.queue.length > 0) {
    return "Server still has connections attached to it, cannot remove it.\n";
  }
  removeServer(p, be, srv);
  return "Server deleted.\n";
}

function removeServer(p: CliProcess, be: Backend, srv: Server): void {
  const list = be.servers as Server[];
  const i = list.indexOf(srv);
  if (i >= 0) list.splice(i, 1);
  p.checks?.removeServer(srv);
  srv.idle.closeAll();
  be.lb.update();
}

/** `set maxconn frontend F N`: the frontend's own limit (0 = the global one only). */
export function setFrontendMaxconn(p: CliProcess, name: string, value: string): string {
  const fe = (p.frontends as readonly CliFrontend[]).find((f) => f.name === name);
  if (fe === undefined) return "No such frontend.\n";
  if (value === "" || !/^\d+$/.test(value)) return "Integer value expected.\n";
  fe.maxconn = Number(value);
  for (const l of p.listeners) l.wake();
  return "";
}

/**
 * `set maxconn global N`: the process limit, at most the configured
 * `maxconn` (HAProxy's hard limit); 0 restores it.
 */
export function setGlobalMaxconn(p: CliProcess, value: string): string {
  if (value === "" || !/^\d+$/.test(value)) return "Expects an integer value.\n";
  let v = Number(value);
  const hard = p.cfg.global.maxconn;
  if (v > hard) return "Value out of range.\n";
  if (v === 0) v = hard;
  p.maxconn = v;
  for (const l of p.listeners) l.wake();
  return "";
}

/** Zeroes every number (and number array) of a counters object; only the maxima without `all`. */
function resetCounters(c: object, all: boolean): void {
  const o = c as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v === "number" && (all || k.startsWith("max"))) o[k] = 0;
    else if (all && Array.isArray(v)) v.fill(0);
  }
}

/**
 * `clear counters`: the maxima (sessions, queues) of every proxy and
 * server; `clear counters all` (admin): every counter.
 */
export function clearCounters(p: CliProcess, all: boolean): void {
  for (const fe of p.frontends) resetCounters(fe.counters, all);
  for (const be of p.backends) {
    resetCounters(be.counters, all);
    for (const s of be.servers) {
      resetCounters(s.counters, all);
      s.queue.max = s.queue.length;
    }
  }
}
