// HPACK's Huffman coding (RFC 7541 §5.2, code of Appendix B).
//
// Decoding walks a binary tree built once at load time from the code table,
// into a caller's byte array (no allocation per string); it refuses EOS in
// the data, padding longer than 7 bits and padding that is not the most
// significant bits of EOS (all ones), as §5.2 requires. Encoding writes
// into a caller's array at an offset. This file never knows about headers.

import { HUFF_CODES, HUFF_LENGTHS } from "./huffman_table.ts";

/** Symbol of EOS, which must never appear in decoded data. */
const EOS = 256;

/**
 * The decoding tree: node n's children at TREE[2n] (bit 0) and TREE[2n+1]
 * (bit 1); a value ≥ 0 is an inner node, -(symbol + 1) a leaf, 0 (never a
 * child: node 0 is the root) "no such code".
 */
const TREE = new Int16Array(2 * 512);

(function buildTree(): void {
  let next = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFF_CODES[sym]!, len = HUFF_LENGTHS[sym]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = (code >>> i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        TREE[slot] = -(sym + 1);
      } else {
        if (TREE[slot] === 0) TREE[slot] = next++;
        node = TREE[slot]!;
      }
    }
  }
})();

/** Largest decoded length of `n` Huffman-coded bytes (the shortest code is 5 bits). */
export function huffmanMaxDecodedLength(n: number): number {
  return Math.floor((n * 8) / 5);
}

/**
 * Decodes `src[start, end)` into `out` from 0; returns the decoded length,
 * or -1 when the data is invalid (EOS inside, padding over 7 bits or not all
 * ones, an incomplete code), or -2 when `out` is too small.
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
): number {
  let node = 0;
  /** Bits read since the last symbol, and whether they were all ones. */
  let depth = 0;
  let ones = true;
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >>> b) & 1;
      const v = TREE[2 * node + bit]!;
      if (v < 0) {
        const sym = -v - 1;
        if (sym === EOS) return -1;
        if (n >= out.length) return -2;
        out[n++] = sym;
        node = 0;
        depth = 0;
        ones = true;
      } else {
        node = v;
        depth++;
        if (bit === 0) ones = false;
      }
    }
  }
  if (depth > 7 || !ones) return -1;
  return n;
}

/** Length in bytes of the Huffman coding of `src[start, end)`. */
export function huffmanEncodedLength(src: Uint8Array, start: number, end: number): number {
  let bits = 0;
  for (let i = start; i < end; i++) bits += HUFF_LENGTHS[src[i]!]!;
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman coding of `src[start, end)` into `out` at `at`, padded
 * with the high bits of EOS (ones); returns the offset after it. The caller
 * has checked the room with huffmanEncodedLength().
 */
export function huffmanEncode(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
): number {
  // Bits waiting to be written, most significant first; at most 7 + 30 of them.
  let acc = 0;
  let nbits = 0;
  for (let i = start; i < end; i++) {
    const sym = src[i]!;
    let len = HUFF_LENGTHS[sym]!;
    const code = HUFF_CODES[sym]!;
    // Feed the code in pieces of at most 16 bits so that acc stays below 2^31.
    while (len > 0) {
      const take = len > 16 ? len - 16 : len;
      const part = (code >>> (len - take)) & ((1 << take) - 1);
      acc = (acc << take) | part;
      nbits += take;
      len -= take;
      while (nbits >= 8) {
        nbits -= 8;
        out[at++] = (acc >>> nbits) & 0xff;
      }
      acc &= (1 << nbits) - 1;
    }
  }
  if (nbits > 0) out[at++] = ((acc << (8 - nbits)) | (0xff >>> nbits)) & 0xff;
  return at;
}
