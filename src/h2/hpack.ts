// HPACK (RFC 7541): the decoder of request header blocks and the encoder of
// response header blocks, one of each per HTTP/2 connection.
//
// The decoder enforces its limits before it allocates: an integer longer
// than 5 continuation bytes or above 2^31 - 1, a string longer than what is
// left of the block, an index beyond the tables, a table-size update above
// the size we announced or after the first header field, Huffman data with
// EOS or bad padding (COMPRESSION_ERROR), and a header list whose size
// (§4.1 sizes: name + value + 32 per field, as SETTINGS_MAX_HEADER_LIST_SIZE
// counts them) would exceed the limit, checked from the lengths before the
// strings are made: a small block that refers to a large table entry many
// times (an HPACK bomb) stops at the limit. Strings are latin1 (one char per
// octet). This file never interprets a header: message rules are the mux's.

import { bytesEqual, copyBytes } from "../buf/copy.ts";
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from "./huffman.ts";
import {
  DynamicTable,
  ENTRY_OVERHEAD,
  STATIC_COUNT,
  STATIC_NAME_INDEX,
  STATIC_PAIR_INDEX,
  STATIC_TABLE,
} from "./hpack_table.ts";

/** decode() succeeded. */
export const HPACK_OK = 0;
/** The block is invalid: a connection error COMPRESSION_ERROR (RFC 9113 §4.3). */
export const HPACK_COMPRESSION = 1;
/** The header list exceeds the decoder's limit (the block was not fully decoded). */
export const HPACK_TOO_LARGE = 2;

/** Largest block the decoder keeps to recognize again (a request's indexed fields take 5-40 bytes). */
const LAST_DECODED_MAX = 256;

const NO_BYTES = new Uint8Array(0);

/**
 * `b`, or a larger buffer (nothing copied) when it holds fewer than `n`
 * bytes: 64 at least, twice as large each time, at most `max` (n ≤ max).
 */
function room(b: Uint8Array, n: number, max: number): Uint8Array {
  if (b.length >= n) return b;
  let size = Math.max(64, 2 * b.length);
  while (size < n) size *= 2;
  return new Uint8Array(Math.min(size, max));
}

/** Largest integer the decoder accepts (a size or an index: far above any real one). */
const MAX_INT = 0x7fffffff;

/** A decoded header list, reused between blocks (no allocation but its strings). */
export class HeaderList {
  names: string[];
  values: string[];
  count: number;
  /** Sum of the §4.1 sizes of the fields (name + value + 32 each). */
  listSize: number;

  constructor() {
    this.names = [];
    this.values = [];
    this.count = 0;
    this.listSize = 0;
  }

  reset(): void {
    this.count = 0;
    this.listSize = 0;
  }

  push(name: string, value: string): void {
    const i = this.count++;
    if (i < this.names.length) {
      this.names[i] = name;
      this.values[i] = value;
    } else {
      this.names.push(name);
      this.values.push(value);
    }
    this.listSize += name.length + value.length + ENTRY_OVERHEAD;
  }
}

/** Bytes as a latin1 string. */
export function latin1(src: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(src[i]!);
    return s;
  }
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      src.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

export class HpackDecoder {
  readonly table: DynamicTable;
  /** The header table size we announced (SETTINGS_HEADER_TABLE_SIZE): updates may not exceed it. */
  readonly maxTableSize: number;
  /** Largest header list accepted (§4.1 sizes). */
  readonly maxListSize: number;
  /** Why the last decode() failed. */
  error: string;
  /** Where decoded strings go before they become strings (maxListSize bytes). */
  #scratch: Uint8Array;
  /** Read position in the block being decoded. */
  #pos: number;
  /** The entry #entry() found. */
  #eName: string;
  #eValue: string;
  /**
   * The last block decoded that changed nothing (no entry added, no size
   * update), the list it was decoded into and the table version then: the
   * same bytes at the same version decode to the same list, still in that
   * list (a client sends the same indexed fields request after request:
   * h2load's whole block is five bytes).
   */
  #lastBlock: Uint8Array;
  /** Bytes in #lastBlock, -1 when none is kept. */
  #lastLen: number;
  #lastOut: HeaderList | null;
  #lastVersion: number;

  constructor(maxTableSize: number, maxListSize: number) {
    this.table = new DynamicTable(maxTableSize);
    this.maxTableSize = maxTableSize;
    this.maxListSize = maxListSize;
    this.error = "";
    this.#scratch = new Uint8Array(0);
    this.#pos = 0;
    this.#eName = "";
    this.#eValue = "";
    this.#lastBlock = NO_BYTES; // made at the first block kept (connection memory)
    this.#lastLen = -1;
    this.#lastOut = null;
    this.#lastVersion = -1;
  }

