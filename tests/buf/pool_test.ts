import assert from "node:assert/strict";
import { BufferPool, createPools, SMALL_BUFSIZE } from "../../src/buf/pool.ts";

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
