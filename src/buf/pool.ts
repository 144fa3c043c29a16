// The typed buffer pool (HAProxy's pool_head for struct buffer).
//
// Buffers are fixed-size Uint8Array views carved from slabs of 64, so a
// buffer is never garbage: it goes back to its slab's free list and is handed
// out again. Two pools exist at run time: the big one (`bufsize`, 16 KiB by
// default) that carries data, and a small one that idle connections read into
// so that an idle connection does not pin a big buffer (DESIGN.md §7), plus
// the bulk one for busy flows, and the output one of multiplexed
// connections (a bulk buffer's payload plus its framing).
//
// Giving memory back. A slab whose 64 buffers all stayed free for
// SLAB_IDLE_MS is released (the pool forgets it and the garbage collector
// frees it), so that RSS comes back after a burst. Allocations take from
// partly used slabs first, then from the most recently emptied one, so that
// the slabs left over from a burst drain and stay empty. The check runs
// when a slab empties (cheap: the oldest empty slab only) and from trim(),
// which the process calls from a scheduler task armed only while an empty
// slab waits (no timer of its own; see proxy/process.ts).
// A slab's memory is a WebAssembly.Memory rather than an ArrayBuffer: V8
// takes ArrayBuffer memory from malloc, and glibc keeps what is freed in its
// heap (only the first free of a large block is unmapped: it then raises its
// mmap threshold to that size, so later slabs come from the heap), so RSS
// never came back; a wasm memory is mapped by V8's page allocator and
// unmapped when collected, every time (measured: 1,000 slabs of 64 KiB freed
// three times: RSS back to 36-40 MB each time with wasm memories, 100 MB and
// more with ArrayBuffers; typed arrays over either parse heads as fast, while
// views of resizable ArrayBuffers, also page-mapped, parse 1.75x slower).
// This file must never copy data or know about channels; it only counts.

/** Counters a pool keeps (shown by stats and benchmarks). */
export interface PoolStats {
  /** Size of one buffer in bytes. */
  size: number;
  /** Buffers carved and not given back (free + used). */
  allocated: number;
  /** Buffers currently handed out. */
  used: number;
  /** Allocation requests refused because of the limit. */
  failed: number;
  /** Highest `used` ever seen. */
  peak: number;
  /** Buffers given back with their idle slabs, since the start. */
  released: number;
}

/** Buffers carved at once when no slab has a free one. */
const BUFFERS_PER_SLAB = 64;
/** A slab whose buffers all stayed free this long (ms) is released. */
export const SLAB_IDLE_MS = 10_000;
/** WebAssembly page size: a slab's memory is a whole number of them. */
const WASM_PAGE = 65536;

/**
 * Memory for `bytes` of buffers: a WebAssembly.Memory's buffer (unmapped
 * when collected, see the file header), or an ArrayBuffer when the runtime
 * refuses one (address space exhausted, WebAssembly disabled).
 */
function slabMemory(bytes: number): ArrayBuffer {
  const pages = Math.ceil(bytes / WASM_PAGE);
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer as ArrayBuffer;
  } catch {
    return new ArrayBuffer(bytes);
  }
}

/** One slab: its free buffers, and where it sits in the pool's lists. */
class Slab {
  /** Buffers carved from it. */
  readonly n: number;
  readonly free: Uint8Array[];
  /** Index in the pool's list of partly used slabs, -1 when not in it. */
  partialIdx: number;
  /** Tick when its last used buffer came back (0 while one is used). */
  idleSince: number;

  constructor(n: number) {
    this.n = n;
    this.free = [];
    this.partialIdx = -1;
    this.idleSince = 0;
  }
}

/** The clock of a pool without one: performance.now() in whole ms (ticks). */
const wallTicks = () => Math.floor(performance.now()) + 1;

export class BufferPool {
  readonly size: number;
  /** Maximum number of buffers (0 = unlimited). */
  readonly limit: number;
  /** Called when a slab becomes entirely free (the process arms its trim then). */
  onIdleSlab: (() => void) | null;
  /** Slab of each buffer, by the memory it views. */
  #slabOf: Map<ArrayBuffer, Slab>;
  /** Slabs with both used and free buffers. */
  #partial: Slab[];
  /** Entirely free slabs, the longest idle first. */
  #idle: Slab[];
  #now: () => number;
  #free: number;
  #allocated: number;
  #used: number;
  #failed: number;
  #peak: number;
  #released: number;

