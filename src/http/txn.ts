// An HTTP transaction (HAProxy's struct http_txn): the parsed request and
// response heads, body framers, connection-mode decisions and the timers of
// the log line. One per stream, reset in place after each response on a
// keep-alive connection: no allocation per request beyond the log line.

import { BodyParser } from "./h1_body.ts";
import { HeadEditor } from "./head_editor.ts";
import { HeadSampleCtx } from "./http_fetch.ts";
import { endSessionCounters } from "../stick/track.ts";
import type { CompState } from "./comp_state.ts";
import { HttpHead, METHOD_NAMES, spanToString } from "./types.ts";
import { type KnownLines, presetRequestHead } from "./preset_head.ts";

/** Close the client connection after this response. */
export const TX_CLI_CLOSE = 0x0001;
/** Close the server connection after this response. */
export const TX_SRV_CLOSE = 0x0002;
/** The connection became a tunnel (101 or CONNECT 2xx). */
export const TX_TUNNEL = 0x0004;
/** Add `Connection: keep-alive` to the response (HTTP/1.0 client keeping alive). */
export const TX_ADD_KEEPALIVE = 0x0008;
/** The request was fully forwarded. */
export const TX_REQ_DONE = 0x0010;
/** The response was fully forwarded. */
export const TX_RES_DONE = 0x0020;
/** This transaction was logged. */
export const TX_LOGGED = 0x0040;
/** The request was answered by the proxy itself (error, return, redirect). */
export const TX_LOCAL_REPLY = 0x0080;
/** The server connection was reused from a previous request. */
export const TX_REUSED_CONN = 0x0100;
/** The frontend's http-request rules ran (the analyser may wait after them). */
export const TX_RULES_DONE = 0x0200;

/**
 * Takes a response head the analysers forward unchanged, as they parsed it:
 * the h2 mux's stream builds HEADERS from the parse instead of reading the
 * bytes again.
 */
export interface ParsedHeadSink {
  /** `head` describes buf[start, start + len), the next bytes the client side will be written. */
  headCommitted(buf: Uint8Array, head: HttpHead, start: number, len: number): void;
}

export class HttpTxn {
  readonly req: HttpHead;
  readonly res: HttpHead;
  /** Editors of the request and response heads (rules, connection headers). */
  readonly reqEd: HeadEditor;
  readonly resEd: HeadEditor;
  /** What ACLs and rules fetch from (bound to the heads and the connection). */
  readonly sample: HeadSampleCtx;
  readonly reqBody: BodyParser;
  readonly resBody: BodyParser;
  /** TX_* flags. */
  flags: number;
  /** Response status (as sent to the client), -1 before any. */
  status: number;
  /** Requests seen on this client connection (this one included). */
  count: number;
  // Request line pieces, decoded on first use (null = not yet) while the
  // head's bytes are intact; captureRequestLine() decodes them for the log
  // before those bytes may be overwritten.
  #method: string | null;
  #uri: string | null;
  /** Ticks: waiting for this request began, its head completed, the response head arrived. */
  tWaitStart: number;
  tHeadDone: number;
  tReqSent: number;
  tResHead: number;
  /** Server named by the request's persistence cookie (usable), null when none. */
  persistSrv: unknown;
  /** `stick on/store-*` keys to store with the server: table, key, table, key … (stick_persist.ts). */
  readonly stickPending: unknown[];
  /** Connect time of the server connection this request used: 0 when reused, -1 when none. */
  tc: number;
  /** Epoch ms of the first byte of this request (log date %tr). */
  requestDate: number;
  /** Tick of the first byte of this request (0 until it came). */
  tFirstByte: number;
  /** Bytes sent to the client for this transaction (log %B), set at log time. */
  bytesOutStart: number;
  bytesInStart: number;
  /** A byte of this request arrived (distinguishes idle keep-alive from a slow request). */
  gotByte: boolean;
  /** Scratch copies of a wrapped request / response head (big pool buffers), null until needed. */
  scratch: Uint8Array | null;
  scratchRes: Uint8Array | null;
  /** Buffer the head spans point into (the channel's or the scratch). */
  reqBuf: Uint8Array | null;
  resBuf: Uint8Array | null;
  /** Where the request rules resume after waiting for a password check (0: from the start). */
  rulesAt: number;
  /** Compression of this response (compression.ts), null when none. */
  comp: CompState | null;
  /** Bytes of the request head (from the channel's input start, leading CRLFs included). */
  reqHeadLen: number;
  resHeadLen: number;
  /**
   * Length of the request head its writer (the h2 mux) delimited already, 0
   * when none (parsed as it arrives); the count of its header lines kept in
   * req's table (-1: too many to keep). See preset_head.ts.
   */
  reqPresetLen: number;
  reqPresetCount: number;
  /** Where the response head goes as parsed (the client's h2 stream), null when nowhere. */
  resSink: ParsedHeadSink | null;

