// Layer 4 of health checks (HAProxy's connect step of tcpcheck.c and the
// error classification of chk_report_conn_err()).
//
// Owns where a check connects (the server address, or `addr`/`port` when set)
// and how a connect attempt turns into a status: established is L4OK (the
// whole check for a TCP check), an error is L4CON with the system message as
// info ("Connection refused"), an I/O error after connect is SOCKERR. The
// connect timeout is not applied here: the check task owns every deadline.
// It connects through the Protocol only, never with Deno.connect.

import type { Server } from "../backend/server.ts";
import type { Address } from "../config/types.ts";
import type { Conn, Protocol } from "../listener/protocol.ts";
import { buildCheckProxyHeader } from "../listener/proxy_proto.ts";
import {
  type CheckOutcome,
  HCHK_STATUS_L4CON,
  HCHK_STATUS_L4OK,
  HCHK_STATUS_SOCKERR,
} from "./types.ts";

/**
 * A connect that may honour an AbortSignal. Protocol.connect takes only the
 * address today; a function of fewer parameters is assignable to this type,
 * so passing the signal is harmless now and frees a hanging SYN at once on a
 * protocol that learns to take it.
 */
type ConnectFn = (addr: Address, signal?: AbortSignal) => Promise<Conn>;

/**
 * Address the checks of `srv` connect to: `addr` and `port` of the server
 * line when set, the server's own address otherwise. A unix-socket server
 * without `addr` is checked on its socket.
 */
export function checkAddress(srv: Server): Address {
  const a = srv.address;
  const host = srv.cfg.checkAddr;
  const port = srv.cfg.checkPort;
  if (a.kind === "unix") {
    if (host === null) return a;
    return { kind: "tcp", host, port: port ?? 0, family: host.includes(":") ? 6 : 4 };
  }
  if (host === null && port === null) return a;
  const h = host ?? a.host;
  return { kind: "tcp", host: h, port: port ?? a.port, family: h.includes(":") ? 6 : 4 };
}

/**
 * `request` preceded by the PROXY header the server expects, when its
 * traffic carries one (`send-proxy*`) and the checks go to the server's own
 * address (no `port` nor `addr`), as HAProxy does without
 * `check-send-proxy`.
 */
export function withCheckProxyHeader(srv: Server, request: Uint8Array): Uint8Array {
  const mode = srv.cfg.sendProxy ?? 0;
  if (mode === 0 || srv.cfg.checkPort !== null || srv.cfg.checkAddr !== null) return request;
  const h = buildCheckProxyHeader(mode);
  const out = new Uint8Array(h.length + request.length);
  out.set(h, 0);
  out.set(request, h.length);
  return out;
}

/** Text of an address for messages and the Host header: "10.0.0.1:80", "[::1]:80", "/path". */
export function addressText(a: Address): string {
  if (a.kind === "unix") return a.path;
  return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Starts a connect through `proto`, passing `signal` along (see ConnectFn). */
export function connectForCheck(
  proto: Protocol,
  addr: Address,
  signal: AbortSignal,
): Promise<Conn> {
  const connect: ConnectFn = proto.connect;
  return connect.call(proto, addr, signal);
}

/**
 * The system message of an error, without Deno's " (os error N)" suffix, so
 * that it reads like HAProxy's strerror() text: "Connection refused".
 */
export function errorInfo(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\(os error \d+\)\s*$/, "");
}

/** Outcome of a connection that was established: the TCP check passed. */
export function l4okOutcome(): CheckOutcome {
  return { status: HCHK_STATUS_L4OK, code: 0, desc: "" };
}

/** Outcome of a connect that failed (refused, unreachable, reset...): L4CON. */
export function connectErrorOutcome(e: unknown): CheckOutcome {
  return { status: HCHK_STATUS_L4CON, code: 0, desc: errorInfo(e) };
}

/** Outcome of an I/O error once connected (reset while writing or reading): SOCKERR. */
export function socketErrorOutcome(e: unknown): CheckOutcome {
  return { status: HCHK_STATUS_SOCKERR, code: 0, desc: errorInfo(e) };
}

/** Closes a connection, ignoring "already closed". */
export function closeConn(c: Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}
