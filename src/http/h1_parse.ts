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
// A head that is whole and valid at the first call (nearly every head) is
// parsed in one pass, each line as its end is found (parseOnePass()). Any
// other head, and every later call, takes the two-pass path, whose answers
// the one pass must match byte for byte (tests/http/h1_parse_diff_test.ts
// compares with a copy of it): a scan for the end of the head checks the CR /
// LF pairing, then a full parse.
//
// Incremental use: call again with the same `start` and a larger `end` after
// each read. The scan for the end of the head resumes where it stopped
// (head.scanPos), bare CR / bare LF and a bad start line are reported as soon
// as their bytes arrive, and the full parse runs once, when CRLFCRLF is seen.
// The start line's parsing lives in h1_start_line.ts.

import {
  CHAR_0,
  CHAR_9,
  COLON,
  COMMA,
  CR,
  DQUOTE,
  HTAB,
  LF,
  MAX_SAFE_SIZE,
  NUL,
  SEMICOLON,
  SP,
  TCHAR,
  TO_LOWER,
} from "./_chars.ts";
import {
  HDR_CONNECTION,
  HDR_CONTENT_LENGTH,
  HDR_EXPECT,
  HDR_HOST,
  HDR_TRANSFER_ENCODING,
  HDR_UPGRADE,
  headerNameId,
} from "./header_names.ts";
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
  ERR_BAD_TE,
  ERR_BARE_CR,
  ERR_BARE_LF,
  ERR_CONFLICTING_CL,
  ERR_CONFLICTING_HOST,
  ERR_DUPLICATE_CHUNKED,
  ERR_HEAD_TOO_LARGE,
  ERR_HOST_MISMATCH,
  ERR_MISSING_HOST,
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
  METH_HEAD,
  METH_OTHER,
  PARSE_ERROR,
  PARSE_NEED_MORE,
} from "./types.ts";
import {
  checkStartPrefix,
  isValidAuthority,
  LARGE_HEAD_STATUS_SPECIFIC,
  LINE_END_UNKNOWN,
  parseRequestLine,
  parseStatusLine,
  REQ_ERROR_STATUS,
  requestLineEnd,
  RES_ERROR_STATUS,
  URI_TOO_LONG_STATUS,
} from "./h1_start_line.ts";

export {
  LARGE_HEAD_STATUS_SPECIFIC,
  REQ_ERROR_STATUS,
  RES_ERROR_STATUS,
  URI_TOO_LONG_STATUS,
} from "./h1_start_line.ts";

const TOK_CHUNKED = bytesOf("chunked");
const TOK_CLOSE = bytesOf("close");
const TOK_KEEP_ALIVE = bytesOf("keep-alive");
const TOK_UPGRADE = bytesOf("upgrade");
const TOK_100_CONTINUE = bytesOf("100-continue");
/** Transfer codings we know the name of (RFC 9112 §7); any other before chunked is refused. */
const KNOWN_CODINGS: readonly Uint8Array[] = ["gzip", "x-gzip", "deflate", "compress", "x-compress"]
  .map(bytesOf);

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

/**
 * Whether parseHead() tries the one pass first (always, but in the
 * differential test, whose oracle is the scan and full parse alone:
 * tests/http/h1_parse_diff_test.ts).
 */
let onePass = true;

