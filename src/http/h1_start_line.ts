// HTTP/1.x start lines (HAProxy's h1.c h1_parse_msg_head() start-line states
// and the method / target checks of h1_htx.c): the request line with its
// target forms, the status line, and the early refusal of a start line that
// cannot be HTTP. Part of the head parser (h1_parse.ts), split off by concept.
//
// Owns: the spans and ids a start line fills in an HttpHead, and the status,
// reason and offset of every start-line refusal. Pure functions over bytes:
// never writes to the buffer, never allocates per call.

import { bytesEqual } from "../buf/copy.ts";
import {
  ASTERISK,
  CHAR_0,
  CHAR_1,
  CHAR_5,
  CHAR_9,
  COLON,
  CR,
  HOST_CHAR,
  LBRACKET,
  NUL,
  QUESTION,
  RBRACKET,
  SCHEME_CHAR,
  SLASH,
  SP,
  TARGET_CHAR,
  TCHAR,
  TO_LOWER,
} from "./_chars.ts";
import {
  bytesOf,
  ERR_BAD_METHOD,
  ERR_BAD_REASON,
  ERR_BAD_STATUS,
  ERR_BAD_TARGET,
  ERR_BAD_VERSION,
  ERR_NOT_HTTP,
  type HttpHead,
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
  TARGET_ABSOLUTE,
  TARGET_ASTERISK,
  TARGET_AUTHORITY,
  TARGET_ORIGIN,
} from "./types.ts";

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

const M_GET = bytesOf("GET");
const M_PUT = bytesOf("PUT");
const M_HEAD = bytesOf("HEAD");
const M_POST = bytesOf("POST");
const M_TRACE = bytesOf("TRACE");
const M_PATCH = bytesOf("PATCH");
const M_DELETE = bytesOf("DELETE");
const M_OPTIONS = bytesOf("OPTIONS");
const M_CONNECT = bytesOf("CONNECT");

/** True when buf[s, s+len) equals `ref` exactly (case-sensitive). */
function spanIs(buf: Uint8Array, s: number, len: number, ref: Uint8Array): boolean {
  return len === ref.length && bytesEqual(buf, s, ref, 0, len);
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
export function isValidAuthority(
  buf: Uint8Array,
  s: number,
  len: number,
  requirePort: boolean,
): boolean {
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
 * `cr` for parseRequestLine() when the line's end is not known yet: the line
 * must then end (with a CR) right after the version, at requestLineEnd().
 * Refusals are not the final ones in that mode (the CR may be elsewhere).
 */
export const LINE_END_UNKNOWN = -1;

/** Offset of the CR that ends the request line parseRequestLine() accepted. */
export function requestLineEnd(head: HttpHead): number {
  return head.targetStart + head.targetLen + 1 + VERSION_LEN;
}

/**
 * Parses the request line in buf[p, cr) (cr = its CR, or LINE_END_UNKNOWN).
 * Accepts `token SP target SP HTTP/1.(0|1)` with single spaces; fills
 * method, target, path/query/authority spans, targetForm and version.
 * Returns 0, or PARSE_ERROR with the reason set on `head`.
 */
export function parseRequestLine(buf: Uint8Array, p: number, cr: number, head: HttpHead): number {
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
  if (cr === LINE_END_UNKNOWN ? buf[v + VERSION_LEN] !== CR : v + VERSION_LEN !== cr) {
    return head.fail(REQ_ERROR_STATUS, ERR_BAD_VERSION, v + VERSION_LEN);
  }
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
export function parseStatusLine(buf: Uint8Array, p: number, cr: number, head: HttpHead): number {
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
export function checkStartPrefix(
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
