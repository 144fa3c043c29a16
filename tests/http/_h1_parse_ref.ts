// REFERENCE COPY of src/http/h1_parse.ts (and headerNameId() of
// src/http/header_names.ts) as they were on main at 9035f37, before the
// one-pass parse. Test-only: h1_parse_diff_test.ts compares the live parser
// with it on generated heads. Do not change its behaviour; do not import it
// from src/.
// deno-lint-ignore-file

// HTTP/1.x head parsers (HAProxy's h1.c h1_headers_to_hdr_list() and the
// checks h1_htx.c / http.c apply to requests and responses).
//
// Owns: turning the bytes of a request or response head into an HttpHead
// (spans, header table, framing, connection flags) and refusing everything
// HTTP_RULES.md calls ambiguous. Pure functions over bytes: no sockets, no
// buffers of its own, no strings decoded while parsing, no object allocated
// per call or per header. It must never modify the buffer (the proxy forwards
// the head byte for byte; repairs are expressed as HDR_F_DROP marks and flags
// for the analyser to apply).
//
// Incremental use: call again with the same `start` and a larger `end` after
// each read. The scan for the end of the head resumes where it stopped
// (head.scanPos), bare CR / bare LF and a bad start line are reported as soon
// as their bytes arrive, and the full parse runs once, when CRLFCRLF is seen.

import {
  ASTERISK,
  CHAR_0,
  CHAR_1,
  CHAR_5,
  CHAR_9,
  COLON,
  COMMA,
  CR,
  DQUOTE,
  HOST_CHAR,
  HTAB,
  LBRACKET,
  LF,
  MAX_SAFE_SIZE,
  NUL,
  QUESTION,
  RBRACKET,
  SCHEME_CHAR,
  SEMICOLON,
  SLASH,
  SP,
  TARGET_CHAR,
  TCHAR,
  TO_LOWER,
} from "../../src/http/_chars.ts";
import {
  HDR_CONNECTION,
  HDR_CONTENT_LENGTH,
  HDR_EXPECT,
  HDR_HOST,
  HDR_TRANSFER_ENCODING,
  HDR_UNKNOWN,
  HDR_UPGRADE,
  HEADER_NAMES,
} from "../../src/http/header_names.ts";
import {
  BODY_CHUNKED,
  BODY_CL,
  BODY_NONE,
  BODY_TUNNEL,
  BODY_UNTIL_CLOSE,
  bytesOf,
  ERR_BAD_CL,
  ERR_BAD_HEADER_NAME,
  ERR_BAD_HEADER_VALUE,
  ERR_BAD_HOST,
  ERR_BAD_METHOD,
  ERR_BAD_REASON,
  ERR_BAD_STATUS,
  ERR_BAD_TARGET,
  ERR_BAD_TE,
  ERR_BAD_VERSION,
  ERR_BARE_CR,
  ERR_BARE_LF,
  ERR_CONFLICTING_CL,
  ERR_CONFLICTING_HOST,
  ERR_DUPLICATE_CHUNKED,
  ERR_HEAD_TOO_LARGE,
  ERR_HOST_MISMATCH,
  ERR_MISSING_HOST,
  ERR_NOT_HTTP,
  ERR_OBS_FOLD,
  ERR_TE_HTTP10,
  ERR_TOO_MANY_HEADERS,
  ERR_UNKNOWN_TE,
  ERR_WS_BEFORE_COLON,
  HDR_F_DROP,
  HEAD_F_CHUNKED,
  HEAD_F_CL_DROPPED,
  HEAD_F_CL_MERGED,
  HEAD_F_CONN_CLOSE,
  HEAD_F_CONN_KEEPALIVE,
  HEAD_F_CONN_UPGRADE,
  HEAD_F_CONN_UPGRADE_TOKEN,
  HEAD_F_EXPECT_100,
  HEAD_F_HAS_CL,
  HEAD_F_HAS_HOST,
  HEAD_F_HAS_TE,
  HEAD_F_HOST_MERGED,
  HEAD_F_RESPONSE,
  HEAD_F_TE_OTHER,
  HEAD_F_UPGRADE_HDR,
  type HttpHead,
  MAX_HDR_DEFAULT,
  METH_CONNECT,
  METH_DELETE,
  METH_GET,
  METH_HEAD,
  METH_OPTIONS,
  METH_OTHER,
  METH_PATCH,
  METH_POST,
  METH_PUT,
  METH_TRACE,
  PARSE_ERROR,
  PARSE_NEED_MORE,
  TARGET_ABSOLUTE,
  TARGET_ASTERISK,
  TARGET_AUTHORITY,
  TARGET_ORIGIN,
} from "../../src/http/types.ts";

/** Status for every refused request (HTTP_RULES.md). */
export const REQ_ERROR_STATUS = 400;
/** Status the proxy answers when a server's response is refused. */
export const RES_ERROR_STATUS = 502;
/** `largeHeadStatus` value that selects 431 / 414 instead of 400. */
export const LARGE_HEAD_STATUS_SPECIFIC = 431;
/** Status for a request whose request line alone overflows, in the specific mode. */
export const URI_TOO_LONG_STATUS = 414;