/** Turns the one pass off (false) or on: for the differential test only. */
export function setOnePassForTest(on: boolean): void {
  onePass = on;
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

  // 2. One pass over a head seen for the first time: a whole and valid head
  //    (nearly every head, in one read) is parsed line by line as its line
  //    ends are found. Anything else (an incomplete head, a refusal) stops it
  //    at the start of the line it could not take; the scan and the full
  //    parse below go on from there and answer as they always did.
  if (onePass && head.scanPos === 0 && !head.lineChecked) {
    const errSt = head.errorStatus, errWhy = head.errorReason, errAt = head.errorOffset;
    const r = parseOnePass(buf, p, limit, head, maxhdr, isResp, reqMethod);
    if (r > 0) {
      head.start = p;
      head.end = r;
      return r - start;
    }
    if (r === PARSE_ERROR) return PARSE_ERROR;
    // Stopped: the head keeps what the scan alone leaves in a head reset()
    // for this message (the start line's fields once it is taken, no header,
    // flag or new error).
    if (stopLineTaken) {
      head.hdrCount = 0;
      head.hostIdx = -1;
      head.flags = 0;
    } else head.clearParsed();
    head.fail(errSt, errWhy, errAt);
    head.scanPos = stopAt - start;
    head.lineChecked = stopLineTaken;
  }

  // 3. Early refusal of a start line that cannot be HTTP (one that the one
  //    pass took passes it).
  if (!head.lineChecked && checkStartPrefix(buf, p, limit, head, isResp) < 0) return PARSE_ERROR;

  // 4. Scan for CRLFCRLF, checking CR/LF pairing; validate the start line as
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

  // 5. Complete head: full parse.
  const r = parseFull(buf, p, head, maxhdr, largeStatus, isResp, reqMethod);
  if (r < 0) return PARSE_ERROR;
  head.start = p;
  head.end = headEnd;
  // A repeated call re-parses from scratch and yields the same result.
  head.scanPos = 0;
  head.lineChecked = false;
  return headEnd - start;
}

/** Where parseOnePass() stopped: the start of the first line it did not take. */
let stopAt = 0;
/** True when parseOnePass() took (and validated) the start line before it stopped. */
let stopLineTaken = false;
/** parseOnePass() result: stopped at `stopAt`, nothing refused yet. */
const ONE_PASS_STOPPED = -2;

/** Bytes a header value may hold: any but NUL, CR and LF (HTTP_RULES.md). */
const FIELD_BYTE: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(1);
  t[NUL] = 0;
  t[CR] = 0;
  t[LF] = 0;
  return t;
})();

/**
 * Parses the head at buf[p] in one pass, each line as its end is found, when
 * it is whole (its final CRLF before `limit`) and nothing in it is refused.
 * Only such a head is answered here: its bytes then passed every check the
 * scan makes (each line's only CR and LF are its CRLF), so the result is the
 * full parse's. At the first line it cannot take (incomplete, a bare CR or LF,
 * a refused field...) it stops, sets stopAt/stopLineTaken and returns
 * ONE_PASS_STOPPED, since which refusal wins depends on the bytes after it
 * (a later bare CR, a head too large). Returns the offset just past the head,
 * ONE_PASS_STOPPED, or PARSE_ERROR for a whole head's final checks (Host,
 * Transfer-Encoding judgement).
 */
