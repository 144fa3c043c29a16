// HTTP/1 message types (HAProxy's h1-t.h / http-t.h): the reusable parsed head,
// its flags, the parse result codes, method ids, body framings and the error
// reasons the parsers report.
//
// A parsed head is spans (offset, length) into the caller's buffer plus a
// header table in preallocated typed arrays; nothing is decoded until a rule
// asks (headerValue()). One HttpHead is reused for every message on a
// connection side: reset() between messages, never a new object. This file
// must never parse; the parsers live in h1_parse.ts and h1_body.ts.

import { TO_LOWER } from "./_chars.ts";
import { HDR_UNKNOWN, headerNameIdFromString } from "./header_names.ts";

// ---------------------------------------------------------------------------
// Parse result codes. A positive result is a length in bytes.

/** The message is not complete yet: call again with more bytes. */
export const PARSE_NEED_MORE = 0;
/** The message is invalid: see errorStatus / errorReason / errorOffset. */
export const PARSE_ERROR = -1;

/** Default maximum number of header lines in a head (HAProxy tune.http.maxhdr). */
export const MAX_HDR_DEFAULT = 101;

// ---------------------------------------------------------------------------
// Method ids (HAProxy's enum http_meth_t). Matching is case-sensitive.

/** Any other (valid token) method; its bytes are in methodStart/methodLen. */
export const METH_OTHER = 0;
export const METH_GET = 1;
export const METH_HEAD = 2;
export const METH_POST = 3;
export const METH_PUT = 4;
export const METH_DELETE = 5;
export const METH_OPTIONS = 6;
export const METH_CONNECT = 7;
export const METH_TRACE = 8;
export const METH_PATCH = 9;

/** Names of the method ids, indexed by id (METH_OTHER is "OTHER"). */
export const METHOD_NAMES: readonly string[] = Object.freeze([
  "OTHER",
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "CONNECT",
  "TRACE",
  "PATCH",
]);

// ---------------------------------------------------------------------------
// Request-target forms (RFC 9112 §3.2).

/** `/path?query` */
export const TARGET_ORIGIN = 0;
/** `scheme://authority/path?query` */
export const TARGET_ABSOLUTE = 1;
/** `host:port`, CONNECT only. */
export const TARGET_AUTHORITY = 2;
/** `*`, OPTIONS only. */
export const TARGET_ASTERISK = 3;

// ---------------------------------------------------------------------------
// Body framing (RFC 9112 §6.3).

/** No body: bodyless request, HEAD / 1xx / 204 / 304 response. */
export const BODY_NONE = 0;
/** Exactly contentLength bytes follow. */
export const BODY_CL = 1;
/** Chunked transfer coding; h1_body.ts ChunkedParser finds the end. */
export const BODY_CHUNKED = 2;
/** Response body delimited by the server closing the connection. */
export const BODY_UNTIL_CLOSE = 3;
/** The connection becomes a tunnel (101, 2xx to CONNECT). */
export const BODY_TUNNEL = 4;

/** Name of a BODY_* value, for logs and debugging. */
export function bodyTypeToString(t: number): string {
  switch (t) {
    case BODY_NONE:
      return "NONE";
    case BODY_CL:
      return "CL";
    case BODY_CHUNKED:
      return "CHUNKED";
    case BODY_UNTIL_CLOSE:
      return "UNTIL_CLOSE";
    case BODY_TUNNEL:
      return "TUNNEL";
    default:
      return `?${t}`;
  }
}

// ---------------------------------------------------------------------------
// Head flags (HAProxy's H1_MF_*).

