// An HTTP/1.1 response head (or trailer section), as the analysers released
// it, turned into the field list of an HTTP/2 HEADERS frame (HAProxy's
// h2s_frt_make_resp_headers() reading its HTX): lowercase names, values
// without their surrounding whitespace, hop-by-hop fields left out
// (RFC 9113 §8.2.2: connection, proxy-connection, keep-alive,
// transfer-encoding, upgrade, and every field the `connection` header
// names), and the framing of the body that follows.
//
// It reads bytes, never a string of the whole head: names and values come
// from FieldCache, which hands back the same string objects for the same
// bytes (a backend answers with the same few fields over and over), so a
// response costs no string allocation once the cache knows its fields, and
// the HPACK encoder finds them in its own caches by identity. The head was
// checked by the HTTP/1.1 parser already: this file trusts its syntax.
// When the analysers forwarded the head they parsed unchanged, the fields
// come from their parse (responseFromIndex(): the lines' bounds and the
// names' ids), not from reading the bytes again.

import { bytesEqual, copyBytes } from "../buf/copy.ts";

/** Kinds of a field name (what the translation does with it). */
const K_PLAIN = 0;
const K_CONNECTION = 1;
const K_TRANSFER_ENCODING = 2;
/** proxy-connection, keep-alive, upgrade, te: dropped. */
const K_HOP = 3;
const K_CONTENT_LENGTH = 4;

const CR = 0x0d, LF = 0x0a, SP = 0x20, HTAB = 0x09, COLON = 0x3a;

/** Slots of the field cache (a power of two). */
const CACHE_SLOTS = 512;
/** Longest value the cache keeps (longer ones are built each time). */
const CACHE_MAX_VALUE = 256;
/** Largest name id FieldCache remembers a slot for (others are hashed each time). */
const MAX_NAME_ID = 255;

function kindOf(name: string): number {
  switch (name) {
    case "connection":
      return K_CONNECTION;
    case "transfer-encoding":
      return K_TRANSFER_ENCODING;
    case "proxy-connection":
    case "keep-alive":
    case "upgrade":
    case "te": // a request field; in a response, connection-specific (RFC 9113 §8.2.2)
      return K_HOP;
    case "content-length":
      return K_CONTENT_LENGTH;
  }
  return K_PLAIN;
}

/** Byte → its lowercase (ASCII letters only). */
const LOWER: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = i >= 0x41 && i <= 0x5a ? i + 0x20 : i;
  return t;
})();

/** src[start, end) as a string of its bytes, lowercased when `lower`. */
function bytesToString(src: Uint8Array, start: number, end: number, lower: boolean): string {
  let s = "";
  for (let i = start; i < end; i++) {
    let c = src[i]!;
    if (lower && c >= 0x41 && c <= 0x5a) c += 0x20;
    s += String.fromCharCode(c);
  }
  return s;
}

/** Whether `b` holds exactly the bytes src[start, end), lowercased when `lower`. */
function sameBytes(
  b: Uint8Array,
  src: Uint8Array,
  start: number,
  end: number,
  lower: boolean,
): boolean {
  if (b.length !== end - start) return false;
  if (lower) {
    for (let i = start; i < end; i++) if (b[i - start] !== LOWER[src[i]!]) return false;
  } else {
    for (let i = start; i < end; i++) if (b[i - start] !== src[i]) return false;
  }
  return true;
}

const NO_BYTES = new Uint8Array(0);

/**
 * Interned field names and the last value seen for each: a fixed table
 * indexed by a hash of the lowercased name (a collision replaces the
 * entry), each string kept with its bytes (comparing bytes to bytes is
 * cheaper than to a string's characters). Shared by every connection of
 * the process: its strings are immutable.
 */
class FieldCache {
  readonly #names: string[];
  readonly #nameBytes: Uint8Array[];
  readonly #kinds: number[];
  readonly #values: string[];
  /**
   * The bytes of each slot's value, CACHE_MAX_VALUE bytes a slot, and their
   * count: one buffer for all (a typed array made per value costs about a
   * microsecond, and a value that changes with every response, a
   * content-length or an etag, is made again each time).
   */
  readonly #valueBytes: Uint8Array;
  readonly #valueLens: Int32Array;
  /** The name id (ParsedHead.hdrIds) a slot was last found for, -1 when none. */
  readonly #slotIds: number[];
  /** The slot last found for each name id, -1 when none. */
  readonly #idSlots: number[];
  /**
   * What a value means, worked out once per value string: a content-length's
   * number, a connection header's field names (each with the value it was
   * found for; "" when none).
   */
  readonly #numOf: string[];
  readonly #nums: number[];
  readonly #namedOf: string[];
  readonly #named: (readonly string[] | null)[];