  constructor(maxhdr: number) {
    this.rulesAt = 0;
    this.comp = null;
    this.req = new HttpHead(maxhdr);
    this.res = new HttpHead(maxhdr);
    this.reqEd = new HeadEditor();
    this.resEd = new HeadEditor();
    this.sample = new HeadSampleCtx();
    this.reqBody = new BodyParser();
    this.resBody = new BodyParser();
    this.flags = 0;
    this.status = -1;
    this.count = 0;
    this.#method = null;
    this.#uri = null;
    this.tWaitStart = 0;
    this.tHeadDone = 0;
    this.tReqSent = 0;
    this.tResHead = 0;
    this.requestDate = 0;
    this.tFirstByte = 0;
    this.tc = -1;
    this.persistSrv = null;
    this.stickPending = [];
    this.bytesOutStart = 0;
    this.bytesInStart = 0;
    this.gotByte = false;
    this.scratch = null;
    this.scratchRes = null;
    this.reqBuf = null;
    this.resBuf = null;
    this.reqHeadLen = 0;
    this.resHeadLen = 0;
    this.reqPresetLen = 0;
    this.reqPresetCount = -1;
    this.resSink = null;
  }

  /** Takes the line bounds of the request head its writer will put first in the channel. */
  presetRequest(src: KnownLines, maxhdr: number): void {
    this.reqPresetCount = presetRequestHead(this.req, src, maxhdr);
    this.reqPresetLen = src.len;
  }

  /** Captured request header values (`capture request header`, `http-request capture`). */
  get reqCaptures(): ReadonlyArray<string | null> {
    return this.sample.vars.reqCaptures;
  }

  /** Captured response header values. */
  get resCaptures(): ReadonlyArray<string | null> {
    return this.sample.vars.resCaptures;
  }

  /** The unique id (`unique-id-format`), null when none. */
  get uniqueId(): string | null {
    return this.sample.vars.uniqueId;
  }

  /**
   * Prepares a pooled transaction for a new client connection (the typed
   * arrays of its heads are what makes a fresh one costly).
   */
  recycle(now: number): void {
    this.reset(now);
    this.sample.httpMajor = 1;
    this.resSink = null;
    this.count = 0;
    this.bytesOutStart = 0;
    this.bytesInStart = 0;
    this.scratch = null;
    this.scratchRes = null;
  }

  /** The request method ("" before a head was parsed). */
  get method(): string {
    if (this.#method === null) {
      const h = this.req, buf = this.reqBuf;
      if (buf === null || h.version === 0) return "";
      this.#method = h.methodLen > 0
        ? spanToString(buf, h.methodStart, h.methodLen)
        : METHOD_NAMES[h.method]!;
    }
    return this.#method;
  }

  /** The request target as received ("" before a head was parsed). */
  get uri(): string {
    if (this.#uri === null) {
      const h = this.req, buf = this.reqBuf;
      if (buf === null || h.version === 0) return "";
      this.#uri = spanToString(buf, h.targetStart, h.targetLen);
    }
    return this.#uri;
  }

  /** The client's HTTP major version: 2 when the request came over HTTP/2 (set by the h2 mux's owner). */
  get clientMajor(): number {
    return this.sample.httpMajor;
  }

