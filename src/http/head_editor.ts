// Head editor: header and start-line rewrites on a parsed HTTP/1 head, and
// the serialization of the rewritten head (HAProxy's http_htx.c helpers
// http_add_header / http_replace_header_value / http_replace_req_path … and
// the H1 re-encoding the mux does on output).
//
// Owns: the edits http-request / http-response rules (and the analysers
// themselves: X-Forwarded-For, Connection) make to one message, the view of
// the headers "as edited" that later rules read, and the bytes of the new
// head. It never parses (h1_parse.ts did), never writes into the source
// buffer, and never decides anything about framing: the analyser keeps using
// the flags of the parsed head.
//
// Cost model: reset() does nothing but remember the head. Appending headers
// (the X-Forwarded-For on every request) keeps the editor in "append mode":
// rewriteInPlace(), serializeInto() and serialize() copy the original bytes
// in one or a few runs and write the new lines before the final CRLF,
// without decoding a single header. Any
// other edit "materialises" the header list: entries that point at the
// original lines (name and value spans, decoded only when compared or
// edited) plus new entries. Untouched lines are always copied byte for byte,
// so the original spelling of names and values survives.
//
// Strings are byte strings (one code unit per byte, latin1), like the rest
// of the HTTP layer; configuration text goes through toByteString() first.
// On output, CR, LF and NUL in a value become a space (a rule can never
// inject a header), and bytes that are not allowed in a request-target are
// percent-encoded by the URI setters.

import { reasonPhrase } from "./status.ts";
import { TARGET_CHAR, TCHAR, TO_LOWER } from "./_chars.ts";
import {
  HDR_CONTENT_LENGTH,
  HDR_TRANSFER_ENCODING,
  headerNameIdFromString,
} from "./header_names.ts";
import { HEAD_F_RESPONSE, type HttpHead, spanToString } from "./types.ts";
import type { RegexMatch, RegexMatcher } from "../regex/regex.ts";
import type { ValuePieces } from "../sample/value_pieces.ts";
import { copyBytes } from "../buf/copy.ts";
import { putDecimal } from "../buf/decimal.ts";

/** How del-header compares names (applied to the header name, as in HAProxy). */
export type HdrNameMatch = "str" | "beg" | "end" | "sub";

const CRLF_0 = 0x0d;
const CRLF_1 = 0x0a;
const SP_B = 0x20;
const COLON_B = 0x3a;

const HEX = "0123456789ABCDEF";

/**
 * Percent-encodes what may not appear in a request-target (controls, space,
 * `#`, DEL, bytes ≥ 0x80), so that a rewritten start line always reparses.
 * Returns `s` itself when nothing needs encoding.
 */
export function sanitizeTarget(s: string): string {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c > 0xff || !TARGET_CHAR[c]) break;
    i++;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    out += TARGET_CHAR[c] ? s[i] : "%" + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}

/** True when `s` is a non-empty token (method, header name). */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || !TCHAR[c]) return false;
  }
  return true;
}

/**
 * Expands HAProxy-style back-references `\0`..`\9` in `repl` with the groups
 * of `m` (a missing group is empty); `\\` is a backslash.
 */
export function expandBackrefs(repl: string, m: RegexMatch): string {
  if (repl.indexOf("\\") < 0) return repl;
  let out = "";
  for (let i = 0; i < repl.length; i++) {
    const c = repl.charCodeAt(i);
    if (c === 0x5c && i + 1 < repl.length) {
      const d = repl.charCodeAt(i + 1);
      if (d >= 0x30 && d <= 0x39) {
        out += m[d - 0x30] ?? "";
        i++;
        continue;
      }
      if (d === 0x5c) {
        out += "\\";
        i++;
        continue;
      }
    }
    out += repl[i];
  }
  return out;
}

/**
 * Edits one parsed head. Reused: one per stream side, reset() per message.
 * Every method that changes the message sets `modified`; methods that find
 * nothing to change leave the editor as it was.
 */
export class HeadEditor {
  /** True once an edit changed the message. */
  modified: boolean;