/** `HTTP/1.`, the fixed prefix of both versions. */
const HTTP_1_PREFIX = bytesOf("HTTP/1.");
/** Length of `HTTP/1.x`. */
const VERSION_LEN = 8;
/** Length of `HTTP/` (a mismatch before it means "not HTTP" at all). */
const HTTP_NAME_LEN = 5;

const TOK_CHUNKED = bytesOf("chunked");
const TOK_CLOSE = bytesOf("close");
const TOK_KEEP_ALIVE = bytesOf("keep-alive");
const TOK_UPGRADE = bytesOf("upgrade");
const TOK_100_CONTINUE = bytesOf("100-continue");
/** Transfer codings we know the name of (RFC 9112 §7); any other before chunked is refused. */
const KNOWN_CODINGS: readonly Uint8Array[] = ["gzip", "x-gzip", "deflate", "compress", "x-compress"]
  .map(bytesOf);

const M_GET = bytesOf("GET");
const M_PUT = bytesOf("PUT");
const M_HEAD = bytesOf("HEAD");
const M_POST = bytesOf("POST");
const M_TRACE = bytesOf("TRACE");
const M_PATCH = bytesOf("PATCH");
const M_DELETE = bytesOf("DELETE");
const M_OPTIONS = bytesOf("OPTIONS");
const M_CONNECT = bytesOf("CONNECT");

// Scratch state of the full parse (single-threaded, reset at each full
// parse): avoids allocating a result object per call.
let clValue = -1;
let teChunked = false;
let teLastChunked = false;
let teUnknownAt = -1;
let teValueAt = -1;

/** Forgets the last head's parse: `head`'s index and the per-head header state above. */
function startHead(head: HttpHead): void {
  head.clearParsed();
  clValue = -1;
  teChunked = false;
  teLastChunked = false;
  teUnknownAt = -1;
  teValueAt = -1;
}

/** True when buf[s, s+len) equals `ref` exactly (case-sensitive). */
function spanIs(buf: Uint8Array, s: number, len: number, ref: Uint8Array): boolean {
  if (len !== ref.length) return false;
  for (let i = 0; i < len; i++) if (buf[s + i] !== ref[i]) return false;
  return true;
}

/** True when buf[s, s+len) equals the lower-case `ref` ignoring ASCII case. */
function spanIsLower(buf: Uint8Array, s: number, len: number, ref: Uint8Array): boolean {
  if (len !== ref.length) return false;
  for (let i = 0; i < len; i++) if (TO_LOWER[buf[s + i] as number] !== ref[i]) return false;
  return true;
}

/** True when two spans are equal ignoring ASCII case. */
function spansEqualNoCase(
  buf: Uint8Array,
  a: number,
  alen: number,
  b: number,
  blen: number,
): boolean {
  if (alen !== blen) return false;
  for (let i = 0; i < alen; i++) {
    if (TO_LOWER[buf[a + i] as number] !== TO_LOWER[buf[b + i] as number]) return false;
  }
  return true;
}

/** METH_* id of a method token (case-sensitive, RFC 9110 §9.1). */
function methodId(buf: Uint8Array, s: number, len: number): number {
  switch (len) {
    case 3:
      if (spanIs(buf, s, 3, M_GET)) return METH_GET;
      if (spanIs(buf, s, 3, M_PUT)) return METH_PUT;
      return METH_OTHER;
    case 4:
      if (spanIs(buf, s, 4, M_HEAD)) return METH_HEAD;
      if (spanIs(buf, s, 4, M_POST)) return METH_POST;
      return METH_OTHER;
    case 5:
      if (spanIs(buf, s, 5, M_TRACE)) return METH_TRACE;
      if (spanIs(buf, s, 5, M_PATCH)) return METH_PATCH;
      return METH_OTHER;
    case 6:
      return spanIs(buf, s, 6, M_DELETE) ? METH_DELETE : METH_OTHER;
    case 7:
      if (spanIs(buf, s, 7, M_OPTIONS)) return METH_OPTIONS;
      if (spanIs(buf, s, 7, M_CONNECT)) return METH_CONNECT;
      return METH_OTHER;
    default:
      return METH_OTHER;
  }
}

/**
 * Validates `host [":" port]` in buf[s, s+len): reg-name / IPv4 / IP-literal
 * (`[…]`), optional port of digits (required and non-empty when
 * `requirePort`). Refuses userinfo (`@`), empty hosts, spaces and controls.
 */
function isValidAuthority(buf: Uint8Array, s: number, len: number, requirePort: boolean): boolean {
  const e = s + len;
  let i = s;
  if (len === 0) return false;
  if (buf[i] === LBRACKET) {
    i++;
    while (i < e && buf[i] !== RBRACKET) {
      const c = buf[i] as number;
      if (!HOST_CHAR[c] || c === LBRACKET) return false;
      i++;
    }
    if (i >= e || i === s + 1) return false;
    i++; // past ']'
  } else {
    while (i < e) {
      const c = buf[i] as number;
      if (c === COLON) break;
      if (!HOST_CHAR[c] || c === LBRACKET || c === RBRACKET) return false;
      i++;
    }
    if (i === s) return false;
  }
  if (i === e) return !requirePort;
  if (buf[i] !== COLON) return false;
  i++;
  if (i === e) return !requirePort;
  if (e - i > 5) return false;
  for (; i < e; i++) {
    const c = buf[i] as number;
    if (c < CHAR_0 || c > CHAR_9) return false;
  }
  return true;
}

