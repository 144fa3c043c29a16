// The smaller `show` commands of the runtime API, in HAProxy 2.6's formats:
// `show servers state [BACKEND]` (server.c's dump_servers_state, the format
// `server-state-file` also uses), `show backend`, `show sess` and
// `show pools`. Each is a pure function of the process's current objects;
// none changes anything.

import type { Server } from "../backend/server.ts";
import type { ServerCheck } from "../check/mod.ts";
import {
  checkStatusResult,
  CHK_ST_CONFIGURED,
  CHK_ST_ENABLED,
  CHK_ST_INPROGRESS,
  CHK_ST_PAUSED,
  HCHK_STATUS_INI,
  SRV_ADMF_DRAIN,
  SRV_ADMF_MAINT,
} from "../check/types.ts";
import type { PoolStats } from "../buf/pool.ts";
import type { CliProcess, CliSession } from "./types.ts";

/** Version line and header of `show servers state` (version 1, as HAProxy 2.6). */
export const SERVERS_STATE_HEADER = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state " +
  "srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status " +
  "srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id " +
  "srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr " +
  "srv_agent_addr srv_agent_port\n";

// HAProxy's values for the numeric columns (server-t.h, check-t.h).
const SRV_ST_STOPPED = 0;
const SRV_ST_RUNNING = 2;
const SRV_ST_STOPPING = 3;
const H_ADMF_FMAINT = 0x01;
const H_ADMF_FDRAIN = 0x08;
const H_CHK_ST_INPROGRESS = 0x01;
const H_CHK_ST_CONFIGURED = 0x02;
const H_CHK_ST_ENABLED = 0x04;
const H_CHK_ST_PAUSED = 0x08;

/** HAProxy's proxy id of backend `i`: the stats numbering (frontends first, from 1). */
export function backendIid(p: CliProcess, i: number): number {
  return p.frontends.length + i + 1;
}

/** `show servers state [BACKEND]`; null when the backend is unknown. */
export function renderServersState(p: CliProcess, only: string | null): string | null {
  let out = SERVERS_STATE_HEADER;
  let found = only === null;
  const now = Date.now();
  p.backends.forEach((be, i) => {
    if (only !== null && be.name !== only) return;
    found = true;
    for (const srv of be.servers) {
      out += serverStateLine(backendIid(p, i), be.name, srv, p.checks?.stateOf(srv) ?? null, now);
    }
  });
  return found ? out : null;
}

function serverStateLine(
  beId: number,
  beName: string,
  srv: Server,
  c: ServerCheck | null,
  now: number,
): string {
  const a = srv.address;
  const addr = a.kind === "tcp" ? a.host : a.path;
  const port = a.kind === "tcp" ? a.port : 0;
  let op = srv.usable ? SRV_ST_RUNNING : SRV_ST_STOPPED;
  let adm = 0, uweight = srv.weight, status = HCHK_STATUS_INI, result = 0, health = 0;
  let chkState = 0, since = 0;
  if (c !== null) {
    if (c.up && c.stopping) op = SRV_ST_STOPPING;
    else op = c.up ? SRV_ST_RUNNING : SRV_ST_STOPPED;
    if (c.admin & SRV_ADMF_MAINT) adm |= H_ADMF_FMAINT;
    if (c.admin & SRV_ADMF_DRAIN) adm |= H_ADMF_FDRAIN;
    uweight = c.userWeight();
    status = c.status;
    result = c.enabled && c.lastCheck > 0 ? checkStatusResult(c.status) : 0;
    health = c.health;
    if (c.flags & CHK_ST_INPROGRESS) chkState |= H_CHK_ST_INPROGRESS;
    if (c.flags & CHK_ST_CONFIGURED) chkState |= H_CHK_ST_CONFIGURED;
    if (c.flags & CHK_ST_ENABLED) chkState |= H_CHK_ST_ENABLED;
    if (c.flags & CHK_ST_PAUSED) chkState |= H_CHK_ST_PAUSED;
    since = Math.max(0, Math.floor((now - c.lastChange) / 1000));
  }
  const cfg = srv.cfg;
  return `${beId} ${beName} ${srv.id + 1} ${srv.name} ${addr} ${op} ${adm} ${uweight} ` +
    `${cfg.weight} ${since} ${status} ${result} ${health} ${chkState} 0 0 0 - ${port} - 0 ` +
    `${cfg.checkPort ?? 0} ${cfg.checkAddr ?? "-"} - 0\n`;
}

