// A request head whose writer already knows where its lines are (HAProxy's
// h2 mux fills the HTX message itself instead of having it parsed again).
// The h2 mux writes each HTTP/2 request as an HTTP/1.1 head after checking
// it against RFC 9113 §8 (mux/h2_request.ts) and hands over the bounds of
// its header lines with it; adopting them gives the analysers the HttpHead
// parseRequestHead() would give, without scanning the bytes again.
//
// Trusted: what the mux refuses (RFC 9113 §8.2.1): a name that is not a
// token, a value with NUL, CR or LF. Checked against the bytes in the
// channel: the bounds (each name ends in ": ", each value in CRLF with no
// whitespace around it, each line starts where the previous one ended, the
// last one is followed by the empty line). The request line and every
// header's meaning go through the parser's own code (parseKnownLines()).
// Anything else (a bound that does not match, more headers than maxhdr, a
// head as large as the limit, any refusal) is handed to parseRequestHead(),
// so that a refused head gets the same status, reason and offset as before.

import { COLON, CR, HTAB, LF, SP } from "./_chars.ts";
import { parseKnownLines, parseRequestHead } from "./h1_parse.ts";
import { type HttpHead, PARSE_NEED_MORE } from "./types.ts";

/** Where a writer put the header lines of the head bytes[0, len). */
export interface KnownLines {
  /** The head's length (request line, header lines, empty line). */
  readonly len: number;
  /** 4 ints per header line: name start, name length, value start, value length (from 0). */
  readonly lines: Int32Array;
  readonly lineCount: number;
}

/**
 * Keeps `src`'s line bounds in `head`'s header table until the head is in
 * the channel (adoptRequestHead()). Returns the count of lines kept, -1 when
 * the table cannot hold them (more than `maxhdr`: the parser will refuse).
 */
export function presetRequestHead(head: HttpHead, src: KnownLines, maxhdr: number): number {
  const n = src.lineCount;
  if (n > maxhdr) return -1;
  head.ensureCapacity(n);
  // A loop, not set(subarray()): a view per request costs more than ~20 ints.
  const from = src.lines, to = head.hdrs;
  for (let k = 0; k < n * 4; k++) to[k] = from[k]!;
  return n;
}

/**
 * The request head of `headLen` bytes at buf[start, end), whose `count`
 * line bounds presetRequestHead() kept in head.hdrs (-1: none). Same
 * arguments and results as parseRequestHead(), which it calls for whatever
 * it does not take itself.
 */
export function adoptRequestHead(
  buf: Uint8Array,
  start: number,
  end: number,
  head: HttpHead,
  headLen: number,
  count: number,
  maxhdr: number,
  maxHead: number,
  largeHeadStatus: number,
): number {
  if (end - start < headLen) return PARSE_NEED_MORE;
  if (count >= 0 && count <= maxhdr && headLen < maxHead && headLen <= buf.length - start) {
    const cr = linesMatch(buf, start, headLen, count, head.hdrs);
    if (cr >= 0) {
      const r = parseKnownLines(buf, start, cr, headLen, count, head);
      if (r > 0) return r;
    }
  }
  head.reset();
  return parseRequestHead(buf, start, end, head, maxhdr, maxHead, largeHeadStatus);
}

/**
 * Moves the `count` line bounds in `hdrs` to `start` and checks them against
 * buf[start, start + headLen); returns the offset of the request line's CR,
 * -1 when a bound does not match the bytes.
 */
function linesMatch(
  buf: Uint8Array,
  start: number,
  headLen: number,
  count: number,
  hdrs: Int32Array,
): number {
  const emptyLine = start + headLen - 2;
  for (let k = 0; k < count * 4; k += 4) {
    hdrs[k] = (hdrs[k] as number) + start;
    hdrs[k + 2] = (hdrs[k + 2] as number) + start;
  }
  const cr = (count > 0 ? hdrs[0] as number : emptyLine) - 2;
  if (cr <= start || buf[cr] !== CR || buf[cr + 1] !== LF) return -1;
  let next = cr + 2;
  for (let k = 0; k < count * 4; k += 4) {
    const n = hdrs[k] as number, nlen = hdrs[k + 1] as number;
    const v = hdrs[k + 2] as number, e = v + (hdrs[k + 3] as number);
    if (n !== next || nlen <= 0 || v !== n + nlen + 2 || e > emptyLine) return -1;
    if (buf[v - 2] !== COLON || buf[v - 1] !== SP || buf[e] !== CR || buf[e + 1] !== LF) return -1;
    if (e > v) {
      const a = buf[v], b = buf[e - 1];
      if (a === SP || a === HTAB || b === SP || b === HTAB) return -1;
    }
    next = e + 2;
  }
  if (next !== emptyLine || buf[emptyLine] !== CR || buf[emptyLine + 1] !== LF) return -1;
  return cr;
}
