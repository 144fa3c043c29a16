// The HTTP analysers (HAProxy's http_ana.c): waiting for and parsing heads,
// applying rules, choosing the backend, committing rewritten heads, framing
// and forwarding bodies, and ending each transaction in keep-alive, close or
// tunnel mode. They read and change the stream through its public fields and
// methods; the decisions about sockets stay in processStream().
//
// Buffers: a head is parsed in place when the channel's input is contiguous,
// else from a scratch copy. An unchanged head is forwarded as the bytes that
// arrived; a changed one (rules, dropped duplicates, connection headers) is
// serialized into a prefix buffer written before the body, so no byte that a
// read in flight may target is ever moved.

import type { Channel } from "../channel/channel.ts";
import {
  CF_AUTO_CLOSE,
  CF_DONT_READ,
  CF_READ_ERROR,
  CF_SHUTR,
  CHN_INFINITE_FORWARD,
} from "../channel/types.ts";
import {
  AN_REQ_HTTP_PROCESS_BE,
  AN_REQ_HTTP_PROCESS_FE,
  AN_REQ_HTTP_XFER_BODY,
  AN_REQ_SWITCHING_RULES,
  AN_REQ_WAIT_HTTP,
  AN_RES_ALL_HTTP,
  AN_RES_HTTP_PROCESS_BE,
  AN_RES_HTTP_XFER_BODY,
  AN_RES_WAIT_HTTP,
  ANA_ABORT,
  ANA_CONTINUE,
  ANA_WAIT,
} from "../channel/types.ts";
import { applyForwardFor } from "./forwardfor.ts";
import type { HttpStream } from "./http_stream.ts";
import { abortTxn, countStatus, endQuietly, endTxn, httpError, localReply } from "./txn_end.ts";
import { applyCookieRequest, applyCookieResponse, applyUseServer } from "./persistence.ts";
import { applyStickRequest, applyStickResponse } from "./stick_persist.ts";
import { countHttpErr, countHttpReq, countResponse } from "../stick/track.ts";
import { applyRequestRules, applyResponseRules, RULES_WAIT } from "./verdict.ts";
import { compressBody, compressionRequest, compressionResponse } from "./compression.ts";
import type { HeadEditor } from "./head_editor.ts";
import type { StatsConfig } from "../config/types.ts";
import { buildReply, defaultErrorBody } from "./http_errors.ts";
import {
  SF_ERR_CLICL,
  SF_ERR_CLITO,
  SF_ERR_PRXCOND,
  SF_ERR_SRVCL,
  SF_ERR_SRVTO,
  SF_FINST_C,
  SF_FINST_D,
  SF_FINST_H,
  SF_FINST_R,
} from "../log/termination.ts";
import { TICK_ETERNITY, tickAdd, tickIsExpired } from "../task/ticks.ts";
import { parseRequestHead, parseResponseHead, teOnlyChunked } from "./h1_parse.ts";
import { adoptRequestHead } from "./preset_head.ts";
import { nameOf } from "./error_capture.ts";
import { HDR_CONNECTION } from "./header_names.ts";
import {
  BODY_CHUNKED,
  BODY_NONE,
  BODY_TUNNEL,
  BODY_UNTIL_CLOSE,
  HEAD_F_CL_DROPPED,
  HEAD_F_CL_MERGED,
  HEAD_F_CONN_CLOSE,
  HEAD_F_CONN_KEEPALIVE,
  HEAD_F_CONN_UPGRADE,
  HEAD_F_HAS_TE,
  HEAD_F_HOST_MERGED,
  METH_CONNECT,
  PARSE_ERROR,
  spanToString,
} from "./types.ts";
import {
  TX_ADD_KEEPALIVE,
  TX_CLI_CLOSE,
  TX_REQ_DONE,
  TX_RES_DONE,
  TX_RULES_DONE,
  TX_SRV_CLOSE,
  TX_TUNNEL,
} from "./txn.ts";

/** Header flags that force a head to be re-serialized (some lines must not be forwarded). */
const HEAD_F_NEEDS_REWRITE = HEAD_F_CL_DROPPED | HEAD_F_CL_MERGED | HEAD_F_HOST_MERGED;

/**
 * Returns the buffer holding the channel's whole input contiguously: the
 * channel's own when the input does not wrap, else a scratch copy. Sets
 * `start` in `pos` (reused array, no allocation).
 */
