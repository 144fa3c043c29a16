// How an HTTP transaction ends (HAProxy's http_end_txn(), http_reply_and_close()
// and the logging of a transaction in http_ana.c): logged and counted once,
// answered by the proxy itself, ended quietly, or followed by the next
// request on a kept-alive connection.
//
// These work on an HttpStream and ask it for the transport things: a
// termination state, the end of the stream, the server connection closed or
// its slot given back, the log line written, a wake-up. They never touch a
// socket.

import { SF_ERR_LOCAL } from "../log/termination.ts";
import {
  AN_REQ_ALL_HTTP,
  AN_REQ_HTTP_XFER_BODY,
  CF_DONT_READ,
  CF_SHUTW_NOW,
} from "../channel/types.ts";
import { TICK_ETERNITY } from "../task/ticks.ts";
import type { HttpStream } from "./http_stream.ts";
import { countBytes, endStreamCounters } from "../stick/track.ts";
import { TX_CLI_CLOSE, TX_LOCAL_REPLY, TX_LOGGED, TX_SRV_CLOSE, TX_TUNNEL } from "./txn.ts";

/**
 * Answers the client with the proxy's error reply for `status`, logs the
 * transaction and closes after the reply is written. `reason` is written
 * with `-d` (the log line has the status and state only).
 */
export function httpError(
  s: HttpStream,
  status: number,
  err: number,
  finst: number,
  reason: string,
): void {
  s.setTermination(err, finst);
  const log = s.ctx.logger;
  if (log.debugEnabled) {
    log.debug(`${s.fe.name} ${s.clientAddr.ip}:${s.clientAddr.port}: ${status} (${reason})`);
  }
  sendReply(s, s.fe.errorReplies.get(status), status);
}

/** Answers with a reply the proxy made (return, redirect, stats) and closes after it. */
export function localReply(s: HttpStream, reply: Uint8Array, status: number, finst: number): void {
  s.setTermination(SF_ERR_LOCAL, finst);
  sendReply(s, reply, status);
}

function sendReply(s: HttpStream, reply: Uint8Array, status: number): void {
  const txn = s.txn!;
  const res = s.res;
  txn.status = status;
  txn.flags |= TX_LOCAL_REPLY;
  if (res.sending()) {
    // Part of a response is already on its way: nothing valid can follow.
    logTxn(s);
    s.endStream();
    return;
  }
  s.closeServerSide();
  res.erase();
  // The reply (prebuilt and shared, or made for this request) is written
  // as it is, whatever its size: no copy, no pool buffer.
  res.setPrefix(reply, reply.length, false);
  httpCloseClientAfterFlush(s);
  txn.flags |= TX_CLI_CLOSE;
  logTxn(s);
  s.wake();
}

/** Counts a response by status class (frontend, backend, server). */
export function countStatus(s: HttpStream, status: number): void {
  const cls = status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
  s.fe.counters.httpResp[cls]!++;
  if (s.be !== null) s.be.counters.httpResp[cls]!++;
  // A server counts only the responses it sent, not the proxy's own
  // 502/503/504 about it (HAProxy does the same).
  const txn = s.txn;
  if (s.srv !== null && txn !== null && txn.tResHead > 0 && !(txn.flags & TX_LOCAL_REPLY)) {
    s.srv.counters.httpResp[cls]!++;
  }
}

/** Ends the stream without a reply; logs only when `log` and no transaction was logged. */
export function endQuietly(s: HttpStream, err: number, finst: number, log: boolean): void {
  s.setTermination(err, finst);
  if (log && !s.fe.cfg.options.has("dontlognull")) logTxn(s);
  else s.txn!.flags |= TX_LOGGED;
  s.endStream();
}

/** A client or server aborted the transaction: log it and end the stream. */
export function abortTxn(s: HttpStream, err: number, finst: number): void {
  s.setTermination(err, finst);
  logTxn(s);
  s.endStream();
}

