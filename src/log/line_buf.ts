// The bytes of the log line being built (HAProxy's log.c writes a line
// straight into its logline buffer; so do we).
//
// A compiled format writes its parts here instead of concatenating strings:
// a line per request would otherwise leave a context object, a dozen part
// strings and the joined line to the young generation, then be encoded once
// more into the sink's queue. One LineBuf lives as long as the logger; each
// line resets it, the sinks copy its bytes out at once.

import { putDecimal } from "../buf/decimal.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEX_DIGITS = Array.from("0123456789ABCDEF", (ch) => ch.charCodeAt(0));

/** Starting size; a line longer than this doubles it (kept: the next long line reuses it). */
const INITIAL_BYTES = 2048;
/** The longest line kept: the rest is cut (HAProxy's logline buffer is bounded too). */
export const LINE_MAX_BYTES = 65536;

export class LineBuf {
  #buf: Uint8Array;
  /** Bytes of the line so far. */
  len: number;

  constructor(size = INITIAL_BYTES) {
    this.#buf = new Uint8Array(size);
    this.len = 0;
  }

  reset(): void {
    this.len = 0;
  }

  /** The line (a view: valid until the next reset). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.len);
  }

  /** The line as text (tests, and callers that need a string). */
  text(): string {
    return decoder.decode(this.view());
  }

  /** Room for `n` more bytes; false when the line would pass LINE_MAX_BYTES. */
  #room(n: number): boolean {
    const need = this.len + n;
    if (need <= this.#buf.length) return true;
    if (need > LINE_MAX_BYTES) return false;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, LINE_MAX_BYTES));
    next.set(this.#buf.subarray(0, this.len));
    this.#buf = next;
    return true;
  }

  byte(b: number): void {
    if (this.len < this.#buf.length || this.#room(1)) this.#buf[this.len++] = b;
  }

  /**
   * A string, UTF-8 encoded. Log text is nearly always ASCII (escaped
   * request lines, names, addresses): it is copied a code unit at a time;
   * the first non-ASCII one hands the rest to the encoder.
   */
  str(s: string): void {
    const n = s.length;
    if (!this.#room(n)) return this.#cut(s);
    const buf = this.#buf;
    let len = this.len;
    for (let i = 0; i < n; i++) {
      const ch = s.charCodeAt(i);
      if (ch >= 0x80) {
        this.len = len;
        return this.#utf8(s, i);
      }
      buf[len++] = ch;
    }
    this.len = len;
  }

  /**
   * A request line or sample as HAProxy's lf_encode_chunk() writes it with
   * url_encode_map: controls, '"', '#' and bytes >= 0x7F become `#XX`
   * (the UTF-8 bytes of a code unit above 0xFF). One pass, no escaped string.
   */
  escaped(s: string): void {
    const n = s.length;
    if (!this.#room(n)) return;
    const buf = this.#buf;
    let len = this.len;
    for (let i = 0; i < n; i++) {
      const ch = s.charCodeAt(i);
      if (ch >= 0x20 && ch < 0x7f && ch !== 0x22 && ch !== 0x23) {
        buf[len++] = ch;
        continue;
      }
      this.len = len;
      return this.#escapedRest(s, i);
    }
    this.len = len;
  }

  /** escaped() from the first character that needs a `#XX`. */
  #escapedRest(s: string, from: number): void {
    for (let i = from; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (ch >= 0x20 && ch < 0x7f && ch !== 0x22 && ch !== 0x23) this.byte(ch);
      else if (ch <= 0xff) this.hexEscape(ch);
      // Above 0xFF: the code unit's UTF-8 bytes (as escapeLogUri() encodes it).
      else for (const b of encoder.encode(s[i])) this.hexEscape(b);
    }
  }

  /** Byte `b` as `#XX`, uppercase hex (HAProxy's escape in log lines). */
  hexEscape(b: number): void {
    this.byte(0x23);
    this.byte(HEX_DIGITS[b >> 4]!);
    this.byte(HEX_DIGITS[b & 15]!);
  }

  /** A non-negative or negative integer in decimal (timers are -1 when unset). */
  int(v: number): void {
    if (v < 0 || v > 0x7fffffff || v !== Math.floor(v)) return this.str(String(v));
    if (!this.#room(10)) return;
    this.len = putDecimal(this.#buf, this.len, v);
  }

  /** The rest of `s` from `i`, UTF-8 (room for 3 bytes per code unit). */
  #utf8(s: string, i: number): void {
    const rest = s.length - i;
    if (!this.#room(rest * 3)) return this.#cut(s.slice(i));
    this.len += encoder.encodeInto(s.slice(i), this.#buf.subarray(this.len)).written;
  }

  /** What fits of `s` before LINE_MAX_BYTES. */
  #cut(s: string): void {
    this.#room(LINE_MAX_BYTES - this.len);
    this.len += encoder.encodeInto(s, this.#buf.subarray(this.len, LINE_MAX_BYTES)).written;
  }
}