  #buf: Uint8Array;
  #head: HttpHead | null;
  /** The header list is materialised in the #e* arrays. */
  #full: boolean;
  // Append mode: lines to add after the original ones.
  // Only the first #nAdd slots count: the arrays keep their backing stores
  // from message to message (a length store would free them and every
  // appended line allocate them again).
  #addN: string[];
  /** The value, or null while it is only in #addP (joined on the first read as text). */
  #addV: (string | null)[];
  /** The value as pieces (addHeaderPieces()), else null. */
  #addP: (ValuePieces | null)[];
  #nAdd: number;
  // Materialised list: original index (-1 for new), name (null = original
  // bytes), value (null = original bytes).
  #eOrig: number[];
  #eName: (string | null)[];
  #eValue: (string | null)[];
  // Start line; null / 0 = original.
  #method: string | null;
  #target: string | null;
  #status: number;
  #reason: string | null;

  constructor() {
    this.modified = false;
    this.#buf = new Uint8Array(0);
    this.#head = null;
    this.#full = false;
    this.#addN = [];
    this.#addV = [];
    this.#addP = [];
    this.#nAdd = 0;
    this.#eOrig = [];
    this.#eName = [];
    this.#eValue = [];
    this.#method = null;
    this.#target = null;
    this.#status = 0;
    this.#reason = null;
  }

  /**
   * Binds the editor to a complete parsed head in `buf` and forgets previous
   * edits. Costs nothing else. The head and the buffer must stay unchanged
   * until serialize() (or until the last rule ran).
   */
  reset(buf: Uint8Array, head: HttpHead): void {
    this.modified = false;
    this.#buf = buf;
    this.#head = head;
    this.#full = false;
    // Most heads are never edited: skip the length stores (each one is a
    // call into V8's array length setter) when there is nothing to clear.
    this.#nAdd = 0;
    if (this.#eOrig.length !== 0) {
      this.#eOrig.length = 0;
      this.#eName.length = 0;
      this.#eValue.length = 0;
    }
    this.#method = null;
    this.#target = null;
    this.#status = 0;
    this.#reason = null;
  }