  set clientMajor(v: number) {
    this.sample.httpMajor = v;
  }

  get version(): string {
    if (this.reqBuf === null) return "";
    if (this.sample.httpMajor === 2) return "HTTP/2.0";
    return this.req.version === 10 ? "HTTP/1.0" : "HTTP/1.1";
  }

  /** "METHOD TARGET VERSION", "" until a head was accepted. */
  get requestLine(): string {
    return this.reqBuf === null ? "" : `${this.method} ${this.uri} ${this.version}`;
  }

  /** Decodes the request line now (for the log: the head's bytes will not stay). */
  captureRequestLine(): void {
    void this.method;
    void this.uri;
  }

  /** Prepares for the next request on the same connection. */
  /** Gives the scratch buffers back to `pool` (the stream ends). */
  releaseScratch(pool: { release(b: Uint8Array): void }): void {
    if (this.scratch !== null) pool.release(this.scratch);
    if (this.scratchRes !== null) pool.release(this.scratchRes);
    this.scratch = null;
    this.scratchRes = null;
  }

  /** The first value of a request header (hash balancing), null when absent or no head. */
  requestHeader(name: string): string | null {
    return this.reqBuf === null ? null : this.req.headerValue(this.reqBuf, name);
  }

  /** The request head was parsed: bind the editor and the sample context to it. */
  bindRequest(): void {
    this.reqEd.reset(this.reqBuf!, this.req);
    this.sample.setRequest(this.reqBuf!, this.req, this.reqEd, this.requestDate);
  }

  /** The response head was parsed: bind the editor and the sample context to it. */
  bindResponse(): void {
    this.resEd.reset(this.resBuf!, this.res);
    this.sample.setResponse(this.resBuf!, this.res, this.resEd);
  }

  reset(now: number): void {
    this.rulesAt = 0;
    this.comp = null;
    this.req.reset();
    this.res.reset();
    this.reqBody.reset(0, -1);
    this.resBody.reset(0, -1);
    this.flags = 0;
    this.status = -1;
    this.#method = null;
    this.#uri = null;
    this.tWaitStart = now;
    this.tHeadDone = 0;
    this.tReqSent = 0;
    this.tResHead = 0;
    this.requestDate = 0;
    this.tFirstByte = 0;
    this.tc = -1;
    this.persistSrv = null;
    if (this.stickPending.length > 0) this.stickPending.length = 0;
    this.gotByte = false;
    this.reqBuf = null;
    this.resBuf = null;
    this.reqHeadLen = 0;
    this.resHeadLen = 0;
    this.reqPresetLen = 0;
    this.reqPresetCount = -1;
  }
}

/**
 * Transactions kept for reuse. Enough for the connection churn of a busy
 * proxy; not for the peak of a burst: after 5,000 idle connections closed
 * at once, a pool of 4,096 kept 12 MB of young transactions alive, and the
 * next two scavenges took 38 and 66 ms to copy and promote them (keep-alive
 * p99 25-32 ms in the round that followed).
 */
export const TXN_POOL_MAX = 256;

/** A free list of transactions, one per process (no allocation per connection). */
export class HttpTxnPool {
  readonly maxhdr: number;
  #free: HttpTxn[];

  constructor(maxhdr: number) {
    this.maxhdr = maxhdr;
    this.#free = [];
  }

  /** Transactions waiting for reuse. */
  get size(): number {
    return this.#free.length;
  }

  alloc(now: number): HttpTxn {
    const t = this.#free.pop();
    if (t === undefined) {
      const n = new HttpTxn(this.maxhdr);
      n.recycle(now);
      return n;
    }
    t.recycle(now);
    return t;
  }

  /** Takes back a transaction whose stream ended; its scratch buffers were released. */
  release(t: HttpTxn): void {
    // The connection ended: its tracked stick counters let go (conn_cur-1).
    if (t.sample.stk.active) endSessionCounters(t.sample.stk);
    if (this.#free.length < TXN_POOL_MAX) this.#free.push(t);
  }
}