/** `Connection` lists `close`. */
export const HEAD_F_CONN_CLOSE = 0x0001;
/** `Connection` lists `keep-alive`. */
export const HEAD_F_CONN_KEEPALIVE = 0x0002;
/** `Connection` lists `upgrade` AND an `Upgrade` header is present. */
export const HEAD_F_CONN_UPGRADE = 0x0004;
/** HTTP/1.1 request with `Expect: 100-continue`. */
export const HEAD_F_EXPECT_100 = 0x0008;
/** At least one `Content-Length` header. */
export const HEAD_F_HAS_CL = 0x0010;
/** At least one `Transfer-Encoding` header. */
export const HEAD_F_HAS_TE = 0x0020;
/** The last transfer coding is `chunked`. */
export const HEAD_F_CHUNKED = 0x0040;
/** TE and CL both present: every CL header is marked HDR_F_DROP; close after the response. */
export const HEAD_F_CL_DROPPED = 0x0080;
/** Identical `Content-Length` repeats: all but the first are marked HDR_F_DROP. */
export const HEAD_F_CL_MERGED = 0x0100;
/** At least one `Host` header. */
export const HEAD_F_HAS_HOST = 0x0200;
/** Identical `Host` repeats: all but the first are marked HDR_F_DROP. */
export const HEAD_F_HOST_MERGED = 0x0400;
/** An `Upgrade` header is present (whatever `Connection` says). */
export const HEAD_F_UPGRADE_HDR = 0x0800;
/** `Connection` lists `upgrade` (whether or not `Upgrade` is present). */
export const HEAD_F_CONN_UPGRADE_TOKEN = 0x1000;
/** Response with Transfer-Encoding whose last coding is not chunked: read until close. */
export const HEAD_F_TE_OTHER = 0x2000;
/** The head is a response (set by parseResponseHead). */
export const HEAD_F_RESPONSE = 0x4000;

/** Names of HEAD_F_* bits, for debugging and logs. */
export function headFlagsToString(f: number): string {
  const out: string[] = [];
  if (f & HEAD_F_CONN_CLOSE) out.push("CONN_CLOSE");
  if (f & HEAD_F_CONN_KEEPALIVE) out.push("CONN_KEEPALIVE");
  if (f & HEAD_F_CONN_UPGRADE) out.push("CONN_UPGRADE");
  if (f & HEAD_F_EXPECT_100) out.push("EXPECT_100");
  if (f & HEAD_F_HAS_CL) out.push("HAS_CL");
  if (f & HEAD_F_HAS_TE) out.push("HAS_TE");
  if (f & HEAD_F_CHUNKED) out.push("CHUNKED");
  if (f & HEAD_F_CL_DROPPED) out.push("CL_DROPPED");
  if (f & HEAD_F_CL_MERGED) out.push("CL_MERGED");
  if (f & HEAD_F_HAS_HOST) out.push("HAS_HOST");
  if (f & HEAD_F_HOST_MERGED) out.push("HOST_MERGED");
  if (f & HEAD_F_UPGRADE_HDR) out.push("UPGRADE_HDR");
  if (f & HEAD_F_CONN_UPGRADE_TOKEN) out.push("CONN_UPGRADE_TOKEN");
  if (f & HEAD_F_TE_OTHER) out.push("TE_OTHER");
  if (f & HEAD_F_RESPONSE) out.push("RESPONSE");
  return out.join("|") || "0";
}

/** Per-header flag: do not forward this header line (merged duplicate, dropped CL). */
export const HDR_F_DROP = 0x01;

// ---------------------------------------------------------------------------
// Error reasons: short constant strings, one per refusal, used in logs.

export const ERR_NOT_HTTP = "not HTTP";
export const ERR_BAD_METHOD = "bad method";
export const ERR_BAD_TARGET = "bad target";
export const ERR_BAD_VERSION = "bad version";
export const ERR_BAD_STATUS = "bad status";
export const ERR_BAD_REASON = "bad reason";
export const ERR_BAD_HEADER_NAME = "bad header name";
export const ERR_WS_BEFORE_COLON = "whitespace before colon";
export const ERR_BAD_HEADER_VALUE = "bad header value";
export const ERR_OBS_FOLD = "obs-fold";
export const ERR_BARE_CR = "bare CR";
export const ERR_BARE_LF = "bare LF";
export const ERR_BAD_CL = "bad content-length";
export const ERR_CONFLICTING_CL = "conflicting content-length";
export const ERR_BAD_TE = "bad transfer-encoding";
export const ERR_UNKNOWN_TE = "unknown transfer-coding";
export const ERR_DUPLICATE_CHUNKED = "duplicate chunked";
export const ERR_TE_HTTP10 = "transfer-encoding in HTTP/1.0";
export const ERR_BAD_HOST = "bad host";
export const ERR_CONFLICTING_HOST = "conflicting host";
export const ERR_HOST_MISMATCH = "host mismatch";
export const ERR_MISSING_HOST = "missing host";
export const ERR_TOO_MANY_HEADERS = "too many headers";
export const ERR_HEAD_TOO_LARGE = "head too large";
// Body (h1_body.ts).
export const ERR_BAD_CHUNK_SIZE = "bad chunk size";
export const ERR_CHUNK_SIZE_OVERFLOW = "chunk size overflow";
export const ERR_BAD_CHUNK_EXT = "bad chunk extension";
export const ERR_CHUNK_LINE_TOO_LONG = "chunk line too long";
export const ERR_MISSING_CHUNK_CRLF = "missing CRLF after chunk data";
export const ERR_BAD_TRAILER = "bad trailer";
export const ERR_TRAILERS_TOO_LARGE = "trailers too large";