/** The response was fully forwarded: log, then keep-alive or close. */
export function endTxn(s: HttpStream): void {
  const txn = s.txn!;
  // Bytes after the end of the response are not the next response.
  const srvClose = (txn.flags & TX_SRV_CLOSE) !== 0 || s.res.input > 0;
  // Request bytes the server never took (it answered early and closes)
  // would block the client's next request: close the client side too.
  if (srvClose && s.req.sending()) txn.flags |= TX_CLI_CLOSE;
  // A transaction followed by another on this connection is not the final line.
  logTxn(s, (txn.flags & TX_CLI_CLOSE) !== 0);
  txn.count++;
  s.serverTxnDone();
  if (srvClose) s.closeServerSide();
  // An idle keep-alive server connection does not hold a maxconn slot: the
  // slot counts requests in progress, as HAProxy's served sessions do.
  else s.releaseServer();
  // An HTTP/2 stream carries one request: it ends once its response is
  // out, in the run that writes it (re-armed for a next request that never
  // comes, it waited for one more run, woken by the end of stream the mux
  // gives after END_STREAM).
  if ((txn.flags & TX_CLI_CLOSE) || txn.clientMajor === 2) {
    httpCloseClientAfterFlush(s);
    return;
  }
  httpResetForNextRequest(s);
  // Pipelined bytes may already wait in the buffer: run again for them.
  // Without any, the next read's completion wakes the stream (a run
  // spent for nothing on every keep-alive request otherwise).
  if (s.req.input > 0) s.wake();
}

/**
 * A stream ends on an error or timeout: its transaction is logged when it
 * had started, or when the connection never carried a request (unless
 * `option dontlognull`); an idle keep-alive connection ending is not a
 * request and is not logged.
 */
export function logAbortedTxn(s: HttpStream): void {
  const txn = s.txn!;
  if (txn.gotByte || txn.tHeadDone > 0) logTxn(s);
  else if (txn.count === 0 && !s.fe.cfg.options.has("dontlognull")) logTxn(s);
  else txn.flags |= TX_LOGGED;
}

/**
 * Logs the current HTTP transaction once. `final`: the stream ends after it
 * (false only for a keep-alive transaction another one follows).
 */
export function logTxn(s: HttpStream, final = true): void {
  const txn = s.txn;
  if (txn === null || (txn.flags & TX_LOGGED)) return;
  txn.flags |= TX_LOGGED;
  // Every transaction that got a status counts once, however it ended (a
  // 200 whose body then stalled too); a tunnel counted when it began.
  if (txn.status > 0 && !(txn.flags & TX_TUNNEL)) countStatus(s, txn.status);
  s.writeLog(final);
  txn.bytesOutStart = s.res.totalOut + s.res.out + s.prefixLeft();
  txn.bytesInStart = s.req.totalIn;
  // The request is over for the stick counters (HAProxy frees its stream here).
  const stk = txn.sample.stk;
  if (stk.active) {
    countBytes(stk, txn.bytesInStart, txn.bytesOutStart, s.now());
    endStreamCounters(stk, s.now());
  }
}

/** Re-arms the request analysers for the next request on a keep-alive connection. */
export function httpResetForNextRequest(s: HttpStream): void {
  const req = s.req, res = s.res;
  s.txn!.reset(s.now());
  s.beginNextTxn();
  req.analysers = AN_REQ_ALL_HTTP & ~AN_REQ_HTTP_XFER_BODY;
  res.analysers = 0;
  req.flags &= ~CF_DONT_READ;
  req.analyseExp = TICK_ETERNITY;
}

/** Marks the response channel to close the client once everything is written. */
export function httpCloseClientAfterFlush(s: HttpStream): void {
  s.res.flags |= CF_SHUTW_NOW;
  s.req.analyseExp = TICK_ETERNITY;
  s.req.flags |= CF_DONT_READ;
  s.req.analysers = 0;
  s.res.analysers = 0;
}