function contiguousInput(s: HttpStream, ch: Channel, pos: Int32Array): Uint8Array | null {
  const buf = ch.buf;
  if (buf === null) return null;
  const p = ch.inPos();
  const n = ch.input;
  if (p + n <= buf.length) {
    pos[0] = p;
    pos[1] = p + n;
    return buf;
  }
  // Request and response heads each have their own scratch buffer: one may
  // still be waiting to be committed while the other is parsed.
  const txn = s.txn!;
  const isReq = ch === s.req;
  let scratch = isReq ? txn.scratch : txn.scratchRes;
  if (scratch === null) {
    scratch = s.ctx.pools.big.alloc();
    if (scratch === null) return null;
    if (isReq) txn.scratch = scratch;
    else txn.scratchRes = scratch;
  }
  // The input may sit in a bulk buffer larger than the scratch one: a head
  // must fit in the scratch anyway (the parser refuses a longer one).
  const m = n < scratch.length ? n : scratch.length;
  const first = buf.length - p;
  if (m <= first) scratch.set(buf.subarray(p, p + m), 0);
  else {
    scratch.set(buf.subarray(p), 0);
    scratch.set(buf.subarray(0, m - first), first);
  }
  pos[0] = 0;
  pos[1] = m;
  return scratch;
}

const POS = new Int32Array(2);

// The wall clock as HAProxy's `date`: read once per scheduler tick, for every
// request that starts at that tick, not once per request (Date.now() costs
// 60-80 ns on this VM's clock). Keyed on the context too, so that two
// processes' worth of tests in one isolate never share a reading.
let dateCtx: object | null = null;
let dateTick = 0;
let dateAtTick = 0;

/** The date of a request whose first byte is seen at tick `now`: not before its connection's accept. */
function requestDate(s: HttpStream, now: number): number {
  if (now !== dateTick || s.ctx !== dateCtx) {
    dateCtx = s.ctx;
    dateTick = now;
    dateAtTick = Date.now();
  }
  return dateAtTick > s.acceptDate ? dateAtTick : s.acceptDate;
}

/** Keeps a refused head for `show errors` when the process keeps them (cold path). */
function captureError(
  s: HttpStream,
  dir: "request" | "response",
  buf: Uint8Array,
  start: number,
  end: number,
  errAt: number,
  reason: string,
): void {
  s.ctx.errorCaptures?.capture(
    dir,
    { frontend: s.fe.name, backend: nameOf(s.be), server: nameOf(s.srv) },
    s.clientAddr,
    buf,
    start,
    end,
    errAt,
    reason,
  );
}

// ---------------------------------------------------------------------------
// Request side

/**
 * AN_REQ_WAIT_HTTP: waits for a complete request head (timeouts: http-keep-alive
 * before the first byte of a follow-up request, http-request after), parses
 * it, and answers 400/408 on failure.
 */
