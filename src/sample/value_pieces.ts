// A rendered value kept as its pieces (the unique id: the per-connection
// `%ci:%cp_%fi:%fp_`, `%Ts`, `_`, `%rt`, the pid): a head writer copies the
// pieces one after the other, and the joined string is made only when a
// reader asks for the text (a log showing `%ID`, the `unique-id` fetch).
// Joining costs little, but a joined string is a tree of its pieces that V8
// flattens (a runtime call and a copy, ~100 ns for a unique id) the first
// time it is read character by character, as a head writer does.
//
// A piece may come with its bytes (a per-connection run, rendered to bytes
// once per connection): a writer copies those instead of reading the text
// a character at a time (charCodeAt() over strings of every shape, as a
// head writer sees them, runs V8's generic path: ~5 ns a character).
//
// Owns: the pieces and the joined text (made once). It never renders a
// value (value.ts renderValueInto() fills it). A leaf: no import.

/** The pieces of one rendered value; reused from request to request by its owner. */
export class ValuePieces {
  /** Each piece's text; null for an integer piece whose text was not asked for yet. */
  #pieces: (string | null)[];
  /** Each piece's bytes (header-safe Latin-1, see value.ts headerBytes()), null when it has none. */
  #bytes: (Uint8Array | null)[];
  /** Each piece's value when it is an integer piece (addInt()), else -1. */
  #ints: number[];
  #n: number;
  #len: number;
  #text: string | null;

  constructor() {
    this.#pieces = [];
    this.#bytes = [];
    this.#ints = [];
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
    this.#bytes[this.#n] = null;
    this.#ints[this.#n] = -1;
    this.#pieces[this.#n++] = s;
    this.#len += s.length;
    this.#text = null;
  }

  /** Appends a piece with its bytes (`b.length === s.length`; "" is skipped). */
  addBytes(s: string, b: Uint8Array): void {
    if (s.length === 0) return;
    this.#bytes[this.#n] = b;
    this.#ints[this.#n] = -1;
    this.#pieces[this.#n++] = s;
    this.#len += s.length;
    this.#text = null;
  }

  /**
   * Appends the decimal text of `v` (a sample's integer: `%Ts`, `%rt`). One
   * in 0..2^31-1 stays a number until its text is asked for (a writer puts
   * its digits, putDigits()): a number's text is a new string each time the
   * number is new (`%rt`). Others are added as String(v).
   */
  addInt(v: number): void {
    if (!(v >= 0 && v <= 0x7fffffff && (v | 0) === v)) {
      this.add(String(v));
      return;
    }
    let digits = 1;
    for (let q = v; q >= 10; q = (q / 10) | 0) digits++;
    this.#bytes[this.#n] = null;
    this.#ints[this.#n] = v;
    this.#pieces[this.#n++] = null;
    this.#len += digits;
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
  piece(i: number): string {
    let t = this.#pieces[i];
    if (t === null || t === undefined) this.#pieces[i] = t = String(this.#ints[i]);
    return t;
  }

  /** The value of piece `i` when it is an integer piece (addInt()), else -1. */
  int(i: number): number {
    return this.#ints[i] as number;
  }

  /** The bytes of piece `i` when it came with them, else null. */
  bytes(i: number): Uint8Array | null {
    return this.#bytes[i] as Uint8Array | null;
  }

  /** The pieces joined (made on the first call, then kept until clear()). */
  text(): string {
    if (this.#text === null) {
      let s = "";
      for (let i = 0; i < this.#n; i++) s += this.piece(i);
      this.#text = s;
    }
    return this.#text;
  }
}