/** `show backend`: the backend names. */
export function renderBackends(p: CliProcess): string {
  let out = "# name\n";
  for (const be of p.backends) out += be.name + "\n";
  return out;
}

/** Session ids for `show sess` / `shutdown session`: given on first sight, stable. */
export class SessionIds {
  #ids = new WeakMap<CliSession, number>();
  #next = 1;

  idOf(s: CliSession): number {
    let id = this.#ids.get(s);
    if (id === undefined) {
      id = this.#next++;
      this.#ids.set(s, id);
    }
    return id;
  }
}

/** "0x" and the id in hex, as HAProxy prints a stream pointer. */
export function sessionIdText(id: number): string {
  return "0x" + id.toString(16);
}

function proto(ip: string): string {
  return ip === "unix" ? "unix_stream" : ip.includes(":") ? "tcpv6" : "tcpv4";
}

/**
 * `show sess`: one line per live session, newest first, with HAProxy's
 * leading fields (id, proto, src, fe, be, srv, age); HAProxy's internal
 * flags that follow have no Sluice counterpart and are not printed.
 */
export function renderSessions(p: CliProcess, ids: SessionIds): string {
  let out = "";
  const now = Date.now();
  for (const s of p.liveSessions()) {
    const c = s.clientAddr;
    const src = c.ip === "unix"
      ? `unix:${c.port}`
      : c.ip.includes(":")
      ? `[${c.ip}]:${c.port}`
      : `${c.ip}:${c.port}`;
    const age = Math.max(0, Math.floor((now - s.acceptDate) / 1000));
    out += `${sessionIdText(ids.idOf(s))}: proto=${proto(c.ip)} src=${src} fe=${s.fe.name} ` +
      `be=${s.be?.name ?? "<NONE>"} srv=${s.srv?.name ?? "<none>"} age=${formatAge(age)}\n`;
  }
  return out;
}

/** HAProxy's human_time(): "3s", "2m5s", "1h02m", "3d4h". */
export function formatAge(sec: number): string {
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m${sec % 60}s`;
  if (sec < 86400) {
    return `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, "0")}m`;
  }
  return `${Math.floor(sec / 86400)}d${Math.floor((sec % 86400) / 3600)}h`;
}

/**
 * `show pools`: one line per buffer pool, in HAProxy's wording (allocated,
 * used, needed_avg = the peak here, failures, users), then the total.
 */
export function renderPools(p: CliProcess): string {
  const pools: [string, PoolStats][] = [
    ["small_buffer", p.pools.small.stats()],
    ["buffer", p.pools.big.stats()],
  ];
  if (p.pools.bulk !== undefined) pools.push(["bulk_buffer", p.pools.bulk.stats()]);
  // HTTP/2 output buffers: listed once an HTTP/2 connection has used some.
  const h2out = p.pools.out?.stats();
  if (h2out !== undefined && h2out.allocated + h2out.released > 0) {
    pools.push(["h2_out_buffer", h2out]);
  }
  pools.sort((a, b) => a[1].size - b[1].size);
  let out = "Dumping pools usage.\n";
  let alloc = 0, used = 0;
  for (const [name, s] of pools) {
    const bytes = s.allocated * s.size;
    alloc += bytes;
    used += s.used * s.size;
    out += `  - Pool ${name} (${s.size} bytes) : ${s.allocated} allocated (${bytes} bytes), ` +
      `${s.used} used (~0 by thread caches), needed_avg ${s.peak}, ${s.failed} failures, ` +
      `1 users\n`;
  }
  return out +
    `Total: ${pools.length} pools, ${alloc} bytes allocated, ${used} used (~0 by thread caches).\n`;
}