export function httpWaitForRequest(s: HttpStream, req: Channel): number {
  const txn = s.txn!;
  // A pipelined request waits until the previous response has left: its
  // error reply, if any, must not cut that response (the write completion
  // wakes the stream again).
  const now = s.now();
  if (txn.count > 0 && s.res.sending()) {
    txn.tWaitStart = now; // the keep-alive idle time starts once the response has left
    return ANA_WAIT;
  }
  if (req.input > 0 && !txn.gotByte) {
    txn.gotByte = true;
    txn.requestDate = requestDate(s, now);
    txn.tFirstByte = now;
    // From the first byte, the whole head must arrive within http-request.
    const t = s.fe.cfg.timeouts;
    req.analyseExp = tickAdd(txn.count === 0 ? s.tAccept : now, t.httpRequest || t.client);
  }
  if (req.input > 0) {
    const buf = contiguousInput(s, req, POS);
    if (buf === null) return ANA_WAIT; // no scratch buffer now: retry on the next wake
    const g = s.ctx.cfg.global;
    const maxHead = s.ctx.pools.big.size - g.maxrewrite;
    // A head the h2 mux wrote comes with its lines' bounds (preset_head.ts).
    const r = txn.reqPresetLen > 0
      ? adoptRequestHead(
        buf,
        POS[0]!,
        POS[1]!,
        txn.req,
        txn.reqPresetLen,
        txn.reqPresetCount,
        g.maxhdr,
        maxHead,
        g.largeHeadStatus,
      )
      : parseRequestHead(buf, POS[0]!, POS[1]!, txn.req, g.maxhdr, maxHead, g.largeHeadStatus);
    if (r !== 0) txn.reqPresetLen = 0;
    if (r === PARSE_ERROR) {
      s.fe.counters.errors++;
      captureError(s, "request", buf, POS[0]!, POS[1]!, txn.req.errorOffset, txn.req.errorReason);
      countHttpReq(txn.sample.stk, now);
      countHttpErr(txn.sample.stk, now);
      httpError(s, txn.req.errorStatus || 400, SF_ERR_PRXCOND, SF_FINST_R, txn.req.errorReason);
      return ANA_ABORT;
    }
    if (r > 0) {
      txn.reqBuf = buf;
      txn.reqHeadLen = r;
      txn.tHeadDone = now;
      // Only a logged request needs its line as text (the bytes do not stay).
      if (s.fe.logFormat !== null) txn.captureRequestLine();
      txn.bindRequest();
      req.analyseExp = TICK_ETERNITY;
      req.analysers &= ~AN_REQ_WAIT_HTTP;
      s.fe.counters.httpReqs++;
      countHttpReq(txn.sample.stk, now);
      return ANA_CONTINUE;
    }
    // PARSE_NEED_MORE: a full buffer would have been refused by the parser.
  }
  if (req.flags & CF_SHUTR) {
    // The client closed: silently between requests, as an abort mid-head.
    if (!txn.gotByte) endQuietly(s, SF_ERR_CLICL, SF_FINST_R, txn.count === 0);
    else abortTxn(s, SF_ERR_CLICL, SF_FINST_R);
    return ANA_ABORT;
  }
  if (req.analyseExp === TICK_ETERNITY) {
    const t = s.fe.cfg.timeouts;
    const idle = txn.count > 0
      ? (t.httpKeepAlive || t.httpRequest || t.client)
      : (t.httpRequest || t.client);
    req.analyseExp = tickAdd(txn.count > 0 ? txn.tWaitStart : s.tAccept, idle);
  }
  if (tickIsExpired(req.analyseExp, now)) {
    if (!txn.gotByte && txn.count > 0) {
      // Keep-alive idle timeout: not an error, nothing to log.
      endQuietly(s, SF_ERR_CLITO, SF_FINST_R, false);
    } else {
      httpError(s, 408, SF_ERR_CLITO, SF_FINST_R, "timeout");
    }
    return ANA_ABORT;
  }
  return ANA_WAIT;
}

/**
 * AN_REQ_HTTP_PROCESS_FE: the frontend's http-request rules, then the stats
 * applet when the request is for the frontend's stats or Prometheus URI.
 */
export function httpProcessReqFrontend(s: HttpStream, req: Channel): number {
  const txn = s.txn!;
  if (!(txn.flags & TX_RULES_DONE)) {
    const r = applyRequestRules(s, s.fe.httpReqRules);
    if (r === RULES_WAIT) return ANA_WAIT;
    txn.flags |= TX_RULES_DONE;
    if (!r) return ANA_ABORT;
  }
  const stats = s.fe.cfg.stats;
  if (stats !== null) {
    const r = httpStatsApplet(s, req, stats);
    if (r !== ANA_CONTINUE) return r;
  }
  req.analysers &= ~AN_REQ_HTTP_PROCESS_FE;
  return ANA_CONTINUE;
}

/** Largest admin form body the stats applet waits for. */
const STATS_BODY_MAX = 8192;