  /** Whether src[start, end) is the last block kept, decoded into `out` at this table version. */
  #sameAsLast(src: Uint8Array, start: number, end: number, out: HeaderList): boolean {
    const n = end - start;
    if (n !== this.#lastLen || out !== this.#lastOut || this.table.version !== this.#lastVersion) {
      return false;
    }
    return bytesEqual(this.#lastBlock, 0, src, start, n);
  }

  #fail(code: number, why: string): number {
    this.error = why;
    return code;
  }

  /** Reads an integer with an N-bit prefix (§5.1) at #pos; -1 when invalid. */
  #int(src: Uint8Array, end: number, prefix: number): number {
    const mask = (1 << prefix) - 1;
    let v = src[this.#pos++]! & mask;
    if (v < mask) return v;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.#pos >= end) return -1;
      const b = src[this.#pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (v > MAX_INT) return -1;
      if ((b & 0x80) === 0) return v;
      shift += 7;
    }
    return -1;
  }

  /**
   * Reads a string literal (§5.2) at #pos into a string, or returns a
   * number: HPACK_COMPRESSION / HPACK_TOO_LARGE. `budget` is what is left of
   * the list size for it.
   */
  #str(src: Uint8Array, end: number, budget: number): string | number {
    if (this.#pos >= end) return this.#fail(HPACK_COMPRESSION, "truncated string");
    const huff = (src[this.#pos]! & 0x80) !== 0;
    const len = this.#int(src, end, 7);
    if (len < 0) return this.#fail(HPACK_COMPRESSION, "bad string length");
    if (len > end - this.#pos) return this.#fail(HPACK_COMPRESSION, "string beyond the block");
    const start = this.#pos;
    this.#pos += len;
    if (!huff) {
      if (len > budget) return this.#fail(HPACK_TOO_LARGE, "header list too large");
      return latin1(src, start, start + len);
    }
    if (this.#scratch.length < Math.min(this.maxListSize, Math.ceil(len * 8 / 5))) {
      this.#scratch = new Uint8Array(Math.min(this.maxListSize, Math.max(256, len * 2)));
    }
    const out = budget < this.#scratch.length ? this.#scratch.subarray(0, budget) : this.#scratch;
    const n = huffmanDecode(src, start, start + len, out);
    if (n === -2) return this.#fail(HPACK_TOO_LARGE, "header list too large");
    if (n < 0) return this.#fail(HPACK_COMPRESSION, "invalid Huffman code");
    return latin1(out, 0, n);
  }

  /**
   * Looks up entry `idx` (1-based, static then dynamic) into #eName and
   * #eValue (no pair is allocated per field); false when there is none.
   */
  #entry(idx: number): boolean {
    if (idx === 0) return false;
    if (idx <= STATIC_COUNT) {
      const e = STATIC_TABLE[idx - 1]!;
      this.#eName = e[0];
      this.#eValue = e[1];
      return true;
    }
    const d = idx - STATIC_COUNT - 1;
    if (d >= this.table.length) return false;
    this.#eName = this.table.name(d);
    this.#eValue = this.table.value(d);
    return true;
  }

  /**
   * Decodes the header block `src[start, end)` into `out` (reset first).
   * Returns HPACK_OK, HPACK_COMPRESSION (the connection must end: its table
   * is out of step) or HPACK_TOO_LARGE; `error` says why.
   */
  decode(src: Uint8Array, start: number, end: number, out: HeaderList): number {
    if (this.#sameAsLast(src, start, end, out)) return HPACK_OK;
    const r = this.#decode(src, start, end, out);
    if (
      r === HPACK_OK && this.table.version === this.#lastVersion && end - start <= LAST_DECODED_MAX
    ) {
      this.#lastBlock = room(this.#lastBlock, end - start, LAST_DECODED_MAX);
      copyBytes(this.#lastBlock, 0, src, start, end);
      this.#lastLen = end - start;
      this.#lastOut = out;
    } else this.#lastLen = -1;
    return r;
  }

  #decode(src: Uint8Array, start: number, end: number, out: HeaderList): number {
    // The version the block starts at: decode() keeps the block if it is unchanged after.
    this.#lastVersion = this.table.version;
    out.reset();
    this.#pos = start;
    let fields = false;
    const max = this.maxListSize;
    while (this.#pos < end) {
      const b = src[this.#pos]!;
      if (b & 0x80) {
        // Indexed field (§6.1).
        const idx = this.#int(src, end, 7);
        if (idx < 0 || !this.#entry(idx)) {
          return this.#fail(HPACK_COMPRESSION, `invalid index ${idx}`);
        }
        const name = this.#eName, value = this.#eValue;
        if (out.listSize + name.length + value.length + ENTRY_OVERHEAD > max) {
          return this.#fail(HPACK_TOO_LARGE, "header list too large");
        }
        out.push(name, value);
        fields = true;
        continue;
      }
      if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only before the first field.
        if (fields) return this.#fail(HPACK_COMPRESSION, "table size update after a field");
        const sz = this.#int(src, end, 5);
        if (sz < 0 || sz > this.maxTableSize) {
          return this.#fail(HPACK_COMPRESSION, `table size update to ${sz} above the limit`);
        }
        this.table.resize(sz);
        continue;
      }
      // Literal (§6.2): with incremental indexing (01), without (0000), never indexed (0001).
      const indexing = (b & 0xc0) === 0x40;
      const idx = this.#int(src, end, indexing ? 6 : 4);
      if (idx < 0) return this.#fail(HPACK_COMPRESSION, "bad index");
      let name: string;
      const left = max - out.listSize - ENTRY_OVERHEAD;
      if (left < 0) return this.#fail(HPACK_TOO_LARGE, "header list too large");
      if (idx === 0) {
        const s = this.#str(src, end, left);
        if (typeof s === "number") return s;
        name = s;
      } else {
        if (!this.#entry(idx)) return this.#fail(HPACK_COMPRESSION, `invalid index ${idx}`);
        name = this.#eName;
        if (name.length > left) return this.#fail(HPACK_TOO_LARGE, "header list too large");
      }
      const value = this.#str(src, end, left - name.length);
      if (typeof value === "number") return value;
      if (indexing) this.table.add(name, value);
      out.push(name, value);
      fields = true;
    }
    return HPACK_OK;
  }
}

/** Names the encoder never puts in its dynamic table (they change per response or are secret). */
const NO_INDEX: readonly string[] = [
  "content-length",
  "date",
  "etag",
  "last-modified",
  "expires",
  "age",
  "set-cookie",
  "authorization",
  "location",
  "content-range",
];

// What the encoder knows of a name, as bits of one number (one lookup per
// field instead of one per question).
/** Bits 0-7: the name's static index (0: none). */
const NI_STATIC = 0xff;
/** Static entries exist with a value for this name (STATIC_PAIR_INDEX). */
const NI_PAIRS = 0x100;
/** Never added to the dynamic table (NO_INDEX). */
const NI_NO_INDEX = 0x200;
/** Sent as never indexed (secrets). */
const NI_NEVER = 0x400;

/** The names the encoder treats apart (static, or never indexed), with their NI_* bits. */
const NAME_INFO: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (const [name, idx] of STATIC_NAME_INDEX) m.set(name, idx);
  for (const name of STATIC_PAIR_INDEX.keys()) m.set(name, (m.get(name) ?? 0) | NI_PAIRS);
  for (const name of NO_INDEX) m.set(name, (m.get(name) ?? 0) | NI_NO_INDEX);
  for (const name of ["authorization", "set-cookie"]) m.set(name, m.get(name)! | NI_NEVER);
  return m;
})();

/** Largest header value the encoder adds to its table. */
const MAX_INDEXED_VALUE = 256;

/** Largest block the encoder keeps to copy again (a usual response head is 20-100 bytes). */
const LAST_BLOCK_MAX = 512;

/** Longest string whose encoded literal the encoder keeps, and how many it keeps. */
const LITERAL_CACHE_MAX_LEN = 96;
const LITERAL_CACHE_ENTRIES = 256;
/** Largest size of the buffer of kept literals (emptied when full). */
const LITERAL_BYTES_MAX = 16384;

export class HpackEncoder {
  readonly table: DynamicTable;
  /** A size update owed at the start of the next block (the peer changed its table), else -1. */
  #pendingUpdate: number;
  /** The smallest size the table had since the last block, when below #pendingUpdate (§4.2), else -1. */
  #pendingMin: number;
  #scratch: Uint8Array;
  /**
   * Encoded string literals (length prefix and Huffman or raw bytes) of
   * short strings already sent: a response's unindexed values (date,
   * content-length) come back unchanged many times, and the Huffman coding
   * is the costly part. Emptied when full. The map gives where the
   * string's literal is in #litBytes, as offset × 128 + length (at most 97
   * bytes): one buffer for all, grown as needed, as a typed array made per
   * literal costs about a microsecond, and a content-length or an etag is
   * new each time.
   */
  #literals: Map<string, number>;
  #litBytes: Uint8Array;
  #litEnd: number;
  /**
   * The last block that changed nothing (no entry added, no size update),
   * its fields (the very strings) and the table version it was encoded at:
   * the same fields at the same version encode to the same bytes (encoding
   * depends on the fields and the table alone), so they are copied, not
   * encoded again. A backend answers with the same head over and over,
   * which the response translation hands over as the same strings.
   */
  #lastNames: string[];
  #lastValues: string[];
  #lastCount: number;
  #lastBlock: Uint8Array;
  #lastLen: number;
  /** Table version #lastBlock is valid at, -1 when none is. */
  #lastVersion: number;

  constructor(tableSize = 4096) {
    this.table = new DynamicTable(tableSize);
    this.#pendingUpdate = -1;
    this.#pendingMin = -1;
    this.#scratch = new Uint8Array(256);
    this.#literals = new Map();
    this.#litBytes = NO_BYTES; // made at the first literal (connection memory)
    this.#litEnd = 0;
    this.#lastNames = [];
    this.#lastValues = [];
    this.#lastCount = 0;
    this.#lastBlock = NO_BYTES; // made at the first block kept
    this.#lastLen = 0;
    this.#lastVersion = -1;
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: the encoder uses at most that (and at most 4096). */
  setPeerTableSize(n: number): void {
    const sz = Math.min(n, 4096);
    if (sz === this.table.maxSize) return;
    if (this.#pendingMin < 0 || sz < this.#pendingMin) this.#pendingMin = sz;
    this.table.resize(sz);
    this.#pendingUpdate = sz;
  }

  /** Writes an integer with an N-bit prefix and the high `flags` bits; returns the new offset or -1. */
  static writeInt(out: Uint8Array, at: number, v: number, prefix: number, flags: number): number {
    const mask = (1 << prefix) - 1;
    if (at >= out.length) return -1;
    if (v < mask) {
      out[at++] = flags | v;
      return at;
    }
    out[at++] = flags | mask;
    v -= mask;
    while (v >= 128) {
      if (at >= out.length) return -1;
      out[at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    if (at >= out.length) return -1;
    out[at++] = v;
    return at;
  }

  /** Writes a string literal (Huffman when shorter); returns the new offset or -1. */
  #writeStr(out: Uint8Array, at: number, s: string): number {
    const n = s.length;
    if (n <= LITERAL_CACHE_MAX_LEN) {
      const kept = this.#literals.get(s) ?? this.#keepLiteral(s);
      const from = kept >>> 7, len = kept & 127;
      if (at + len > out.length) return -1;
      copyBytes(out, at, this.#litBytes, from, from + len);
      return at + len;
    }
    return this.#encodeStr(out, at, s);
  }

  /** Encodes `s` (at most LITERAL_CACHE_MAX_LEN chars) behind the kept literals; returns where (offset × 128 + length). */
  #keepLiteral(s: string): number {
    // The literal takes at most its length and a one-byte prefix.
    if (
      this.#literals.size >= LITERAL_CACHE_ENTRIES ||
      this.#litEnd + s.length + 1 > LITERAL_BYTES_MAX
    ) {
      this.#literals.clear();
      this.#litEnd = 0;
    }
    const need = this.#litEnd + s.length + 1;
    if (need > this.#litBytes.length) {
      const old = this.#litBytes;
      this.#litBytes = room(old, Math.max(need, 512), LITERAL_BYTES_MAX);
      copyBytes(this.#litBytes, 0, old, 0, this.#litEnd);
    }
    const from = this.#litEnd;
    const len = this.#encodeStr(this.#litBytes, from, s) - from;
    this.#litEnd = from + len;
    const kept = from * 128 + len;
    this.#literals.set(s, kept);
    return kept;
  }

  /** Encodes a string literal into `out` at `at`; returns the new offset or -1. */
  #encodeStr(out: Uint8Array, at: number, s: string): number {
    const n = s.length;
    if (this.#scratch.length < n) {
      this.#scratch = new Uint8Array(Math.max(n, 2 * this.#scratch.length));
    }
    const raw = this.#scratch;
    for (let i = 0; i < n; i++) raw[i] = s.charCodeAt(i) & 0xff;
    const hl = huffmanEncodedLength(raw, 0, n);
    if (hl < n) {
      at = HpackEncoder.writeInt(out, at, hl, 7, 0x80);
      if (at < 0 || at + hl > out.length) return -1;
      return huffmanEncode(raw, 0, n, out, at);
    }
    at = HpackEncoder.writeInt(out, at, n, 7, 0);
    if (at < 0 || at + n > out.length) return -1;
    out.set(raw.subarray(0, n), at);
    return at + n;
  }

  /** Writes one field; returns the new offset or -1 when `out` is too small. */
  #field(out: Uint8Array, at: number, name: string, value: string): number {
    const info = NAME_INFO.get(name) ?? 0;
    // Only a few names have static entries with a value (:status, :method...).
    if (info & NI_PAIRS) {
      const pair = STATIC_PAIR_INDEX.get(name)!.get(value);
      if (pair !== undefined) return HpackEncoder.writeInt(out, at, pair, 7, 0x80);
    }
    // The table holds only what index allowed (never a NO_INDEX name or a long value).
    const index = (info & NI_NO_INDEX) === 0 && value.length <= MAX_INDEXED_VALUE;
    if (index) {
      const d = this.table.find(name, value);
      if (d >= 0) return HpackEncoder.writeInt(out, at, STATIC_COUNT + 1 + d, 7, 0x80);
    }
    const nameIdx = info & NI_STATIC;
    if (index) at = HpackEncoder.writeInt(out, at, nameIdx, 6, 0x40);
    else at = HpackEncoder.writeInt(out, at, nameIdx, 4, info & NI_NEVER ? 0x10 : 0);
    if (at < 0) return -1;
    if (nameIdx === 0) {
      at = this.#writeStr(out, at, name);
      if (at < 0) return -1;
    }
    at = this.#writeStr(out, at, value);
    if (at >= 0 && index) this.table.add(name, value);
    return at;
  }

  /**
   * Encodes `count` fields (lowercase names, latin1 values) into `out` at
   * `at`; returns the offset after the block, or -1 when `out` is too small
   * (the table may then hold entries the peer will never see: the caller
   * must end the connection, or give a large enough buffer).
   */
  encode(
    names: readonly string[],
    values: readonly string[],
    count: number,
    out: Uint8Array,
    at: number,
  ): number {
    const version = this.table.version;
    if (version === this.#lastVersion && this.#sameAsLast(names, values, count)) {
      const n = this.#lastLen;
      if (at + n > out.length) return -1;
      copyBytes(out, at, this.#lastBlock, 0, n);
      return at + n;
    }
    const start = at;
    const update = this.#pendingUpdate >= 0;
    if (update) {
      if (this.#pendingMin < this.#pendingUpdate) {
        at = HpackEncoder.writeInt(out, at, this.#pendingMin, 5, 0x20);
        if (at < 0) return -1;
      }
      at = HpackEncoder.writeInt(out, at, this.#pendingUpdate, 5, 0x20);
      if (at < 0) return -1;
      this.#pendingUpdate = -1;
      this.#pendingMin = -1;
    }
    for (let i = 0; i < count; i++) {
      at = this.#field(out, at, names[i]!, values[i]!);
      if (at < 0) return -1;
    }
    if (!update && this.table.version === version && at - start <= LAST_BLOCK_MAX) {
      this.#keepLast(names, values, count, out, start, at);
    } else this.#lastVersion = -1;
    return at;
  }

  /** Whether the fields are the very strings of the last block kept. */
  #sameAsLast(names: readonly string[], values: readonly string[], count: number): boolean {
    if (count !== this.#lastCount) return false;
    const ln = this.#lastNames, lv = this.#lastValues;
    for (let i = 0; i < count; i++) {
      if (names[i] !== ln[i] || values[i] !== lv[i]) return false;
    }
    return true;
  }

  /** Keeps the block out[start, end) of these fields, encoded at the current table version. */
  #keepLast(
    names: readonly string[],
    values: readonly string[],
    count: number,
    out: Uint8Array,
    start: number,
    end: number,
  ): void {
    const ln = this.#lastNames, lv = this.#lastValues;
    for (let i = 0; i < count; i++) {
      ln[i] = names[i]!;
      lv[i] = values[i]!;
    }
    // Past entries of a longer list are not kept alive.
    for (let i = count; i < this.#lastCount; i++) ln[i] = lv[i] = "";
    this.#lastCount = count;
    this.#lastBlock = room(this.#lastBlock, end - start, LAST_BLOCK_MAX);
    copyBytes(this.#lastBlock, 0, out, start, end);
    this.#lastLen = end - start;
    this.#lastVersion = this.table.version;
  }
}
