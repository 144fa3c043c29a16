// Inactivity timeouts of a stream (HAProxy's stream.c / stconn.c read and
// write expiries): when each side of a stream is considered idle, given its
// mode (TCP, HTTP, tunnel), what is half-closed, and which side the proxy
// itself is not reading because the other is slow. Only computes ticks from
// the stream's state; process() acts on them.

import {
  AN_REQ_HTTP_XFER_BODY,
  AN_RES_HTTP_XFER_BODY,
  AN_RES_WAIT_HTTP,
  CF_READ_PARTIAL,
  CF_SHUTR,
  CF_SHUTW,
  CF_WRITE_PARTIAL,
} from "../channel/types.ts";
import { TX_TUNNEL } from "../http/txn.ts";
import { TICK_ETERNITY, tickAdd, tickFirst } from "../task/ticks.ts";
import type { Channel } from "../channel/channel.ts";
import type { Timeouts } from "../config/types.ts";
import type { StreamInterface } from "../si/stream_interface.ts";
import { SI_ST_CON, SI_ST_EST, SI_ST_QUE, SI_ST_TAR } from "../si/types.ts";

/** What the expiries read of a stream (stream.ts's Stream satisfies it). */
export interface TimeoutView {
  readonly fe: { readonly cfg: { readonly timeouts: Timeouts } };
  readonly be: { readonly cfg: { readonly timeouts: Timeouts } } | null;
  readonly txn: { readonly flags: number } | null;
  readonly req: Channel;
  readonly res: Channel;
  readonly cli: StreamInterface;
  readonly srvSi: StreamInterface;
}

/**
 * Turns the READ/WRITE_PARTIAL flags the interfaces set since the last run
 * into per-side activity ticks (the inactivity timers restart), and clears them.
 */
export function noteActivity(s: TimeoutView, now: number): void {
  const req = s.req, res = s.res;
  if ((req.flags & CF_READ_PARTIAL) || (res.flags & CF_WRITE_PARTIAL)) s.cli.lastActivity = now;
  if ((res.flags & CF_READ_PARTIAL) || (req.flags & CF_WRITE_PARTIAL)) s.srvSi.lastActivity = now;
  req.flags &= ~(CF_READ_PARTIAL | CF_WRITE_PARTIAL);
  res.flags &= ~(CF_READ_PARTIAL | CF_WRITE_PARTIAL);
}

/** True in HTTP mode outside a tunnel. */
function httpNoTunnel(s: TimeoutView): boolean {
  return s.txn !== null && !(s.txn.flags & TX_TUNNEL);
}

/**
 * Client-side inactivity expiry: client-fin when one direction of the
 * client side is shut, else tunnel (once established, when set), else client.
 * In HTTP mode it runs only while the client is expected to send a body or
 * to read a response; the head wait is the analyser's (http-request).
 */
export function clientExpiry(s: TimeoutView): number {
  const fe = s.fe.cfg.timeouts, be = (s.be ?? s.fe).cfg.timeouts;
  if (httpNoTunnel(s)) {
    const req = s.req;
    const busy = (req.analysers & AN_REQ_HTTP_XFER_BODY) || !s.res.isEmpty();
    // A body the server is slow to take fills the request buffer and the
    // client is no longer read: it is not idle (HAProxy arms no read
    // timeout then); the server side's timeout covers the stall.
    if (!busy || (s.cli.readBlocked && s.res.isEmpty())) return req.analyseExp;
    // A request body the client stopped sending while the response is
    // still awaited from an established server: HAProxy keeps waiting for
    // the server (it may answer early, e.g. 413), so `timeout server`
    // decides and the client gets a 504 (sH), not a silent close (cD).
    if (
      (s.res.analysers & AN_RES_WAIT_HTTP) && s.res.isEmpty() &&
      s.srvSi.state === SI_ST_EST
    ) return req.analyseExp;
    return tickFirst(tickAdd(s.cli.lastActivity, fe.client), req.analyseExp);
  }
  const halfClosed = (s.req.flags & CF_SHUTR) || (s.res.flags & CF_SHUTW);
  let t: number;
  if (halfClosed && fe.clientFin > 0) t = fe.clientFin;
  else if (s.srvSi.state === SI_ST_EST && be.tunnel > 0) {
    return tickAdd(Math.max(s.cli.lastActivity, s.srvSi.lastActivity), be.tunnel);
  } else {
    // Not read because the server is slow to take what we hold, and
    // nothing to write to it: the client is not idle (timeout server).
    if (s.cli.readBlocked && s.res.out === 0 && s.srvSi.state === SI_ST_EST) {
      return TICK_ETERNITY;
    }
    t = fe.client;
  }
  return tickAdd(s.cli.lastActivity, t);
}

/** Server-side inactivity expiry (the mirror of clientExpiry()). */
export function serverExpiry(s: TimeoutView): number {
  const be = (s.be ?? s.fe).cfg.timeouts;
  if (httpNoTunnel(s)) {
    // Only while a response is expected or being received, and not while
    // the server is left unread because the client is slow to take what
    // is already buffered (the client side's timeout covers that stall).
    const res = s.res;
    if (!(res.analysers & (AN_RES_WAIT_HTTP | AN_RES_HTTP_XFER_BODY))) return TICK_ETERNITY;
    if (s.srvSi.readBlocked) return TICK_ETERNITY;
    return tickAdd(s.srvSi.lastActivity, be.server);
  }
  const halfClosed = (s.res.flags & CF_SHUTR) || (s.req.flags & CF_SHUTW);
  let t: number;
  if (halfClosed && be.serverFin > 0) t = be.serverFin;
  else if (be.tunnel > 0) return TICK_ETERNITY; // covered by the client-side tunnel expiry
  else {
    // Not read because the client is slow to take what we hold, and
    // nothing to write to it: the server is not idle (timeout client).
    if (s.srvSi.readBlocked && s.req.out === 0) return TICK_ETERNITY;
    t = be.server;
  }
  return tickAdd(s.srvSi.lastActivity, t);
}

/** The stream's next expiry: its inactivity timers and the server side's pending state. */
export function nextExpiry(s: TimeoutView): number {
  let exp = clientExpiry(s);
  // TCP mode: `tcp-request inspect-delay` (HTTP counts it in clientExpiry()).
  if (s.txn === null && s.req.analysers !== 0) exp = tickFirst(exp, s.req.analyseExp);
  const si = s.srvSi;
  if (si.state === SI_ST_EST) exp = tickFirst(exp, serverExpiry(s));
  else if (si.state === SI_ST_CON || si.state === SI_ST_TAR || si.state === SI_ST_QUE) {
    exp = tickFirst(exp, si.exp);
  }
  return exp;
}