/**
 * Parses the request line in buf[p, cr) (cr = its CR). Accepts
 * `token SP target SP HTTP/1.(0|1)` with single spaces; fills method, target,
 * path/query/authority spans, targetForm and version. Returns 0, or
 * PARSE_ERROR with the reason set on `head`.
 */
function parseRequestLine(buf: Uint8Array, p: number, cr: number, head: HttpHead): number {
  let q = p;
  while (TCHAR[buf[q] as number]) q++;
  if (q === p) return head.fail(REQ_ERROR_STATUS, ERR_NOT_HTTP, p);
  if (q === cr || buf[q] !== SP) return head.fail(REQ_ERROR_STATUS, ERR_BAD_METHOD, q);
  const method = methodId(buf, p, q - p);
  head.method = method;
  head.methodStart = p;
  head.methodLen = q - p;

  const t = q + 1;
  let u = t;
  while (TARGET_CHAR[buf[u] as number]) u++;
  if (buf[u] !== SP) {
    // "GET /\r\n" is an HTTP/0.9 request line: refused as a bad version.
    if (u === cr && u > t) return head.fail(REQ_ERROR_STATUS, ERR_BAD_VERSION, u);
    return head.fail(REQ_ERROR_STATUS, ERR_BAD_TARGET, u);
  }
  if (u === t) return head.fail(REQ_ERROR_STATUS, ERR_BAD_TARGET, u);
  head.targetStart = t;
  head.targetLen = u - t;

  const v = u + 1;
  for (let k = 0; k < VERSION_LEN - 1; k++) {
    if (buf[v + k] !== HTTP_1_PREFIX[k]) return head.fail(REQ_ERROR_STATUS, ERR_BAD_VERSION, v + k);
  }
  const minor = buf[v + VERSION_LEN - 1];
  if (minor !== CHAR_0 && minor !== CHAR_1) {
    return head.fail(REQ_ERROR_STATUS, ERR_BAD_VERSION, v + VERSION_LEN - 1);
  }
  if (v + VERSION_LEN !== cr) return head.fail(REQ_ERROR_STATUS, ERR_BAD_VERSION, v + VERSION_LEN);
  head.version = minor === CHAR_1 ? 11 : 10;

  return parseTarget(buf, t, u, method, head);
}

/**
 * Classifies the target buf[t, u) (bytes already checked against
 * TARGET_CHAR): origin-form `/…`; `*` for OPTIONS only; authority-form
 * `host:port` for CONNECT only (and CONNECT accepts nothing else);
 * absolute-form `scheme://authority[/path][?query]` without userinfo.
 * Returns 0 or PARSE_ERROR ("bad target").
 */
function parseTarget(
  buf: Uint8Array,
  t: number,
  u: number,
  method: number,
  head: HttpHead,
): number {
  const first = buf[t] as number;
  if (method === METH_CONNECT) {
    if (!isValidAuthority(buf, t, u - t, true)) {
      return head.fail(REQ_ERROR_STATUS, ERR_BAD_TARGET, t);
    }
    head.targetForm = TARGET_AUTHORITY;
    head.authStart = t;
    head.authLen = u - t;
    return 0;
  }
  if (first === SLASH) {
    head.targetForm = TARGET_ORIGIN;
    splitPathQuery(buf, t, u, head);
    return 0;
  }
  if (first === ASTERISK) {
    if (u - t !== 1 || method !== METH_OPTIONS) {
      return head.fail(REQ_ERROR_STATUS, ERR_BAD_TARGET, t);
    }
    head.targetForm = TARGET_ASTERISK;
    return 0;
  }
  // absolute-form: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  const lower = TO_LOWER[first] as number;
  if (lower < 0x61 || lower > 0x7a) return head.fail(REQ_ERROR_STATUS, ERR_BAD_TARGET, t);
  let i = t + 1;
  while (i < u && SCHEME_CHAR[buf[i] as number]) i++;
  if (u - i < 3 || buf[i] !== COLON || buf[i + 1] !== SLASH || buf[i + 2] !== SLASH) {
    return head.fail(REQ_ERROR_STATUS, ERR_BAD_TARGET, i);
  }
  const a = i + 3;
  let b = a;
  while (b < u) {
    const c = buf[b];
    if (c === SLASH || c === QUESTION) break;
    b++;
  }
  if (!isValidAuthority(buf, a, b - a, false)) {
    return head.fail(REQ_ERROR_STATUS, ERR_BAD_TARGET, a);
  }
  head.targetForm = TARGET_ABSOLUTE;
  head.authStart = a;
  head.authLen = b - a;
  splitPathQuery(buf, b, u, head);
  return 0;
}

/** Sets path (up to the first `?`) and query (after it) spans for buf[s, u). */
function splitPathQuery(buf: Uint8Array, s: number, u: number, head: HttpHead): void {
  let i = s;
  while (i < u && buf[i] !== QUESTION) i++;
  head.pathStart = s;
  head.pathLen = i - s;
  if (i < u) {
    head.queryStart = i + 1;
    head.queryLen = u - i - 1;
  }
}

/**
 * Parses the status line in buf[p, cr): `HTTP/1.(0|1) SP 3DIGIT [SP reason]`
 * with a status in 100..599; a missing reason (even without its SP) is
 * accepted. Fills version, status, reason span. Returns 0 or PARSE_ERROR.
 */