  /** `now`: the tick source of SLAB_IDLE_MS (the scheduler's cached tick in the proxy). */
  constructor(size: number, limit = 0, now: () => number = wallTicks) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`Invalid buffer size "${size}"`);
    this.size = size;
    this.limit = limit;
    this.onIdleSlab = null;
    this.#slabOf = new Map();
    this.#partial = [];
    this.#idle = [];
    this.#now = now;
    this.#free = 0;
    this.#allocated = 0;
    this.#used = 0;
    this.#failed = 0;
    this.#peak = 0;
    this.#released = 0;
  }

  /**
   * Hands out one buffer of `size` bytes, or null when the limit is reached
   * (the caller then waits for a release; wake reason RES). Contents are not
   * cleared: callers only read what they wrote.
   */
  alloc(): Uint8Array | null {
    const partial = this.#partial;
    let s: Slab;
    if (partial.length > 0) s = partial[partial.length - 1]!;
    else {
      // The most recently emptied slab: the longest idle ones stay empty.
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        idle.idleSince = 0;
        s = idle;
      } else {
        if (this.limit > 0 && this.#allocated >= this.limit) {
          this.#failed++;
          return null;
        }
        s = this.#carve();
      }
      if (s.n > 1) this.#addPartial(s);
    }
    const buf = s.free.pop()!;
    if (s.free.length === 0 && s.partialIdx >= 0) this.#removePartial(s);
    this.#free--;
    this.#used++;
    if (this.#used > this.#peak) this.#peak = this.#used;
    return buf;
  }

  /** Whether `buf` is one of this pool's buffers (a caller's fallback is not). */
  owns(buf: Uint8Array): boolean {
    return this.#slabOf.has(buf.buffer as ArrayBuffer);
  }

  /** Returns a buffer obtained from alloc(). Releasing twice is a bug. */
  release(buf: Uint8Array): void {
    const s = this.#slabOf.get(buf.buffer as ArrayBuffer);
    if (s === undefined) throw new Error("Buffer released to a pool it does not belong to");
    s.free.push(buf);
    this.#used--;
    this.#free++;
    const nf = s.free.length;
    if (nf === s.n) {
      // Entirely free: idle from now, given back after SLAB_IDLE_MS.
      if (s.partialIdx >= 0) this.#removePartial(s);
      const now = this.#now();
      s.idleSince = now;
      this.#idle.push(s);
      this.#trimDue(now);
      this.onIdleSlab?.();
    } else if (nf === 1) this.#addPartial(s);
  }

  /** True when alloc() would succeed without exceeding the limit. */
  available(): boolean {
    return this.#free > 0 || this.limit === 0 || this.#allocated < this.limit;
  }

  /**
   * Releases the slabs idle for SLAB_IDLE_MS at `now`; returns the tick at
   * which the next idle slab will be due, or 0 when none is idle.
   */
  trim(now: number): number {
    this.#trimDue(now);
    const idle = this.#idle;
    return idle.length > 0 ? idle[0]!.idleSince + SLAB_IDLE_MS : 0;
  }

  stats(): PoolStats {
    return {
      size: this.size,
      allocated: this.#allocated,
      used: this.#used,
      failed: this.#failed,
      peak: this.#peak,
      released: this.#released,
    };
  }

  /** Forgets the slabs at the head of the idle list that are due. */
  #trimDue(now: number): void {
    const idle = this.#idle;
    let k = 0;
    while (k < idle.length && now - idle[k]!.idleSince >= SLAB_IDLE_MS) {
      const s = idle[k++]!;
      // The garbage collector frees the memory once no view of it is left.
      this.#slabOf.delete(s.free[0]!.buffer as ArrayBuffer);
      this.#allocated -= s.n;
      this.#free -= s.n;
      this.#released += s.n;
      s.free.length = 0;
    }
    if (k > 0) idle.splice(0, k);
  }

  #addPartial(s: Slab): void {
    s.partialIdx = this.#partial.length;
    this.#partial.push(s);
  }

  #removePartial(s: Slab): void {
    const partial = this.#partial;
    const last = partial.pop()!;
    if (last !== s) {
      partial[s.partialIdx] = last;
      last.partialIdx = s.partialIdx;
    }
    s.partialIdx = -1;
  }

  /** Carves a new slab into buffers, never exceeding the limit. */
  #carve(): Slab {
    let n = BUFFERS_PER_SLAB;
    // Whole wasm pages: as many buffers as fit in them.
    n = Math.max(n, Math.floor(Math.ceil((this.size * n) / WASM_PAGE) * WASM_PAGE / this.size));
    if (this.limit > 0) n = Math.min(n, this.limit - this.#allocated);
    const mem = slabMemory(this.size * n);
    const s = new Slab(n);
    for (let i = n - 1; i >= 0; i--) s.free.push(new Uint8Array(mem, i * this.size, this.size));
    this.#slabOf.set(mem, s);
    this.#allocated += n;
    this.#free += n;
    return s;
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
  /**
   * Output buffers of multiplexed (HTTP/2) connections: a whole bulk read
   * fits in one with its frame headers and the room kept for control
   * frames, so that one read from a server leaves as one write.
   */
  out: BufferPool;
}

/**
 * Size of an output buffer of a multiplexed connection: `bulk` bytes of
 * payload framed in frames of at least 16 KiB (9-byte headers), 1 KiB kept
 * for control frames, rounded up to whole KiB.
 */
export function muxOutSize(bulk: number): number {
  const framing = 9 * (Math.ceil(bulk / 16384) + 1) + 1024;
  return Math.ceil((bulk + framing) / 1024) * 1024;
}

/** `now`: the tick source of the pools' idle-slab release (see BufferPool). */
export function createPools(
  bufsize: number,
  limit = 0,
  bulkBufsize = bufsize,
  now: () => number = wallTicks,
): Pools {
  return {
    big: new BufferPool(bufsize, limit, now),
    small: new BufferPool(SMALL_BUFSIZE, 0, now),
    bulk: new BufferPool(bulkBufsize, limit, now),
    out: new BufferPool(muxOutSize(bulkBufsize), limit, now),
  };
}

/**
 * Releases the idle slabs of every pool due at `now`; returns the tick at
 * which the next one will be due, or 0 when no slab is idle.
 */
export function trimPools(p: Pools, now: number): number {
  let next = 0;
  for (const pool of [p.big, p.small, p.bulk, p.out]) {
    const t = pool.trim(now);
    if (t !== 0 && (next === 0 || t < next)) next = t;
  }
  return next;
}
