// The counters a stream moves when a response head arrives and when it ends
// (stats averages, bytes per frontend, backend and server, tracked stick
// counters), kept out of stream.ts. It sees the stream through
// `CountedStream`, a structural view: stream.ts imports this file.

import type { Backend } from "../backend/backend.ts";
import type { Server } from "../backend/server.ts";
import type { Channel } from "../channel/channel.ts";
import type { Frontend } from "../frontend/frontend.ts";
import type { HttpTxn } from "../http/txn.ts";
import { endConnCounters, type StkCounters } from "../stick/track.ts";

/** What the counting reads of a stream. */
export interface CountedStream {
  readonly fe: Frontend;
  readonly be: Backend | null;
  readonly srv: Server | null;
  readonly txn: HttpTxn | null;
  readonly req: Channel;
  readonly res: Channel;
  readonly stk: StkCounters | null;
  readonly tConnected: number;
  now(): number;
}

/**
 * A response head was parsed: its response time (Tr) counts for the stats'
 * averages, from when the request could reach the server.
 */
export function countResponseTime(s: CountedStream): void {
  const txn = s.txn!;
  if (txn.tReqSent > 0 && s.be !== null && s.srv !== null) {
    const tr = s.now() - Math.max(txn.tReqSent, s.tConnected);
    s.be.counters.addRespTime(tr);
    s.srv.counters.addRespTime(tr);
  }
}

/**
 * The stream ends: its bytes count for its frontend, backend, server and
 * tracked counters, and it leaves its backend's current connections
 * (before the final log line, as HAProxy: %bc no longer counts it).
 */
export function countStreamEnd(s: CountedStream, now: number): void {
  const bIn = s.req.totalIn, bOut = s.res.totalOut;
  if (s.stk !== null && s.stk.active) endConnCounters(s.stk, bIn, bOut, now);
  s.fe.counters.addBytes(bIn, bOut);
  if (s.be !== null) {
    s.be.counters.addBytes(bIn, bOut);
    s.be.beconn--;
  }
  if (s.srv !== null) s.srv.counters.addBytes(bIn, bOut);
}