function parseStatusLine(buf: Uint8Array, p: number, cr: number, head: HttpHead): number {
  for (let k = 0; k < VERSION_LEN - 1; k++) {
    if (buf[p + k] !== HTTP_1_PREFIX[k]) {
      return head.fail(RES_ERROR_STATUS, k < HTTP_NAME_LEN ? ERR_NOT_HTTP : ERR_BAD_VERSION, p + k);
    }
  }
  const minor = buf[p + VERSION_LEN - 1];
  if (minor !== CHAR_0 && minor !== CHAR_1) {
    return head.fail(RES_ERROR_STATUS, ERR_BAD_VERSION, p + VERSION_LEN - 1);
  }
  head.version = minor === CHAR_1 ? 11 : 10;
  let i = p + VERSION_LEN;
  if (i === cr) return head.fail(RES_ERROR_STATUS, ERR_BAD_STATUS, i);
  if (buf[i] !== SP) return head.fail(RES_ERROR_STATUS, ERR_BAD_VERSION, i);
  i++;
  let status = 0;
  for (let k = 0; k < 3; k++, i++) {
    const c = buf[i] as number;
    if (c < CHAR_0 || c > CHAR_9 || (k === 0 && (c < CHAR_1 || c > CHAR_5))) {
      return head.fail(RES_ERROR_STATUS, ERR_BAD_STATUS, i);
    }
    status = status * 10 + (c - CHAR_0);
  }
  head.status = status;
  if (i === cr) {
    head.reasonStart = i;
    return 0;
  }
  if (buf[i] !== SP) return head.fail(RES_ERROR_STATUS, ERR_BAD_STATUS, i);
  i++;
  head.reasonStart = i;
  for (let r = i; r < cr; r++) {
    if (buf[r] === NUL) return head.fail(RES_ERROR_STATUS, ERR_BAD_REASON, r);
  }
  head.reasonLen = cr - i;
  return 0;
}

/**
 * Early check of an incomplete start line in buf[p, limit), so that garbage
 * (a TLS hello) is refused at once instead of waiting for a timeout. Reports
 * only errors the full start-line parse would report at the same offset; a CR
 * is left to the scan. Returns 0 or PARSE_ERROR.
 */
function checkStartPrefix(
  buf: Uint8Array,
  p: number,
  limit: number,
  head: HttpHead,
  isResp: boolean,
): number {
  if (isResp) {
    for (let k = 0; k < VERSION_LEN && p + k < limit; k++) {
      const c = buf[p + k] as number;
      if (c === CR) return 0;
      const ok = k < VERSION_LEN - 1 ? c === HTTP_1_PREFIX[k] : (c === CHAR_0 || c === CHAR_1);
      if (!ok) {
        return head.fail(
          RES_ERROR_STATUS,
          k < HTTP_NAME_LEN ? ERR_NOT_HTTP : ERR_BAD_VERSION,
          p + k,
        );
      }
    }
    return 0;
  }
  let q = p;
  while (q < limit && TCHAR[buf[q] as number]) q++;
  if (q === limit) return 0;
  const c = buf[q];
  if (c === SP || c === CR) return 0;
  return head.fail(REQ_ERROR_STATUS, q === p ? ERR_NOT_HTTP : ERR_BAD_METHOD, q);
}

/**
 * Parses a request head in buf[start, end).
 *
 * Accepts: optional leading CRLFs (skipped, head.start tells where the request
 * line begins), a request line, header lines, CRLFCRLF, every line ending in
 * CRLF. Refuses with 400 (head.errorStatus/errorReason/errorOffset): see
 * docs/internals/http_parser.md for the full table (bad method/target/version,
 * bare CR, bare LF, obs-fold, bad header name/value, whitespace before colon,
 * bad or conflicting Content-Length, bad Transfer-Encoding, Host problems,
 * too many headers, head too large).
 *
 * `maxhdr` bounds the header lines; `maxHead` the head's bytes from `start`
 * (leading CRLFs included), by default the room left in `buf`; when reached
 * without a complete head the answer is "head too large". `largeHeadStatus`
 * is 400 (default) or 431: then an oversize head gets 431, or 414 when its
 * request line alone does not fit, and too many headers gets 431.
 *
 * Returns the number of bytes from `start` to the end of the head (body
 * starts at start + result), PARSE_NEED_MORE (0), or PARSE_ERROR (-1).
 * Never throws, never writes to `buf`.
 */
export function parseRequestHead(
  buf: Uint8Array,
  start: number,
  end: number,
  head: HttpHead,
  maxhdr: number = MAX_HDR_DEFAULT,
  maxHead: number = buf.length - start,
  largeHeadStatus: number = REQ_ERROR_STATUS,
): number {
  return parseHead(buf, start, end, head, maxhdr, maxHead, largeHeadStatus, false, METH_OTHER);
}

