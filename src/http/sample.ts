// Sample fetches and value expressions (HAProxy's sample.c, http_fetch.c and
// the `%[...]` part of log.c's log-format compiler).
//
// Owns: the SampleCtx interface the HTTP analyser implements over a stream
// (and HeadSampleCtx, the implementation over parsed heads), the table of
// fetch methods (`path`, `hdr(name[,occ])`, `src`, `status` …), the parser of
// a fetch expression with its converters (`req.hdr(host),lower`), and value
// expressions: text with `%[fetch]` parts and a few log-format variables
// (`%ci`, `%HU` …), compiled once at config time and rendered per request.
// It never decides anything (acl.ts and http_rules.ts do) and never decodes a
// string before a fetch asks for it.
//
// Strings are byte strings (one code unit per byte, latin1) both ways:
// the wire is decoded that way, and configuration literals are converted
// with toByteString() at compile time.

import { toByteString } from "../acl/pattern.ts";
import type { HeadEditor } from "./head_editor.ts";
import { HDR_UNKNOWN, headerNameIdFromString } from "./header_names.ts";
import { type HttpHead, spanToString } from "./types.ts";
import { didYouMean } from "../tools/suggest.ts";

// ---------------------------------------------------------------------------
// The sample context.

/**
 * What fetches read. The HTTP analyser implements it over the stream (or
 * uses HeadSampleCtx). Every string is a byte string.
 */
export interface SampleCtx {
  /** True while evaluating http-response rules. */
  readonly isResponse: boolean;
  method(): string;
  /** Path without the query. */
  path(): string;
  /** The whole request-target. */
  url(): string;
  /** Query without `?`; null when the target has no `?`. */
  query(): string | null;
  /** "1.1" or "1.0". */
  reqVer(): string;
  /** All values of a request header, one per line (not comma-split); [] if absent. */
  reqHeader(name: string): string[];
  /** Same for the response (always [] while evaluating request rules). */
  resHeader(name: string): string[];
  /** Response status, 0 for requests. */
  status(): number;
  /** Client address text ("127.0.0.1", "::1", "::ffff:1.2.3.4"). */
  src(): string;
  srcPort(): number;
  dst(): string;
  dstPort(): number;
}

/** Shared empty result (never mutated). */
const NO_VALUES: string[] = [];

/** What keepRequest() saves of a request whose bytes are about to leave the buffer. */
interface KeptRequest {
  method: string;
  url: string;
  path: string;
  query: string | null;
  ver: string;
  headers: Map<string, string[]>;
}

/**
 * SampleCtx over parsed heads and connection addresses. One per stream,
 * reused: setConnection() once, setRequest() per request (clears the
 * per-request caches), setResponse() when the response head is parsed.
 *
 * When a HeadEditor is given, fetches read through it once it has been
 * modified, so a rule sees the edits of the rules before it. Until then
 * strings are decoded from the buffer on first use and cached for the rest
 * of the evaluation.
 *
 * Response rules that read request fetches (`path`, `req.hdr(x)` …) need
 * the request head: call keepRequest() before its bytes leave the request
 * buffer (rulesUseRequest() in http_rules.ts says whether it is needed).
 */
export class HeadSampleCtx implements SampleCtx {
  isResponse: boolean;
  #src: string;
  #srcPort: number;
  #dst: string;
  #dstPort: number;
  #reqBuf: Uint8Array;
  #req: HttpHead | null;
  #reqEd: HeadEditor | null;
  #resBuf: Uint8Array;
  #res: HttpHead | null;
  #resEd: HeadEditor | null;
  #kept: KeptRequest | null;
  // Per-request caches of the unedited request (undefined = not decoded yet).
  #method: string | undefined;
  #path: string | undefined;
  #url: string | undefined;
  #query: string | null | undefined;
  #reqHdrs: Map<string, string[]>;
  #resHdrs: Map<string, string[]>;

  constructor() {
    this.isResponse = false;
    this.#src = "";
    this.#srcPort = 0;
    this.#dst = "";
    this.#dstPort = 0;
    this.#reqBuf = new Uint8Array(0);
    this.#req = null;
    this.#reqEd = null;
    this.#resBuf = new Uint8Array(0);
    this.#res = null;
    this.#resEd = null;
    this.#kept = null;
    this.#method = undefined;
    this.#path = undefined;
    this.#url = undefined;
    this.#query = undefined;
    this.#reqHdrs = new Map();
    this.#resHdrs = new Map();
  }

  /** Sets the connection addresses (client src, local dst). */
  setConnection(src: string, srcPort: number, dst: string, dstPort: number): void {
    this.#src = src;
    this.#srcPort = srcPort;
    this.#dst = dst;
    this.#dstPort = dstPort;
  }

