// The open streams of one HTTP/2 connection by id (HAProxy's h2c->streams_by_id
// tree): what a Map<number, H2Stream> gave, without its garbage. A client
// that opens and closes ten streams per batch made the Map's table grow
// and shrink every batch (a new backing table each time, ~130 bytes per
// request); this one is an open-addressing table that only ever grows.
//
// Client stream ids are odd and rise by two, so `id >>> 1` spreads them over
// the slots with no collision until the table wraps; linear probing with
// backward-shift deletion keeps no tombstone, so a connection that runs
// millions of streams never degrades.

import type { H2Stream } from "./h2_stream.ts";

/** Initial slots (a power of two); doubled while over half full. */
const INITIAL = 16;
/**
 * A table larger than this goes back to INITIAL when its last stream
 * closes: an idle connection does not keep the room of its busiest moment
 * (a client's usual batch, up to 32 streams, keeps its table).
 */
const SHRINK_ABOVE = 64;

export class H2StreamTable {
  #ids: Int32Array;
  #slots: (H2Stream | null)[];
  #mask: number;
  #size: number;

  constructor() {
    this.#ids = new Int32Array(INITIAL);
    this.#slots = new Array<H2Stream | null>(INITIAL).fill(null);
    this.#mask = INITIAL - 1;
    this.#size = 0;
  }

  /** Empty slots, `n` of them. */
  #alloc(n: number): void {
    this.#ids = new Int32Array(n);
    this.#slots = new Array<H2Stream | null>(n).fill(null);
    this.#mask = n - 1;
    this.#size = 0;
  }

  get size(): number {
    return this.#size;
  }

  /** The open stream `id`, undefined when none (as Map.get). */
  get(id: number): H2Stream | undefined {
    const mask = this.#mask, ids = this.#ids, slots = this.#slots;
    for (let i = (id >>> 1) & mask;; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === null) return undefined;
      if (ids[i] === id) return s;
    }
  }

  /** Adds `s` under `id`, or replaces the stream there. */
  set(id: number, s: H2Stream): void {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    const mask = this.#mask, ids = this.#ids, slots = this.#slots;
    let i = (id >>> 1) & mask;
    while (slots[i] !== null && ids[i] !== id) i = (i + 1) & mask;
    if (slots[i] === null) this.#size++;
    ids[i] = id;
    slots[i] = s;
  }

  /** Removes stream `id`; false when it was not there. */
  delete(id: number): boolean {
    const mask = this.#mask, ids = this.#ids, slots = this.#slots;
    let i = (id >>> 1) & mask;
    for (;; i = (i + 1) & mask) {
      if (slots[i] === null) return false;
      if (ids[i] === id) break;
    }
    // Backward shift: the entries after the hole that probed past it move up.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const s = slots[j]!;
      if (s === null) break;
      const home = (ids[j]! >>> 1) & mask;
      // Movable when its home is not in the cyclic range (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        ids[i] = ids[j]!;
        slots[i] = s;
        i = j;
      }
    }
    slots[i] = null;
    if (--this.#size === 0 && slots.length > SHRINK_ABOVE) this.#alloc(INITIAL);
    return true;
  }

  /** The open streams in id order (the order they were opened in): a copy, safe to change the table while walking it. */
  values(): H2Stream[] {
    const out: H2Stream[] = [];
    for (const s of this.#slots) if (s !== null) out.push(s);
    return out.sort((a, b) => a.id - b.id);
  }

  #grow(): void {
    const oldIds = this.#ids, old = this.#slots;
    this.#alloc(old.length * 2);
    for (let i = 0; i < old.length; i++) {
      const s = old[i]!;
      if (s !== null) this.set(oldIds[i]!, s);
    }
  }
}
