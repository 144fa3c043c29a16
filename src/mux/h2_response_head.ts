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

/** Kinds of a field name (what the translation does with it). */
const K_PLAIN = 0;
const K_CONNECTION = 1;
const K_TRANSFER_ENCODING = 2;
/** proxy-connection, keep-alive, upgrade: dropped. */
const K_HOP = 3;
const K_CONTENT_LENGTH = 4;

const CR = 0x0d, LF = 0x0a, SP = 0x20, HTAB = 0x09, COLON = 0x3a;

/** Slots of the field cache (a power of two). */
const CACHE_SLOTS = 512;
/** Longest value the cache keeps (longer ones are built each time). */
const CACHE_MAX_VALUE = 256;

function kindOf(name: string): number {
  switch (name) {
    case "connection":
      return K_CONNECTION;
    case "transfer-encoding":
      return K_TRANSFER_ENCODING;
    case "proxy-connection":
    case "keep-alive":
    case "upgrade":
      return K_HOP;
    case "content-length":
      return K_CONTENT_LENGTH;
  }
  return K_PLAIN;
}

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

/** Whether `s` is exactly the bytes src[start, end) (lowercased when `lower`). */
function sameBytes(
  s: string,
  src: Uint8Array,
  start: number,
  end: number,
  lower: boolean,
): boolean {
  if (s.length !== end - start) return false;
  for (let i = start; i < end; i++) {
    let c = src[i]!;
    if (lower && c >= 0x41 && c <= 0x5a) c += 0x20;
    if (s.charCodeAt(i - start) !== c) return false;
  }
  return true;
}

/**
 * Interned field names and the last value seen for each: a fixed table
 * indexed by a hash of the lowercased name (a collision replaces the
 * entry). Shared by every connection of the process: its strings are
 * immutable.
 */
class FieldCache {
  readonly #names: string[];
  readonly #kinds: number[];
  readonly #values: string[];

  constructor() {
    this.#names = new Array<string>(CACHE_SLOTS).fill("");
    this.#kinds = new Array<number>(CACHE_SLOTS).fill(K_PLAIN);
    this.#values = new Array<string>(CACHE_SLOTS).fill("");
  }

  /** The slot of the name src[start, end), filled with it (lowercase) when it held another. */
  slot(src: Uint8Array, start: number, end: number): number {
    let h = end - start;
    for (let i = start; i < end; i++) {
      let c = src[i]!;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      h = (Math.imul(h, 31) + c) | 0;
    }
    const k = (h ^ (h >>> 9)) & (CACHE_SLOTS - 1);
    if (!sameBytes(this.#names[k]!, src, start, end, true)) {
      const name = bytesToString(src, start, end, true);
      this.#names[k] = name;
      this.#kinds[k] = kindOf(name);
      this.#values[k] = "";
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
    const last = this.#values[k]!;
    if (sameBytes(last, src, start, end, false)) return last;
    const v = bytesToString(src, start, end, false);
    if (end - start <= CACHE_MAX_VALUE) this.#values[k] = v;
    return v;
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

  constructor() {
    this.names = [];
    this.values = [];
    this.count = 0;
    this.status = 0;
    this.chunked = false;
    this.length = -1;
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
  let dropped: string[] | null = null;
  while (p < end) {
    let eol = src.indexOf(LF, p);
    if (eol < 0 || eol > end) eol = end;
    let lineEnd = eol;
    if (lineEnd > p && src[lineEnd - 1] === CR) lineEnd--;
    if (lineEnd === p) break; // the empty line
    let colon = p;
    while (colon < lineEnd && src[colon] !== COLON) colon++;
    if (colon > p && colon < lineEnd) {
      let v = colon + 1, e = lineEnd;
      while (v < e && (src[v] === SP || src[v] === HTAB)) v++;
      while (e > v && (src[e - 1] === SP || src[e - 1] === HTAB)) e--;
      const k = CACHE.slot(src, p, colon);
      const kind = CACHE.kind(k);
      if (kind === K_PLAIN || kind === K_CONTENT_LENGTH) {
        const value = CACHE.value(k, src, v, e);
        if (kind === K_CONTENT_LENGTH) out.length = Number(value);
        names[n] = CACHE.name(k);
        values[n] = value;
        n++;
      } else if (kind === K_TRANSFER_ENCODING) {
        out.chunked = /(^|,)\s*chunked\s*$/i.test(bytesToString(src, v, e, false));
      } else if (kind === K_CONNECTION) {
        dropped = connectionTokens(src, v, e, dropped);
      }
    }
    p = eol + 1;
  }
  if (dropped !== null) {
    // Fields the connection header names are hop-by-hop too.
    let w = trailers ? 0 : 1;
    for (let i = w; i < n; i++) {
      if (dropped.includes(names[i]!)) continue;
      names[w] = names[i]!;
      values[w] = values[i]!;
      w++;
    }
    n = w;
  }
  out.count = n;
}

/**
 * Adds the tokens of a `connection` value src[v, e) that may name a field
 * to `dropped` (made when needed); the hop-by-hop names, dropped anyway,
 * are not kept.
 */
function connectionTokens(
  src: Uint8Array,
  v: number,
  e: number,
  dropped: string[] | null,
): string[] | null {
  let i = v;
  while (i < e) {
    while (i < e && (src[i] === SP || src[i] === HTAB || src[i] === 0x2c)) i++;
    let j = i;
    while (j < e && src[j] !== 0x2c) j++;
    let t = j;
    while (t > i && (src[t - 1] === SP || src[t - 1] === HTAB)) t--;
    if (t > i) {
      const token = bytesToString(src, i, t, true);
      const kind = kindOf(token);
      if (kind === K_PLAIN || kind === K_CONTENT_LENGTH) (dropped ??= []).push(token);
    }
    i = j;
  }
  return dropped;
}