// ---------------------------------------------------------------------------

/** Longest piece spanToString() decodes in one call (longer spans go in pieces). */
const SPAN_PIECE = 64;

/**
 * Scratch code-unit arrays, one per length 0..SPAN_PIECE (single-threaded,
 * consumed at once): String.fromCharCode.apply() over one of them makes one
 * flat string, where adding code units one by one builds a string per byte
 * (measured: 14 bytes 360 B and 70 ns → 32 B and 32 ns; 40 bytes 1.2 KB and
 * 170 ns → 57 B and 69 ns).
 */
const SPAN_UNITS: number[][] = Array.from({ length: SPAN_PIECE + 1 }, (_, n) => {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(0);
  return a;
});

/** Decodes buf[start, start + len) as latin1 (bytes map 1:1 to code units). */
export function spanToString(buf: Uint8Array, start: number, len: number): string {
  if (len <= SPAN_PIECE) return spanPiece(buf, start, len);
  let s = "";
  for (let p = start, e = start + len; p < e; p += SPAN_PIECE) {
    s += spanPiece(buf, p, Math.min(SPAN_PIECE, e - p));
  }
  return s;
}

/** spanToString() of at most SPAN_PIECE bytes. */
function spanPiece(buf: Uint8Array, start: number, len: number): string {
  const units = SPAN_UNITS[len] as number[];
  for (let i = 0; i < len; i++) units[i] = buf[start + i] as number;
  return String.fromCharCode.apply(null, units);
}

/**
 * Encodes a byte string (one code unit per byte, as spanToString() makes)
 * back to bytes: the inverse of spanToString(). Code units above 0xFF keep
 * their low byte; never UTF-8 (TextEncoder would encode bytes >= 0x80 twice).
 */
