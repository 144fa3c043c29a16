// The objects every stream needs and an ended stream gives back (HAProxy
// takes a stream's parts from its pools: pool_alloc(pool_head_stream)...):
// its two channels and its two stream interfaces, kept for the next stream
// instead of allocated anew. An HTTP/2 connection opens one stream per
// request: without this, each request allocated two channels with their
// region views, and two interfaces with five bound handlers each.
//
// A part comes back only when its stream ended and every I/O on it settled
// (Stream.onSettled()): no read, write or shutdown can complete into it any
// more, and its buffers are back in their pools. Taking one makes it exactly
// what `new` would (Channel.reuse(), StreamInterface.reuse()): nothing of the
// last stream (flags, analysers, counters, timers, connection) remains.
// The pool is per isolate (parts hold no process state: a channel gets its
// process's buffer pools when taken).

import type { Pools } from "../buf/pool.ts";
import { Channel } from "../channel/channel.ts";
import { type SiOwner, StreamInterface } from "../si/stream_interface.ts";

/**
 * Streams' parts kept for reuse: the churn of a busy HTTP/2 connection,
 * not the peak of a burst (as TXN_POOL_MAX: a big pool keeps young
 * objects alive that every scavenge then copies).
 */
export const STREAM_PARTS_MAX = 256;

// Four parallel free lists: one entry of each per ended stream.
const reqs: Channel[] = [];
const ress: Channel[] = [];
const clis: StreamInterface[] = [];
const srvs: StreamInterface[] = [];

/** What a new stream is made of: fresh channels, and its interfaces bound to them and to `owner`. */
export class StreamParts {
  req: Channel | null = null;
  res: Channel | null = null;
  cli: StreamInterface | null = null;
  srv: StreamInterface | null = null;
}

/** One holder for every take (a stream copies the parts out at once; takes never overlap). */
const TAKEN = new StreamParts();

/** Parts for a new stream of `owner` (reused ones when the pool has some). */
export function takeStreamParts(pools: Pools, owner: SiOwner): StreamParts {
  const t = TAKEN;
  // The four lists always hold as many entries each (releaseStreamParts()).
  if (reqs.length === 0) {
    t.req = new Channel(pools);
    t.res = new Channel(pools);
    t.cli = new StreamInterface(0, t.req, t.res, owner);
    t.srv = new StreamInterface(1, t.res, t.req, owner);
    return t;
  }
  const req = reqs.pop()!, res = ress.pop()!, cli = clis.pop()!, srv = srvs.pop()!;
  req.reuse(pools);
  res.reuse(pools);
  cli.reuse(req, res, owner);
  srv.reuse(res, req, owner);
  t.req = req;
  t.res = res;
  t.cli = cli;
  t.srv = srv;
  return t;
}

/**
 * Gives back an ended stream's parts: its channels (buffers released) and
 * its client and current server interfaces (closed, nothing pending).
 */
export function releaseStreamParts(
  req: Channel,
  res: Channel,
  cli: StreamInterface,
  srv: StreamInterface,
): void {
  if (reqs.length >= STREAM_PARTS_MAX) return;
  cli.park();
  srv.park();
  reqs.push(req);
  ress.push(res);
  clis.push(cli);
  srvs.push(srv);
}

/** Parts waiting for reuse (tests). */
export function streamPartsPooled(): number {
  return reqs.length;
}
