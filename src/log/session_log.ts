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
import type { Logger } from "./log.ts";
import type { LogLineFormat } from "./types.ts";

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

/** A context with every field set (one shape), to be filled by sessionLogContext(). */
export function newLogContext(): LogContext {
  return {
    reqCaptures: NO_CAPTURES,
    resCaptures: NO_CAPTURES,
    uniqueId: "",
    sample: undefined,
    clientIp: "",
    clientPort: 0,
    frontendIp: "",
    frontendPort: 0,
    acceptDate: 0,
    requestDate: 0,
    frontend: "",
    backend: "",
    server: "",
    serverIp: "",
    serverPort: null,
    tq: -1,
    tw: -1,
    tc: -1,
    tr: -1,
    ta: -1,
    tt: -1,
    status: 0,
    bytesOut: 0,
    bytesIn: 0,
    termState: "",
    actconn: 0,
    feconn: 0,
    beconn: 0,
    srvconn: 0,
    retries: "0",
    srvQueue: 0,
    beQueue: 0,
    requestLine: "",
    pid: Deno.pid,
    ssl: false,
    sslVersion: null,
    sslCipher: null,
  };
}

/**
 * The values of a log line for `s` at tick `now`, written into `into` (the
 * stream's lines reuse one context: a line leaves no object behind); `final` is the session's
 * last line (a keep-alive transaction's line is not), `actconn` the
 * process's current sessions.
 */
export function sessionLogContext(
  s: LogSource,
  now: number,
  final: boolean,
  actconn: number,
  into: LogContext = newLogContext(),
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
  const c = into;
  // One shape for every line: absent captures are empty lists.
  c.reqCaptures = txn?.reqCaptures ?? NO_CAPTURES;
  c.resCaptures = txn?.resCaptures ?? NO_CAPTURES;
  c.uniqueId = txn?.uniqueId ?? "";
  c.sample = txn?.sample;
  c.clientIp = s.clientAddr.ip;
  c.clientPort = s.clientAddr.port;
  c.frontendIp = s.frontAddr.ip;
  c.frontendPort = s.frontAddr.port;
  c.acceptDate = s.acceptDate;
  c.requestDate = reqDate;
  c.frontend = s.fe.name;
  c.backend = s.be !== null ? s.be.name : s.fe.name;
  c.server = srv !== null && s.tConnStart > 0 ? srv.name : "<NOSRV>";
  // The server connection's address: none ("-") when no connection was attempted.
  c.serverIp = addr !== null && addr.kind === "tcp" ? addr.host : "";
  c.serverPort = addr !== null && addr.kind === "tcp" ? addr.port : null;
  c.tq = tq;
  c.tw = tw;
  c.tc = tc;
  c.tr = tr;
  c.ta = ta;
  c.tt = tt;
  c.status = status;
  c.bytesOut = bytesOut;
  c.bytesIn = bytesIn;
  c.termState = terminationState(s.err, s.finst);
  c.actconn = actconn;
  c.feconn = s.fe.feconn;
  // HAProxy lowers beconn before logging a transaction (at its end in
  // keep-alive, at the stream's end otherwise): this stream is not
  // counted. Sluice keeps it counted until the stream ends, which releases
  // it before the final line.
  c.beconn = s.be !== null ? s.be.beconn - s.logSelfInBackend() : 0;
  // A slot still held (released right after this line) is not counted on a final line.
  c.srvconn = srv !== null ? srv.cur - s.logHeldSlot(final) : 0;
  c.retries = s.redispatched ? `+${s.retries}` : String(s.retries);
  c.srvQueue = s.srvQueuePos;
  c.beQueue = s.beQueuePos;
  c.requestLine = requestLine;
  c.ssl = tls !== null;
  c.sslVersion = tls?.protocol ?? null;
  c.sslCipher = tls?.cipher ?? null;
  return c;
}

/** The context every session line is built in (one line at a time: nothing left per line). */
const LINE_CTX = newLogContext();

/**
 * Writes the line of `s` in format `fmt` to frontend `fe`'s targets: the
 * context is filled, the line written into the logger's buffer, then queued.
 */
export function writeSessionLine(
  logger: Logger,
  fmt: LogLineFormat,
  s: LogSource,
  now: number,
  final: boolean,
  actconn: number,
  fe: number,
): void {
  const c = sessionLogContext(s, now, final, actconn, LINE_CTX);
  fmt.write(c, logger.startLine());
  logger.sessionLine(fe);
  // The shared context must not keep this transaction's sample context alive.
  c.sample = undefined;
}