/** Serves a stats request locally; ANA_CONTINUE when the request is not one. */
function httpStatsApplet(s: HttpStream, req: Channel, cfg: StatsConfig): number {
  const txn = s.txn!;
  const ed = s.txn!.reqEd;
  const target = s.ctx.stats.target(cfg, ed.path());
  if (target === null) return ANA_CONTINUE;
  // The Prometheus URI is scraped without credentials, like HAProxy's exporter service.
  const auth = ed.headerValues("authorization")[0] ?? null;
  if (target !== "prom" && !s.ctx.stats.authorized(cfg, auth)) {
    localReply(
      s,
      buildReply(401, "text/html", defaultErrorBody(401), [
        'www-authenticate: Basic realm="Sluice statistics"',
      ]),
      401,
      SF_FINST_R,
    );
    return ANA_ABORT;
  }
  let body = "";
  const h = txn.req;
  if (h.bodyType !== BODY_NONE) {
    // Admin forms are small: wait until the whole body is in the buffer.
    if (h.contentLength < 0 || h.contentLength > STATS_BODY_MAX) {
      httpError(s, 413, SF_ERR_PRXCOND, SF_FINST_R, "stats body");
      return ANA_ABORT;
    }
    const bodyStart = txn.reqHeadLen;
    if (req.input < bodyStart + h.contentLength) {
      if (req.flags & CF_SHUTR) {
        abortTxn(s, SF_ERR_CLICL, SF_FINST_R);
        return ANA_ABORT;
      }
      return ANA_WAIT;
    }
    const buf = contiguousInput(s, req, POS);
    if (buf === null) return ANA_WAIT;
    body = spanToString(buf, POS[0]! + bodyStart, h.contentLength);
  }
  const r = s.ctx.stats.reply(cfg, target, txn.method, body);
  localReply(
    s,
    buildReply(r.status, r.contentType, new TextEncoder().encode(r.body), r.headers),
    r.status,
    SF_FINST_R,
  );
  return ANA_ABORT;
}

/** AN_REQ_SWITCHING_RULES: use_backend lines in order, then default_backend; 503 when none. */
export function httpProcessSwitchingRules(s: HttpStream, req: Channel): number {
  req.analysers &= ~AN_REQ_SWITCHING_RULES;
  const be = s.fe.selectBackend(s.txn!.sample);
  if (be === null) {
    // Logged like HAProxy's NOSRV case: no server could be used (SC).
    httpError(s, 503, SF_ERR_SRVCL, SF_FINST_C, "no backend");
    return ANA_ABORT;
  }
  s.setBackend(be);
  return ANA_CONTINUE;
}

/**
 * AN_REQ_HTTP_PROCESS_BE: backend rules, forwardfor, connection headers, then
 * commits the head to the channel and asks for a server connection.
 */
export function httpProcessReqBackend(s: HttpStream, req: Channel): number {
  const txn = s.txn!;
  // The head is committed before anything after it is forwarded; the previous
  // request's bytes must be out first (they always are but in odd pipelines).
  if (req.sending()) return ANA_WAIT;
  const be = s.be!;
  if (be.httpReqRules !== s.fe.httpReqRules) {
    const r = applyRequestRules(s, be.httpReqRules);
    if (r === RULES_WAIT) return ANA_WAIT;
    if (!r) {
      req.analysers &= ~AN_REQ_HTTP_PROCESS_BE;
      return ANA_ABORT;
    }
  }
  req.analysers &= ~AN_REQ_HTTP_PROCESS_BE;
  const h = txn.req;
  const ed = s.txn!.reqEd;
  applyForwardFor(s, ed);
  applyCookieRequest(s, ed);
  // use-server before stick match, as HAProxy's SRV_RULES before STICKING_RULES.
  applyUseServer(s);
  applyStickRequest(s);
  compressionRequest(s, ed);
  // Connection mode, decided from the request; the response may still force a close.
  const feOpts = s.fe.cfg.options, beOpts = be.cfg.options;
  // During a soft stop the client is told to go elsewhere after this response.
  // After a reload, a connection of the old frontend does the same.
  const forced = feOpts.has("httpclose") || beOpts.has("httpclose") || s.ctx.stopping ||
    s.fe.retired;
  const wantsClose = forced || !h.keepAlive();
  if (wantsClose) txn.flags |= TX_CLI_CLOSE;
  else if (h.version === 10) txn.flags |= TX_ADD_KEEPALIVE;
  // Connection is hop-by-hop. With http-reuse always, an HTTP/1.1 client's
  // own "Connection: close" closes its side only: the close token is taken
  // out of what the server sees and the server connection is parked for the
  // next client (HAProxy's keep-alive mode). In the other modes no first
  // request may take it, so the close goes on to the server: it closes first
  // and keeps the TIME_WAIT, and the proxy spends nothing on parking and on
  // cancelling the parked read (measured: +25-30 us per close-mode request).
  // HTTP/1.0, framing doubts, Upgrade and CONNECT always close both sides.
  const clientOnly = !forced && be.cfg.httpReuse === "always" && h.version === 11 &&
    (h.flags & (HEAD_F_CONN_CLOSE | HEAD_F_CL_DROPPED | HEAD_F_CONN_UPGRADE)) ===
      HEAD_F_CONN_CLOSE &&
    h.bodyType !== BODY_UNTIL_CLOSE && h.method !== METH_CONNECT;
  const srvClose = (wantsClose && !clientOnly) || feOpts.has("http-server-close") ||
    beOpts.has("http-server-close");
  if (srvClose) {
    txn.flags |= TX_SRV_CLOSE;
    if (h.version === 11 && !(h.flags & HEAD_F_CONN_CLOSE) && h.method !== METH_CONNECT) {
      ed.delHeader("connection");
      ed.addHeader("connection", "close");
    }
  } else if (clientOnly) {
    dropCloseToken(ed);
  }
  // The server connection is chosen while the previous transaction's state
  // is still what the channels show (a clean connection can then be parked).
  s.requestServer();
  // Response rules that read the request need a copy: its bytes do not stay.
  // The request head's bytes may be overwritten once forwarded: response
  // rules that read request fetches need a copy.
  if (s.fe.resRulesUseRequest || (s.be !== null && s.be.resRulesUseRequest)) {
    s.txn!.sample.keepRequest();
  }
  if (
    !commitHead(
      s,
      req,
      txn.reqBuf!,
      txn.reqHeadLen,
      ed.modified || (h.flags & HEAD_F_NEEDS_REWRITE) !== 0,
      ed,
    )
  ) {
    httpError(s, 500, SF_ERR_PRXCOND, SF_FINST_R, "rewrite failed");
    return ANA_ABORT;
  }
  txn.reqBody.reset(h.bodyType === BODY_TUNNEL ? BODY_NONE : h.bodyType, h.contentLength);
  req.analysers |= AN_REQ_HTTP_XFER_BODY;
  s.res.analysers |= AN_RES_ALL_HTTP;
  return ANA_CONTINUE;
}