/**
 * Parses a response head in buf[start, end); `requestMethod` (METH_*) is the
 * method of the request it answers, for framing.
 *
 * Accepts a status line `HTTP/1.x NNN [reason]`, header lines with the same
 * rules as requests (no Host checks), CRLFCRLF. Framing (RFC 9112 §6.3):
 * HEAD requests, 1xx, 204, 304 → BODY_NONE whatever the headers say; 101 and
 * 2xx to CONNECT → BODY_TUNNEL; Transfer-Encoding ending in chunked →
 * BODY_CHUNKED, other codings → BODY_UNTIL_CLOSE (HEAD_F_TE_OTHER);
 * Content-Length → BODY_CL; otherwise BODY_UNTIL_CLOSE.
 *
 * Every refusal sets errorStatus 502. Returns like parseRequestHead().
 */
export function parseResponseHead(
  buf: Uint8Array,
  start: number,
  end: number,
  head: HttpHead,
  maxhdr: number,
  requestMethod: number,
  maxHead: number = buf.length - start,
): number {
  return parseHead(buf, start, end, head, maxhdr, maxHead, RES_ERROR_STATUS, true, requestMethod);
}

function parseHead(
  buf: Uint8Array,
  start: number,
  end: number,
  head: HttpHead,
  maxhdr: number,
  maxHead: number,
  largeStatus: number,
  isResp: boolean,
  reqMethod: number,
): number {
  const errStatus = isResp ? RES_ERROR_STATUS : REQ_ERROR_STATUS;
  if (end > buf.length) end = buf.length;
  if (start < 0 || start >= end) return PARSE_NEED_MORE;
  const limit = maxHead < end - start ? start + (maxHead > 0 ? maxHead : 0) : end;

  // 1. Leading empty lines (RFC 9112 §2.2): each must be exactly CRLF.
  let p = start;
  while (p < limit) {
    const c = buf[p];
    if (c === CR) {
      if (p + 1 >= limit) break;
      if (buf[p + 1] !== LF) return head.fail(errStatus, ERR_BARE_CR, p);
      p += 2;
    } else if (c === LF) {
      return head.fail(errStatus, ERR_BARE_LF, p);
    } else break;
  }
  head.start = p;

  // 2. Early refusal of a start line that cannot be HTTP.
  if (!head.lineChecked && checkStartPrefix(buf, p, limit, head, isResp) < 0) return PARSE_ERROR;

  // 3. Scan for CRLFCRLF, checking CR/LF pairing; validate the start line as
  //    soon as it is whole.
  let i = start + head.scanPos;
  if (i < p) i = p;
  let headEnd = -1;
  for (; i < limit; i++) {
    const c = buf[i] as number;
    if (c > CR) continue;
    if (c === CR) {
      if (i + 1 >= limit) break;
      if (buf[i + 1] !== LF) return head.fail(errStatus, ERR_BARE_CR, i);
    } else if (c === LF) {
      if (i === p || buf[i - 1] !== CR) return head.fail(errStatus, ERR_BARE_LF, i);
      if (!head.lineChecked) {
        const r = isResp
          ? parseStatusLine(buf, p, i - 1, head)
          : parseRequestLine(buf, p, i - 1, head);
        if (r < 0) return PARSE_ERROR;
        head.lineChecked = true;
      } else if (buf[i - 2] === LF) {
        headEnd = i + 1;
        break;
      }
    }
  }

  if (headEnd < 0) {
    head.scanPos = i - start;
    if (end - start < maxHead) return PARSE_NEED_MORE;
    let status = largeStatus;
    if (!isResp && largeStatus === LARGE_HEAD_STATUS_SPECIFIC && !head.lineChecked) {
      status = URI_TOO_LONG_STATUS;
    }
    return head.fail(status, ERR_HEAD_TOO_LARGE, limit);
  }

  // 4. Complete head: full parse.
  const r = parseFull(buf, p, head, maxhdr, largeStatus, isResp, reqMethod);
  if (r < 0) return PARSE_ERROR;
  head.start = p;
  head.end = headEnd;
  // A repeated call re-parses from scratch and yields the same result.
  head.scanPos = 0;
  head.lineChecked = false;
  return headEnd - start;
}

/**
 * Full parse of a complete head starting at buf[p], whose CR/LF pairing and
 * final empty line the scan has already proved (so every loop stops at a
 * CR). Fills every field of `head`. Returns 0 or PARSE_ERROR.
 */
