// Server-connection reuse: parking a stream's server connection in its
// server's idle pool and adopting one from it (HAProxy's `http-reuse`, the
// session's own connection list and srv->idle_conns).
//
// A keep-alive server connection belongs to no client while no request is on
// it. In every mode but `never`, a stream parks its server connection as soon
// as its transaction is over and its client is idle (the response written,
// nothing of the exchange left in flight), and its next request takes the
// most recently parked connection the mode allows (its own or another
// client's), or opens one. So a crowd of keep-alive clients idle between
// requests holds about as many server connections as there are requests in
// progress, not one per client: the most recently parked ones keep being
// reused and the others age out (IDLE_PURGE_DELAY). HAProxy prefers the
// session's own connection first and closes half of the surplus every purge
// delay; taking the most recent one converges faster to the same count.
// Which requests may take another client's connection:
//   - safe (default): a client's second and later requests; a first request
//     could not be retried if the server closed that connection meanwhile;
//   - aggressive: also a first request, on a connection that already carried
//     two transactions (its server keeps connections alive);
//   - always: any request;
//   - never: none, and nothing is parked while the client lives.
//
// A parked connection keeps its read in flight, into the buffer it had: the
// buffer moves with it (Channel.moveReadTo), and so does the offset where the
// read's bytes land. Any event on it while parked (the server closes, or
// talks out of turn) closes it (IdleConn.onIo). This file holds the rules
// and the moves; the stream decides when, and keeps its own bookkeeping
// (server slot, log timers).

import type { Pools } from "../buf/pool.ts";
import type { Channel } from "../channel/channel.ts";
import {
  CF_READ_ERROR,
  CF_SHUTR,
  CF_SHUTW,
  CF_SHUTW_NOW,
  CF_WRITE_ERROR,
} from "../channel/types.ts";
import type { HttpReuse } from "../config/types.ts";
import type { SiOwner, StreamInterface } from "../si/stream_interface.ts";
import type { IdleConn } from "./idle_conns.ts";
import type { Server } from "./server.ts";

/**
 * Transactions a parked connection must have carried for a request to take
 * it under `mode`; -1 when the request may take none. `followUp`: not the
 * first request of its client connection.
 */
export function reuseMinTxns(mode: HttpReuse, followUp: boolean): number {
  if (mode === "never") return -1;
  if (followUp || mode === "always") return 0;
  return mode === "aggressive" ? 2 : -1;
}

/**
 * True when nothing of the last exchange over the server connection `si`
 * (reading into `res`, writing from `req`) is still on its way, so that it
 * can serve another request: no response byte held, no request byte
 * forwarded but unwritten (input bytes of `req` belong to the next request),
 * no shutdown or error on either direction, and no operation in flight but
 * the read.
 */
export function connIsClean(si: StreamInterface, res: Channel, req: Channel): boolean {
  return res.isEmpty() && !res.writing && req.out === 0 && req.prefix === null &&
    !req.writing && si.pending === (res.reading ? 1 : 0) &&
    !(res.flags & (CF_SHUTR | CF_READ_ERROR)) &&
    !(req.flags & (CF_SHUTW | CF_SHUTW_NOW | CF_WRITE_ERROR));
}

/**
 * Parks the established connection of `si`, whose read is in flight into
 * `res` (it must be: nothing else would notice the server closing it), in
 * `srv`'s idle pool; `res` is left without a buffer. The caller
 * checked connIsClean() and its own rules, and stops using `si` when this
 * returns true; false: no room in the idle budget (the caller closes it).
 */
export function parkConn(
  srv: Server,
  si: StreamInterface,
  res: Channel,
  pools: Pools,
  now: number,
): boolean {
  // A connection that began with a client's PROXY header is that client's
  // alone (HAProxy marks it private): it is never parked for another one.
  if (!srv.idle.hasRoom() || (srv.cfg.sendProxy ?? 0) !== 0) return false;
  const ic = srv.idle.holder(pools);
  res.moveReadTo(ic.in);
  si.rebind(ic.in, ic.out, ic);
  ic.hold(si, now);
  srv.idle.push(ic);
  return true;
}

/**
 * Takes the most recently parked connection to `srv` that carried at least
 * `minTxns` transactions (reuseMinTxns()) and was opened with `key` (the
 * SNI of the server's `sni` expression for this request, else null; a
 * connection opened for another name is never reused: HAProxy hashes the
 * SNI into the connection's hash); null when none.
 */
export function takeConn(
  srv: Server,
  now: number,
  minTxns: number,
  key: string | null = null,
): IdleConn | null {
  return srv.idle.take(now, minTxns, key);
}

/**
 * Moves a taken connection to its new owner: the read in flight and its
 * buffer into `res` (empty, no I/O in flight), writes from `req`. The holder
 * goes back to its pool. Returns the connection's interface.
 */
export function adoptConn(
  ic: IdleConn,
  res: Channel,
  req: Channel,
  owner: SiOwner,
): StreamInterface {
  const si = ic.si!;
  ic.in.moveReadTo(res);
  si.rebind(res, req, owner);
  ic.pool.recycle(ic);
  return si;
}