/**
 * Forwards a parsed head: as-is when unchanged and parsed in place, else
 * serialized into a prefix buffer while the original bytes are skipped.
 * Returns false when the new head does not fit in a buffer.
 */
function commitHead(
  s: HttpStream,
  ch: Channel,
  buf: Uint8Array,
  headLen: number,
  rewrite: boolean,
  ed: HeadEditor | null,
): boolean {
  const start = ch === s.req ? s.txn!.req.start : s.txn!.res.start;
  if (!rewrite && buf === ch.buf) {
    const skipped = start - ch.inPos();
    if (skipped > 0) ch.skipInput(skipped);
    ch.forwardBytes(headLen - (skipped > 0 ? skipped : 0));
    return true;
  }
  // Appended lines only (a unique-id header, X-Forwarded-For): written in
  // the channel's buffer after the original lines, which are forwarded as
  // they came, when nothing else uses the buffer now (no read in flight into
  // it, nothing on its way out) and it has the room. Saves the prefix buffer,
  // the copy of the head and its write view (issue 15).
  if (
    rewrite && buf === ch.buf && !ch.reading && !ch.writing && ch.out === 0 &&
    ch.prefix === null
  ) {
    const p = ch.inPos();
    const end = ed!.appendInPlace(p + ch.input);
    if (end >= 0) {
      ch.insertInput(end - (p + headLen));
      if (start > p) ch.skipInput(start - p);
      ch.forwardBytes(end - start);
      return true;
    }
  }
  // A changed head, or one parsed from a scratch copy: write it from a prefix buffer.
  const pb = ch.allocPrefixBuffer();
  if (pb === null) return false;
  let n: number;
  if (rewrite) n = ed!.serializeInto(pb, 0);
  else {
    // A scratch copy always starts at offset 0, where the parse started.
    n = headLen - start <= pb.length
      ? (pb.set(buf.subarray(start, headLen), 0), headLen - start)
      : -1;
  }
  if (n < 0) {
    s.ctx.pools.big.release(pb);
    return false;
  }
  // One prefix at a time (callers wait until the previous one is written).
  if (!ch.setPrefix(pb, n)) {
    s.ctx.pools.big.release(pb);
    return false;
  }
  ch.skipInput(headLen);
  return true;
}

