// HTTP/1.x body framing (HAProxy's h1.c h1_parse_chunk_size() /
// h1_parse_msg_tlrs() and the body states of h1_htx.c), as incremental
// validators.
//
// Owns: knowing where a body ends. The proxy forwards the chunked encoding
// unchanged, so these parsers never decode or copy data: they validate the
// framing bytes, keep their state across calls (input may be split at any
// byte), and say how many bytes of the input may be forwarded and whether the
// message is complete. Chunk data costs O(1) per call whatever its size.
// They must never allocate per call, read past `end`, or write to the buffer.

import {
  CR,
  DEL,
  HEX_VALUE,
  HTAB,
  LF,
  MAX_SAFE_SIZE,
  NUL,
  SEMICOLON,
  SP,
  TCHAR,
} from "./_chars.ts";
import {
  BODY_CHUNKED,
  BODY_CL,
  BODY_NONE,
  ERR_BAD_CHUNK_EXT,
  ERR_BAD_CHUNK_SIZE,
  ERR_BAD_TRAILER,
  ERR_BARE_CR,
  ERR_BARE_LF,
  ERR_CHUNK_LINE_TOO_LONG,
  ERR_CHUNK_SIZE_OVERFLOW,
  ERR_MISSING_CHUNK_CRLF,
  ERR_TRAILERS_TOO_LARGE,
  PARSE_ERROR,
} from "./types.ts";

/** Most hex digits in a chunk size (HTTP_RULES.md; leading zeros count). */
export const CHUNK_SIZE_DIGITS_MAX = 16;
/** Longest chunk-size line, extensions included, CRLF excluded. */
export const CHUNK_LINE_MAX = 4096;
/** Most bytes of trailer section (field lines and their CRLFs, final CRLF excluded). */
export const TRAILERS_MAX = 16384;

// ChunkedParser states (what the next byte must be).
/** First hex digit of a chunk size. */
const CS_SIZE_FIRST = 0;
/** More hex digits, BWS, `;` or CR. */
const CS_SIZE = 1;
/** Whitespace after the size: more of it, `;` or CR. */
const CS_SIZE_BWS = 2;
/** Inside chunk extensions, up to CR. */
const CS_EXT = 3;
/** LF ending the chunk-size line. */
const CS_SIZE_LF = 4;
/** Chunk data (chunkRemaining bytes). */
const CS_DATA = 5;
/** CR after chunk data. */
const CS_DATA_CR = 6;
/** LF after chunk data. */
const CS_DATA_LF = 7;
/** Start of a trailer line, or the CR of the final empty line. */
const CS_TRAILER_START = 8;
/** Trailer field name, up to `:`. */
const CS_TRAILER_NAME = 9;
/** Trailer field value, up to CR. */
const CS_TRAILER_VALUE = 10;
/** LF ending a trailer line. */
const CS_TRAILER_LF = 11;
/** LF of the final empty line. */
const CS_FINAL_LF = 12;
/** The message is complete; bytes after it belong to the next message. */
const CS_DONE = 13;
/** An error was reported; every later call returns PARSE_ERROR. */
const CS_ERROR = 14;

const STATE_NAMES = [
  "SIZE_FIRST",
  "SIZE",
  "SIZE_BWS",
  "EXT",
  "SIZE_LF",
  "DATA",
  "DATA_CR",
  "DATA_LF",
  "TRAILER_START",
  "TRAILER_NAME",
  "TRAILER_VALUE",
  "TRAILER_LF",
  "FINAL_LF",
  "DONE",
  "ERROR",
];

/**
 * Incremental validator of a chunked body (RFC 9112 §7.1), from the first
 * chunk-size line to the CRLF that ends the trailer section.
 *
 * Accepts: `1*16HEXDIG [BWS] [; extensions] CRLF` size lines (extensions are
 * any printable bytes or HTAB, at most CHUNK_LINE_MAX per line), data
 * followed by CRLF, a last chunk `0`, trailer fields `token ":" value CRLF`
 * (at most TRAILERS_MAX bytes), final CRLF. Refuses (PARSE_ERROR, with
 * errorReason / errorOffset): a size that is empty, not hex, over 16 digits
 * or over MAX_SAFE_INTEGER; control bytes in extensions; anything but CRLF
 * after data; bare CR / bare LF; obs-fold or a bad name in trailers. The
 * status to answer (400 request, 502 response) is the caller's choice.
 */
export class ChunkedParser {
  /** CS_* state, what the next byte must be. */
  state: number;
  /** Size of the current chunk while its size line is read. */
  chunkSize: number;
  /** Data bytes of the current chunk not yet seen (may be forwarded blindly). */
  chunkRemaining: number;
  /** Hex digits read in the current size line. */
  #digits: number;
  /** Bytes of the current size line so far. */
  #lineLen: number;
  /** Bytes of trailer section so far. */
  trailerBytes: number;
  /** Total chunk data bytes seen (for logs). */
  dataBytes: number;
  /** True once the final CRLF was consumed. */
  done: boolean;
  /** ERR_* constant of the error, "" if none. */
  errorReason: string;
  /** Absolute offset of the offending byte, -1 if none. */
  errorOffset: number;