  /** The bound head; throws when reset() was never called (a bug). */
  #h(): HttpHead {
    const h = this.#head;
    if (h === null) throw new Error("HeadEditor used before reset() or after rewriteInPlace()");
    return h;
  }

  /** True when serialize() must be used: an edit was made or the parser dropped a line. */
  needsSerialize(): boolean {
    if (this.modified) return true;
    const h = this.#h();
    for (let i = 0; i < h.hdrCount; i++) if (h.isDropped(i)) return true;
    return false;
  }

  // -------------------------------------------------------------------------
  // Name comparisons without decoding.

  /** Original header i is named `lower` (lower-case). */
  #origNameIs(i: number, lower: string): boolean {
    const h = this.#h();
    const len = h.nameLen(i);
    if (len !== lower.length) return false;
    const s = h.nameStart(i);
    const buf = this.#buf;
    for (let k = 0; k < len; k++) {
      if (TO_LOWER[buf[s + k] as number] !== lower.charCodeAt(k)) return false;
    }
    return true;
  }

  /** Name of materialised entry k, lower-case. */
  #entryNameLower(k: number): string {
    const n = this.#eName[k];
    if (n !== null && n !== undefined) return n.toLowerCase();
    const h = this.#h();
    const i = this.#eOrig[k] as number;
    return spanToString(this.#buf, h.nameStart(i), h.nameLen(i)).toLowerCase();
  }

  /** Materialised entry k is named `lower`. */
  #entryNameIs(k: number, lower: string): boolean {
    const n = this.#eName[k];
    if (n !== null && n !== undefined) {
      return n.length === lower.length && n.toLowerCase() === lower;
    }
    return this.#origNameIs(this.#eOrig[k] as number, lower);
  }

  /** Value of materialised entry k. */
  #entryValue(k: number): string {
    const v = this.#eValue[k];
    if (v !== null && v !== undefined) return v;
    const h = this.#h();
    const i = this.#eOrig[k] as number;
    return spanToString(this.#buf, h.valueStart(i), h.valueLen(i));
  }

  /** Switches to the materialised list (kept lines + appended ones). */
  #materialise(): void {
    if (this.#full) return;
    const h = this.#h();
    for (let i = 0; i < h.hdrCount; i++) {
      if (h.isDropped(i)) continue;
      this.#eOrig.push(i);
      this.#eName.push(null);
      this.#eValue.push(null);
    }
    for (let k = 0; k < this.#nAdd; k++) {
      this.#eOrig.push(-1);
      this.#eName.push(this.#addN[k] as string);
      this.#eValue.push(this.#addValue(k));
    }
    this.#nAdd = 0;
    this.#full = true;
  }

  /** Removes materialised entry k. */
  #removeEntry(k: number): void {
    this.#eOrig.splice(k, 1);
    this.#eName.splice(k, 1);
    this.#eValue.splice(k, 1);
  }

  /** Number of current lines named `lower`. */
  #count(lower: string): number {
    let n = 0;
    if (this.#full) {
      for (let k = 0; k < this.#eOrig.length; k++) if (this.#entryNameIs(k, lower)) n++;
      return n;
    }
    const h = this.#h();
    for (let i = 0; i < h.hdrCount; i++) if (!h.isDropped(i) && this.#origNameIs(i, lower)) n++;
    for (let k = 0; k < this.#nAdd; k++) {
      if ((this.#addN[k] as string).toLowerCase() === lower) n++;
    }
    return n;
  }

  // -------------------------------------------------------------------------
  // Header edits.

  /**
   * Current values of header `name` (any case), in order, reflecting every
   * edit so far; [] when absent. Values are whole lines (not comma-split).
   */
  headerValues(name: string): string[] {
    const lower = name.toLowerCase();
    const out: string[] = [];
    if (this.#full) {
      for (let k = 0; k < this.#eOrig.length; k++) {
        if (this.#entryNameIs(k, lower)) out.push(this.#entryValue(k));
      }
      return out;
    }
    const h = this.#h();
    for (let i = 0; i < h.hdrCount; i++) {
      if (!h.isDropped(i) && this.#origNameIs(i, lower)) {
        out.push(spanToString(this.#buf, h.valueStart(i), h.valueLen(i)));
      }
    }
    for (let k = 0; k < this.#nAdd; k++) {
      if ((this.#addN[k] as string).toLowerCase() === lower) out.push(this.#addValue(k));
    }
    return out;
  }

  /**
   * True when the only edits so far appended lines after the original ones
   * (add-header, set-header of an absent header, a unique-id header): the
   * start line and the original lines read as parsed, so that a reader may
   * keep its own cache of them and add withAppended().
   */
  appendOnly(): boolean {
    return !this.#full && this.#method === null && this.#target === null && this.#status === 0;
  }

  /**
   * While appendOnly(): `base`, the values of the original `name` lines (as
   * headerValues() lists them first), followed by those of the appended
   * `name` lines; `base` itself (no allocation) when no appended line has
   * that name. `name` is compared without case.
   */
  withAppended(name: string, base: string[]): string[] {
    let out = base;
    for (let k = 0; k < this.#nAdd; k++) {
      if (!sameNameNoCase(this.#addN[k] as string, name)) continue;
      if (out === base) out = base.slice();
      out.push(this.#addValue(k));
    }
    return out;
  }

  /**
   * Every current header line as [lower-case name, value], in order, edits
   * applied and dropped lines left out. Allocates: meant for snapshots, not
   * for the per-request path.
   */
  allHeaders(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    if (this.#full) {
      for (let k = 0; k < this.#eOrig.length; k++) {
        out.push([this.#entryNameLower(k), this.#entryValue(k)]);
      }
      return out;
    }
    const h = this.#h();
    const buf = this.#buf;
    for (let i = 0; i < h.hdrCount; i++) {
      if (h.isDropped(i)) continue;
      out.push([
        spanToString(buf, h.nameStart(i), h.nameLen(i)).toLowerCase(),
        spanToString(buf, h.valueStart(i), h.valueLen(i)),
      ]);
    }
    for (let k = 0; k < this.#nAdd; k++) {
      out.push([(this.#addN[k] as string).toLowerCase(), this.#addValue(k)]);
    }
    return out;
  }

  /** Appends a `name: value` line after the existing ones (add-header). */
  addHeader(name: string, value: string): void {
    if (this.#full) {
      this.#eOrig.push(-1);
      this.#eName.push(name);
      this.#eValue.push(value);
    } else {
      this.#addN[this.#nAdd] = name;
      this.#addP[this.#nAdd] = null;
      this.#addV[this.#nAdd++] = value;
    }
    this.modified = true;
  }

  /**
   * addHeader() of a value kept as pieces (the unique id): in append mode
   * the line is written from the pieces, which must not change until the
   * head is written; the joined string is made only if a reader asks for
   * the value.
   */
  addHeaderPieces(name: string, value: ValuePieces): void {
    if (this.#full) {
      this.addHeader(name, value.text());
      return;
    }
    this.#addN[this.#nAdd] = name;
    this.#addP[this.#nAdd] = value;
    this.#addV[this.#nAdd++] = null;
    this.modified = true;
  }

  /** The value of appended line k as text (pieces joined once). */
  #addValue(k: number): string {
    const v = this.#addV[k];
    if (v !== null && v !== undefined) return v;
    const t = (this.#addP[k] as ValuePieces).text();
    this.#addV[k] = t;
    return t;
  }

  /** putLine() of appended line k, from its pieces while it has no text. */
  #putAdded(dst: Uint8Array | null, p: number, k: number): number {
    const v = this.#addV[k];
    if (v !== null && v !== undefined) return putLine(dst, p, this.#addN[k] as string, v);
    const pieces = this.#addP[k] as ValuePieces;
    p = putStr(dst, p, this.#addN[k] as string);
    p = putByte(dst, p, COLON_B);
    p = putByte(dst, p, SP_B);
    if (dst === null) p += pieces.length;
    else {
      for (let i = 0; i < pieces.count; i++) {
        const it = pieces.item(i);
        if (typeof it === "string") p = putValue(dst, p, it);
        else if (typeof it === "number") p = putDecimal(dst, p, it);
        else {
          copyBytes(dst, p, it, 0, it.length);
          p += it.length;
        }
      }
    }
    return putCrlf(dst, p);
  }

  /**
   * Removes every `name` line then appends `name: value` (set-header). When
   * the header is absent this is an append and keeps the fast path.
   */
  setHeader(name: string, value: string): void {
    const lower = name.toLowerCase();
    if (this.#count(lower) > 0) {
      this.#materialise();
      for (let k = this.#eOrig.length - 1; k >= 0; k--) {
        if (this.#entryNameIs(k, lower)) this.#removeEntry(k);
      }
    }
    this.addHeader(name, value);
  }

  /**
   * Removes header lines by name (del-header). `name` is compared with
   * `mode` (exact by default, all case-insensitive) or is a regex tested
   * against the lower-case name. Pattern modes (anything but an exact name)
   * never remove Content-Length or Transfer-Encoding: framing is the
   * analyser's. Returns the number of lines removed.
   */
  delHeader(name: string | RegexMatcher, mode: HdrNameMatch = "str"): number {
    const exact = typeof name === "string" && mode === "str";
    const lower = typeof name === "string" ? name.toLowerCase() : "";
    if (exact && this.#count(lower) === 0) return 0;
    this.#materialise();
    let removed = 0;
    for (let k = this.#eOrig.length - 1; k >= 0; k--) {
      let hit: boolean;
      if (exact) hit = this.#entryNameIs(k, lower);
      else {
        const n = this.#entryNameLower(k);
        const id = headerNameIdFromString(n);
        if (id === HDR_CONTENT_LENGTH || id === HDR_TRANSFER_ENCODING) continue;
        if (typeof name !== "string") hit = name.test(n);
        else if (mode === "beg") hit = n.startsWith(lower);
        else if (mode === "end") hit = n.endsWith(lower);
        else hit = n.includes(lower);
      }
      if (hit) {
        this.#removeEntry(k);
        removed++;
      }
    }
    if (removed > 0) this.modified = true;
    return removed;
  }

  /**
   * replace-header: for each `name` line whose whole value matches `re`, the
   * value becomes `repl` with `\N` back-references expanded (the entire
   * value is replaced, as in HAProxy). Returns the number of lines changed.
   */
  replaceHeader(name: string, re: RegexMatcher, repl: string): number {
    const lower = name.toLowerCase();
    if (this.#count(lower) === 0) return 0;
    this.#materialise();
    let n = 0;
    for (let k = 0; k < this.#eOrig.length; k++) {
      if (!this.#entryNameIs(k, lower)) continue;
      const m = re.exec(this.#entryValue(k));
      if (m === null) continue;
      this.#eValue[k] = expandBackrefs(repl, m);
      n++;
    }
    if (n > 0) this.modified = true;
    return n;
  }

  /**
   * replace-value: like replaceHeader but on each comma-separated element of
   * the `name` lines (quoted strings are not split); separators are kept.
   * Returns the number of elements changed.
   */
  replaceValue(name: string, re: RegexMatcher, repl: string): number {
    const lower = name.toLowerCase();
    if (this.#count(lower) === 0) return 0;
    this.#materialise();
    let n = 0;
    for (let k = 0; k < this.#eOrig.length; k++) {
      if (!this.#entryNameIs(k, lower)) continue;
      const v = this.#entryValue(k);
      let out = "";
      let changed = 0;
      let i = 0;
      while (i <= v.length) {
        // Element [a, b) with its OWS kept outside.
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
        while (a < e && (v.charCodeAt(a) === 0x20 || v.charCodeAt(a) === 0x09)) a++;
        let b = e;
        while (b > a && (v.charCodeAt(b - 1) === 0x20 || v.charCodeAt(b - 1) === 0x09)) b--;
        const elem = v.slice(a, b);
        const m = re.exec(elem);
        out += v.slice(i, a);
        if (m !== null) {
          out += expandBackrefs(repl, m);
          changed++;
        } else out += elem;
        out += v.slice(b, e);
        if (e >= v.length) break;
        out += ",";
        i = e + 1;
      }
      if (changed > 0) {
        this.#eValue[k] = out;
        n += changed;
      }
    }
    if (n > 0) this.modified = true;
    return n;
  }

  // -------------------------------------------------------------------------
  // Start line.

  /** Current method. */
  method(): string {
    if (this.#method !== null) return this.#method;
    const h = this.#h();
    return h.methodStart < 0 ? "" : spanToString(this.#buf, h.methodStart, h.methodLen);
  }

  /** Current request-target (the `url` fetch). */
  url(): string {
    if (this.#target !== null) return this.#target;
    const h = this.#h();
    return h.targetStart < 0 ? "" : spanToString(this.#buf, h.targetStart, h.targetLen);
  }

  /** Current path (without query; "" for `*` and authority-form). */
  path(): string {
    if (this.#target !== null) return splitTarget(this.#target)[1];
    const h = this.#h();
    return h.pathStart < 0 ? "" : spanToString(this.#buf, h.pathStart, h.pathLen);
  }

  /** Current query without `?`, null when the target has no `?`. */
  query(): string | null {
    if (this.#target !== null) return splitTarget(this.#target)[2];
    const h = this.#h();
    return h.queryStart < 0 ? null : spanToString(this.#buf, h.queryStart, h.queryLen);
  }

  /** Current status (responses), 0 for requests. */
  status(): number {
    return this.#status !== 0 ? this.#status : this.#h().status;
  }

  /** Current (prefix, path, query) of the target. */
  #parts(): [string, string, string | null] {
    if (this.#target !== null) return splitTarget(this.#target);
    const h = this.#h();
    const buf = this.#buf;
    let prefix = "";
    if (h.pathStart > h.targetStart) {
      prefix = spanToString(buf, h.targetStart, h.pathStart - h.targetStart);
    }
    return [prefix, this.path(), this.query()];
  }

  /** Sets the method (set-method). Refuses (returns false) a value that is not a token. */
  setMethod(m: string): boolean {
    if (!isToken(m)) return false;
    this.#method = m;
    this.modified = true;
    return true;
  }

  /**
   * Replaces the path, keeping a scheme://authority prefix and the query
   * (set-path). A missing leading `/` is added; unsafe bytes are
   * percent-encoded.
   */
  setPath(p: string): void {
    if (p.charCodeAt(0) !== 0x2f) p = "/" + p;
    const [prefix, , q] = this.#parts();
    this.#target = prefix + sanitizeTarget(p) + (q === null ? "" : "?" + q);
    this.modified = true;
  }

  /** Replaces the query (set-query; a leading `?` is ignored, null removes it). */
  setQuery(q: string | null): void {
    const [prefix, path] = this.#parts();
    if (q !== null && q.charCodeAt(0) === 0x3f) q = q.slice(1);
    this.#target = prefix + path + (q === null ? "" : "?" + sanitizeTarget(q));
    this.modified = true;
  }

  /**
   * Replaces the whole request-target (set-uri). Accepts an origin-form
   * (`/…`) or absolute-form (`scheme://…`) target; refuses anything else,
   * returning false, so that the new start line always parses.
   */
  setUri(u: string): boolean {
    if (u.charCodeAt(0) !== 0x2f && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?]/.test(u)) return false;
    this.#target = sanitizeTarget(u);
    this.modified = true;
    // An absolute URI carries the authority: Host must agree (RFC 9112 §3.2.2,
    // and HAProxy updates it the same way).
    const prefix = splitTarget(this.#target)[0];
    if (prefix !== "") this.#setHostInPlace(prefix.slice(prefix.indexOf("://") + 3));
    return true;
  }

  /** Gives the first Host line `value` (in place), removes other Host lines, adds one if none. */
  #setHostInPlace(value: string): void {
    if (this.#count("host") === 0) {
      this.addHeader("Host", value);
      return;
    }
    this.#materialise();
    let seen = false;
    for (let k = 0; k < this.#eOrig.length; k++) {
      if (!this.#entryNameIs(k, "host")) continue;
      if (!seen) {
        this.#eValue[k] = value;
        seen = true;
      } else this.#removeEntry(k--);
    }
  }

  /**
   * Sets the response status (set-status) and its reason, by default the
   * standard phrase. Refuses (returns false) codes outside 100..599 (what
   * the response parsers accept, so the result always reparses).
   */
  setStatus(code: number, reason: string | null = null): boolean {
    if (!Number.isInteger(code) || code < 100 || code > 599) return false;
    this.#status = code;
    this.#reason = reason ?? reasonPhrase(code);
    this.modified = true;
    return true;
  }

  // -------------------------------------------------------------------------
  // Serialization.

  /** Bytes serialize() would produce. */
  serializedLength(): number {
    return this.#emit(null, 0);
  }

  /**
   * The complete new head in a new array: start line, kept and edited
   * header lines (dropped lines left out), appended lines, empty line; every
   * line ends in CRLF. It replaces the original bytes buf[msgStart,
   * head.end) (leading empty lines before the start line are not
   * reproduced). Convenient, but one allocation per call (costly in Deno):
   * the data path should use rewriteInPlace() or serializeInto().
   */
  serialize(): Uint8Array {
    const out = new Uint8Array(this.#emit(null, 0));
    this.#emit(out, 0);
    return out;
  }

  /**
   * Writes the new head into dst at `off`; `dst` must not overlap the source
   * head bytes. Returns the bytes written, or -1 when dst lacks room (nothing
   * written then).
   */
  serializeInto(dst: Uint8Array, off: number): number {
    const n = this.#emit(null, 0);
    if (off + n > dst.length) return -1;
    return this.#emit(dst, off);
  }

  /**
   * Rewrites the head in place in the bound buffer, the channel way (the
   * buffer keeps `maxrewrite` bytes free for this): the new head replaces
   * buf[head.start, head.end) and the bytes already received after the head
   * (up to `dataEnd`, e.g. the start of the body) move by the size
   * difference. Appends without any other edit or dropped line only move the
   * tail and write the new lines; anything else goes through a shared
   * scratch buffer. No allocation in the steady state.
   *
   * Returns the new end of the head (where the following bytes now start),
   * or -1 when `dataEnd` plus the growth exceeds the buffer (nothing changed
   * then). Afterwards the parsed head's spans are stale: the editor refuses
   * further use until reset(), and a HeadSampleCtx bound to this head must
   * have called keepRequest() before if it is still needed.
   */
  rewriteInPlace(dataEnd: number): number {
    const h = this.#h();
    const buf = this.#buf;
    const newLen = this.#emit(null, 0);
    const delta = newLen - (h.end - h.start);
    if (dataEnd < h.end || dataEnd + delta > buf.length) return -1;
    let fast = !this.#full && this.#method === null && this.#target === null && this.#status === 0;
    for (let i = 0; fast && i < h.hdrCount; i++) if (h.isDropped(i)) fast = false;
    if (fast) {
      // Original lines stay where they are; only the tail moves right.
      if (delta !== 0) buf.copyWithin(h.end + delta, h.end, dataEnd);
      let p = h.end - 2;
      for (let k = 0; k < this.#nAdd; k++) {
        p = this.#putAdded(buf, p, k);
      }
      putCrlf(buf, p);
    } else {
      if (scratch.length < newLen) scratch = new Uint8Array(Math.max(newLen, scratch.length * 2));
      this.#emit(scratch, 0);
      if (delta !== 0) buf.copyWithin(h.end + delta, h.end, dataEnd);
      buf.set(scratch.subarray(0, newLen), h.start);
    }
    this.#head = null;
    return h.start + newLen;
  }

  /**
   * rewriteInPlace() restricted to its append-only case (lines appended, no
   * other edit, no line dropped by the parser): the new lines take the place
   * of the head's final CRLF, followed by a new one, once the bytes already
   * received after the head (up to `dataEnd`) moved right. The start line
   * and the original header lines do not move, so the parsed head's spans,
   * the fetches bound to it and this editor stay valid (appended values are
   * still served from the editor); only the bytes from head.end - 2 on
   * changed. Returns the new end of the head, or -1 when the edits are not
   * append-only or the growth does not fit before the end of the buffer
   * (nothing changed then). No allocation.
   */
  appendInPlace(dataEnd: number): number {
    const h = this.#h();
    if (!this.appendOnly()) return -1;
    for (let i = 0; i < h.hdrCount; i++) if (h.isDropped(i)) return -1;
    const buf = this.#buf;
    let delta = 0;
    for (let k = 0; k < this.#nAdd; k++) {
      delta += this.#putAdded(null, 0, k);
    }
    if (dataEnd < h.end || dataEnd + delta > buf.length) return -1;
    if (delta !== 0 && dataEnd > h.end) buf.copyWithin(h.end + delta, h.end, dataEnd);
    let p = h.end - 2;
    for (let k = 0; k < this.#nAdd; k++) {
      p = this.#putAdded(buf, p, k);
    }
    return putCrlf(buf, p);
  }

  /** Writes (dst non-null) or measures the head; returns its length. */
  #emit(dst: Uint8Array | null, off: number): number {
    const h = this.#h();
    const buf = this.#buf;
    const firstHdr = h.hdrCount > 0 ? h.nameStart(0) : h.end - 2;
    let p = off;

    // Start line.
    if (this.#method === null && this.#target === null && this.#status === 0) {
      p = copy(dst, p, buf, h.start, firstHdr);
    } else if (h.flags & HEAD_F_RESPONSE) {
      p = putStr(dst, p, h.version === 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
      p = putStr(dst, p, String(this.status()));
      p = putByte(dst, p, SP_B);
      if (this.#reason !== null) p = putValue(dst, p, this.#reason);
      else if (h.reasonLen > 0) p = copy(dst, p, buf, h.reasonStart, h.reasonStart + h.reasonLen);
      p = putCrlf(dst, p);
    } else {
      if (this.#method !== null) p = putStr(dst, p, this.#method);
      else p = copy(dst, p, buf, h.methodStart, h.methodStart + h.methodLen);
      p = putByte(dst, p, SP_B);
      if (this.#target !== null) p = putStr(dst, p, this.#target);
      else p = copy(dst, p, buf, h.targetStart, h.targetStart + h.targetLen);
      p = putStr(dst, p, h.version === 11 ? " HTTP/1.1" : " HTTP/1.0");
      p = putCrlf(dst, p);
    }

    // Header lines.
    if (!this.#full) {
      // Runs of kept original lines, each copied at once.
      let runStart = -1;
      for (let i = 0; i < h.hdrCount; i++) {
        if (h.isDropped(i)) {
          if (runStart >= 0) p = copy(dst, p, buf, runStart, h.nameStart(i));
          runStart = -1;
        } else if (runStart < 0) runStart = h.nameStart(i);
      }
      if (runStart >= 0) p = copy(dst, p, buf, runStart, h.end - 2);
      for (let k = 0; k < this.#nAdd; k++) {
        p = this.#putAdded(dst, p, k);
      }
    } else {
      for (let k = 0; k < this.#eOrig.length; k++) {
        const i = this.#eOrig[k] as number;
        const v = this.#eValue[k] as string | null;
        if (i < 0) {
          p = putLine(dst, p, this.#eName[k] as string, v as string);
        } else if (v === null) {
          const next = i + 1 < h.hdrCount ? h.nameStart(i + 1) : h.end - 2;
          p = copy(dst, p, buf, h.nameStart(i), next);
        } else {
          p = copy(dst, p, buf, h.nameStart(i), h.nameStart(i) + h.nameLen(i));
          p = putByte(dst, p, COLON_B);
          p = putByte(dst, p, SP_B);
          p = putValue(dst, p, v);
          p = putCrlf(dst, p);
        }
      }
    }
    p = putCrlf(dst, p);
    return p - off;
  }
}

/** `a` and `b` are the same header name, ASCII case ignored. */
function sameNameNoCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y && (x > 0xff || y > 0xff || TO_LOWER[x] !== TO_LOWER[y])) return false;
  }
  return true;
}

/** Scratch for rewriteInPlace() (single-threaded; grows, never shrinks). */
let scratch = new Uint8Array(4096);

/**
 * Splits a target into (scheme://authority prefix, path, query or null). A
 * target without a scheme has an empty prefix.
 */
function splitTarget(t: string): [string, string, string | null] {
  let start = 0;
  if (t.charCodeAt(0) !== 0x2f) {
    const s = t.indexOf("://");
    if (s > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(t.slice(0, s))) {
      let e = s + 3;
      while (e < t.length && t.charCodeAt(e) !== 0x2f && t.charCodeAt(e) !== 0x3f) e++;
      start = e;
    }
  }
  const q = t.indexOf("?", start);
  if (q < 0) return [t.slice(0, start), t.slice(start), null];
  return [t.slice(0, start), t.slice(start, q), t.slice(q + 1)];
}

/** Copies src[a, b) to dst at p (when dst is non-null); returns the new position. */
function copy(dst: Uint8Array | null, p: number, src: Uint8Array, a: number, b: number): number {
  if (dst !== null) copyBytes(dst, p, src, a, b);
  return p + (b - a);
}

function putByte(dst: Uint8Array | null, p: number, c: number): number {
  if (dst !== null) dst[p] = c;
  return p + 1;
}

function putCrlf(dst: Uint8Array | null, p: number): number {
  if (dst !== null) {
    dst[p] = CRLF_0;
    dst[p + 1] = CRLF_1;
  }
  return p + 2;
}

/** Writes a byte string as is (start-line parts already validated/sanitized). */
function putStr(dst: Uint8Array | null, p: number, s: string): number {
  if (dst !== null) { for (let i = 0; i < s.length; i++) dst[p + i] = s.charCodeAt(i) & 0xff; }
  return p + s.length;
}

/** Writes a header value: CR, LF and NUL become spaces (no header injection). */
function putValue(dst: Uint8Array | null, p: number, s: string): number {
  if (dst !== null) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i) & 0xff;
      dst[p + i] = c === 0x0d || c === 0x0a || c === 0 ? SP_B : c;
    }
  }
  return p + s.length;
}

/** Writes `name: value\r\n`. */
function putLine(dst: Uint8Array | null, p: number, name: string, value: string): number {
  p = putStr(dst, p, name);
  p = putByte(dst, p, COLON_B);
  p = putByte(dst, p, SP_B);
  p = putValue(dst, p, value);
  return putCrlf(dst, p);
}

// Note about invariants:
// - Append mode (#full false): #e* arrays are empty; #addN/#addV[0, #nAdd)
//   hold the new lines in order, a null #addV[k] standing for the pieces in
//   #addP[k] (joined into #addV[k] on the first read as text). Materialised (#full true): #nAdd is 0 and
//   the #e* arrays list every line to emit, in order; dropped original lines
//   are never listed.
// - An entry with #eOrig >= 0 and #eName null keeps the original name bytes;
//   #eValue null keeps the original value bytes (and the whole line is
//   copied).
// - serialize() output always parses again: start-line parts are tokens or
//   sanitized targets, values carry no CR/LF/NUL, lines end in CRLF.
