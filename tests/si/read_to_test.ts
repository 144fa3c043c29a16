import assert from "node:assert/strict";
import { createPools } from "../../src/buf/pool.ts";
import { Channel } from "../../src/channel/channel.ts";
import { CF_READ_ERROR, CF_READ_NULL, CF_READ_PARTIAL, CF_SHUTR } from "../../src/channel/types.ts";
import type { Conn } from "../../src/listener/protocol.ts";
import { type SiOwner, StreamInterface } from "../../src/si/stream_interface.ts";

/**
 * A connection whose bytes are in memory (as an HTTP/2 stream): readTo()
 * answers at once when it can, else keeps the callbacks; close() ends a
 * waiting read with 0 inside the call. read() must not be used.
 */
class MemConn implements Conn {
  pending: Uint8Array | null = null;
  waiting: { view: Uint8Array; done: (n: number) => void; failed: (e: unknown) => void } | null =
    null;
  read(_view: Uint8Array): Promise<number> {
    throw new Error("read() used: readTo() was expected");
  }
  readTo(view: Uint8Array, done: (n: number) => void, failed: (e: unknown) => void): void {
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      view.set(p, 0);
      done(p.length);
      return;
    }
    this.waiting = { view, done, failed };
  }
  write(_view: Uint8Array): Promise<number> {
    return new Promise(() => {});
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.done(0);
  }
}

function clientSide(conn: Conn) {
  const wakes: number[] = [];
  let settled = 0;
  const owner: SiOwner = { onIo: (side) => wakes.push(side), onSettled: () => settled++ };
  const pools = createPools(4096);
  const req = new Channel(pools), res = new Channel(pools);
  const si = new StreamInterface(0, req, res, owner);
  si.attach(conn, 1);
  return { si, req, wakes, settled: () => settled };
}

Deno.test("si: readTo() answered at once: the bytes are in the channel when update() returns, and the stream runs again", () => {
  const conn = new MemConn();
  conn.pending = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");
  const { si, req, wakes } = clientSide(conn);
  si.update(1);
  assert.equal(req.input, 18);
  assert.equal(new TextDecoder().decode(req.buf!.subarray(0, 3)), "GET");
  assert.ok(req.flags & CF_READ_PARTIAL);
  assert.deepEqual(wakes, [0]);
  assert.equal(req.reading, false, "no read left in flight");
  assert.equal(si.pending, 0);
});

Deno.test("si: readTo() answered later: end of stream and failure arrive as a read's completion would", () => {
  const conn = new MemConn();
  const a = clientSide(conn);
  a.si.update(1);
  assert.equal(a.req.reading, true);
  assert.equal(a.si.pending, 1);
  conn.waiting!.done(0);
  assert.equal(a.req.flags & (CF_READ_NULL | CF_SHUTR), CF_READ_NULL | CF_SHUTR);
  assert.deepEqual(a.wakes, [0]);
  assert.equal(a.si.pending, 0);

  const b = clientSide(conn);
  b.si.update(1);
  conn.waiting!.failed(new Error("reset"));
  assert.equal(b.req.flags & (CF_READ_ERROR | CF_SHUTR), CF_READ_ERROR | CF_SHUTR);
  assert.deepEqual(b.wakes, [0]);
});

Deno.test("si: a read that the connection ends inside close() settles the interface once", () => {
  const conn = new MemConn();
  const { si, wakes, settled } = clientSide(conn);
  si.update(1);
  si.close();
  assert.equal(settled(), 1, "onSettled once, from the read's end");
  assert.equal(si.pending, 0);
  assert.deepEqual(wakes, [], "a closed interface wakes nobody");
});
