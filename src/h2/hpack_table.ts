// HPACK's header tables (RFC 7541 §2.3): the static table of Appendix A and
// the dynamic table, a FIFO bounded by a size in octets (§4.1: name length +
// value length + 32 per entry).
//
// Names and values are latin1 strings (one char per octet), so a string's
// length is its size in octets. The dynamic table keeps its entries in a
// ring that grows only up to the number of entries its size allows; it
// never knows whether it serves a decoder or an encoder.

/** Entries of the static table; index 1 is STATIC_TABLE[0]. */
// deno-fmt-ignore
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"],
  [":path", "/index.html"], [":scheme", "http"], [":scheme", "https"], [":status", "200"],
  [":status", "204"], [":status", "206"], [":status", "304"], [":status", "400"],
  [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""],
  ["accept", ""], ["access-control-allow-origin", ""], ["age", ""], ["allow", ""],
  ["authorization", ""], ["cache-control", ""], ["content-disposition", ""],
  ["content-encoding", ""], ["content-language", ""], ["content-length", ""],
  ["content-location", ""], ["content-range", ""], ["content-type", ""], ["cookie", ""],
  ["date", ""], ["etag", ""], ["expect", ""], ["expires", ""], ["from", ""], ["host", ""],
  ["if-match", ""], ["if-modified-since", ""], ["if-none-match", ""], ["if-range", ""],
  ["if-unmodified-since", ""], ["last-modified", ""], ["link", ""], ["location", ""],
  ["max-forwards", ""], ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""],
  ["referer", ""], ["refresh", ""], ["retry-after", ""], ["server", ""], ["set-cookie", ""],
  ["strict-transport-security", ""], ["transfer-encoding", ""], ["user-agent", ""], ["vary", ""],
  ["via", ""], ["www-authenticate", ""],
];

/** Number of static entries (61): dynamic indexes start after it. */
export const STATIC_COUNT = STATIC_TABLE.length;

/** Octets an entry costs in a table (§4.1). */
export const ENTRY_OVERHEAD = 32;

/** The dynamic table: newest entry at index 0 (HPACK index STATIC_COUNT + 1). */
export class DynamicTable {
  /** Sum of the entries' sizes in octets. */
  size: number;
  /** Largest size allowed now (changed by size updates). */
  maxSize: number;
  /**
   * Bumped at every change (an entry added, a size change): the same
   * fields at the same version encode to the same bytes, and the same bytes
   * decode to the same fields (the coders' last-block caches, hpack.ts).
   */
  version: number;
  #names: string[];
  #values: string[];
  /** Ring position of the newest entry, and the entry count. */
  #head: number;
  #count: number;

  constructor(maxSize: number) {
    this.size = 0;
    this.maxSize = maxSize;
    this.version = 0;
    this.#names = [];
    this.#values = [];
    this.#head = 0;
    this.#count = 0;
  }

  get length(): number {
    return this.#count;
  }

  /** Ring slot of entry `i` (0: newest): the ring's size is a power of two (add()). */
  #slot(i: number): number {
    return (this.#head - i) & (this.#names.length - 1);
  }

  name(i: number): string {
    return this.#names[this.#slot(i)]!;
  }

  value(i: number): string {
    return this.#values[this.#slot(i)]!;
  }

  /** Evicts the oldest entries until `size + room ≤ maxSize` (or the table is empty). */
  #evict(room: number): void {
    while (this.#count > 0 && this.size + room > this.maxSize) {
      const s = this.#slot(this.#count - 1);
      this.size -= this.#names[s]!.length + this.#values[s]!.length + ENTRY_OVERHEAD;
      this.#names[s] = "";
      this.#values[s] = "";
      this.#count--;
    }
  }

  /**
   * Adds an entry (§4.4): evicts until it fits; an entry larger than the
   * whole table empties it and is not added.
   */
  add(name: string, value: string): void {
    const sz = name.length + value.length + ENTRY_OVERHEAD;
    this.version++;
    this.#evict(sz);
    if (sz > this.maxSize) return;
    let cap = this.#names.length;
    if (this.#count === cap) {
      // Grow the ring: copy oldest→newest into a larger one (rare: the entry
      // count is bounded by maxSize / 32).
      const n: string[] = [], v: string[] = [];
      for (let i = this.#count - 1; i >= 0; i--) {
        n.push(this.name(i));
        v.push(this.value(i));
      }
      cap = Math.max(8, cap * 2);
      while (n.length < cap) {
        n.push("");
        v.push("");
      }
      this.#names = n;
      this.#values = v;
      this.#head = this.#count - 1;
    }
    this.#head = (this.#head + 1) & (cap - 1);
    this.#names[this.#head] = name;
    this.#values[this.#head] = value;
    this.#count++;
    this.size += sz;
  }

  /** Changes the maximum size (§4.3), evicting what no longer fits. */
  resize(maxSize: number): void {
    this.version++;
    this.maxSize = maxSize;
    this.#evict(0);
  }

  /** Index (0: newest) of an entry with this name and value, else -1. */
  find(name: string, value: string): number {
    for (let i = 0; i < this.#count; i++) {
      const s = this.#slot(i);
      if (this.#values[s] === value && this.#names[s] === name) return i;
    }
    return -1;
  }
}

/** Static index (1-based) of the first entry with this name, else 0. */
export const STATIC_NAME_INDEX: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  STATIC_TABLE.forEach(([n], i) => {
    if (!m.has(n)) m.set(n, i + 1);
  });
  return m;
})();

/**
 * Static index (1-based) of each entry with a value, by name then value (no
 * key string to build per lookup: `:status` is looked up for every response).
 */
export const STATIC_PAIR_INDEX: ReadonlyMap<string, ReadonlyMap<string, number>> = (() => {
  const m = new Map<string, Map<string, number>>();
  STATIC_TABLE.forEach(([n, v], i) => {
    if (v === "") return;
    let byValue = m.get(n);
    if (byValue === undefined) m.set(n, byValue = new Map());
    byValue.set(v, i + 1);
  });
  return m;
})();