export function bytesOf(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** Header slots an HttpHead starts with (grown on demand up to maxhdr). */
export const INITIAL_HDR_CAPACITY = 16;

/**
 * A parsed request or response head. Every offset is absolute in the buffer
 * given to the parser; spans of absent parts are (-1, 0). Fields are public on
 * purpose: the analysers read them directly.
 *
 * Header table layout: `hdrs[i * 4 + 0..3]` = name start, name length, value
 * start, value length (value trimmed of OWS); `hdrIds[i]` the interned id or
 * HDR_UNKNOWN; `hdrFlags[i]` HDR_F_* bits.
 */
export class HttpHead {
  // -- Incremental state (kept between calls on the same message) ----------
  /** Bytes from the caller's `start` already scanned without finding the head's end. */
  scanPos: number;
  /** True once the start line was seen whole and validated. */
  lineChecked: boolean;

  // -- Position -------------------------------------------------------------
  /** Offset of the start line (after skipped leading CRLFs). */
  start: number;
  /** Offset just past the final CRLFCRLF (0 until the head is complete). */
  end: number;

  // -- Request line ---------------------------------------------------------
  /** METH_* id (METH_OTHER for other tokens). */
  method: number;
  methodStart: number;
  methodLen: number;
  targetStart: number;
  targetLen: number;
  /** TARGET_* form. */
  targetForm: number;
  /** Path without the query (empty for `*`, authority-form, and `http://h`). */
  pathStart: number;
  pathLen: number;
  /** Query without the `?`; (-1, 0) when the target has no `?`. */
  queryStart: number;
  queryLen: number;
  /** Authority of an absolute- or authority-form target; (-1, 0) otherwise. */
  authStart: number;
  authLen: number;

  // -- Common ---------------------------------------------------------------
  /** 10 for HTTP/1.0, 11 for HTTP/1.1, 0 before parsing. */
  version: number;

  // -- Status line ----------------------------------------------------------
  /** Response status (100..599), 0 for requests. */
  status: number;
  reasonStart: number;
  reasonLen: number;

  // -- Headers --------------------------------------------------------------
  /** Number of header lines stored. */
  hdrCount: number;
  /** Header lines the table can hold without growing. */
  capacity: number;
  /** 4 ints per header: name start, name length, value start, value length. */
  hdrs: Int32Array;
  /** Interned name id per header, HDR_UNKNOWN when not common. */
  hdrIds: Int16Array;
  /** HDR_F_* bits per header. */
  hdrFlags: Uint8Array;
  /** Index of the first (kept) Host header, -1 when none. */
  hostIdx: number;

  // -- Semantics ------------------------------------------------------------
  /** HEAD_F_* bits. */
  flags: number;
  /** BODY_* framing. */
  bodyType: number;
  /** Content-Length value when bodyType is BODY_CL, else -1. */
  contentLength: number;

  // -- Error ----------------------------------------------------------------
  /** Status to answer with (400/414/431 for requests, 502 for responses), 0 if no error. */
  errorStatus: number;
  /** ERR_* constant, "" if no error. */
  errorReason: string;
  /** Offset of the offending byte, -1 if no error. */
  errorOffset: number;

  constructor(maxhdr: number = MAX_HDR_DEFAULT) {
    this.scanPos = 0;
    this.lineChecked = false;
    this.start = 0;
    this.end = 0;
    this.method = METH_OTHER;
    this.methodStart = -1;
    this.methodLen = 0;
    this.targetStart = -1;
    this.targetLen = 0;
    this.targetForm = TARGET_ORIGIN;
    this.pathStart = -1;
    this.pathLen = 0;
    this.queryStart = -1;
    this.queryLen = 0;
    this.authStart = -1;
    this.authLen = 0;
    this.version = 0;
    this.status = 0;
    this.reasonStart = -1;
    this.reasonLen = 0;
    this.hdrCount = 0;
    // Room for the usual message; the parser grows it up to tune.http.maxhdr.
    // Sized for maxhdr (101) it was 3.8 KB per stream, idle ones included.
    const cap = maxhdr < INITIAL_HDR_CAPACITY ? maxhdr : INITIAL_HDR_CAPACITY;
    this.capacity = cap;
    this.hdrs = new Int32Array(cap * 4);
    this.hdrIds = new Int16Array(cap);
    this.hdrFlags = new Uint8Array(cap);
    this.hostIdx = -1;
    this.flags = 0;
    this.bodyType = BODY_NONE;
    this.contentLength = -1;
    this.errorStatus = 0;
    this.errorReason = "";
    this.errorOffset = -1;
  }

  /** Forgets the previous message (keeps the typed arrays). Call before each new message. */
  reset(): void {
    this.scanPos = 0;
    this.lineChecked = false;
    this.start = 0;
    this.end = 0;
    this.clearParsed();
  }

  /** Clears what a full parse fills in; the incremental scan state is kept. */
  clearParsed(): void {
    this.method = METH_OTHER;
    this.methodStart = -1;
    this.methodLen = 0;
    this.targetStart = -1;
    this.targetLen = 0;
    this.targetForm = TARGET_ORIGIN;
    this.pathStart = -1;
    this.pathLen = 0;
    this.queryStart = -1;
    this.queryLen = 0;
    this.authStart = -1;
    this.authLen = 0;
    this.version = 0;
    this.status = 0;
    this.reasonStart = -1;
    this.reasonLen = 0;
    this.hdrCount = 0;
    this.hostIdx = -1;
    this.flags = 0;
    this.bodyType = BODY_NONE;
    this.contentLength = -1;
    this.errorStatus = 0;
    this.errorReason = "";
    this.errorOffset = -1;
  }

  /** Grows the header table to hold `n` headers (the parser, when a message has more). */
  ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    const hdrs = new Int32Array(n * 4);
    hdrs.set(this.hdrs);
    const ids = new Int16Array(n);
    ids.set(this.hdrIds);
    const fl = new Uint8Array(n);
    fl.set(this.hdrFlags);
    this.hdrs = hdrs;
    this.hdrIds = ids;
    this.hdrFlags = fl;
    this.capacity = n;
  }

  /** Records an error; always returns PARSE_ERROR so parsers can `return head.fail(…)`. */
  fail(status: number, reason: string, offset: number): number {
    this.errorStatus = status;
    this.errorReason = reason;
    this.errorOffset = offset;
    return PARSE_ERROR;
  }

  /** Name start of header i. */
  nameStart(i: number): number {
    return this.hdrs[i * 4] as number;
  }
  /** Name length of header i. */
  nameLen(i: number): number {
    return this.hdrs[i * 4 + 1] as number;
  }
  /** Value start of header i (after leading OWS). */
  valueStart(i: number): number {
    return this.hdrs[i * 4 + 2] as number;
  }
  /** Value length of header i (without trailing OWS). */
  valueLen(i: number): number {
    return this.hdrs[i * 4 + 3] as number;
  }
  /** Interned id of header i's name, HDR_UNKNOWN if not common. */
  nameId(i: number): number {
    return this.hdrIds[i] as number;
  }
  /** True when header i must not be forwarded. */
  isDropped(i: number): boolean {
    return ((this.hdrFlags[i] as number) & HDR_F_DROP) !== 0;
  }

  /**
   * Index of the first header at or after `from` named `name` (an interned id
   * or a name in any case), skipping dropped ones; -1 when none. Does not
   * allocate for ids and for names in the table.
   */
  findHeader(buf: Uint8Array, name: number | string, from = 0): number {
    let id: number;
    if (typeof name === "number") id = name;
    else {
      id = headerNameIdFromString(name);
      if (id === HDR_UNKNOWN) return this.#findUnknown(buf, name, from);
    }
    for (let i = from; i < this.hdrCount; i++) {
      if (this.hdrIds[i] === id && !this.isDropped(i)) return i;
    }
    return -1;
  }

  #findUnknown(buf: Uint8Array, name: string, from: number): number {
    const len = name.length;
    for (let i = from; i < this.hdrCount; i++) {
      if (this.hdrIds[i] !== HDR_UNKNOWN || this.nameLen(i) !== len || this.isDropped(i)) continue;
      const s = this.nameStart(i);
      let k = 0;
      while (k < len) {
        const c = name.charCodeAt(k);
        if (c > 0xff || TO_LOWER[buf[s + k] as number] !== TO_LOWER[c]) break;
        k++;
      }
      if (k === len) return i;
    }
    return -1;
  }

  /**
   * Value of the first non-dropped header named `name` (interned id or
   * name in any case), decoded as latin1; null when absent. Decodes only on
   * request: meant for rules, not for the parser.
   */
  headerValue(buf: Uint8Array, name: number | string): string | null {
    const i = this.findHeader(buf, name);
    return i < 0 ? null : spanToString(buf, this.valueStart(i), this.valueLen(i));
  }

  /**
   * True when the connection may stay open after this message: HTTP/1.1
   * unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`,
   * and never after a TE+CL repair or an until-close body.
   */
  keepAlive(): boolean {
    const f = this.flags;
    if (f & (HEAD_F_CONN_CLOSE | HEAD_F_CL_DROPPED)) return false;
    if (this.bodyType === BODY_UNTIL_CLOSE) return false;
    return this.version === 11 || (f & HEAD_F_CONN_KEEPALIVE) !== 0;
  }
}

// Note about invariants:
// - After a positive parse result, every CR in buf[start, end) is followed by
//   LF and every LF preceded by CR; hdrCount <= capacity; each span lies
//   inside [start, end); a value never starts or ends with SP/HTAB.
// - bodyType is BODY_CL iff contentLength >= 0.
// - HDR_F_DROP is only set on Content-Length and Host lines; the first Host
//   line (hostIdx) is never dropped.
// - scanPos is relative to the caller's start, so a buffer realigned between
//   calls (same message, same first byte) keeps working.
