// Server admin actions shared by the runtime API (`set server`, `enable|disable
// server|health`, `set maxconn server`: src/cli/) and the stats page's admin
// form (stats_service.ts): one implementation, so that both change a server
// the same way and tell the balancer and the queues about it (HAProxy's
// srv_adm_set_ready/drain/maint, server_parse_weight_change_request,
// srv_update_addr_port, server_parse_maxconn_change_request).
//
// Each function takes the backend and server already found (findServer()),
// changes them through src/check/ for admin and health state, and returns
// HAProxy's CLI message for the outcome: "" on a silent success, the text
// (ending with "\n") otherwise. Whether the text is an error is `ok`.
// Nothing here parses a command line or touches a socket.

import type { Server } from "../backend/server.ts";
import {
  forceHealth,
  serverReaddressed,
  setChecksEnabled,
  setDrain,
  setMaint,
  setReady,
  setWeight,
} from "../check/mod.ts";
import { isIPv4, isIPv6 } from "../config/units.ts";

/** What an admin action needs of a backend (src/backend/backend.ts's Backend satisfies it). */
export interface AdminBackend {
  readonly name: string;
  readonly servers: readonly Server[];
  readonly lb: { update(): void };
  /** Gives a server's free slots to waiting streams (a raised maxconn, a server back). */
  serveQueues(srv: Server): number;
}

/** The outcome of an action: HAProxy's message ("" = silent success) and whether it worked. */
export interface AdminResult {
  ok: boolean;
  msg: string;
}

const OK: AdminResult = { ok: true, msg: "" };

function fail(msg: string): AdminResult {
  return { ok: false, msg };
}

/** Who changed an address, as HAProxy names the CLI in its messages. */
const UPDATER = "stats socket command";

/**
 * Finds "backend/server" among `backends`. Returns the pair, or HAProxy's
 * message: "Require 'backend/server'." without a slash, "No such backend."
 * or "No such server.".
 */
export function findServer<B extends AdminBackend>(
  backends: readonly B[],
  target: string,
): { be: B; srv: Server } | AdminResult {
  const slash = target.indexOf("/");
  if (slash < 0 || slash === target.length - 1) return fail("Require 'backend/server'.\n");
  const bname = target.slice(0, slash), sname = target.slice(slash + 1);
  const be = backends.find((b) => b.name === bname);
  if (be === undefined) return fail("No such backend.\n");
  const srv = be.servers.find((s) => s.name === sname);
  if (srv === undefined) return fail("No such server.\n");
  return { be, srv };
}

/**
 * `set server B/S state ready|drain|maint` (and the stats form's actions):
 * ready leaves maintenance and drain; drain enters drain and leaves
 * maintenance; maint enters maintenance and leaves drain. Refused (with a
 * message) when the checks were never started for the server (no process).
 */
export function setServerState(be: AdminBackend, srv: Server, state: string): AdminResult {
  if (state !== "ready" && state !== "drain" && state !== "maint") {
    return fail("'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
  }
  let done: boolean;
  if (state === "ready") done = setReady(srv);
  else if (state === "drain") done = setMaint(srv, false) && setDrain(srv, true);
  else done = setDrain(srv, false) && setMaint(srv, true);
  if (!done) return fail("Server state cannot be changed (no state for this server).\n");
  be.lb.update();
  if (srv.usable) be.serveQueues(srv);
  return OK;
}

/**
 * `set server B/S weight N|N%`: N is absolute (0..256); N% is relative to
 * the server's configured weight, capped at 256. A drained server keeps
 * weight 0 and gets the new one when the drain ends.
 */
export function setServerWeight(be: AdminBackend, srv: Server, text: string): AdminResult {
  if (text === "") return fail("Require <weight> or <weight%>.\n");
  const m = /^([+-]?\d+)(%?)(.*)$/.exec(text);
  if (m === null) return fail("Empty weight string empty or preceded by garbage");
  let w = Number(m[1]);
  if (m[2] === "%") {
    if (m[3] !== "") return fail("Trailing garbage in weight string");
    if (w < 0) return fail("Relative weight must be positive.\n");
    w = Math.min(256, Math.floor((srv.cfg.weight * Math.min(w, 25600)) / 100));
  } else if (w < 0 || w > 256) {
    return fail("Absolute weight can only be between 0 and 256 inclusive.\n");
  } else if (m[3] !== "") return fail("Trailing garbage in weight string");
  setWeight(srv, w);
  be.lb.update();
  if (srv.weight > 0) be.serveQueues(srv);
  return OK;
}

/**
 * `set server B/S addr IP [port P]`: changes where new connections (and
 * checks) go; connections in progress stay where they are, and parked
 * idle connections to the old address are closed. Only an IP address is
 * accepted (no name), and only for a TCP server, as HAProxy. The message
 * says what changed, in HAProxy's words.
 */
export function setServerAddr(
  _be: AdminBackend,
  srv: Server,
  ip: string,
  port: string | null,
): AdminResult {
  const cur = srv.address;
  if (ip === "") {
    return fail("set server <b>/<s> addr requires an address and optionally a port.\n");
  }
  const v6 = isIPv6(ip);
  if (!isIPv4(ip) && !v6) return fail(`Invalid addr '${ip}' by '${UPDATER}'\n`);
  if (cur.kind !== "tcp") {
    return fail(
      `Update for the current server address family is only supported through configuration file by '${UPDATER}'\n`,
    );
  }
  let newPort = cur.port;
  let msg = "";
  if (cur.host === ip) msg = "no need to change the addr";
  else msg = `IP changed from '${cur.host}' to '${ip}'`;
  if (port !== null) {
    msg += ", ";
    const p = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
    if (!(p >= 1 && p <= 65535)) {
      return fail(`${msg}problem converting port '${port}' to an int by '${UPDATER}'\n`);
    }
    if (p === cur.port) msg += "no need to change the port";
    else msg += `port changed from '${cur.port}' to '${p}'`;
    newPort = p;
  }
  if (cur.host !== ip || newPort !== cur.port) {
    srv.address = { kind: "tcp", host: ip, port: newPort, family: v6 ? 6 : 4 };
    srv.idle.closeAll();
    serverReaddressed(srv);
  }
  return { ok: true, msg: `${msg} by '${UPDATER}'\n` };
}

/** `set server B/S health up|stopping|down`: forces the operational state (see ServerCheck.forceHealth). */
export function setServerHealth(be: AdminBackend, srv: Server, state: string): AdminResult {
  if (state !== "up" && state !== "stopping" && state !== "down") {
    return fail("'set server <srv> health' expects 'up', 'stopping', or 'down'.\n");
  }
  if (!forceHealth(srv, state)) return fail("No health state for this server.\n");
  be.lb.update();
  return OK;
}

/** `enable|disable health B/S`: resumes or suspends the server's health checks. */
export function setServerChecks(_be: AdminBackend, srv: Server, on: boolean): AdminResult {
  setChecksEnabled(srv, on); // a server without check: nothing to do, silent as HAProxy
  return OK;
}

/**
 * `set maxconn server B/S N`: the server's connection limit (0 = none); a
 * raised limit lets queued streams in at once.
 */
export function setServerMaxconn(be: AdminBackend, srv: Server, text: string): AdminResult {
  if (text === "") return fail("Require <maxconn>.\n");
  const m = /^(\d+)(.*)$/.exec(text);
  if (m === null) return fail("maxconn string empty or preceded by garbage");
  if (m[2] !== "") return fail("Trailing garbage in maxconn string");
  srv.maxconn = Number(m[1]);
  be.lb.update();
  be.serveQueues(srv);
  return OK;
}