  constructor() {
    this.state = CS_SIZE_FIRST;
    this.chunkSize = 0;
    this.chunkRemaining = 0;
    this.#digits = 0;
    this.#lineLen = 0;
    this.trailerBytes = 0;
    this.dataBytes = 0;
    this.done = false;
    this.errorReason = "";
    this.errorOffset = -1;
  }

  /** Prepares for a new body. */
  reset(): void {
    this.state = CS_SIZE_FIRST;
    this.chunkSize = 0;
    this.chunkRemaining = 0;
    this.#digits = 0;
    this.#lineLen = 0;
    this.trailerBytes = 0;
    this.dataBytes = 0;
    this.done = false;
    this.errorReason = "";
    this.errorOffset = -1;
  }

  /** Name of the current state, for debugging. */
  stateName(): string {
    return STATE_NAMES[this.state] ?? `?${this.state}`;
  }

  #fail(reason: string, offset: number): number {
    this.state = CS_ERROR;
    this.errorReason = reason;
    this.errorOffset = offset;
    return PARSE_ERROR;
  }

  /**
   * Consumes buf[start, end). Returns how many bytes belong to the body and
   * may be forwarded as they are (all of them, unless the body ends inside
   * the range: then up to and including its final LF; check `done`), or
   * PARSE_ERROR. Once done, returns 0.
   */
  parse(buf: Uint8Array, start: number, end: number): number {
    let state = this.state;
    if (state === CS_ERROR) return PARSE_ERROR;
    if (state === CS_DONE) return 0;
    if (end > buf.length) end = buf.length;
    let i = start;
    while (i < end) {
      if (state === CS_DATA) {
        const avail = end - i;
        const n = this.chunkRemaining < avail ? this.chunkRemaining : avail;
        i += n;
        this.chunkRemaining -= n;
        this.dataBytes += n;
        if (this.chunkRemaining === 0) state = CS_DATA_CR;
        continue;
      }
      const c = buf[i] as number;
      switch (state) {
        case CS_SIZE_FIRST: {
          const h = HEX_VALUE[c] as number;
          if (h < 0) {
            return c === LF ? this.#fail(ERR_BARE_LF, i) : this.#fail(ERR_BAD_CHUNK_SIZE, i);
          }
          this.chunkSize = h;
          this.#digits = 1;
          this.#lineLen = 1;
          state = CS_SIZE;
          break;
        }
        case CS_SIZE: {
          const h = HEX_VALUE[c] as number;
          if (h >= 0) {
            if (++this.#digits > CHUNK_SIZE_DIGITS_MAX) {
              return this.#fail(ERR_CHUNK_SIZE_OVERFLOW, i);
            }
            const size = this.chunkSize * 16 + h;
            if (size > MAX_SAFE_SIZE) return this.#fail(ERR_CHUNK_SIZE_OVERFLOW, i);
            this.chunkSize = size;
            this.#lineLen++;
            break;
          }
          state = this.#afterSize(c, i);
          if (state === CS_ERROR) return PARSE_ERROR;
          break;
        }
        case CS_SIZE_BWS:
          state = this.#afterSize(c, i);
          if (state === CS_ERROR) return PARSE_ERROR;
          break;
        case CS_EXT:
          if (c === CR) {
            state = CS_SIZE_LF;
          } else if (c === HTAB || (c >= SP && c !== DEL)) {
            if (++this.#lineLen > CHUNK_LINE_MAX) return this.#fail(ERR_CHUNK_LINE_TOO_LONG, i);
          } else {
            return c === LF ? this.#fail(ERR_BARE_LF, i) : this.#fail(ERR_BAD_CHUNK_EXT, i);
          }
          break;
        case CS_SIZE_LF:
          if (c !== LF) return this.#fail(ERR_BARE_CR, i - 1);
          if (this.chunkSize === 0) {
            state = CS_TRAILER_START;
          } else {
            this.chunkRemaining = this.chunkSize;
            state = CS_DATA;
          }
          break;
        case CS_DATA_CR:
          if (c !== CR) return this.#fail(ERR_MISSING_CHUNK_CRLF, i);
          state = CS_DATA_LF;
          break;
        case CS_DATA_LF:
          if (c !== LF) return this.#fail(ERR_MISSING_CHUNK_CRLF, i);
          state = CS_SIZE_FIRST;
          break;
        case CS_TRAILER_START:
          if (c === CR) {
            state = CS_FINAL_LF;
            break;
          }
          if (!TCHAR[c]) {
            return c === LF ? this.#fail(ERR_BARE_LF, i) : this.#fail(ERR_BAD_TRAILER, i);
          }
          state = CS_TRAILER_NAME;
          if (++this.trailerBytes > TRAILERS_MAX) return this.#fail(ERR_TRAILERS_TOO_LARGE, i);
          break;
        case CS_TRAILER_NAME:
          if (c === 0x3a) state = CS_TRAILER_VALUE;
          else if (!TCHAR[c]) {
            return c === LF ? this.#fail(ERR_BARE_LF, i) : this.#fail(ERR_BAD_TRAILER, i);
          }
          if (++this.trailerBytes > TRAILERS_MAX) return this.#fail(ERR_TRAILERS_TOO_LARGE, i);
          break;
        case CS_TRAILER_VALUE:
          if (c === CR) state = CS_TRAILER_LF;
          else if (c === LF) return this.#fail(ERR_BARE_LF, i);
          else if (c === NUL) return this.#fail(ERR_BAD_TRAILER, i);
          if (++this.trailerBytes > TRAILERS_MAX) return this.#fail(ERR_TRAILERS_TOO_LARGE, i);
          break;
        case CS_TRAILER_LF:
          if (c !== LF) return this.#fail(ERR_BARE_CR, i - 1);
          state = CS_TRAILER_START;
          if (++this.trailerBytes > TRAILERS_MAX) return this.#fail(ERR_TRAILERS_TOO_LARGE, i);
          break;
        case CS_FINAL_LF:
          if (c !== LF) return this.#fail(ERR_BARE_CR, i - 1);
          this.state = CS_DONE;
          this.done = true;
          return i + 1 - start;
      }
      i++;
    }
    this.state = state;
    return i - start;
  }

  /** Next state after a size line's digits: BWS, `;` (extensions) or CR. */
  #afterSize(c: number, i: number): number {
    if (++this.#lineLen > CHUNK_LINE_MAX) {
      this.#fail(ERR_CHUNK_LINE_TOO_LONG, i);
      return CS_ERROR;
    }
    if (c === SP || c === HTAB) return CS_SIZE_BWS;
    if (c === SEMICOLON) return CS_EXT;
    if (c === CR) return CS_SIZE_LF;
    this.#fail(c === LF ? ERR_BARE_LF : ERR_BAD_CHUNK_SIZE, i);
    return CS_ERROR;
  }
}

