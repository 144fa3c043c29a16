// Which write completions wake a stream (HAProxy's stream_int_notify(): the
// stream task is woken on write activity only when something may wait for it).
//
// A keep-alive request costs four runs of processStream(): the request read,
// the request written to the server, the response read, the response written
// to the client. The second one has nothing to decide: the server's read is
// already in flight and no analyser waits for the request channel to empty.
// Such a completion only refreshes its side's inactivity timer (as
// noteActivity() would have) and the stream sleeps on. A run that is skipped
// can never make a timeout late: a write only delays the expiries (the
// activity tick moves on, an empty buffer turns a client timeout into the
// analyser's); the stream's task keeps the old, earlier expiry and recomputes
// it when that one comes.

import {
  AN_REQ_HTTP_XFER_BODY,
  AN_REQ_WAIT_HTTP,
  AN_RES_HTTP_XFER_BODY,
  CF_DONT_READ,
  CF_SHUTR,
  CF_SHUTW,
  CF_SHUTW_NOW,
  CF_WRITE_ERROR,
  CF_WRITE_PARTIAL,
} from "../channel/types.ts";
import { TX_TUNNEL } from "../http/txn.ts";
import type { Channel } from "../channel/channel.ts";
import type { StreamInterface } from "../si/stream_interface.ts";

/** What the decision reads of a stream (stream.ts's Stream satisfies it). */
export interface WakeView {
  readonly txn:
    | { readonly flags: number; readonly comp: { readonly active: boolean } | null }
    | null;
  readonly req: Channel;
  readonly res: Channel;
}

/**
 * Whether a write that completed on side `side` (of the output channel of
 * that side: res for the client, req for the server) leaves the stream
 * something to decide. `readStarts`: the write completed at once inside
 * processStream(), in the client side's update(), and the server side's
 * update() (which starts its read) comes next in the same run.
 */
export function writeNeedsRun(s: WakeView, side: number, readStarts: boolean): boolean {
  const req = s.req, res = s.res;
  const ob = side === 0 ? res : req;
  // More to write, a shutdown to pass on (CF_SHUTW_NOW after the last byte),
  // a closed or failed side: the stream decides.
  if (!ob.isEmpty() || ob.writing || (ob.flags & (CF_SHUTW | CF_SHUTW_NOW | CF_WRITE_ERROR))) {
    return true;
  }
  // The other side may not read into ob now (its buffer was full, or a
  // read waited for this write to end): update() restarts it, unless the
  // run this write completed in is about to (`readStarts`).
  if (!ob.reading && !readStarts && !(ob.flags & (CF_SHUTR | CF_DONT_READ))) return true;
  const txn = s.txn;
  if (txn === null || (txn.flags & TX_TUNNEL)) {
    // TCP mode and tunnels: forwarding is the whole job once the layer-4
    // rules are done.
    return (req.analysers | res.analysers) !== 0;
  }
  if (side === 1) {
    // Request written: only the body forwarder may run (it reads the input
    // alone); the others wait for the request channel to empty, and the
    // response analysers never look at it.
    return (req.analysers & ~AN_REQ_HTTP_XFER_BODY) !== 0;
  }
  // Response written: the end of the response (the keep-alive next
  // request, the server connection parked), a pipelined request waiting
  // for it, or compression (a chunk at a time) decide. The body forwarder
  // alone does not look at what is written.
  return res.analysers !== AN_RES_HTTP_XFER_BODY || (req.analysers & AN_REQ_WAIT_HTTP) !== 0 ||
    (txn.comp !== null && txn.comp.active);
}

/**
 * A write that needs no run: its side's inactivity timer restarts at `now`
 * here, not at the next run (which may be much later), as noteActivity()
 * does with the flag.
 */
export function noteWrite(si: StreamInterface, now: number): void {
  si.ob.flags &= ~CF_WRITE_PARTIAL;
  si.lastActivity = now;
}