  constructor() {
    this.#names = new Array<string>(CACHE_SLOTS).fill("");
    this.#nameBytes = new Array<Uint8Array>(CACHE_SLOTS).fill(NO_BYTES);
    this.#kinds = new Array<number>(CACHE_SLOTS).fill(K_PLAIN);
    this.#values = new Array<string>(CACHE_SLOTS).fill("");
    this.#valueBytes = new Uint8Array(CACHE_SLOTS * CACHE_MAX_VALUE);
    this.#valueLens = new Int32Array(CACHE_SLOTS);
    this.#slotIds = new Array<number>(CACHE_SLOTS).fill(-1);
    this.#idSlots = new Array<number>(MAX_NAME_ID + 1).fill(-1);
    this.#numOf = new Array<string>(CACHE_SLOTS).fill("");
    this.#nums = new Array<number>(CACHE_SLOTS).fill(0);
    this.#namedOf = new Array<string>(CACHE_SLOTS).fill("");
    this.#named = new Array<readonly string[] | null>(CACHE_SLOTS).fill(null);
  }

  /**
   * The slot of the name src[start, end), whose id is `id` (-1: none):
   * found from the id while the slot still holds that name, else hashed as
   * slot() does.
   */
  slotOfId(id: number, src: Uint8Array, start: number, end: number): number {
    const known = id >= 0 && id <= MAX_NAME_ID;
    if (known) {
      const k = this.#idSlots[id]!;
      if (k >= 0 && this.#slotIds[k] === id) return k;
    }
    let h = 0;
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + LOWER[src[i]!]!) | 0;
    const k = this.slot(h, src, start, end);
    if (known) {
      this.#slotIds[k] = id;
      this.#idSlots[id] = k;
    }
    return k;
  }

