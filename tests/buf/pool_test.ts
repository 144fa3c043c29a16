import assert from "node:assert/strict";
import { BufferPool, createPools, SLAB_IDLE_MS, SMALL_BUFSIZE } from "../../src/buf/pool.ts";

Deno.test("alloc() hands out distinct buffers of the pool size and counts them", () => {
  const pool = new BufferPool(4096);
  const a = pool.alloc()!, b = pool.alloc()!;
  assert.equal(a.length, 4096);
  assert.equal(b.length, 4096);
  a.fill(1);
  assert.equal(b[0], 0, "buffers must not overlap");
  assert.equal(pool.stats().used, 2);
  assert.equal(pool.stats().peak, 2);
});

Deno.test("release() returns a buffer that the next alloc() reuses", () => {
  const pool = new BufferPool(1024);
  const a = pool.alloc()!;
  pool.release(a);
  assert.equal(pool.stats().used, 0);
  const before = pool.stats().allocated;
  assert.equal(pool.alloc(), a);
  assert.equal(pool.stats().allocated, before, "no new slab carved");
});

Deno.test("a limited pool refuses past its limit and counts the failure", () => {
  const pool = new BufferPool(1024, 3);
  const got = [pool.alloc(), pool.alloc(), pool.alloc()];
  assert.ok(got.every((b) => b !== null));
  assert.equal(pool.available(), false);
  assert.equal(pool.alloc(), null);
  assert.equal(pool.stats().failed, 1);
  pool.release(got[0]!);
  assert.ok(pool.alloc() !== null);
});

Deno.test("createPools() builds a big pool of bufsize and a small pool", () => {
  const p = createPools(16384);
  assert.equal(p.big.alloc()!.length, 16384);
  assert.equal(p.small.alloc()!.length, SMALL_BUFSIZE);
});

Deno.test("an invalid buffer size is refused", () => {
  assert.throws(() => new BufferPool(0), /Invalid buffer size "0"/);
});

Deno.test("slabs left entirely free by a burst are released after SLAB_IDLE_MS, partly used ones are filled first", () => {
  const clock = { t: 1000 };
  const pool = new BufferPool(1024, 0, () => clock.t);
  // A burst: 4 slabs of 64 buffers.
  const held = Array.from({ length: 256 }, () => pool.alloc()!);
  assert.equal(pool.stats().allocated, 256);
  // The burst ends, except for one buffer of the first slab.
  const keep = held[0]!;
  for (const b of held.slice(1)) pool.release(b);
  assert.equal(pool.stats().used, 1);
  // New traffic takes from the partly used slab, so the others stay empty.
  clock.t += 5000;
  const more = Array.from({ length: 10 }, () => pool.alloc()!);
  assert.ok(more.every((b) => b.buffer === keep.buffer), "allocated from the partly used slab");
  for (const b of more) pool.release(b);
  // Not yet idle long enough: kept.
  assert.equal(pool.trim(clock.t), 1000 + SLAB_IDLE_MS);
  assert.equal(pool.stats().allocated, 256);
  clock.t = 1000 + SLAB_IDLE_MS;
  assert.equal(pool.trim(clock.t), 0, "no idle slab left to wait for");
  assert.deepEqual(
    { allocated: pool.stats().allocated, used: pool.stats().used, released: pool.stats().released },
    { allocated: 64, used: 1, released: 192 },
  );
  // The kept slab is still in service, and a new burst carves again.
  pool.release(keep);
  const again = Array.from({ length: 100 }, () => pool.alloc()!);
  assert.equal(new Set(again).size, 100);
  assert.equal(pool.stats().allocated, 128);
});

Deno.test("a release that empties a slab gives back the slabs already idle for SLAB_IDLE_MS, and says so", () => {
  const clock = { t: 1000 };
  const pool = new BufferPool(16384, 0, () => clock.t);
  let idle = 0;
  pool.onIdleSlab = () => idle++;
  const a = Array.from({ length: 64 }, () => pool.alloc()!);
  const b = Array.from({ length: 64 }, () => pool.alloc()!);
  for (const x of a) pool.release(x);
  assert.equal(idle, 1, "the first slab became idle");
  clock.t += SLAB_IDLE_MS;
  for (const x of b) pool.release(x); // empties the second: the first is due
  assert.equal(idle, 2);
  assert.equal(pool.stats().allocated, 64);
  assert.equal(pool.stats().released, 64);
  // A buffer of a released slab is not the pool's any more: releasing it is a bug.
  assert.throws(() => pool.release(a[0]!), /does not belong/);
});

Deno.test("slab memory comes from WebAssembly memories (unmapped when collected), 64 KiB pages filled", () => {
  const pool = new BufferPool(10000);
  const x = pool.alloc()!;
  // 64 buffers of 10000 bytes need 10 pages of 64 KiB: 65 buffers fit in them.
  assert.equal(x.buffer.byteLength, 10 * 65536);
  assert.equal(pool.stats().allocated, 65);
  assert.equal(new BufferPool(16384).alloc()!.buffer.byteLength, 64 * 16384);
});