function parseOnePass(
  buf: Uint8Array,
  p: number,
  limit: number,
  head: HttpHead,
  maxhdr: number,
  isResp: boolean,
  reqMethod: number,
): number {
  stopAt = p;
  stopLineTaken = false;
  // The start line. A request line is parsed first and must be followed by
  // CRLF: it holds nothing but tchars, target bytes, two SPs and the version,
  // so that CR is its first. A status line's reason may hold anything: its
  // first CR is found first (a JS loop: Uint8Array.prototype.indexOf() costs
  // ~40 ns a call), and it must hold no LF (nor NUL, refused by the checks of
  // the start line, which the scan makes).
  let cr = p;
  let c = 0;
  startHead(head);
  if (isResp) {
    c = buf[p] as number;
    while (FIELD_BYTE[c]) c = buf[++cr] as number;
    if (c !== CR || parseStatusLine(buf, p, cr, head) < 0) return ONE_PASS_STOPPED;
    head.flags |= HEAD_F_RESPONSE;
  } else {
    if (parseRequestLine(buf, p, LINE_END_UNKNOWN, head) < 0) return ONE_PASS_STOPPED;
    cr = requestLineEnd(head);
  }
  if (cr + 1 >= limit || buf[cr + 1] !== LF) return ONE_PASS_STOPPED;
  stopLineTaken = true;

  const errStatus = isResp ? RES_ERROR_STATUS : REQ_ERROR_STATUS;
  let pos = cr + 2;
  let count = 0;
  for (;;) {
    stopAt = pos;
    c = buf[pos] as number;
    if (c === CR) {
      if (pos + 1 >= limit || buf[pos + 1] !== LF) return ONE_PASS_STOPPED;
      break;
    }
    // Name: 1*tchar, then ':' at once (obs-fold starts with no tchar).
    let n = pos;
    while (TCHAR[c]) c = buf[++n] as number;
    if (c !== COLON || n === pos) return ONE_PASS_STOPPED;
    // Value: OWS skipped, then any byte but NUL/CR/LF up to its CRLF; the
    // trailing OWS is trimmed backwards (it is rare).
    let v = n + 1;
    c = buf[v] as number;
    while (c === SP || c === HTAB) c = buf[++v] as number;
    let e = v;
    while (FIELD_BYTE[c]) c = buf[++e] as number;
    if (c !== CR || e + 1 >= limit || buf[e + 1] !== LF) return ONE_PASS_STOPPED;
    let last = e;
    while (last > v && ((c = buf[last - 1] as number) === SP || c === HTAB)) last--;

    if (count >= maxhdr) return ONE_PASS_STOPPED;
    if (recordLine(buf, head, count++, pos, n, v, last, maxhdr, errStatus, isResp) < 0) {
      return ONE_PASS_STOPPED;
    }
    pos = e + 2;
  }

  const f = head.flags;
  if ((f & HEAD_F_CONN_UPGRADE_TOKEN) && (f & HEAD_F_UPGRADE_HDR)) {
    head.flags |= HEAD_F_CONN_UPGRADE;
  }
  const r = isResp ? finishResponse(head, reqMethod) : finishRequest(buf, head, pos);
  return r < 0 ? PARSE_ERROR : pos + 2;
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
    if (recordLine(buf, head, count++, pos, n, v, last, maxhdr, errStatus, isResp) < 0) {
      return PARSE_ERROR;
    }
    pos = cr + 2;
  }

  const f = head.flags;
  if ((f & HEAD_F_CONN_UPGRADE_TOKEN) && (f & HEAD_F_UPGRADE_HDR)) {
    head.flags |= HEAD_F_CONN_UPGRADE;
  }
  return isResp ? finishResponse(head, reqMethod) : finishRequest(buf, head, pos);
}

/**
 * Records header line `count` (name buf[pos, n), value buf[v, last) without
 * OWS) in head, growing its table up to `maxhdr` (the caller checked the
 * limit), and acts on it (onHeader()): the one pass and the full parse
 * record lines alike. Returns 0 or PARSE_ERROR.
 */
function recordLine(
  buf: Uint8Array,
  head: HttpHead,
  count: number,
  pos: number,
  n: number,
  v: number,
  last: number,
  maxhdr: number,
  errStatus: number,
  isResp: boolean,
): number {
  if (count >= head.capacity) {
    const want = head.capacity * 2 + 1;
    head.ensureCapacity(want < maxhdr ? want : maxhdr);
  }
  const hdrs = head.hdrs, k = count * 4;
  hdrs[k] = pos;
  hdrs[k + 1] = n - pos;
  hdrs[k + 2] = v;
  hdrs[k + 3] = last - v;
  const id = headerNameId(buf, pos, n - pos);
  head.hdrIds[count] = id;
  head.hdrFlags[count] = 0;
  head.hdrCount = count + 1;
  return onHeader(buf, id, v, last, count, head, errStatus, isResp);
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

/**
 * Whether every Transfer-Encoding line of `head` (parsed from `buf`) is just
 * `chunked`: any other coding is one an HTTP/2 client has no field to be
 * told of (RFC 9113 §8.2.2: no Transfer-Encoding), so the mux would hand
 * it coded bytes as the content.
 */
export function teOnlyChunked(buf: Uint8Array, head: HttpHead): boolean {
  if (head.flags & HEAD_F_TE_OTHER) return false;
  const hdrs = head.hdrs;
  for (let i = 0; i < head.hdrCount; i++) {
    if (head.hdrIds[i] !== HDR_TRANSFER_ENCODING) continue;
    if (!spanIsLower(buf, hdrs[i * 4 + 2]!, hdrs[i * 4 + 3]!, TOK_CHUNKED)) return false;
  }
  return true;
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