  /**
   * The slot of the name src[start, end) whose hash (31 × h + lowercase
   * byte, from 0) is `h`, filled with it (lowercase) when it held another.
   */
  slot(h: number, src: Uint8Array, start: number, end: number): number {
    h = (h + Math.imul(end - start, 0x9e3779b1)) | 0;
    const k = (h ^ (h >>> 9) ^ (h >>> 18)) & (CACHE_SLOTS - 1);
    if (!sameBytes(this.#nameBytes[k]!, src, start, end, true)) {
      const name = bytesToString(src, start, end, true);
      const b = new Uint8Array(end - start);
      for (let i = start; i < end; i++) b[i - start] = LOWER[src[i]!]!;
      this.#names[k] = name;
      this.#nameBytes[k] = b;
      this.#kinds[k] = kindOf(name);
      this.#values[k] = "";
      this.#valueLens[k] = 0;
      this.#slotIds[k] = -1;
      this.#numOf[k] = this.#namedOf[k] = "";
    }
    return k;
  }

  name(k: number): string {
    return this.#names[k]!;
  }

  kind(k: number): number {
    return this.#kinds[k]!;
  }

  /** The value src[start, end) of the name in slot `k`: the last one when the bytes are the same. */
  value(k: number, src: Uint8Array, start: number, end: number): string {
    const n = end - start, store = this.#valueBytes, at = k * CACHE_MAX_VALUE;
    if (n === this.#valueLens[k] && bytesEqual(store, at, src, start, n)) return this.#values[k]!;
    const v = bytesToString(src, start, end, false);
    if (n <= CACHE_MAX_VALUE) {
      this.#values[k] = v;
      copyBytes(store, at, src, start, end);
      this.#valueLens[k] = n;
    }
    return v;
  }

  /** Number(value) for `value` of the name in slot `k` (content-length): computed once per value. */
  number(k: number, value: string): number {
    if (this.#numOf[k] === value) return this.#nums[k]!;
    const n = Number(value);
    this.#numOf[k] = value;
    this.#nums[k] = n;
    return n;
  }

  /**
   * The field names the connection header `value` (bytes src[v, e)) of slot
   * `k` lists (connectionTokens()), null when none: computed once per value.
   * Shared: never changed by the caller.
   */
  named(k: number, value: string, src: Uint8Array, v: number, e: number): readonly string[] | null {
    if (value !== "" && this.#namedOf[k] === value) return this.#named[k]!;
    const named = connectionTokens(src, v, e);
    // connectionTokens() may have filled slot `k` with another name: the
    // entry is then never read (the slot is refilled before it is again a
    // connection's, which empties it).
    this.#namedOf[k] = value;
    this.#named[k] = named;
    return named;
  }
}

const CACHE = new FieldCache();

/** Status codes as strings (100..599), made once. */
const STATUS_TEXT: readonly string[] = Array.from({ length: 600 }, (_, i) => String(i));

/** What parseResponseHead() found: the HEADERS fields and the body's framing. */
export class ResponseFields {
  /** Fields, `:status` first for a head; `count` of them are valid. */
  readonly names: string[];
  readonly values: string[];
  count: number;
  /** Status code (0 for trailers). */
  status: number;
  /** Transfer-Encoding ends in chunked. */
  chunked: boolean;
  /** Content-Length, -1 when absent. */
  length: number;
  /** Names the connection header listed (scratch of the translation; never changed: shared). */
  dropped: readonly string[] | null;

  constructor() {
    this.names = [];
    this.values = [];
    this.count = 0;
    this.status = 0;
    this.chunked = false;
    this.length = -1;
    this.dropped = null;
  }
}

/**
 * Reads the head (status line, fields, empty line) or, with `trailers`, the
 * trailer section (fields, empty line) in src[start, end) into `out`. The
 * bytes were checked by the HTTP/1.1 parser (every line ends in CRLF).
 */
export function parseResponseHead(
  src: Uint8Array,
  start: number,
  end: number,
  trailers: boolean,
  out: ResponseFields,
): void {
  const names = out.names, values = out.values;
  let n = 0, p = start;
  out.chunked = false;
  out.length = -1;
  out.status = 0;
  if (!trailers) {
    // "HTTP/1.x NNN ...": the analysers checked the three digits.
    const code = (src[p + 9]! - 0x30) * 100 + (src[p + 10]! - 0x30) * 10 + (src[p + 11]! - 0x30);
    out.status = code;
    names[0] = ":status";
    values[0] = STATUS_TEXT[code]!;
    n = 1;
    p = src.indexOf(LF, p) + 1;
  }
  out.dropped = null;
  while (p < end) {
    // The name, hashed as it is read (FieldCache.slot()), up to its colon.
    let q = p, h = 0, c = 0;
    while (q < end) {
      c = src[q]!;
      if (c === COLON || c === CR || c === LF) break;
      h = (Math.imul(h, 31) + LOWER[c]!) | 0;
      q++;
    }
    let eol = q;
    while (eol < end && src[eol] !== LF) eol++;
    if (q === p) break; // the empty line (the parser allows no empty name)
    if (c === COLON) {
      let v = q + 1, e = eol;
      if (e > v && src[e - 1] === CR) e--;
      while (v < e && (src[v] === SP || src[v] === HTAB)) v++;
      while (e > v && (src[e - 1] === SP || src[e - 1] === HTAB)) e--;
      n = addField(CACHE.slot(h, src, p, q), src, v, e, out, n);
    }
    p = eol + 1;
  }
  out.count = dropNamed(out, n, trailers ? 0 : 1);
  // A trailer may not change the framing or the routing (RFC 9110 §6.5.1):
  // content-length and host are left out, as HAProxy does.
  if (trailers) dropFields(out, "content-length", "host");
}

/**
 * Leaves out the fields of `out` named `a` or `b` (content-length of a 1xx
 * or a 204; content-length and host of trailers); length becomes -1.
 */
export function dropFields(out: ResponseFields, a: string, b: string | null = null): void {
  const names = out.names, values = out.values;
  let w = 0;
  for (let i = 0; i < out.count; i++) {
    const name = names[i]!;
    if (name === a || name === b) continue;
    names[w] = name;
    values[w] = values[i]!;
    w++;
  }
  out.count = w;
  out.length = -1;
}

/** The analysers' parse of a response head (http/'s HttpHead has these fields). */
export interface ParsedHead {
  /** Status code. */
  readonly status: number;
  readonly hdrCount: number;
  /** 4 ints per field: name start, name length, value start, value length (without OWS), in the head's buffer. */
  readonly hdrs: Int32Array;
  /** A small id per common name (one id, one name whatever its case), -1 for the others. */
  readonly hdrIds: Int16Array;
}

/** Longest head LastHead keeps (a usual one is 150-400 bytes). */
const LAST_HEAD_MAX = 1024;

/**
 * The last head responseFromIndex() translated, byte for byte, and what it
 * gave: a backend answers request after request with the same head (the
 * date changes once a second), and the same bytes give the same fields.
 * Compared byte by byte in the source buffer the parser has just read
 * (still in the CPU's cache). A DataView per pool buffer, found again
 * through a WeakMap, compared four bytes at a time and was three times
 * faster in process but slower live: under load each request's buffer,
 * its view and the map's entry were cache misses (1.5 % of the proxy's
 * samples in bench/h2_profile.ts). Shared by every connection: its
 * strings are immutable.
 */
class LastHead {
  readonly #bytes: Uint8Array;
  /** Bytes kept, -1 when none. */
  #len: number;
  readonly #fields: ResponseFields;

  constructor() {
    this.#bytes = new Uint8Array(LAST_HEAD_MAX);
    this.#len = -1;
    this.#fields = new ResponseFields();
  }

  /** Copies the fields kept into `out` when src[start, start + len) are the bytes kept; else false. */
  take(src: Uint8Array, start: number, len: number, out: ResponseFields): boolean {
    if (len !== this.#len) return false;
    if (!bytesEqual(src, start, this.#bytes, 0, len)) return false;
    copyFields(this.#fields, out);
    return true;
  }

  /** Keeps src[start, start + len) and the fields `f` it gave. */
  keep(src: Uint8Array, start: number, len: number, f: ResponseFields): void {
    if (len > LAST_HEAD_MAX) {
      this.#len = -1;
      return;
    }
    copyBytes(this.#bytes, 0, src, start, start + len);
    this.#len = len;
    copyFields(f, this.#fields);
  }
}

/** to = from (a head's fields and framing). */
function copyFields(from: ResponseFields, to: ResponseFields): void {
  const n = from.count;
  const fn = from.names, fv = from.values, tn = to.names, tv = to.values;
  for (let i = 0; i < n; i++) {
    tn[i] = fn[i]!;
    tv[i] = fv[i]!;
  }
  to.count = n;
  to.status = from.status;
  to.chunked = from.chunked;
  to.length = from.length;
}

const LAST = new LastHead();

/**
 * What parseResponseHead() gives for the head src[start, start + len),
 * taken from its parse `head` (field bounds and name ids) instead of
 * reading the bytes again (the values are still compared to the cache's),
 * or from LastHead when the bytes are the last head's.
 */
export function responseFromIndex(
  src: Uint8Array,
  head: ParsedHead,
  start: number,
  len: number,
  out: ResponseFields,
): void {
  if (LAST.take(src, start, len, out)) return;
  const code = head.status, hdrs = head.hdrs, ids = head.hdrIds;
  out.chunked = false;
  out.length = -1;
  out.status = code;
  out.names[0] = ":status";
  out.values[0] = STATUS_TEXT[code]!;
  let n = 1;
  for (let i = 0; i < head.hdrCount; i++) {
    const k = i * 4, p = hdrs[k]!, v = hdrs[k + 2]!;
    const q = p + hdrs[k + 1]!, e = v + hdrs[k + 3]!;
    n = addField(CACHE.slotOfId(ids[i]!, src, p, q), src, v, e, out, n);
  }
  out.count = dropNamed(out, n, 1);
  LAST.keep(src, start, len, out);
}

/** Adds the field of name slot `k` and value src[v, e) to `out` (as its n-th) or notes what it means; returns the count. */
function addField(
  k: number,
  src: Uint8Array,
  v: number,
  e: number,
  out: ResponseFields,
  n: number,
) {
  const kind = CACHE.kind(k);
  if (kind === K_PLAIN || kind === K_CONTENT_LENGTH) {
    const value = CACHE.value(k, src, v, e);
    if (kind === K_CONTENT_LENGTH) out.length = CACHE.number(k, value);
    out.names[n] = CACHE.name(k);
    out.values[n] = value;
    return n + 1;
  }
  if (kind === K_TRANSFER_ENCODING) {
    out.chunked = /(^|,)\s*chunked\s*$/i.test(bytesToString(src, v, e, false));
  } else if (kind === K_CONNECTION) {
    const named = CACHE.named(k, CACHE.value(k, src, v, e), src, v, e);
    if (named !== null) out.dropped = out.dropped === null ? named : out.dropped.concat(named);
  }
  return n;
}

/** Leaves out of the `n` fields (from `from`) those the connection header named; returns the count. */
function dropNamed(out: ResponseFields, n: number, from: number): number {
  const dropped = out.dropped;
  if (dropped === null) return n;
  out.dropped = null;
  // Fields the connection header names are hop-by-hop too.
  const names = out.names, values = out.values;
  let w = from;
  for (let i = from; i < n; i++) {
    if (dropped.includes(names[i]!)) continue;
    names[w] = names[i]!;
    values[w] = values[i]!;
    w++;
  }
  return w;
}

/**
 * The tokens of a `connection` value src[v, e) that may name a field, null
 * when none; the hop-by-hop names, dropped anyway, are not kept.
 */
function connectionTokens(src: Uint8Array, v: number, e: number): string[] | null {
  let dropped: string[] | null = null;
  let i = v;
  while (i < e) {
    while (i < e && (src[i] === SP || src[i] === HTAB || src[i] === 0x2c)) i++;
    let j = i;
    while (j < e && src[j] !== 0x2c) j++;
    let t = j;
    while (t > i && (src[t - 1] === SP || src[t - 1] === HTAB)) t--;
    if (t > i) {
      let h = 0;
      for (let x = i; x < t; x++) h = (Math.imul(h, 31) + LOWER[src[x]!]!) | 0;
      const k = CACHE.slot(h, src, i, t);
      const kind = CACHE.kind(k);
      if (kind === K_PLAIN || kind === K_CONTENT_LENGTH) (dropped ??= []).push(CACHE.name(k));
    }
    i = j;
  }
  return dropped;
}
