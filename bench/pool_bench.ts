// Micro benches of the buffer pool (src/buf/pool.ts).
//
// What they answer: how much a channel pays to take a buffer and give it back
// on the hot path (warm free list), against allocating a fresh Uint8Array,
// which is what the pool exists to avoid; what carving a new slab costs when
// the free list runs dry; and how cheap a refusal at the limit is (a stream
// then waits with wake reason RES). Run with `deno bench --allow-all bench/`.
// Every result is written to a module-level sink so that the engine cannot
// drop the work as dead code.

import { BufferPool, SMALL_BUFSIZE } from "../src/buf/pool.ts";

/** The default `bufsize` (16 KiB), what a data-carrying channel holds. */
const BUFSIZE = 16 * 1024;
/** Buffers taken at once by the burst benches (one pool slab holds 64). */
const BURST = 64;

/** Where results go so that the work is observable (never read back). */
const sink = { buf: null as Uint8Array | null, count: 0 };

/** The proxy's tick source: the scheduler's cached clock, a field read. */
const ticks = { now: 1 };
const now = () => ticks.now;

/** A pool whose free list already holds `n` buffers: no carving in the measured loop. */
function warmPool(size: number, n: number, limit = 0): BufferPool {
  const pool = new BufferPool(size, limit, now);
  const held: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const b = pool.alloc();
    if (b !== null) held.push(b);
  }
  for (const b of held) pool.release(b);
  return pool;
}

const big = warmPool(BUFSIZE, 4 * BURST);
const small = warmPool(SMALL_BUFSIZE, 4 * BURST);
const burstHeld: Uint8Array[] = new Array<Uint8Array>(BURST);

Deno.bench({
  name: "pool 16 KiB: alloc + release one buffer (warm free list)",
  group: "one buffer",
  baseline: true,
  fn() {
    const b = big.alloc()!;
    sink.buf = b;
    big.release(b);
  },
});

Deno.bench({
  name: "pool 1 KiB (idle reads): alloc + release one buffer",
  group: "one buffer",
  fn() {
    const b = small.alloc()!;
    sink.buf = b;
    small.release(b);
  },
});

Deno.bench({
  name: "new Uint8Array(16 KiB) per use (what the pool avoids)",
  group: "one buffer",
  fn() {
    sink.buf = new Uint8Array(BUFSIZE);
  },
});

Deno.bench({
  name: "pool 16 KiB: alloc 64 then release 64 (burst of streams)",
  group: "burst of 64",
  baseline: true,
  fn() {
    for (let i = 0; i < BURST; i++) burstHeld[i] = big.alloc()!;
    for (let i = 0; i < BURST; i++) big.release(burstHeld[i]!);
  },
});

Deno.bench({
  name: "64 × new Uint8Array(16 KiB)",
  group: "burst of 64",
  fn() {
    for (let i = 0; i < BURST; i++) burstHeld[i] = new Uint8Array(BUFSIZE);
  },
});

Deno.bench({
  name: "fresh pool: first alloc carves one slab (64 × 16 KiB)",
  group: "carve",
  fn() {
    const pool = new BufferPool(BUFSIZE, 0, now);
    sink.buf = pool.alloc();
  },
});

const full = new BufferPool(BUFSIZE, 8, now);
for (let i = 0; i < 8; i++) full.alloc();

Deno.bench({
  name: "pool at its limit: alloc() refused (returns null)",
  group: "limit",
  fn() {
    if (full.alloc() === null) sink.count++;
  },
});

Deno.bench({
  name: "pool at its limit: available() check",
  group: "limit",
  fn() {
    if (!full.available()) sink.count++;
  },
});
