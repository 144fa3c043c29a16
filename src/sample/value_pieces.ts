// A rendered value kept as its pieces (the unique id: the per-connection
// `%ci:%cp_%fi:%fp_`, `%Ts`, `_`, `%rt`, the pid): a head writer copies the
// pieces one after the other, and the joined string is made only when a
// reader asks for the text (a log showing `%ID`, the `unique-id` fetch).
// Joining costs little, but a joined string is a tree of its pieces that V8
// flattens (a runtime call and a copy, ~100 ns for a unique id) the first
// time it is read character by character, as a head writer does.
//
// Owns: the pieces and the joined text (made once). It never renders a
// value (value.ts renderValueInto() fills it). A leaf: no import.

/** The pieces of one rendered value; reused from request to request by its owner. */
export class ValuePieces {
  #pieces: string[];
  #n: number;
  #len: number;
  #text: string | null;

  constructor() {
    this.#pieces = [];
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
    this.#pieces[this.#n++] = s;
    this.#len += s.length;
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
    return this.#pieces[i] as string;
  }

  /** The pieces joined (made on the first call, then kept until clear()). */
  text(): string {
    if (this.#text === null) {
      let s = "";
      for (let i = 0; i < this.#n; i++) s += this.#pieces[i] as string;
      this.#text = s;
    }
    return this.#text;
  }
}
