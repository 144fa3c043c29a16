import assert from "node:assert/strict";
import { BufferPool } from "../../src/buf/pool.ts";
import type { Conn } from "../../src/listener/protocol.ts";
import { H2Out } from "../../src/mux/h2_out.ts";
import {
  FF_END_HEADERS,
  FF_END_STREAM,
  FRAME_HEADER_LEN,
  FrameHeader,
  FT_CONTINUATION,
  FT_HEADERS,
  readFrameHeader,
} from "../../src/h2/frame.ts";
import { HeaderList, HPACK_OK, HpackDecoder, HpackEncoder } from "../../src/h2/hpack.ts";

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

/** The frames in b[0, len): type, flags, stream and payload of each. */
function framesOf(b: Uint8Array, len: number) {
  const out: { type: number; flags: number; sid: number; payload: Uint8Array }[] = [];
  const fh = new FrameHeader();
  for (let at = 0; at < len;) {
    readFrameHeader(b, at, fh);
    out.push({
      type: fh.type,
      flags: fh.flags,
      sid: fh.streamId,
      payload: b.slice(at + FRAME_HEADER_LEN, at + FRAME_HEADER_LEN + fh.length),
    });
    at += FRAME_HEADER_LEN + fh.length;
  }
  return out;
}

/** Decodes a header block as a client would. */
function decoded(block: Uint8Array): [string, string][] {
  const list = new HeaderList();
  assert.equal(new HpackDecoder(4096, 65536).decode(block, 0, block.length, list), HPACK_OK);
  return Array.from({ length: list.count }, (_, i) => [list.names[i]!, list.values[i]!]);
}

Deno.test("h2 out: a response's header block is one HEADERS frame behind whatever is queued", () => {
  const out = new H2Out(new SinkConn(), new BufferPool(16384, 4), () => {}, () => {}, () => {});
  const b = out.room(1000)!;
  b.set([1, 2, 3], 0);
  out.len = 3; // another frame's bytes, left as they are
  const names = [":status", "content-type", "content-length"];
  const values = ["200", "text/plain", "6"];
  assert.equal(out.headers(new HpackEncoder(), names, values, 3, 5, false, 16384), true);
  assert.deepEqual([...out.buf!.subarray(0, 3)], [1, 2, 3]);
  const f = framesOf(out.buf!.subarray(3), out.len - 3);
  assert.equal(f.length, 1);
  assert.deepEqual([f[0]!.type, f[0]!.flags, f[0]!.sid], [FT_HEADERS, FF_END_HEADERS, 5]);
  assert.deepEqual(decoded(f[0]!.payload), [[":status", "200"], ["content-type", "text/plain"], [
    "content-length",
    "6",
  ]]);
});

Deno.test("h2 out: a header block larger than the peer's frames goes as HEADERS then CONTINUATION frames", () => {
  const out = new H2Out(new SinkConn(), new BufferPool(16384, 4), () => {}, () => {}, () => {});
  out.room(16000);
  // Values Huffman cannot shorten, 3 × 300 bytes: a block of ~920 bytes in 400-byte frames.
  const v = (c: string) => c.repeat(300);
  const names = [":status", "x-a", "x-b", "x-c"], values = ["404", v("~"), v("^"), v("|")];
  assert.equal(out.headers(new HpackEncoder(), names, values, 4, 3, true, 400), true);
  const f = framesOf(out.buf!, out.len);
  assert.equal(f.length, 3);
  assert.deepEqual(f.map((x) => [x.type, x.flags, x.sid, x.payload.length <= 400]), [
    [FT_HEADERS, FF_END_STREAM, 3, true],
    [FT_CONTINUATION, 0, 3, true],
    [FT_CONTINUATION, FF_END_HEADERS, 3, true],
  ]);
  const block = new Uint8Array(f.reduce((n, x) => n + x.payload.length, 0));
  let at = 0;
  for (const x of f) {
    block.set(x.payload, at);
    at += x.payload.length;
  }
  assert.deepEqual(decoded(block), names.map((n, i) => [n, values[i]!]));
});