/** Forwards body bytes of `ch` as the framer validates them; returns -1 on a framing error. */
function forwardBody(
  ch: Channel,
  body: { parse(b: Uint8Array, s: number, e: number): number; done: boolean },
): number {
  const buf = ch.buf;
  if (buf === null) return 0;
  let total = 0;
  while (!body.done && ch.input > 0) {
    const p = ch.inPos();
    const seg = Math.min(ch.input, buf.length - p);
    const n = body.parse(buf, p, p + seg);
    if (n < 0) return -1;
    if (n === 0) break;
    ch.forwardBytes(n);
    total += n;
    if (n < seg) break;
  }
  return total;
}

/** AN_REQ_HTTP_XFER_BODY: streams the request body; 400 on bad chunking. */
export function httpReqForwardBody(s: HttpStream, req: Channel): number {
  const txn = s.txn!;
  if (forwardBody(req, txn.reqBody) < 0) {
    s.fe.counters.errors++;
    httpError(s, 400, SF_ERR_PRXCOND, SF_FINST_D, txn.reqBody.chunked.errorReason);
    return ANA_ABORT;
  }
  if (txn.reqBody.done) {
    req.analysers &= ~AN_REQ_HTTP_XFER_BODY;
    txn.flags |= TX_REQ_DONE;
    // Pipelined requests wait in the kernel until this response is done;
    // with option abortonclose the client is read on, so that its close is
    // seen while the request waits for a server.
    if (!s.be!.cfg.options.has("abortonclose")) req.flags |= CF_DONT_READ;
    return ANA_CONTINUE;
  }
  if (req.flags & CF_SHUTR) {
    abortTxn(s, SF_ERR_CLICL, SF_FINST_D);
    return ANA_ABORT;
  }
  return ANA_WAIT;
}

// ---------------------------------------------------------------------------
// Response side

/**
 * AN_RES_WAIT_HTTP: waits for the response head; relays 1xx interim
 * responses; 502 on an invalid head or a server that closes first, 504 when
 * `timeout server` passes.
 */
export function httpWaitForResponse(s: HttpStream, res: Channel): number {
  const txn = s.txn!;
  for (;;) {
    if (res.input > 0) {
      const buf = contiguousInput(s, res, POS);
      if (buf === null) return ANA_WAIT;
      const g = s.ctx.cfg.global;
      const r = parseResponseHead(
        buf,
        POS[0]!,
        POS[1]!,
        txn.res,
        g.maxhdr,
        txn.req.method,
        s.ctx.pools.big.size - g.maxrewrite,
      );
      if (r === PARSE_ERROR) {
        // A relayed interim response goes out first; the 502 follows it
        // (the head parses the same way again on the next wake).
        if (res.sending()) return ANA_WAIT;
        s.countServerError();
        captureError(
          s,
          "response",
          buf,
          POS[0]!,
          POS[1]!,
          txn.res.errorOffset,
          txn.res.errorReason,
        );
        httpError(s, 502, SF_ERR_PRXCOND, SF_FINST_H, txn.res.errorReason);
        return ANA_ABORT;
      }
      if (r > 0) {
        const st = txn.res.status;
        if (st === 101 && !(txn.req.flags & HEAD_F_CONN_UPGRADE)) {
          // A switch nobody asked for: a tunnel would carry the client's
          // next bytes to the server unchecked (HTTP_RULES: bad framing).
          if (res.sending()) return ANA_WAIT; // a relayed 1xx goes out first
          s.countServerError();
          httpError(s, 502, SF_ERR_PRXCOND, SF_FINST_H, "101 without an upgrade request");
          return ANA_ABORT;
        }
        if (st >= 100 && st < 200 && st !== 101) {
          // Interim response (100 Continue...): relay it and wait for the final one.
          if (res.sending()) return ANA_WAIT;
          const inPlace = buf === res.buf;
          if (!inPlace) {
            if (!commitHead(s, res, buf, r, false, null)) {
              return ANA_WAIT;
            }
          } else {
            const skipped = txn.res.start - res.inPos();
            if (skipped > 0) res.skipInput(skipped);
            res.forwardBytes(r - (skipped > 0 ? skipped : 0));
          }
          txn.res.reset();
          continue;
        }
        if (txn.req.version === 10 && txn.res.bodyType === BODY_CHUNKED) {
          // RFC 9112 §6.1: no Transfer-Encoding to an HTTP/1.0 request (it is
          // forwarded as 1.0). A 1.0 client cannot decode chunks; Sluice does
          // not de-chunk (HAProxy does): a clean 502 rather than a corrupt body.
          s.countServerError();
          httpError(s, 502, SF_ERR_PRXCOND, SF_FINST_H, "chunked response to an HTTP/1.0 request");
          return ANA_ABORT;
        }
        if (
          txn.clientMajor === 2 && txn.res.bodyType !== BODY_NONE &&
          (txn.res.flags & HEAD_F_HAS_TE) && !teOnlyChunked(buf, txn.res)
        ) {
          // The h2 mux drops Transfer-Encoding and de-chunks: a body still
          // coded (gzip, chunked) would reach the client as its content.
          // HAProxy 2.6 answers 502 too.
          if (res.sending()) return ANA_WAIT;
          s.countServerError();
          httpError(s, 502, SF_ERR_PRXCOND, SF_FINST_H, "transfer coding HTTP/2 cannot carry");
          return ANA_ABORT;
        }
        txn.resBuf = buf;
        txn.resHeadLen = r;
        s.bindResponse();
        txn.tResHead = s.now();
        txn.status = st;
        res.analysers &= ~AN_RES_WAIT_HTTP;
        return ANA_CONTINUE;
      }
    }
    break;
  }
  if (res.flags & (CF_SHUTR | CF_READ_ERROR)) {
    if (res.sending()) return ANA_WAIT; // a relayed 1xx goes out first
    if (txn.count > 0 && res.input === 0) {
      // A request that was not the first on its client connection met a
      // server that closed without a byte (typically an idle connection it
      // closed as the request went out). As HAProxy (abort_keep_alive), the
      // client connection is closed without a reply: a client closed on a
      // kept-alive connection retries the request, it would show a 502 to
      // its user. Logged as SH with no status, not counted as a failed
      // response.
      abortTxn(s, SF_ERR_SRVCL, SF_FINST_H);
      return ANA_ABORT;
    }
    s.countServerError();
    httpError(s, 502, SF_ERR_SRVCL, SF_FINST_H, "server closed");
    return ANA_ABORT;
  }
  if (s.serverEstablished()) {
    const t = s.be!.cfg.timeouts.server;
    if (tickIsExpired(tickAdd(s.serverLastActivity(), t), s.now())) {
      s.countServerError();
      httpError(s, 504, SF_ERR_SRVTO, SF_FINST_H, "timeout");
      return ANA_ABORT;
    }
  }
  return ANA_WAIT;
}

