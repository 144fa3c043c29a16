import assert from "node:assert/strict";
import { BufferPool } from "../../src/buf/pool.ts";
import type { Conn } from "../../src/listener/protocol.ts";
import { H2Out } from "../../src/mux/h2_out.ts";

/** A socket whose writes complete at once, recording the byte counts. */
class SinkConn implements Conn {
  writes: number[] = [];
  read(): Promise<number> {
    return new Promise(() => {});
  }
  write(view: Uint8Array): Promise<number> {
    this.writes.push(view.length);
    return Promise.resolve(view.length);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

Deno.test("h2 out: with its pool exhausted, the output goes through a buffer of the same size, never given to the pool", async () => {
  const pool = new BufferPool(20480, 1);
  const held = pool.alloc()!;
  assert.equal(pool.alloc(), null, "the pool is exhausted");
  const conn = new SinkConn();
  let drained = 0;
  const out = new H2Out(conn, pool, () => out.flush(), () => drained++, () => {});
  const b = out.room(20000);
  assert.ok(b !== null && b.length === 20480, "a whole buffer's room, as cap() promised");
  assert.equal(pool.owns(b), false);
  out.len = 20000;
  out.kick();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(conn.writes, [20000]);
  assert.ok(drained > 0);
  out.release(); // keeps the foreign buffer out of the pool (release() would throw)
  pool.release(held);
  assert.equal(pool.stats().used, 0);
});