function parseFull(
  buf: Uint8Array,
  p: number,
  head: HttpHead,
  maxhdr: number,
  largeStatus: number,
  isResp: boolean,
  reqMethod: number,
): number {
  const errStatus = isResp ? RES_ERROR_STATUS : REQ_ERROR_STATUS;
  startHead(head);

  let cr = buf.indexOf(CR, p);
  const r = isResp ? parseStatusLine(buf, p, cr, head) : parseRequestLine(buf, p, cr, head);
  if (r < 0) return PARSE_ERROR;
  if (isResp) head.flags |= HEAD_F_RESPONSE;

  let hdrs = head.hdrs;
  let pos = cr + 2;
  let count = 0;
  for (;;) {
    let c = buf[pos] as number;
    if (c === CR) break; // the empty line: pos + 2 === headEnd
    if (c === SP || c === HTAB) return head.fail(errStatus, ERR_OBS_FOLD, pos);

    // Name: 1*tchar, then ':' immediately.
    let n = pos;
    while (TCHAR[buf[n] as number]) n++;
    c = buf[n] as number;
    if (c !== COLON || n === pos) {
      if (n > pos && (c === SP || c === HTAB)) {
        let w = n;
        while (buf[w] === SP || buf[w] === HTAB) w++;
        if (buf[w] === COLON) return head.fail(errStatus, ERR_WS_BEFORE_COLON, n);
      }
      return head.fail(errStatus, ERR_BAD_HEADER_NAME, n);
    }

    // Value: OWS trimmed on both sides; NUL refused; ends at the line's CR.
    let v = n + 1;
    while (buf[v] === SP || buf[v] === HTAB) v++;
    let e = v;
    let last = v;
    for (;;) {
      c = buf[e] as number;
      if (c <= CR) {
        if (c === CR) break;
        if (c === NUL) return head.fail(errStatus, ERR_BAD_HEADER_VALUE, e);
      }
      if (c !== SP && c !== HTAB) last = e + 1;
      e++;
    }
    cr = e;

    if (count >= maxhdr) {
      const st = isResp
        ? RES_ERROR_STATUS
        : (largeStatus === LARGE_HEAD_STATUS_SPECIFIC
          ? LARGE_HEAD_STATUS_SPECIFIC
          : REQ_ERROR_STATUS);
      return head.fail(st, ERR_TOO_MANY_HEADERS, pos);
    }
    if (count >= head.capacity) {
      const want = head.capacity * 2 + 1;
      head.ensureCapacity(want < maxhdr ? want : maxhdr);
      hdrs = head.hdrs;
    }
    const k = count * 4;
    hdrs[k] = pos;
    hdrs[k + 1] = n - pos;
    hdrs[k + 2] = v;
    hdrs[k + 3] = last - v;
    const id = headerNameId(buf, pos, n - pos);
    head.hdrIds[count] = id;
    head.hdrFlags[count] = 0;
    head.hdrCount = ++count;
    if (onHeader(buf, id, v, last, count - 1, head, errStatus, isResp) < 0) return PARSE_ERROR;
    pos = cr + 2;
  }

  const f = head.flags;
  if ((f & HEAD_F_CONN_UPGRADE_TOKEN) && (f & HEAD_F_UPGRADE_HDR)) {
    head.flags |= HEAD_F_CONN_UPGRADE;
  }
  return isResp ? finishResponse(head, reqMethod) : finishRequest(buf, head, pos);
}

/** What header `idx` (name id `id`, value buf[v, last)) means for the message. Returns 0 or PARSE_ERROR. */
function onHeader(
  buf: Uint8Array,
  id: number,
  v: number,
  last: number,
  idx: number,
  head: HttpHead,
  errStatus: number,
  isResp: boolean,
): number {
  switch (id) {
    case HDR_CONTENT_LENGTH:
      return onContentLength(buf, v, last - v, idx, head, errStatus);
    case HDR_TRANSFER_ENCODING:
      return onTransferEncoding(buf, v, last, head, errStatus, isResp);
    case HDR_HOST:
      return isResp ? 0 : onHost(buf, v, last - v, idx, head);
    case HDR_CONNECTION:
      onConnection(buf, v, last, head);
      return 0;
    case HDR_UPGRADE:
      head.flags |= HEAD_F_UPGRADE_HDR;
      return 0;
    case HDR_EXPECT:
      if (!isResp && spanIsLower(buf, v, last - v, TOK_100_CONTINUE)) {
        head.flags |= HEAD_F_EXPECT_100;
      }
      return 0;
  }
  return 0;
}

/**
 * parseFull() of a request head in buf[start, start + headLen) whose request
 * line ends at `cr` and whose `count` header lines are already in head.hdrs
 * (absolute offsets, values without OWS), as preset_head.ts checked them:
 * the same checks and fields, without the scans that find the lines.
 * Returns headLen or PARSE_ERROR.
 */
export function parseKnownLines(
  buf: Uint8Array,
  start: number,
  cr: number,
  headLen: number,
  count: number,
  head: HttpHead,
): number {
  startHead(head);
  if (parseRequestLine(buf, start, cr, head) < 0) return PARSE_ERROR;
  const hdrs = head.hdrs;
  for (let i = 0; i < count; i++) {
    const k = i * 4, v = hdrs[k + 2] as number;
    const id = headerNameId(buf, hdrs[k] as number, hdrs[k + 1] as number);
    head.hdrIds[i] = id;
    head.hdrFlags[i] = 0;
    head.hdrCount = i + 1;
    const last = v + (hdrs[k + 3] as number);
    if (onHeader(buf, id, v, last, i, head, REQ_ERROR_STATUS, false) < 0) return PARSE_ERROR;
  }
  const f = head.flags;
  if ((f & HEAD_F_CONN_UPGRADE_TOKEN) && (f & HEAD_F_UPGRADE_HDR)) {
    head.flags |= HEAD_F_CONN_UPGRADE;
  }
  if (finishRequest(buf, head, start + headLen - 2) < 0) return PARSE_ERROR;
  head.start = start;
  head.end = start + headLen;
  head.scanPos = 0;
  head.lineChecked = false;
  return headLen;
}

/**
 * Content-Length: 1*DIGIT up to MAX_SAFE_SIZE. A repeat with the same value
 * is marked HDR_F_DROP (merged); a different one is refused. Lists (`5, 5`)
 * are not digits and are refused.
 */