/**
 * AN_RES_HTTP_PROCESS_BE: http-response rules (backend then frontend), the
 * client connection mode, then commits the head; tunnels after 101 / CONNECT 2xx.
 */
export function httpProcessResponse(s: HttpStream, res: Channel): number {
  const txn = s.txn!;
  if (res.sending()) return ANA_WAIT;
  res.analysers &= ~AN_RES_HTTP_PROCESS_BE;
  const h = txn.res;
  const ed = s.txn!.resEd;
  countResponse(txn.sample.stk, h.status, s.now());
  if (!applyResponseRules(s)) return ANA_ABORT;
  const tunnel = h.bodyType === BODY_TUNNEL;
  applyCookieResponse(s, ed);
  applyStickResponse(s);
  if (txn.comp !== null) compressionResponse(s, ed);
  if (!tunnel) {
    if (!h.keepAlive()) txn.flags |= TX_SRV_CLOSE;
    // A soft stop began while the request was in progress: this is its last response.
    if (s.ctx.stopping || s.fe.retired) txn.flags |= TX_CLI_CLOSE;
    // A body delimited by the close cannot be followed by another response.
    if (h.bodyType === BODY_UNTIL_CLOSE) txn.flags |= TX_CLI_CLOSE;
    // A refused CONNECT: what the client sent after it was meant for the
    // tunnel, never to be parsed as a request (RFC 9110 §9.3.6).
    if (txn.req.method === METH_CONNECT) txn.flags |= TX_CLI_CLOSE | TX_SRV_CLOSE;
    const reqVer = txn.req.version;
    if (txn.flags & TX_CLI_CLOSE) {
      if (reqVer === 11 && !(h.flags & HEAD_F_CONN_CLOSE)) {
        ed.delHeader("connection");
        ed.addHeader("connection", "close");
      }
    } else if ((txn.flags & TX_ADD_KEEPALIVE) && !(h.flags & HEAD_F_CONN_KEEPALIVE)) {
      if (h.findHeader(txn.resBuf!, HDR_CONNECTION) >= 0) ed.delHeader("connection");
      ed.addHeader("connection", "keep-alive");
    } else if (h.flags & HEAD_F_CONN_CLOSE) {
      // The server closes its side; the client side stays alive.
      ed.delHeader("connection");
      if (reqVer === 10) ed.addHeader("connection", "keep-alive");
    }
  }
  const rewrite = ed.modified || (h.flags & HEAD_F_NEEDS_REWRITE) !== 0;
  if (!commitHead(s, res, txn.resBuf!, txn.resHeadLen, rewrite, ed)) {
    httpError(s, 502, SF_ERR_PRXCOND, SF_FINST_H, "rewrite failed");
    return ANA_ABORT;
  }
  // Forwarded in place as parsed: an h2 client's HEADERS come from the parse.
  const rb = txn.resBuf!;
  if (txn.resSink !== null && !rewrite && rb === res.buf) {
    txn.resSink.headCommitted(rb, h, h.start, h.end - h.start);
  }
  if (tunnel) {
    // Upgrade / CONNECT: both directions now forward everything; the
    // transaction is logged when the tunnel ends, as HAProxy does.
    txn.flags |= TX_TUNNEL;
    countStatus(s, txn.status);
    const req = s.req;
    req.analysers = 0;
    res.analysers = 0;
    req.flags = (req.flags & ~CF_DONT_READ) | CF_AUTO_CLOSE;
    res.flags |= CF_AUTO_CLOSE;
    req.toForward = CHN_INFINITE_FORWARD;
    res.toForward = CHN_INFINITE_FORWARD;
    return ANA_CONTINUE;
  }
  txn.resBody.reset(h.bodyType, h.contentLength);
  res.analysers |= AN_RES_HTTP_XFER_BODY;
  return ANA_CONTINUE;
}

