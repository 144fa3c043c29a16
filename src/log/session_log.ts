// The facts of one session (or one HTTP transaction) turned into the values
// a log line shows (HAProxy's log.c sess_build_logline() inputs: the
// timers, counters, names and states of `%Tw/%Tc/%Tt`, `%ac/%fc/%bc/%sc`,
// `%ts` ...). The stream gives its facts through LogSource; the compiled
// format (log_format.ts) renders the LogContext this builds.
//
// It never reads a stream's internals beyond LogSource and never writes a
// line itself (the logger does).

import type { Address } from "../config/types.ts";
import type { LogContext } from "./log_format.ts";
import type { SampleCtx } from "../sample/types.ts";
import { terminationState } from "./termination.ts";

/** What a log line reads of an HTTP transaction (http/txn.ts's HttpTxn satisfies it). */
export interface LogTxnFacts {
  /** Transactions already done on this client connection. */
  readonly count: number;
  /** Ticks: first request byte, head complete, request sent, response head (0: never). */
  readonly tFirstByte: number;
  readonly tHeadDone: number;
  readonly tReqSent: number;
  readonly tResHead: number;
  /** Connect time of this transaction's server connection (0 when reused, -1 none). */
  readonly tc: number;
  readonly status: number;
  /** The request line, "" when none was parsed (`<BADREQ>`). */
  readonly requestLine: string;
  /** The session's byte counters when this transaction started. */
  readonly bytesOutStart: number;
  readonly bytesInStart: number;
  /** Epoch ms of the request's first byte (0: none). */
  readonly requestDate: number;
  /** Captured header values by slot, the unique id (absent: none). */
  readonly reqCaptures?: ReadonlyArray<string | null>;
  readonly resCaptures?: ReadonlyArray<string | null>;
  readonly uniqueId?: string | null;
  /** What `%[...]` log fields read. */
  readonly sample?: SampleCtx;
}

/** What a log line reads of a session (stream/stream.ts's Stream satisfies it). */
export interface LogSource {
  readonly clientAddr: { readonly ip: string; readonly port: number };
  readonly frontAddr: { readonly ip: string; readonly port: number };
  /** Epoch ms of the accept; tick of the accept. */
  readonly acceptDate: number;
  readonly tAccept: number;
  /** Ticks: first connection attempt, connection established (0: never); time queued. */
  readonly tConnStart: number;
  readonly tConnected: number;
  readonly tQueued: number;
  /** Termination cause and stage (termination.ts). */
  readonly err: number;
  readonly finst: number;
  readonly retries: number;
  readonly redispatched: boolean;
  readonly srvQueuePos: number;
  readonly beQueuePos: number;
  readonly fe: { readonly name: string; readonly feconn: number };
  readonly be: { readonly name: string; readonly beconn: number } | null;
  readonly srv: { readonly name: string; readonly cur: number; readonly address: Address } | null;
  readonly txn: LogTxnFacts | null;
  readonly req: { readonly totalIn: number };
  readonly res: { readonly totalOut: number };
  /** TLS facts of the client connection, null in cleartext. */
  readonly clientTls?: { readonly protocol: string | null; readonly cipher: string | null } | null;
  /** The session waited in a server queue. */
  logQueued(): boolean;
  /** Bytes queued for the client and not yet written; 0 once the session aborted (they never leave). */
  logPendingOut(): number;
  /** 1 while the session still counts in its backend's beconn (HAProxy logs it uncounted). */
  logSelfInBackend(): number;
  /** 1 when a final line is written while the session still holds its server slot. */
  logHeldSlot(final: boolean): number;
}

/** Shared empty capture list. */
const NO_CAPTURES: ReadonlyArray<string | null> = Object.freeze([]);

/**
 * The values of a log line for `s` at tick `now`; `final` is the session's
 * last line (a keep-alive transaction's line is not), `actconn` the
 * process's current sessions.
 */