/**
 * Counts down a Content-Length body. parse() returns how many bytes of
 * buf[start, end) belong to the body (never more than what remains); `done`
 * once all arrived. Refuses nothing.
 */
export class ContentLengthBody {
  /** Body bytes still expected. */
  remaining: number;
  /** True when no byte remains. */
  done: boolean;

  constructor() {
    this.remaining = 0;
    this.done = true;
  }

  /** Prepares for a body of `length` bytes (a negative length counts as 0). */
  reset(length: number): void {
    this.remaining = length > 0 ? length : 0;
    this.done = this.remaining === 0;
  }

  /** Consumes up to `remaining` bytes of buf[start, end); returns how many. */
  parse(_buf: Uint8Array, start: number, end: number): number {
    const avail = end - start;
    if (avail <= 0) return 0;
    const n = this.remaining < avail ? this.remaining : avail;
    this.remaining -= n;
    if (this.remaining === 0) this.done = true;
    return n;
  }
}

/**
 * One body framer per channel, chosen from a parsed head's bodyType:
 * BODY_NONE is done at once; BODY_CL counts down; BODY_CHUNKED validates;
 * BODY_UNTIL_CLOSE and BODY_TUNNEL take every byte and are never done (the
 * peer's close ends them). parse() returns bytes to forward or PARSE_ERROR
 * (chunked only; errorReason / errorOffset then come from `chunked`).
 */
export class BodyParser {
  /** BODY_* framing in use. */
  bodyType: number;
  /** The chunked validator (reused). */
  readonly chunked: ChunkedParser;
  /** The Content-Length counter (reused). */
  readonly length: ContentLengthBody;
  /** True once the body is complete (never for until-close / tunnel). */
  done: boolean;

  constructor() {
    this.bodyType = BODY_NONE;
    this.chunked = new ChunkedParser();
    this.length = new ContentLengthBody();
    this.done = true;
  }

  /** Prepares for a body framed as `bodyType` (BODY_*), with `contentLength` for BODY_CL. */
  reset(bodyType: number, contentLength: number): void {
    this.bodyType = bodyType;
    if (bodyType === BODY_CL) {
      this.length.reset(contentLength);
      this.done = this.length.done;
    } else if (bodyType === BODY_CHUNKED) {
      this.chunked.reset();
      this.done = false;
    } else {
      this.done = bodyType === BODY_NONE;
    }
  }

  /** Consumes body bytes of buf[start, end); see the class comment. */
  parse(buf: Uint8Array, start: number, end: number): number {
    switch (this.bodyType) {
      case BODY_NONE:
        return 0;
      case BODY_CL: {
        const n = this.length.parse(buf, start, end);
        this.done = this.length.done;
        return n;
      }
      case BODY_CHUNKED: {
        const n = this.chunked.parse(buf, start, end);
        this.done = this.chunked.done;
        return n;
      }
      default:
        return end > start ? end - start : 0;
    }
  }
}
