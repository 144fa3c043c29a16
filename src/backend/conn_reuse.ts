// Server-connection reuse (HAProxy's `http-reuse` and the idle-connection
// handling of backend.c): which request may take a parked connection, when
// a connection is clean enough to park, and the hand-over of a connection,
// with its read in flight, between a stream and its server's idle pool
// (idle_conns.ts).
//
// The stream decides when to park or adopt (after a transaction, before a
// request); this file says whether it may and moves the connection. It never
// touches a socket beyond rebinding the stream interface that owns it.

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
import { IdleConn } from "./idle_conns.ts";
import type { Server } from "./server.ts";

/**
 * The fewest transactions a parked connection must have carried for a
 * request to take it, or -1 when the request may not take one. A follow-up
 * request may take any (unless `never`); a first request could not be
 * retried if the server closed that connection meanwhile, so in `safe` mode
 * it never does, in `aggressive` mode only on one that already carried two
 * transactions (its server keeps connections alive), in `always` mode on any.
 */
export function reuseMinTxns(mode: HttpReuse, followUp: boolean): number {
  if (mode === "never") return -1;
  return followUp || mode === "always" ? 0 : mode === "aggressive" ? 2 : -1;
}

/**
 * Whether nothing of the last exchange is still on its way on the server
 * connection of `si` (input bytes in `req` belong to the next request),
 * neither direction is shut or failed, and the only I/O in flight is its
 * read into `res`.
 */
export function connIsClean(si: StreamInterface, res: Channel, req: Channel): boolean {
  return res.isEmpty() && !res.writing && req.out === 0 && req.prefix === null && !req.writing &&
    !(res.flags & (CF_SHUTR | CF_READ_ERROR)) &&
    !(req.flags & (CF_SHUTW | CF_SHUTW_NOW | CF_WRITE_ERROR)) &&
    si.pending === (res.reading ? 1 : 0);
}

/**
 * Parks the server connection of `si` in `srv`'s idle pool, its read in
 * flight into `res` going with it (connIsClean() said yes).
 */
export function parkConn(
  srv: Server,
  si: StreamInterface,
  res: Channel,
  pools: Pools,
  now: number,
): void {
  const ic = new IdleConn(si, pools, now, srv.idle);
  res.moveReadTo(ic.in);
  si.rebind(ic.in, ic.out, ic);
  srv.idle.push(ic);
}

/**
 * Takes the most recently parked connection to `srv` that carried at least
 * `minTxns` transactions and gives it to a stream whose channels are `res`
 * and `req` (empty, no I/O in flight on `res`), its read included; null when
 * none fits.
 */
export function adoptConn(
  srv: Server,
  now: number,
  minTxns: number,
  res: Channel,
  req: Channel,
  owner: SiOwner,
): StreamInterface | null {
  const ic = srv.idle.take(now, minTxns);
  if (ic === null) return null;
  ic.in.moveReadTo(res);
  ic.si.rebind(res, req, owner);
  return ic.si;
}