  /**
   * Binds a new request (complete parsed head in `buf`) and its editor;
   * forgets every cache, the response and a kept request. isResponse becomes
   * false.
   */
  setRequest(buf: Uint8Array, head: HttpHead, ed: HeadEditor | null = null): void {
    this.isResponse = false;
    this.#reqBuf = buf;
    this.#req = head;
    this.#reqEd = ed;
    this.#res = null;
    this.#resEd = null;
    this.#kept = null;
    this.#method = undefined;
    this.#path = undefined;
    this.#url = undefined;
    this.#query = undefined;
    if (this.#reqHdrs.size > 0) this.#reqHdrs.clear();
    if (this.#resHdrs.size > 0) this.#resHdrs.clear();
  }

  /** Binds the response head and its editor; isResponse becomes true. */
  setResponse(buf: Uint8Array, head: HttpHead, ed: HeadEditor | null = null): void {
    this.isResponse = true;
    this.#resBuf = buf;
    this.#res = head;
    this.#resEd = ed;
    if (this.#resHdrs.size > 0) this.#resHdrs.clear();
  }

  /**
   * Decodes the request line and every request header (edits included) so
   * that request fetches keep working after the request bytes were
   * forwarded and the buffer reused. Allocates; call only when response
   * rules need it.
   */
  keepRequest(): void {
    if (this.#kept !== null || this.#req === null) return;
    const headers = new Map<string, string[]>();
    const ed = this.#reqEd;
    if (ed !== null && ed.modified) {
      for (const [n, v] of ed.allHeaders()) {
        const l = headers.get(n);
        if (l === undefined) headers.set(n, [v]);
        else l.push(v);
      }
    } else {
      const h = this.#req;
      const buf = this.#reqBuf;
      for (let i = 0; i < h.hdrCount; i++) {
        if (h.isDropped(i)) continue;
        const n = spanToString(buf, h.nameStart(i), h.nameLen(i)).toLowerCase();
        const v = spanToString(buf, h.valueStart(i), h.valueLen(i));
        const l = headers.get(n);
        if (l === undefined) headers.set(n, [v]);
        else l.push(v);
      }
    }
    this.#kept = {
      method: this.method(),
      url: this.url(),
      path: this.path(),
      query: this.query(),
      ver: this.reqVer(),
      headers,
    };
  }

  /** The request editor when it holds edits, else null. */
  #edited(): HeadEditor | null {
    const ed = this.#reqEd;
    return ed !== null && ed.modified && this.#kept === null ? ed : null;
  }

  #reqHead(): HttpHead {
    const h = this.#req;
    if (h === null) throw new Error("HeadSampleCtx: no request bound (call setRequest())");
    return h;
  }

  method(): string {
    if (this.#kept !== null) return this.#kept.method;
    const ed = this.#edited();
    if (ed !== null) return ed.method();
    if (this.#method === undefined) {
      const h = this.#reqHead();
      this.#method = spanToString(this.#reqBuf, h.methodStart, h.methodLen);
    }
    return this.#method;
  }

  path(): string {
    if (this.#kept !== null) return this.#kept.path;
    const ed = this.#edited();
    if (ed !== null) return ed.path();
    if (this.#path === undefined) {
      const h = this.#reqHead();
      this.#path = h.pathStart < 0 ? "" : spanToString(this.#reqBuf, h.pathStart, h.pathLen);
    }
    return this.#path;
  }

  url(): string {
    if (this.#kept !== null) return this.#kept.url;
    const ed = this.#edited();
    if (ed !== null) return ed.url();
    if (this.#url === undefined) {
      const h = this.#reqHead();
      this.#url = spanToString(this.#reqBuf, h.targetStart, h.targetLen);
    }
    return this.#url;
  }

  query(): string | null {
    if (this.#kept !== null) return this.#kept.query;
    const ed = this.#edited();
    if (ed !== null) return ed.query();
    if (this.#query === undefined) {
      const h = this.#reqHead();
      this.#query = h.queryStart < 0 ? null : spanToString(this.#reqBuf, h.queryStart, h.queryLen);
    }
    return this.#query;
  }

  reqVer(): string {
    if (this.#kept !== null) return this.#kept.ver;
    return this.#reqHead().version === 10 ? "1.0" : "1.1";
  }

  reqHeader(name: string): string[] {
    if (this.#kept !== null) return this.#kept.headers.get(name.toLowerCase()) ?? NO_VALUES;
    const ed = this.#edited();
    if (ed !== null) return ed.headerValues(name);
    return headerLines(this.#reqBuf, this.#reqHead(), name, this.#reqHdrs);
  }

  resHeader(name: string): string[] {
    const h = this.#res;
    if (h === null) return NO_VALUES;
    const ed = this.#resEd;
    if (ed !== null && ed.modified) return ed.headerValues(name);
    return headerLines(this.#resBuf, h, name, this.#resHdrs);
  }

  status(): number {
    const h = this.#res;
    if (h === null || !this.isResponse) return 0;
    const ed = this.#resEd;
    return ed !== null && ed.modified ? ed.status() : h.status;
  }

  src(): string {
    return this.#src;
  }
  srcPort(): number {
    return this.#srcPort;
  }
  dst(): string {
    return this.#dst;
  }
  dstPort(): number {
    return this.#dstPort;
  }
}

/** Header name (as fetches spell it) → interned id or HDR_UNKNOWN; filled on first use. */
const NAME_IDS = new Map<string, number>();

/** Values of every kept `name` line of `h`, cached in `cache` by the name as given. */
function headerLines(
  buf: Uint8Array,
  h: HttpHead,
  name: string,
  cache: Map<string, string[]>,
): string[] {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let out = NO_VALUES;
  // Interned names are looked up by id (no string work per header).
  let id = NAME_IDS.get(name);
  if (id === undefined) {
    id = headerNameIdFromString(name);
    NAME_IDS.set(name, id);
  }
  const key: number | string = id === HDR_UNKNOWN ? name : id;
  let i = h.findHeader(buf, key, 0);
  while (i >= 0) {
    if (out === NO_VALUES) out = [];
    out.push(spanToString(buf, h.valueStart(i), h.valueLen(i)));
    i = h.findHeader(buf, key, i + 1);
  }
  cache.set(name, out);
  return out;
}

// ---------------------------------------------------------------------------
// Sample types and the fetch table.

/** Boolean sample. */
export const SMP_T_BOOL = 0;
/** Integer sample. */
export const SMP_T_INT = 1;
/** String sample (byte string). */
export const SMP_T_STR = 2;
/** IPv4/IPv6 address, as text. */
export const SMP_T_IP = 3;

/** Names of SMP_T_*, for messages. */
export const SMP_TYPE_NAMES: readonly string[] = ["bool", "integer", "string", "ip"];

/** Reads the connection (addresses, ports). */
export const SMP_USE_CONN = 0x1;
/** Reads the request head. */
export const SMP_USE_REQ = 0x2;
/** Reads the response head (refused in request rules). */
export const SMP_USE_RES = 0x4;
/** Reads the head of the side being evaluated (`hdr`, `fhdr`). */
export const SMP_USE_SIDE = 0x8;

/** Fetch takes no argument. */
const ARG_NONE = 0;
/** `(name[,occ])`: header name and optional occurrence. */
const ARG_HDR = 1;
/** `(name)`: header name only. */
const ARG_HDR_NAME = 2;
/** `(name[,delim])`: query parameter. */
const ARG_PARAM = 3;

// Fetch ids.
const F_TRUE = 0;
const F_FALSE = 1;
const F_PROTO_HTTP = 2;
const F_SRC = 3;
const F_DST = 4;
const F_SRC_PORT = 5;
const F_DST_PORT = 6;
const F_METHOD = 7;
const F_PATH = 8;
const F_URL = 9;
const F_QUERY = 10;
const F_BASE = 11;
const F_REQ_VER = 12;
const F_URL_PARAM = 13;
const F_HDR = 14; // side, comma-split
const F_FHDR = 15; // side, whole lines
const F_HDR_CNT = 16;
const F_FHDR_CNT = 17;
const F_STATUS = 18;
/** Log-format `%HQ`: "?query" or "". */
const F_LV_HQ = 19;
/** Log-format `%HV`: "HTTP/1.1". */
const F_LV_HV = 20;

/** Where a header fetch reads: the evaluated side, the request, or the response. */
const SIDE_CTX = 0;
const SIDE_REQ = 1;
const SIDE_RES = 2;

/** One fetch method of the table. */
export interface FetchDef {
  /** Keyword, e.g. "req.hdr". */
  readonly name: string;
  /** F_* id. */
  readonly id: number;
  /** SMP_T_* output type. */
  readonly type: number;
  /** SMP_USE_* bits. */
  readonly use: number;
  /** ARG_* grammar of its parenthesised arguments. */
  readonly args: number;
  /** SIDE_* for header fetches. */
  readonly side: number;
  /** Yields several values (every header occurrence): ACLs test them all. */
  readonly multi: boolean;
  /** ACL keywords `<name>_beg`, `_end`, `_sub`, `_reg`, `_dir`, `_dom`, `_len`, `_val`, `_ip` exist. */
  readonly derive: boolean;
  /** One-line description for the docs. */
  readonly doc: string;
}

function def(
  name: string,
  id: number,
  type: number,
  use: number,
  args: number,
  side: number,
  multi: boolean,
  derive: boolean,
  doc: string,
): FetchDef {
  return Object.freeze({ name, id, type, use, args, side, multi, derive, doc });
}

const S = SMP_T_STR;
const I = SMP_T_INT;

/** The fetch table (HAProxy names). Aliases point at the same id. */
export const FETCHES: readonly FetchDef[] = Object.freeze([
  def("always_true", F_TRUE, SMP_T_BOOL, 0, ARG_NONE, SIDE_CTX, false, false, "always true"),
  def("always_false", F_FALSE, SMP_T_BOOL, 0, ARG_NONE, SIDE_CTX, false, false, "always false"),
  def(
    "req.proto_http",
    F_PROTO_HTTP,
    SMP_T_BOOL,
    SMP_USE_REQ,
    ARG_NONE,
    SIDE_CTX,
    false,
    false,
    "true: the request is HTTP",
  ),
  def("src", F_SRC, SMP_T_IP, SMP_USE_CONN, ARG_NONE, SIDE_CTX, false, false, "client address"),
  def("dst", F_DST, SMP_T_IP, SMP_USE_CONN, ARG_NONE, SIDE_CTX, false, false, "local address"),
  def("src_port", F_SRC_PORT, I, SMP_USE_CONN, ARG_NONE, SIDE_CTX, false, false, "client port"),
  def("dst_port", F_DST_PORT, I, SMP_USE_CONN, ARG_NONE, SIDE_CTX, false, false, "local port"),
  def("method", F_METHOD, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, false, "request method"),
  def("path", F_PATH, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, true, "path, without query"),
  def("url", F_URL, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, true, "request-target as sent"),
  def("query", F_QUERY, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, false, "query after '?'"),
  def("base", F_BASE, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, true, "Host header + path"),
  def("req.ver", F_REQ_VER, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, false, '"1.0" or "1.1"'),
  def("req_ver", F_REQ_VER, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, false, "alias of req.ver"),
  def(
    "url_param",
    F_URL_PARAM,
    S,
    SMP_USE_REQ,
    ARG_PARAM,
    SIDE_CTX,
    true,
    true,
    "value of query parameter NAME: url_param(NAME[,DELIM])",
  ),
  def("urlp", F_URL_PARAM, S, SMP_USE_REQ, ARG_PARAM, SIDE_CTX, true, true, "alias of url_param"),
  def(
    "hdr",
    F_HDR,
    S,
    SMP_USE_SIDE,
    ARG_HDR,
    SIDE_CTX,
    true,
    true,
    "header values, comma-split (request or response side): hdr(NAME[,OCC])",
  ),
  def("req.hdr", F_HDR, S, SMP_USE_REQ, ARG_HDR, SIDE_REQ, true, true, "request header values"),
  def("res.hdr", F_HDR, S, SMP_USE_RES, ARG_HDR, SIDE_RES, true, true, "response header values"),
  def("fhdr", F_FHDR, S, SMP_USE_SIDE, ARG_HDR, SIDE_CTX, true, true, "whole header lines"),
  def("req.fhdr", F_FHDR, S, SMP_USE_REQ, ARG_HDR, SIDE_REQ, true, true, "whole request lines"),
  def("res.fhdr", F_FHDR, S, SMP_USE_RES, ARG_HDR, SIDE_RES, true, true, "whole response lines"),
  def("hdr_cnt", F_HDR_CNT, I, SMP_USE_SIDE, ARG_HDR_NAME, SIDE_CTX, false, false, "value count"),
  def(
    "req.hdr_cnt",
    F_HDR_CNT,
    I,
    SMP_USE_REQ,
    ARG_HDR_NAME,
    SIDE_REQ,
    false,
    false,
    "request header value count",
  ),
  def(
    "res.hdr_cnt",
    F_HDR_CNT,
    I,
    SMP_USE_RES,
    ARG_HDR_NAME,
    SIDE_RES,
    false,
    false,
    "response header value count",
  ),
  def("fhdr_cnt", F_FHDR_CNT, I, SMP_USE_SIDE, ARG_HDR_NAME, SIDE_CTX, false, false, "line count"),
  def(
    "req.fhdr_cnt",
    F_FHDR_CNT,
    I,
    SMP_USE_REQ,
    ARG_HDR_NAME,
    SIDE_REQ,
    false,
    false,
    "request header line count",
  ),
  def(
    "res.fhdr_cnt",
    F_FHDR_CNT,
    I,
    SMP_USE_RES,
    ARG_HDR_NAME,
    SIDE_RES,
    false,
    false,
    "response header line count",
  ),
  def("status", F_STATUS, I, SMP_USE_RES, ARG_NONE, SIDE_CTX, false, false, "response status"),
]);

const FETCH_BY_NAME: ReadonlyMap<string, FetchDef> = new Map(FETCHES.map((f) => [f.name, f]));

/** The fetch named `name`, or undefined. */
export function findFetch(name: string): FetchDef | undefined {
  return FETCH_BY_NAME.get(name);
}

// Converters.
const CONV_LOWER = 0;
const CONV_UPPER = 1;
/** Converter names, indexed by CONV_*. */
export const CONVERTERS: readonly string[] = Object.freeze(["lower", "upper"]);

/** A compiled fetch expression: method, arguments, converters. */
export interface Fetch {
  readonly def: FetchDef;
  /** Header name (lower-case) or parameter name; "" when none. */
  readonly arg: string;
  /** Header occurrence: >0 from the first, <0 from the last, 0 = all (ACL) / last (value). */
  readonly occ: number;
  /** url_param delimiter. */
  readonly delim: string;
  /** CONV_* ids, applied in order. */
  readonly convs: readonly number[];
  /** Output type after converters. */
  readonly type: number;
  /** Expression as written. */
  readonly text: string;
}

/** Splits a fetch expression into name, arguments (null without parens) and converters. */
export function splitFetchExpr(
  text: string,
):
  | { name: string; args: string[] | null; convs: Array<{ name: string; args: string[] | null }> }
  | {
    error: string;
  } {
  let i = 0;
  const items: Array<{ name: string; args: string[] | null }> = [];
  while (i <= text.length) {
    const m = /^[A-Za-z0-9_.]+/.exec(text.slice(i));
    if (m === null) {
      return { error: `invalid fetch expression '${text}' (expected a name at offset ${i})` };
    }
    const name = m[0];
    i += name.length;
    let args: string[] | null = null;
    if (text.charCodeAt(i) === 0x28) {
      const close = text.indexOf(")", i);
      if (close < 0) return { error: `missing ')' in '${text}'` };
      args = text.slice(i + 1, close).split(",").map((a) => a.trim());
      if (args.length === 1 && args[0] === "") args = [];
      i = close + 1;
    }
    items.push({ name, args });
    if (i === text.length) break;
    if (text.charCodeAt(i) !== 0x2c) {
      return { error: `unexpected '${text.slice(i)}' after '${text.slice(0, i)}'` };
    }
    i++;
  }
  const first = items[0] as { name: string; args: string[] | null };
  return { name: first.name, args: first.args, convs: items.slice(1) };
}

/** True for a header-name token. */
function isTokenName(s: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s);
}

/**
 * Builds a Fetch for `fd` with the parenthesised `args` and converters.
 * Refuses missing or extra arguments, a bad header name or occurrence, and
 * unknown converters; messages name the expression.
 */
export function buildFetch(
  fd: FetchDef,
  args: string[] | null,
  convs: ReadonlyArray<{ name: string; args: string[] | null }>,
  text: string,
): Fetch | { error: string } {
  let arg = "";
  let occ = 0;
  let delim = "&";
  const a = args ?? [];
  switch (fd.args) {
    case ARG_NONE:
      if (a.length > 0) return { error: `fetch method '${fd.name}' takes no argument` };
      break;
    case ARG_HDR:
    case ARG_HDR_NAME: {
      const max = fd.args === ARG_HDR ? 2 : 1;
      if (a.length === 0 || a[0] === "") {
        return { error: `missing header name in '${text}' (expected ${fd.name}(NAME))` };
      }
      if (a.length > max) return { error: `too many arguments in '${text}'` };
      if (!isTokenName(a[0] as string)) {
        return { error: `invalid header name '${a[0]}' in '${text}'` };
      }
      arg = (a[0] as string).toLowerCase();
      if (a.length === 2) {
        const o = a[1] as string;
        if (!/^-?\d+$/.test(o)) return { error: `invalid occurrence '${o}' in '${text}'` };
        occ = Number(o);
      }
      break;
    }
    case ARG_PARAM:
      if (a.length === 0 || a[0] === "") {
        return { error: `missing parameter name in '${text}' (expected ${fd.name}(NAME))` };
      }
      if (a.length > 2) return { error: `too many arguments in '${text}'` };
      arg = toByteString(a[0] as string);
      if (a.length === 2) {
        if ((a[1] as string).length !== 1) {
          return { error: `delimiter must be one character in '${text}'` };
        }
        delim = a[1] as string;
      }
      break;
  }
  const ids: number[] = [];
  let type = fd.type;
  for (const c of convs) {
    const id = CONVERTERS.indexOf(c.name);
    if (id < 0) {
      return {
        error: `unknown converter '${c.name}' in '${text}'${didYouMean(c.name, CONVERTERS)}`,
      };
    }
    if (c.args !== null && c.args.length > 0) {
      return { error: `converter '${c.name}' takes no argument` };
    }
    ids.push(id);
    type = SMP_T_STR;
  }
  return Object.freeze({ def: fd, arg, occ, delim, convs: Object.freeze(ids), type, text });
}

/**
 * Compiles a fetch expression `name[(args)][,conv]…` (the inside of
 * `%[...]`). Refuses unknown fetches (with a suggestion) and bad arguments.
 */
export function compileFetch(text: string): Fetch | { error: string } {
  const sp = splitFetchExpr(text);
  if ("error" in sp) return sp;
  const fd = findFetch(sp.name);
  if (fd === undefined) {
    return {
      error: `unknown fetch method '${sp.name}'${didYouMean(sp.name, FETCHES.map((f) => f.name))}`,
    };
  }
  return buildFetch(fd, sp.args, sp.convs, text);
}

// ---------------------------------------------------------------------------
// Fetch evaluation.

/** Header lines of the side a fetch reads. */
function linesOf(ctx: SampleCtx, f: Fetch): string[] {
  const side = f.def.side;
  const res = side === SIDE_RES || (side === SIDE_CTX && ctx.isResponse);
  return res ? ctx.resHeader(f.arg) : ctx.reqHeader(f.arg);
}

/**
 * Appends the comma-separated elements of `v` (OWS trimmed, double-quoted
 * strings not split) to `out`. A value without a comma is pushed as is.
 */
export function splitCommaInto(v: string, out: string[]): void {
  if (v.indexOf(",") < 0) {
    out.push(v);
    return;
  }
  let i = 0;
  for (;;) {
    let e = i;
    let quoted = false;
    while (e < v.length) {
      const c = v.charCodeAt(e);
      if (c === 0x22) quoted = !quoted;
      else if (c === 0x5c && quoted) e++;
      else if (c === 0x2c && !quoted) break;
      e++;
    }
    let a = i;
    let b = Math.min(e, v.length);
    while (a < b && (v.charCodeAt(a) === 0x20 || v.charCodeAt(a) === 0x09)) a++;
    while (b > a && (v.charCodeAt(b - 1) === 0x20 || v.charCodeAt(b - 1) === 0x09)) b--;
    out.push(v.slice(a, b));
    if (e >= v.length) return;
    i = e + 1;
  }
}

/** Scratch list for multi-valued fetches (single-threaded, consumed at once). */
const SCRATCH: string[] = [];

/**
 * Every occurrence of a multi-valued fetch (header values, query
 * parameters), converters applied, into `out` (cleared first). Returns the
 * count. For a Fetch with an occurrence, at most that one.
 */
export function fetchAll(ctx: SampleCtx, f: Fetch, out: string[]): number {
  out.length = 0;
  switch (f.def.id) {
    case F_HDR: {
      const lines = linesOf(ctx, f);
      for (let i = 0; i < lines.length; i++) splitCommaInto(lines[i] as string, out);
      break;
    }
    case F_FHDR: {
      const lines = linesOf(ctx, f);
      for (let i = 0; i < lines.length; i++) out.push(lines[i] as string);
      break;
    }
    case F_URL_PARAM: {
      const q = ctx.query();
      if (q !== null) paramValues(q, f.arg, f.delim, out);
      break;
    }
    default: {
      const v = fetchOne(ctx, f);
      if (v !== null) out.push(typeof v === "string" ? v : String(v));
      return out.length;
    }
  }
  if (f.occ !== 0) {
    const n = out.length;
    const k = f.occ > 0 ? f.occ - 1 : n + f.occ;
    if (k < 0 || k >= n) out.length = 0;
    else {
      out[0] = out[k] as string;
      out.length = 1;
    }
  }
  if (f.convs.length > 0) {
    for (let i = 0; i < out.length; i++) out[i] = convert(out[i] as string, f.convs);
  }
  return out.length;
}

/** HAProxy's http_is_param_delimiter(): `&`, `;` or the url_param delimiter. */
function isParamDelim(c: number, delim: number): boolean {
  return c === 0x26 || c === 0x3b || c === delim;
}

/**
 * Values of parameter `name` in query `q`, as HAProxy's urlp does (no
 * decoding): parameters end at `&`, `;` or `delim`, and only `name=` is a
 * match (a bare `name` without `=` is not found).
 */
function paramValues(q: string, name: string, delim: string, out: string[]): void {
  const d = delim.length > 0 ? delim.charCodeAt(0) : 0x26;
  const n = q.length;
  let i = 0;
  while (i <= n) {
    let e = i;
    while (e < n && !isParamDelim(q.charCodeAt(e), d)) e++;
    const eq = i + name.length;
    if (eq < e && q.charCodeAt(eq) === 0x3d && q.startsWith(name, i)) {
      out.push(q.slice(eq + 1, e));
    }
    i = e + 1;
  }
}

/** ASCII-only upper-casing (HAProxy's toupper() in the C locale): only a-z change. */
function upperAscii(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 0x61 && c <= 0x7a ? c - 0x20 : c);
  }
  return out;
}

/**
 * Lower-casing of `lower`: ASCII and latin1 letters (0xC0-0xDE but 0xD7), as
 * documented. Byte for byte: the length never changes and nothing above 0xFF
 * is produced (String.toLowerCase() could, for code units above 0xFF).
 */
function lowerLatin1(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const l = (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7) ? c + 0x20 : c;
    out += String.fromCharCode(l);
  }
  return out;
}

function convert(s: string, convs: readonly number[]): string {
  for (let i = 0; i < convs.length; i++) {
    const c = convs[i];
    if (c === CONV_LOWER) s = lowerLatin1(s);
    else if (c === CONV_UPPER) s = upperAscii(s);
  }
  return s;
}

/**
 * One sample: the value of a single-valued fetch, or for multi-valued ones
 * the occurrence asked for (the last one by default, as HAProxy does outside
 * ACLs). Returns null when the sample does not exist (absent header, status
 * of a request, no query).
 */
export function fetchOne(ctx: SampleCtx, f: Fetch): string | number | boolean | null {
  let v: string | number | boolean | null;
  switch (f.def.id) {
    case F_TRUE:
      return true;
    case F_FALSE:
      return false;
    case F_PROTO_HTTP:
      return true;
    case F_SRC:
      v = ctx.src();
      break;
    case F_DST:
      v = ctx.dst();
      break;
    case F_SRC_PORT:
      return ctx.srcPort();
    case F_DST_PORT:
      return ctx.dstPort();
    case F_METHOD:
      v = ctx.method();
      break;
    case F_PATH:
      v = ctx.path();
      break;
    case F_URL:
      v = ctx.url();
      break;
    case F_QUERY:
      v = ctx.query();
      break;
    case F_BASE: {
      const host = ctx.reqHeader("host");
      v = (host.length > 0 ? host[0] as string : "") + ctx.path();
      break;
    }
    case F_REQ_VER:
      v = ctx.reqVer();
      break;
    case F_STATUS: {
      const st = ctx.status();
      return st === 0 ? null : st;
    }
    case F_HDR_CNT: {
      const lines = linesOf(ctx, f);
      let n = 0;
      for (let i = 0; i < lines.length; i++) {
        SCRATCH.length = 0;
        splitCommaInto(lines[i] as string, SCRATCH);
        n += SCRATCH.length;
      }
      return n;
    }
    case F_FHDR_CNT:
      return linesOf(ctx, f).length;
    case F_LV_HQ: {
      const q = ctx.query();
      return q === null ? "" : "?" + q;
    }
    case F_LV_HV:
      return "HTTP/" + ctx.reqVer();
    case F_HDR:
    case F_FHDR:
    case F_URL_PARAM: {
      // fetchAll() already kept only the asked occurrence when occ != 0.
      const n = fetchAll(ctx, f, SCRATCH);
      if (n === 0) return null;
      const k = f.occ !== 0 || f.def.id === F_URL_PARAM ? 0 : n - 1;
      return SCRATCH[k] as string;
    }
    default:
      return null;
  }
  if (v === null || f.convs.length === 0) return v;
  return convert(v, f.convs);
}

/** Renders a sample as text: integers in decimal, booleans "1"/"0", absent "". */
export function sampleToString(v: string | number | boolean | null): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return v ? "1" : "0";
}

// ---------------------------------------------------------------------------
// Value expressions (log-format subset).

/** A compiled value: literal byte strings and fetches, rendered in order. */
export interface ValueExpr {
  /** Literal parts (string) and fetches. */
  readonly parts: ReadonlyArray<string | Fetch>;
  /** The value when it has no fetch (rendering is then free), else null. */
  readonly constant: string | null;
  /** SMP_USE_* bits of its fetches. */
  readonly uses: number;
  /** First fetch that reads the response, for error messages; null when none. */
  readonly resFetch: string | null;
  /** Text as written. */
  readonly source: string;
}

/** Log-format variables accepted in values, mapped to fetches. */
const LOG_VARS: ReadonlyMap<string, FetchDef> = new Map([
  ["ci", FETCH_BY_NAME.get("src") as FetchDef],
  ["cp", FETCH_BY_NAME.get("src_port") as FetchDef],
  ["fi", FETCH_BY_NAME.get("dst") as FetchDef],
  ["fp", FETCH_BY_NAME.get("dst_port") as FetchDef],
  ["HM", FETCH_BY_NAME.get("method") as FetchDef],
  ["HU", FETCH_BY_NAME.get("url") as FetchDef],
  ["HP", FETCH_BY_NAME.get("path") as FetchDef],
  ["HQ", def("%HQ", F_LV_HQ, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, false, '"?query"')],
  ["HV", def("%HV", F_LV_HV, S, SMP_USE_REQ, ARG_NONE, SIDE_CTX, false, false, '"HTTP/1.1"')],
  ["ST", FETCH_BY_NAME.get("status") as FetchDef],
]);

/** Names of the log-format variables values accept (docs and messages). */
export const VALUE_LOG_VARS: readonly string[] = Object.freeze([...LOG_VARS.keys()]);

/**
 * Compiles a value: literal text with `%[fetch[,conv]…]` expressions,
 * log-format variables `%ci %cp %fi %fp %HM %HU %HP %HQ %HV %ST`, and `%%`
 * for a literal `%`. Literal text is converted to a byte string (UTF-8).
 * Refused: an unknown fetch or variable, an unterminated `%[`, a lone `%`.
 * Side checks (a response fetch in a request rule) are the caller's, from
 * `uses` / `resFetch`.
 */
export function compileValue(text: string): ValueExpr | { error: string } {
  const parts: Array<string | Fetch> = [];
  let lit = "";
  let uses = 0;
  let resFetch: string | null = null;
  const add = (f: Fetch): void => {
    if (lit !== "") parts.push(toByteString(lit));
    lit = "";
    parts.push(f);
    uses |= f.def.use;
    if ((f.def.use & SMP_USE_RES) !== 0 && resFetch === null) resFetch = f.text;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c !== "%") {
      lit += c;
      i++;
      continue;
    }
    const n = text[i + 1];
    if (n === "%") {
      lit += "%";
      i += 2;
      continue;
    }
    if (n === "[") {
      const close = text.indexOf("]", i + 2);
      if (close < 0) return { error: `missing ']' after '%[' in '${text}'` };
      const f = compileFetch(text.slice(i + 2, close));
      if ("error" in f) return f;
      add(f);
      i = close + 1;
      continue;
    }
    const m = /^[A-Za-z]+/.exec(text.slice(i + 1));
    const name = m === null ? "" : m[0];
    let fd: FetchDef | undefined;
    let len = 0;
    for (let l = Math.min(2, name.length); l > 0; l--) {
      fd = LOG_VARS.get(name.slice(0, l));
      if (fd !== undefined) {
        len = l;
        break;
      }
    }
    if (fd === undefined) {
      return {
        error: `unknown variable '%${
          name.slice(0, 2)
        }' in '${text}' (use '%%' for a literal '%', '%[fetch]' for a sample)`,
      };
    }
    add(buildFetch(fd, null, [], "%" + name.slice(0, len)) as Fetch);
    i += 1 + len;
  }
  if (lit !== "" || parts.length === 0) parts.push(toByteString(lit));
  const constant = parts.length === 1 && typeof parts[0] === "string" ? parts[0] : null;
  return Object.freeze({ parts: Object.freeze(parts), constant, uses, resFetch, source: text });
}

/** Renders a value for the current request/response (absent samples are ""). */
export function evalValue(v: ValueExpr, ctx: SampleCtx): string {
  if (v.constant !== null) return v.constant;
  let out = "";
  const parts = v.parts;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string | Fetch;
    out += typeof p === "string" ? p : sampleToString(fetchOne(ctx, p));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Note about invariants: a Fetch and a ValueExpr are frozen once compiled;
// fetchAll() leaves its result in the caller's array and uses SCRATCH only
// for counting; HeadSampleCtx caches are valid for one request and are
// bypassed as soon as the bound editor is modified.
