// H2Stream's response translation, against a fake connection: what a
// Stream writing to it sees when the translation cannot go on (the stream
// reset while a write is in progress).

import assert from "node:assert/strict";
import { BufferPool } from "../../src/buf/pool.ts";
import { type H2Sender, H2Stream } from "../../src/mux/h2_stream.ts";

/** A connection that records what the stream sends; sendData takes `room` bytes at most. */
class FakeSender implements H2Sender {
  room = 1 << 20;
  resets: string[] = [];
  data = "";
  sendHeaders(): boolean {
    return true;
  }
  sendData(s: H2Stream, src: Uint8Array, start: number, len: number, last: boolean): number {
    const n = Math.min(len, this.room);
    this.room -= n;
    this.data += new TextDecoder().decode(src.subarray(start, start + n));
    if (n === len && last) s.markDone();
    return n;
  }
  consumed(): void {}
  responseDone(): void {}
  resetStream(s: H2Stream, _code: number, why: string): void {
    this.resets.push(why);
    s.abort(why);
  }
  streamClosed(): void {}
}

const te = new TextEncoder();
const HEAD = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

Deno.test("h2 stream: a write the translation resets fails instead of completing", async () => {
  const sender = new FakeSender();
  const s = new H2Stream(1, sender, new BufferPool(1024, 8), 65535, 65535, 0);
  // A chunk size the stream cannot read: it resets the stream; the write
  // must fail (the Stream then logs a termination state), not report every
  // byte taken as if the response had gone out.
  const v = te.encode(HEAD + "3\r\nabc\r\nzz\r\n");
  assert.equal(s.writeNow(v), 0);
  await assert.rejects(s.write(v));
  assert.deepEqual(sender.resets, ["bad chunk size in the response"]);
});

Deno.test("h2 stream: a blocked write retried into a reset rejects once, without a crash", async () => {
  const sender = new FakeSender();
  const s = new H2Stream(1, sender, new BufferPool(1024, 8), 65535, 65535, 0);
  sender.room = 0; // no window: the chunk's data waits
  const head = te.encode(HEAD + "3\r\n");
  assert.equal(await s.write(head), head.length);
  const done = s.write(te.encode("abc\r\nzz\r\n"));
  sender.room = 1 << 20;
  s.retryWrite(); // goes on: the rest of the chunk, then the bad size
  await assert.rejects(done);
  assert.equal(sender.data, "abc");
});

Deno.test("h2 stream: a chunk size followed by BWS or an extension after BWS is read", async () => {
  const sender = new FakeSender();
  const s = new H2Stream(1, sender, new BufferPool(1024, 8), 65535, 65535, 0);
  const v = te.encode(HEAD + "3 \r\nabc\r\n4\t ;x=1\r\ndefg\r\n0\r\n\r\n");
  assert.equal(await s.write(v), v.length);
  assert.equal(sender.data, "abcdefg");
  assert.deepEqual(sender.resets, []);
});
