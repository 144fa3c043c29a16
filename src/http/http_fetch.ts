// The HTTP side of sample fetches (HAProxy's http_fetch.c: smp_prefetch_htx()
// and the header lookups behind `hdr()`, `path` …).
//
// Owns: HeadSampleCtx, the SampleCtx (src/sample/types.ts) implemented over
// parsed HTTP/1 heads, their HeadEditors and the connection addresses. It
// decodes a string from the buffer only when a fetch first asks for it and
// caches it for the rest of the request. It never knows which fetches exist
// nor evaluates one (src/sample/ does), and never decides anything.

import type { SampleCtx, SslFacts } from "../sample/types.ts";
import { StkCounters } from "../stick/track.ts";
import { VarStore } from "../sample/vars.ts";
import type { HeadEditor } from "./head_editor.ts";
import { HDR_UNKNOWN, headerNameIdFromString } from "./header_names.ts";
import { type HttpHead, spanToString } from "./types.ts";

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
  /** The stick counters of the connection (kept across its requests; src/stick/track.ts). */
  readonly stk: StkCounters;
  /** Variables: sess for the stream's life, txn/req/res per request. */
  readonly vars: VarStore;
  #src: string;
  #srcPort: number;
  #dst: string;
  #dstPort: number;
  #ssl: SslFacts | null;
  #reqBuf: Uint8Array;
  #req: HttpHead | null;
  #reqEd: HeadEditor | null;
  #resBuf: Uint8Array;
  #res: HttpHead | null;
  #resEd: HeadEditor | null;
  /** HTTP major version the client spoke (2: the request came over HTTP/2). */
  httpMajor: number;
  #kept: KeptRequest | null;
  // Per-request caches of the unedited request (undefined = not decoded yet).
  #method: string | undefined;
  #path: string | undefined;
  #url: string | undefined;
  #query: string | null | undefined;
  #reqHdrs: HeaderCache;
  #resHdrs: HeaderCache;

  constructor() {
    this.httpMajor = 1;
    this.isResponse = false;
    this.stk = new StkCounters();
    this.vars = new VarStore();
    this.#src = "";
    this.#srcPort = 0;
    this.#dst = "";
    this.#dstPort = 0;
    this.#ssl = null;
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
    this.#reqHdrs = new HeaderCache();
    this.#resHdrs = new HeaderCache();
  }

  /** Sets the connection addresses (client src, local dst), its TLS facts; a new session's variables. */
  setConnection(
    src: string,
    srcPort: number,
    dst: string,
    dstPort: number,
    ssl: SslFacts | null = null,
  ): void {
    this.#ssl = ssl;
    this.vars.newSession();
    this.#src = src;
    this.#srcPort = srcPort;
    this.#dst = dst;
    this.#dstPort = dstPort;
  }

  /**
   * Binds a new request (complete parsed head in `buf`) and its editor;
   * forgets every cache, the response and a kept request. isResponse becomes
   * false. `date`: when the request started (epoch ms, `%Ts`), 0 when unknown.
   */
  setRequest(buf: Uint8Array, head: HttpHead, ed: HeadEditor | null = null, date = 0): void {
    this.isResponse = false;
    this.vars.newTxn();
    this.vars.requestDate = date;
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
    this.#reqHdrs.clear();
    this.#resHdrs.clear();
  }

  /** Binds the response head and its editor; isResponse becomes true. */
  setResponse(buf: Uint8Array, head: HttpHead, ed: HeadEditor | null = null): void {
    this.isResponse = true;
    this.vars.endRequest();
    this.#resBuf = buf;
    this.#res = head;
    this.#resEd = ed;
    this.#resHdrs.clear();
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

  /**
   * The request editor when it holds edits the buffer does not show, else
   * null. Appended lines alone (HeadEditor.appendOnly(): a unique-id
   * header, an add-header) leave the start line and the original lines
   * as parsed: the caches still serve them, and reqHeader() adds the
   * appended values.
   */
  #edited(): HeadEditor | null {
    const ed = this.#reqEd;
    return ed !== null && ed.modified && this.#kept === null && !ed.appendOnly() ? ed : null;
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
    if (this.httpMajor === 2) return "2.0";
    return this.#reqHead().version === 10 ? "1.0" : "1.1";
  }

  reqHeader(name: string): string[] {
    if (this.#kept !== null) return this.#kept.headers.get(name.toLowerCase()) ?? NO_VALUES;
    const ed = this.#reqEd;
    if (ed !== null && ed.modified) {
      if (!ed.appendOnly()) return ed.headerValues(name);
      return ed.withAppended(name, headerLines(this.#reqBuf, this.#reqHead(), name, this.#reqHdrs));
    }
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

  ssl(): SslFacts | null {
    return this.#ssl;
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

/**
 * The header values decoded for one message, by the name as a fetch spells
 * it. A message reads few names: a short list searched in order, emptied by
 * resetting its count (a Map's clear() allocates a new table per message).
 *
 * The lists of the message before stay at hand (prev()): a keep-alive client
 * sends the same Host line with every request, and a value whose bytes did
 * not change is served by the string decoded for the previous one (no
 * decoding, no allocation, and a string whose hash a map lookup already
 * computed). Lists are never changed once stored: readers share them.
 */
class HeaderCache {
  #names: string[] = [];
  #values: string[][] = [];
  #n = 0;
  // The previous message's entries (swapped with the current ones by clear()).
  #pNames: string[] = [];
  #pValues: string[][] = [];
  #pn = 0;

  get(name: string): string[] | undefined {
    for (let i = 0; i < this.#n; i++) if (this.#names[i] === name) return this.#values[i];
    return undefined;
  }

  /** The values the previous message had for `name`, if it was read then. */
  prev(name: string): string[] | undefined {
    for (let i = 0; i < this.#pn; i++) if (this.#pNames[i] === name) return this.#pValues[i];
    return undefined;
  }

  set(name: string, values: string[]): void {
    this.#names[this.#n] = name;
    this.#values[this.#n++] = values;
  }

  /** A new message: its entries become the previous ones (their slots are overwritten next). */
  clear(): void {
    if (this.#n === 0) {
      // Nothing was read: the previous message's entries stay the reference.
      return;
    }
    const names = this.#pNames, values = this.#pValues;
    this.#pNames = this.#names;
    this.#pValues = this.#values;
    this.#pn = this.#n;
    this.#names = names;
    this.#values = values;
    this.#n = 0;
  }
}

/** True when bytes buf[start, start + len) are the code units of `s`. */
function sameBytes(buf: Uint8Array, start: number, len: number, s: string): boolean {
  if (s.length !== len) return false;
  for (let i = 0; i < len; i++) if (buf[start + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Values of every kept `name` line of `h`, cached in `cache` by the name as given. */
function headerLines(
  buf: Uint8Array,
  h: HttpHead,
  name: string,
  cache: HeaderCache,
): string[] {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const prev = cache.prev(name);
  // Interned names are looked up by id (no string work per header).
  let id = NAME_IDS.get(name);
  if (id === undefined) {
    id = headerNameIdFromString(name);
    NAME_IDS.set(name, id);
  }
  const key: number | string = id === HDR_UNKNOWN ? name : id;
  // Built once a value differs from the previous message's (null until then).
  let out: string[] | null = null;
  let k = 0;
  for (let i = h.findHeader(buf, key, 0); i >= 0; i = h.findHeader(buf, key, i + 1), k++) {
    const start = h.valueStart(i), len = h.valueLen(i);
    const old = prev !== undefined && k < prev.length ? prev[k] as string : null;
    const v = old !== null && sameBytes(buf, start, len, old) ? old : spanToString(buf, start, len);
    if (out === null) {
      if (v === old) continue;
      // A literal of one sizes the list for the usual single line (a push
      // onto [] reserves room for 17).
      if (k === 0) {
        out = [v];
        continue;
      }
      out = (prev as string[]).slice(0, k);
    }
    out.push(v);
  }
  if (out === null) {
    // Every line as the previous message had it (or no line at all).
    out = k === 0 ? NO_VALUES : k === (prev as string[]).length ? prev! : prev!.slice(0, k);
  }
  cache.set(name, out);
  return out;
}

// Note about invariants: HeadSampleCtx caches are valid for one request
// (setRequest() clears them) and are bypassed as soon as the bound editor is
// modified; a kept request (keepRequest()) wins over the buffer and the
// editor until the next setRequest().
