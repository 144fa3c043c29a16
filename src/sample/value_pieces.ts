// A rendered value kept as its pieces (the unique id: the per-connection
// `%ci:%cp_%fi:%fp_`, `%Ts`, `_`, `%rt`, the pid): a head writer copies the
// pieces one after the other, and the joined string is made only when a
// reader asks for the text (a log showing `%ID`, the `unique-id` fetch).
// Joining costs little, but a joined string is a tree of its pieces that V8
// flattens (a runtime call and a copy, ~100 ns for a unique id) the first
// time it is read character by character, as a head writer does.
//
// A piece is a string, the bytes of its text (a per-connection run from
// the connection's second request on, a literal), or a small integer
// (`%Ts`, `%rt`): bytes are copied as bytes and an integer written as its
// digits, not read a character at a time (charCodeAt() over strings of
// every shape, as a head writer sees them, runs V8's generic path) nor
// turned into a new string per request (`%rt`). Every piece lives in one
// array, an integer in the array itself: on a busy proxy the connection's
// objects are out of the CPU caches when its next request comes, and each
// object read is a miss (~100 ns), so the pieces use as few as they can.
//
// Owns: the pieces and the joined text (made once). It never renders a
// value (value.ts renderValueInto() fills it). Imports only buf/decimal.ts.

import { decimalLength } from "../buf/decimal.ts";

/**
 * One piece: its text; its bytes (Latin-1: each byte a code unit of the
 * text, none of them CR, LF or NUL, so that a writer copies them as they
 * are); or an integer in 0..2^31-1 (its decimal digits).
 */
export type ValuePiece = string | Uint8Array | number;

/** The pieces of one rendered value; reused from request to request by its owner. */
export class ValuePieces {
  #items: ValuePiece[];
  #n: number;
  #len: number;
  #text: string | null;

  constructor() {
    this.#items = [];
    this.#n = 0;
    this.#len = 0;
    this.#text = null;
  }

  /** Forgets the pieces (the array keeps its backing store). */
  clear(): void {
    this.#n = 0;
    this.#len = 0;
    this.#text = null;
  }

  /** Appends a piece ("" is skipped). */
  add(s: string): void {
    if (s.length === 0) return;
    this.#items[this.#n++] = s;
    this.#len += s.length;
    this.#text = null;
  }

  /** Appends a piece given as its bytes (see ValuePiece; empty is skipped). */
  addBytes(b: Uint8Array): void {
    if (b.length === 0) return;
    this.#items[this.#n++] = b;
    this.#len += b.length;
    this.#text = null;
  }

  /**
   * Appends the decimal text of `v` (a sample's integer). One in
   * 0..2^31-1 stays a number until its text is asked for; others are
   * added as String(v).
   */
  addInt(v: number): void {
    if (!(v >= 0 && v <= 0x7fffffff && (v | 0) === v)) {
      this.add(String(v));
      return;
    }
    this.#items[this.#n++] = v;
    this.#len += decimalLength(v);
    this.#text = null;
  }

  /** Number of pieces. */
  get count(): number {
    return this.#n;
  }

  /** Length of the joined text. */
  get length(): number {
    return this.#len;
  }

  /** Piece `i` (0 <= i < count). */
  item(i: number): ValuePiece {
    return this.#items[i] as ValuePiece;
  }

  /** The pieces joined (made on the first call, then kept until clear()). */
  text(): string {
    if (this.#text === null) {
      let s = "";
      for (let i = 0; i < this.#n; i++) s += pieceText(this.#items[i] as ValuePiece);
      this.#text = s;
    }
    return this.#text;
  }
}

/** The text of one piece. */
export function pieceText(p: ValuePiece): string {
  if (typeof p === "string") return p;
  if (typeof p === "number") return String(p);
  let s = "";
  for (let i = 0; i < p.length; i++) s += String.fromCharCode(p[i] as number);
  return s;
}

/**
 * The bytes of `s` as a piece, when a writer may copy them as they are
 * (every code unit a byte, none of them CR, LF or NUL); else null (the
 * string stays the piece: putValue() turns those into spaces).
 */
export function pieceBytes(s: string): Uint8Array | null {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || c === 0x0d || c === 0x0a || c === 0) return null;
    b[i] = c;
  }
  return b;
}