/** AN_RES_HTTP_XFER_BODY: streams the response body, then ends the transaction. */
export function httpResForwardBody(s: HttpStream, res: Channel): number {
  const txn = s.txn!;
  const comp = txn.comp !== null && txn.comp.active;
  const fwd = comp ? compressBody(s, res) : forwardBody(res, txn.resBody);
  if (fwd === -2) return ANA_WAIT; // no buffer for the compressed chunk now
  if (comp && txn.resBody.done && !txn.comp!.finished) return ANA_WAIT; // the last chunk waits
  if (fwd < 0) {
    s.countServerError();
    if (!res.writing && res.totalOut === txn.bytesOutStart) {
      // Not a byte of this response has left: the client can still get a
      // clean 502 instead of a connection closed on nothing.
      res.erase();
      httpError(s, 502, SF_ERR_SRVCL, SF_FINST_D, txn.resBody.chunked.errorReason);
      return ANA_ABORT;
    }
    abortTxn(s, SF_ERR_SRVCL, SF_FINST_D);
    return ANA_ABORT;
  }
  if (!txn.resBody.done) {
    // Compressed a step at a time: what is still in the buffer comes first.
    if (comp && res.input > 0) return ANA_WAIT;
    if (res.flags & (CF_SHUTR | CF_READ_ERROR)) {
      if (txn.resBody.bodyType === BODY_UNTIL_CLOSE && !(res.flags & CF_READ_ERROR)) {
        txn.resBody.done = true; // the close is the end of this body
      } else {
        s.countServerError();
        abortTxn(s, SF_ERR_SRVCL, SF_FINST_D);
        return ANA_ABORT;
      }
    } else {
      return ANA_WAIT;
    }
  }
  // The whole response is forwarded (maybe not yet written).
  res.analysers &= ~AN_RES_HTTP_XFER_BODY;
  txn.flags |= TX_RES_DONE;
  if (!(txn.flags & TX_REQ_DONE)) {
    // The server answered before the request ended: this connection cannot
    // carry another request.
    txn.flags |= TX_CLI_CLOSE | TX_SRV_CLOSE;
  }
  endTxn(s);
  return ANA_CONTINUE;
}

/** Takes the `close` token out of the Connection header lines (other tokens stay). */
function dropCloseToken(ed: HeadEditor): void {
  const kept: string[] = [];
  for (const v of ed.headerValues("connection")) {
    for (const t of v.split(",")) {
      const tok = t.trim();
      if (tok !== "" && tok.toLowerCase() !== "close") kept.push(tok);
    }
  }
  ed.delHeader("connection");
  if (kept.length > 0) ed.addHeader("connection", kept.join(", "));
}
