import assert from "node:assert/strict";
import { createPools } from "../../src/buf/pool.ts";
import { Channel } from "../../src/channel/channel.ts";
import { CF_WRITE_PARTIAL, CHN_INFINITE_FORWARD } from "../../src/channel/types.ts";
import type { Conn } from "../../src/listener/protocol.ts";
import { type SiOwner, StreamInterface } from "../../src/si/stream_interface.ts";

/**
 * A connection that takes up to `room` bytes at once (as an HTTP/2 stream
 * copies into its connection's output buffer) and parks the rest in write().
 */
class MemConn implements Conn {
  room: number;
  taken: number[] = [];
  parked: number[] = [];
  constructor(room: number) {
    this.room = room;
  }
  read(_view: Uint8Array): Promise<number> {
    return new Promise(() => {});
  }
  writeNow(view: Uint8Array): number {
    const n = Math.min(this.room, view.length);
    this.room -= n;
    for (let i = 0; i < n; i++) this.taken.push(view[i]!);
    return n;
  }
  write(view: Uint8Array): Promise<number> {
    this.parked.push(view.length);
    return new Promise(() => {});
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

/** A response channel holding `n` forwarded bytes 0, 1, 2... read from the server. */
function filled(n: number): Channel {
  const ch = new Channel(createPools(4096, 0, 16384));
  ch.lastReadFull = true; // a busy flow: the read goes to a bulk buffer
  const r = ch.readRegion()!;
  for (let i = 0; i < n; i++) r[i] = i & 0xff;
  ch.commitRead(n, r.length);
  ch.toForward = CHN_INFINITE_FORWARD;
  ch.forward();
  return ch;
}

function clientSide(res: Channel, conn: Conn): { si: StreamInterface; wakes: number[] } {
  const wakes: number[] = [];
  const owner: SiOwner = { onIo: (side) => wakes.push(side), onSettled() {} };
  const req = new Channel(createPools(4096));
  const si = new StreamInterface(0, req, res, owner);
  si.attach(conn, 1);
  return { si, wakes };
}

Deno.test("si: a connection that takes bytes in memory empties the channel during update(), and the next read gets the whole buffer", () => {
  const res = filled(3000);
  const conn = new MemConn(1 << 20);
  const { si, wakes } = clientSide(res, conn);
  si.update(1);
  assert.equal(conn.taken.length, 3000);
  assert.deepEqual(conn.taken.slice(0, 3), [0, 1, 2]);
  assert.deepEqual(conn.parked, [], "no write left waiting");
  assert.ok(res.isEmpty());
  assert.equal(res.writing, false);
  assert.ok(res.flags & CF_WRITE_PARTIAL, "the stream sees a write");
  assert.deepEqual(wakes, [0], "and runs again, as after a write that completed");
  assert.equal(res.readRegion()!.length, res.buf!.length, "the server read starts at 0");
});

Deno.test("si: what the connection cannot take now goes through write(), in order", () => {
  const res = filled(3000);
  const conn = new MemConn(1000);
  const { si, wakes } = clientSide(res, conn);
  si.update(1);
  assert.equal(conn.taken.length, 1000);
  assert.deepEqual(conn.parked, [2000], "the rest waits in write()");
  assert.equal(res.writing, true);
  assert.equal(res.len, 2000);
  assert.deepEqual(wakes, [0]);
  // Nothing taken: no write event, the whole region waits.
  const res2 = filled(500);
  const conn2 = new MemConn(0);
  const c2 = clientSide(res2, conn2);
  c2.si.update(1);
  assert.deepEqual(conn2.parked, [500]);
  assert.equal(res2.flags & CF_WRITE_PARTIAL, 0);
  assert.deepEqual(c2.wakes, []);
});