function onContentLength(
  buf: Uint8Array,
  v: number,
  len: number,
  idx: number,
  head: HttpHead,
  errStatus: number,
): number {
  if (len === 0) return head.fail(errStatus, ERR_BAD_CL, v);
  let val = 0;
  for (let i = v, e = v + len; i < e; i++) {
    const c = buf[i] as number;
    if (c < CHAR_0 || c > CHAR_9) return head.fail(errStatus, ERR_BAD_CL, i);
    val = val * 10 + (c - CHAR_0);
    if (val > MAX_SAFE_SIZE) return head.fail(errStatus, ERR_BAD_CL, i);
  }
  if (head.flags & HEAD_F_HAS_CL) {
    if (val !== clValue) return head.fail(errStatus, ERR_CONFLICTING_CL, v);
    head.hdrFlags[idx] = HDR_F_DROP;
    head.flags |= HEAD_F_CL_MERGED;
    return 0;
  }
  clValue = val;
  head.flags |= HEAD_F_HAS_CL;
  return 0;
}

/**
 * Transfer-Encoding: a comma list of codings, each a token with optional
 * `;params`. `chunked` twice is refused at once; `chunked` with parameters or
 * a syntax error is "bad transfer-encoding". Which coding comes last, and
 * unknown codings (requests only), are judged after all headers.
 */
function onTransferEncoding(
  buf: Uint8Array,
  v: number,
  e: number,
  head: HttpHead,
  errStatus: number,
  isResp: boolean,
): number {
  head.flags |= HEAD_F_HAS_TE;
  teValueAt = v;
  let i = v;
  while (i < e) {
    let c = buf[i] as number;
    if (c === COMMA || c === SP || c === HTAB) {
      i++;
      continue;
    }
    const t0 = i;
    while (i < e && TCHAR[buf[i] as number]) i++;
    if (i === t0) return head.fail(errStatus, ERR_BAD_TE, i);
    const tlen = i - t0;
    while (i < e && (buf[i] === SP || buf[i] === HTAB)) i++;
    let params = false;
    if (i < e && buf[i] === SEMICOLON) {
      params = true;
      let quoted = false;
      while (i < e) {
        c = buf[i] as number;
        if (quoted) {
          if (c === 0x5c) i++; // backslash: skip the escaped byte
          else if (c === DQUOTE) quoted = false;
        } else if (c === DQUOTE) quoted = true;
        else if (c === COMMA) break;
        i++;
      }
      if (quoted) return head.fail(errStatus, ERR_BAD_TE, i);
    } else if (i < e && buf[i] !== COMMA) {
      return head.fail(errStatus, ERR_BAD_TE, i);
    }
    if (spanIsLower(buf, t0, tlen, TOK_CHUNKED)) {
      if (teChunked) return head.fail(errStatus, ERR_DUPLICATE_CHUNKED, t0);
      if (params) return head.fail(errStatus, ERR_BAD_TE, t0 + tlen);
      teChunked = true;
      teLastChunked = true;
    } else {
      teLastChunked = false;
      if (!isResp && teUnknownAt < 0 && !isKnownCoding(buf, t0, tlen)) teUnknownAt = t0;
    }
  }
  return 0;
}

function isKnownCoding(buf: Uint8Array, s: number, len: number): boolean {
  for (let k = 0; k < KNOWN_CODINGS.length; k++) {
    if (spanIsLower(buf, s, len, KNOWN_CODINGS[k] as Uint8Array)) return true;
  }
  return false;
}

/**
 * Host: must be a valid `host[:port]` (or empty). A repeat with the same
 * value (ignoring case) is marked HDR_F_DROP; a different one is refused.
 */
function onHost(buf: Uint8Array, v: number, len: number, idx: number, head: HttpHead): number {
  if (len > 0 && !isValidAuthority(buf, v, len, false)) {
    return head.fail(REQ_ERROR_STATUS, ERR_BAD_HOST, v);
  }
  if (head.hostIdx >= 0) {
    const h = head.hostIdx;
    if (!spansEqualNoCase(buf, head.valueStart(h), head.valueLen(h), v, len)) {
      return head.fail(REQ_ERROR_STATUS, ERR_CONFLICTING_HOST, v);
    }
    head.hdrFlags[idx] = HDR_F_DROP;
    head.flags |= HEAD_F_HOST_MERGED;
    return 0;
  }
  head.hostIdx = idx;
  head.flags |= HEAD_F_HAS_HOST;
  return 0;
}

/** Connection: comma list of tokens; notes close, keep-alive, upgrade (any case). */
function onConnection(buf: Uint8Array, v: number, e: number, head: HttpHead): void {
  let i = v;
  while (i < e) {
    const c = buf[i];
    if (c === COMMA || c === SP || c === HTAB) {
      i++;
      continue;
    }
    const t0 = i;
    while (i < e && buf[i] !== COMMA && buf[i] !== SP && buf[i] !== HTAB) i++;
    const len = i - t0;
    if (spanIsLower(buf, t0, len, TOK_CLOSE)) head.flags |= HEAD_F_CONN_CLOSE;
    else if (spanIsLower(buf, t0, len, TOK_KEEP_ALIVE)) head.flags |= HEAD_F_CONN_KEEPALIVE;
    else if (spanIsLower(buf, t0, len, TOK_UPGRADE)) head.flags |= HEAD_F_CONN_UPGRADE_TOKEN;
  }
}

