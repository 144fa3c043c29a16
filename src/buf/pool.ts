// The typed buffer pool (HAProxy's pool_head for struct buffer).
//
// Buffers are fixed-size Uint8Array views carved from large ArrayBuffer slabs,
// so a buffer is never garbage: it goes back to a free list and is handed out
// again. Two pools exist at run time: the big one (`bufsize`, 16 KiB by
// default) that carries data, and a small one that idle connections read into
// so that an idle connection does not pin a big buffer (DESIGN.md §7).
// This file must never copy data or know about channels; it only counts.

/** Counters a pool keeps (shown by stats and benchmarks). */
export interface PoolStats {
  /** Size of one buffer in bytes. */
  size: number;
  /** Buffers carved so far (free + used). */
  allocated: number;
  /** Buffers currently handed out. */
  used: number;
  /** Allocation requests refused because of the limit. */
  failed: number;
  /** Highest `used` ever seen. */
  peak: number;
}

/** Buffers carved from one ArrayBuffer slab when the free list is empty. */
const BUFFERS_PER_SLAB = 64;

export class BufferPool {
  readonly size: number;
  /** Maximum number of buffers (0 = unlimited). */
  readonly limit: number;
  #free: Uint8Array[];
  #allocated: number;
  #used: number;
  #failed: number;
  #peak: number;

  constructor(size: number, limit = 0) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`Invalid buffer size "${size}"`);
    this.size = size;
    this.limit = limit;
    this.#free = [];
    this.#allocated = 0;
    this.#used = 0;
    this.#failed = 0;
    this.#peak = 0;
  }

  /**
   * Hands out one buffer of `size` bytes, or null when the limit is reached
   * (the caller then waits for a release; wake reason RES). Contents are not
   * cleared: callers only read what they wrote.
   */
  alloc(): Uint8Array | null {
    let buf = this.#free.pop();
    if (buf === undefined) {
      if (this.limit > 0 && this.#allocated >= this.limit) {
        this.#failed++;
        return null;
      }
      this.#carve();
      buf = this.#free.pop()!;
    }
    this.#used++;
    if (this.#used > this.#peak) this.#peak = this.#used;
    return buf;
  }

  /** Returns a buffer obtained from alloc(). Releasing twice is a bug. */
  release(buf: Uint8Array): void {
    this.#used--;
    this.#free.push(buf);
  }

  /** True when alloc() would succeed without exceeding the limit. */
  available(): boolean {
    return this.#free.length > 0 || this.limit === 0 || this.#allocated < this.limit;
  }

  stats(): PoolStats {
    return {
      size: this.size,
      allocated: this.#allocated,
      used: this.#used,
      failed: this.#failed,
      peak: this.#peak,
    };
  }

  /** Carves a new slab into buffers, never exceeding the limit. */
  #carve(): void {
    let n = BUFFERS_PER_SLAB;
    if (this.limit > 0) n = Math.min(n, this.limit - this.#allocated);
    const slab = new ArrayBuffer(this.size * n);
    for (let i = n - 1; i >= 0; i--) {
      this.#free.push(new Uint8Array(slab, i * this.size, this.size));
    }
    this.#allocated += n;
  }
}

/** Size of the small buffers idle connections read into. */
export const SMALL_BUFSIZE = 1024;

/** The process's pools, created once from the global config. */
export interface Pools {
  /** bufsize buffers: heads, rewrites, error replies, moderate flows. */
  big: BufferPool;
  /** What an idle connection reads into. */
  small: BufferPool;
  /** bulk-bufsize buffers for busy flows (fewer, larger reads). */
  bulk: BufferPool;
}

export function createPools(bufsize: number, limit = 0, bulkBufsize = bufsize): Pools {
  return {
    big: new BufferPool(bufsize, limit),
    small: new BufferPool(SMALL_BUFSIZE),
    bulk: bulkBufsize === bufsize
      ? new BufferPool(bufsize, limit)
      : new BufferPool(bulkBufsize, limit),
  };
}