export function sessionLogContext(
  s: LogSource,
  now: number,
  final: boolean,
  actconn: number,
): LogContext {
  const srv = s.srv;
  const txn = s.txn;
  const tls = s.clientTls ?? null;
  const tt = now - s.tAccept;
  let tc = s.tConnected > 0 ? s.tConnected - s.tConnStart : -1;
  const tw = s.tConnStart > 0 || s.logQueued() ? s.tQueued : -1;
  let tq = -1, tr = -1, ta = tt;
  // HAProxy logs %ST 0 without an HTTP transaction (TCP mode).
  let status = 0;
  let requestLine = "";
  let bytesOut = s.res.totalOut;
  let bytesIn = s.req.totalIn;
  let reqDate = s.acceptDate;
  if (txn !== null) {
    // A follow-up request's timers start at its first byte (the idle time
    // before it is nobody's), a first request's at the accept.
    const start = txn.count > 0 && txn.tFirstByte > 0 ? txn.tFirstByte : s.tAccept;
    tq = txn.tHeadDone > 0 ? txn.tHeadDone - start : -1;
    // Tr counts from when the request could reach the server: sent on a
    // reused connection, or the moment a new one was established.
    tr = txn.tResHead > 0 && txn.tReqSent > 0
      ? txn.tResHead - Math.max(txn.tReqSent, s.tConnected)
      : -1;
    tc = txn.tc;
    ta = now - start;
    status = txn.status;
    requestLine = txn.requestLine; // "" renders <BADREQ>
    // Bytes of this transaction: everything queued for the client since the
    // last one; on an abort only what was written (the rest never leaves,
    // a write still in flight included).
    bytesOut = s.res.totalOut + s.logPendingOut() - txn.bytesOutStart;
    bytesIn = s.req.totalIn - txn.bytesInStart;
    if (txn.requestDate > 0) reqDate = txn.requestDate;
  }
  const addr = srv !== null && s.tConnStart > 0 ? srv.address : null;
  return {
    // One shape for every line: absent captures are empty lists.
    reqCaptures: txn?.reqCaptures ?? NO_CAPTURES,
    resCaptures: txn?.resCaptures ?? NO_CAPTURES,
    uniqueId: txn?.uniqueId ?? "",
    sample: txn?.sample,
    clientIp: s.clientAddr.ip,
    clientPort: s.clientAddr.port,
    frontendIp: s.frontAddr.ip,
    frontendPort: s.frontAddr.port,
    acceptDate: s.acceptDate,
    requestDate: reqDate,
    frontend: s.fe.name,
    backend: s.be !== null ? s.be.name : s.fe.name,
    server: srv !== null && s.tConnStart > 0 ? srv.name : "<NOSRV>",
    // The server connection's address: none ("-") when no connection was attempted.
    serverIp: addr !== null && addr.kind === "tcp" ? addr.host : "",
    serverPort: addr !== null && addr.kind === "tcp" ? addr.port : null,
    tq,
    tw,
    tc,
    tr,
    ta,
    tt,
    status,
    bytesOut,
    bytesIn,
    termState: terminationState(s.err, s.finst),
    actconn,
    feconn: s.fe.feconn,
    // HAProxy lowers beconn before logging a transaction (at its end in
    // keep-alive, at the stream's end otherwise): this stream is not
    // counted. Sluice keeps it counted until the stream ends, which releases
    // it before the final line.
    beconn: s.be !== null ? s.be.beconn - s.logSelfInBackend() : 0,
    // A slot still held (released right after this line) is not counted on a final line.
    srvconn: srv !== null ? srv.cur - s.logHeldSlot(final) : 0,
    retries: s.redispatched ? `+${s.retries}` : String(s.retries),
    srvQueue: s.srvQueuePos,
    beQueue: s.beQueuePos,
    requestLine,
    pid: Deno.pid,
    ssl: tls !== null,
    sslVersion: tls?.protocol ?? null,
    sslCipher: tls?.cipher ?? null,
  };
}