/** Request checks after all headers: Host rules, TE judgement, framing. */
function finishRequest(buf: Uint8Array, head: HttpHead, emptyLine: number): number {
  const f = head.flags;
  if (f & HEAD_F_HAS_HOST) {
    if (head.authStart >= 0) {
      const h = head.hostIdx;
      if (
        !spansEqualNoCase(buf, head.authStart, head.authLen, head.valueStart(h), head.valueLen(h))
      ) {
        return head.fail(REQ_ERROR_STATUS, ERR_HOST_MISMATCH, head.valueStart(h));
      }
    }
  } else if (head.version === 11) {
    return head.fail(REQ_ERROR_STATUS, ERR_MISSING_HOST, emptyLine);
  }
  if (head.version !== 11) head.flags &= ~HEAD_F_EXPECT_100;

  // A request whose Transfer-Encoding does not end in chunked has no length
  // a server and the proxy would agree on: refused, where a response would
  // be read until close (RFC 9112 §6.3).
  if (f & HEAD_F_HAS_TE) {
    if (head.version !== 11) return head.fail(REQ_ERROR_STATUS, ERR_TE_HTTP10, teValueAt);
    if (!teLastChunked) return head.fail(REQ_ERROR_STATUS, ERR_BAD_TE, teValueAt);
    if (teUnknownAt >= 0) return head.fail(REQ_ERROR_STATUS, ERR_UNKNOWN_TE, teUnknownAt);
  }
  setBodyFraming(head, BODY_NONE);
  return 0;
}

/**
 * The framing both directions share once the start line and the request
 * method have had their say (RFC 9112 §6.3): Transfer-Encoding ending in
 * chunked on HTTP/1.1 is chunked, any other Transfer-Encoding runs until
 * close (HEAD_F_TE_OTHER, responses only: requests were refused above), and
 * either way every Content-Length line is dropped; else Content-Length; else
 * `noLength` (none for a request, until close for a response).
 */
function setBodyFraming(head: HttpHead, noLength: number): void {
  const f = head.flags;
  if (f & HEAD_F_HAS_TE) {
    if (teLastChunked && head.version === 11) {
      head.flags |= HEAD_F_CHUNKED;
      head.bodyType = BODY_CHUNKED;
    } else {
      head.flags |= HEAD_F_TE_OTHER;
      head.bodyType = BODY_UNTIL_CLOSE;
    }
    if (f & HEAD_F_HAS_CL) dropContentLength(head);
  } else if (f & HEAD_F_HAS_CL) {
    head.bodyType = BODY_CL;
    head.contentLength = clValue;
  } else head.bodyType = noLength;
}

/** Marks every Content-Length line HDR_F_DROP and notes HEAD_F_CL_DROPPED (TE wins, RFC 9112 §6.3). */
function dropContentLength(head: HttpHead): void {
  for (let i = 0; i < head.hdrCount; i++) {
    if (head.hdrIds[i] === HDR_CONTENT_LENGTH) head.hdrFlags[i] = HDR_F_DROP;
  }
  head.flags |= HEAD_F_CL_DROPPED;
}

/** Response framing, RFC 9112 §6.3 in order. */
function finishResponse(head: HttpHead, reqMethod: number): number {
  const st = head.status;
  if (st === 101 || (reqMethod === METH_CONNECT && st >= 200 && st < 300)) {
    head.bodyType = BODY_TUNNEL;
    return 0;
  }
  if (reqMethod === METH_HEAD || st < 200 || st === 204 || st === 304) {
    head.bodyType = BODY_NONE;
    return 0;
  }
  setBodyFraming(head, BODY_UNTIL_CLOSE);
  return 0;
}

// headerNameId() as it was (src/http/header_names.ts at 9035f37).
const MAX_NAME_LEN = 32;
const NAME_BYTES: Uint8Array[] = HEADER_NAMES.map((n) => {
  const b = new Uint8Array(n.length);
  for (let i = 0; i < n.length; i++) b[i] = n.charCodeAt(i);
  return b;
});
const BUCKETS: (Int16Array | null)[] = (() => {
  const lists: number[][] = [];
  for (let id = 0; id < HEADER_NAMES.length; id++) {
    const name = HEADER_NAMES[id] as string;
    const slot = name.length * 32 + (name.charCodeAt(0) & 31);
    (lists[slot] ??= []).push(id);
  }
  const out: (Int16Array | null)[] = new Array((MAX_NAME_LEN + 1) * 32).fill(null);
  for (let s = 0; s < lists.length; s++) {
    const l = lists[s];
    if (l !== undefined) out[s] = Int16Array.from(l);
  }
  return out;
})();
export function headerNameId(buf: Uint8Array, start: number, len: number): number {
  if (len === 0 || len > MAX_NAME_LEN) return HDR_UNKNOWN;
  const first = TO_LOWER[buf[start] as number] as number;
  const cands = BUCKETS[len * 32 + (first & 31)];
  if (cands === null || cands === undefined) return HDR_UNKNOWN;
  for (let k = 0; k < cands.length; k++) {
    const id = cands[k] as number;
    const name = NAME_BYTES[id] as Uint8Array;
    if (name[0] !== first) continue;
    let i = 1;
    while (i < len && TO_LOWER[buf[start + i] as number] === name[i]) i++;
    if (i === len) return id;
  }
  return HDR_UNKNOWN;
}
