import assert from "node:assert/strict";
import { createPools, SMALL_BUFSIZE } from "../../src/buf/pool.ts";
import { Channel } from "../../src/channel/channel.ts";
import { CHN_INFINITE_FORWARD } from "../../src/channel/types.ts";

function fill(region: Uint8Array, from: number): number {
  for (let i = 0; i < region.length; i++) region[i] = (from + i) & 0xff;
  return region.length;
}

Deno.test("an idle channel reads into a small buffer, a busy one into a big one", () => {
  const pools = createPools(8192);
  const ch = new Channel(pools);
  const r1 = ch.readRegion()!;
  assert.equal(r1.length, SMALL_BUFSIZE, "idle: small buffer");
  ch.commitRead(fill(r1, 0), r1.length); // filled it completely
  // Full small buffer, no write in flight: grows to a big one, data kept.
  const r2 = ch.readRegion()!;
  assert.equal(ch.buf!.length, 8192);
  assert.equal(r2.length, 8192 - SMALL_BUFSIZE);
  assert.equal(ch.buf![5], 5, "bytes moved with the buffer");
  assert.equal(pools.small.stats().used, 0, "small buffer returned");
});

Deno.test("forwarded bytes are written in order across the ring boundary", () => {
  const pools = createPools(4096);
  const ch = new Channel(pools);
  ch.toForward = CHN_INFINITE_FORWARD;
  ch.lastReadFull = true; // start with a big buffer
  let produced = 0, consumed = 0;
  const seen: number[] = [];
  for (let round = 0; round < 20; round++) {
    const r = ch.readRegion();
    if (r !== null) {
      const n = Math.min(r.length, 1500);
      fill(r.subarray(0, n), produced);
      produced += n;
      ch.commitRead(n, r.length);
    }
    ch.forward();
    const w = ch.writeRegion()!;
    const n = Math.min(w.length, 1000);
    for (let i = 0; i < n; i++) seen.push(w[i]!);
    ch.commitWrite(n);
    consumed += n;
  }
  assert.equal(ch.len, produced - consumed);
  for (let i = 0; i < seen.length; i++) assert.equal(seen[i], i & 0xff, `byte ${i}`);
});

Deno.test("a full buffer gives no read region", () => {
  const pools = createPools(2048);
  const ch = new Channel(pools);
  ch.lastReadFull = true;
  const r = ch.readRegion()!;
  ch.commitRead(r.length, r.length);
  assert.equal(ch.isFull(), true);
  assert.equal(ch.readRegion(), null);
});

Deno.test("toForward limits what forward() releases", () => {
  const pools = createPools(2048);
  const ch = new Channel(pools);
  const r = ch.readRegion()!;
  ch.commitRead(100, r.length);
  ch.toForward = 30;
  assert.equal(ch.forward(), 30);
  assert.equal(ch.out, 30);
  assert.equal(ch.input, 70);
  assert.equal(ch.forward(), 0);
});

Deno.test("realign() makes wrapped data contiguous from offset 0", () => {
  const pools = createPools(4096);
  const ch = new Channel(pools);
  ch.lastReadFull = true;
  ch.toForward = CHN_INFINITE_FORWARD;
  let r = ch.readRegion()!;
  fill(r.subarray(0, 3000), 0);
  ch.commitRead(3000, r.length);
  ch.forward();
  ch.commitWrite(2900); // head = 2900, 100 bytes left
  r = ch.readRegion()!; // [3000, 4096)
  assert.equal(r.length, 1096);
  fill(r, 3000);
  ch.commitRead(r.length, r.length);
  r = ch.readRegion()!; // wraps to [0, 2900)
  assert.equal(r.length, 2900);
  fill(r.subarray(0, 50), 4096);
  ch.commitRead(50, r.length);
  assert.ok(ch.realign());
  assert.equal(ch.head, 0);
  // The stream 2900..4145 (100 + 1096 + 50 bytes), in order from offset 0.
  for (let i = 0; i < 1246; i++) assert.equal(ch.buf![i], (2900 + i) & 0xff, `byte ${i}`);
});

Deno.test("little room at the end: a read waits for the write, or compacts first", () => {
  const pools = createPools(4096);
  const ch = new Channel(pools);
  ch.lastReadFull = true;
  ch.toForward = CHN_INFINITE_FORWARD;
  const r = ch.readRegion()!;
  fill(r.subarray(0, 4000), 0);
  ch.commitRead(4000, r.length);
  ch.forward();
  ch.commitWrite(3950); // head = 3950: 96 bytes of room at the end, 3950 at the start
  ch.writing = true;
  assert.equal(ch.readRegion(), null, "the write in flight will free the start");
  ch.writing = false;
  const r2 = ch.readRegion()!;
  assert.equal(ch.head, 0, "compacted");
  assert.equal(r2.length, 4096 - 50);
  assert.equal(ch.buf![0], 3950 & 0xff);
});

Deno.test("a write emptying the channel during a read keeps the read's bytes in order", () => {
  const pools = createPools(4096);
  const ch = new Channel(pools);
  ch.lastReadFull = true;
  ch.toForward = CHN_INFINITE_FORWARD;
  let r = ch.readRegion()!;
  fill(r.subarray(0, 100), 0);
  ch.commitRead(100, r.length);
  ch.forward();
  // A read starts into the tail while the 100 forwarded bytes are written.
  r = ch.readRegion()!;
  ch.reading = true;
  ch.writing = true;
  ch.commitWrite(100);
  ch.writing = false;
  fill(r.subarray(0, 10), 100); // the read completes now
  ch.reading = false;
  ch.commitRead(10, r.length);
  ch.forward();
  const w = ch.writeRegion()!;
  assert.deepEqual([...w], [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
});

Deno.test("erasing a channel during a read keeps only the read's bytes, at the read's offset", () => {
  const pools = createPools(4096);
  const ch = new Channel(pools);
  ch.lastReadFull = true;
  let r = ch.readRegion()!;
  fill(r.subarray(0, 100), 0);
  ch.commitRead(100, r.length); // 100 bytes held, never forwarded
  r = ch.readRegion()!; // a read starts into the tail
  ch.reading = true;
  ch.erase(); // the side is aborted: the 100 bytes are dropped
  fill(r.subarray(0, 10), 200);
  ch.reading = false;
  ch.commitRead(10, r.length);
  ch.forward();
  ch.toForward = CHN_INFINITE_FORWARD;
  ch.forward();
  assert.deepEqual([...ch.writeRegion()!], [200, 201, 202, 203, 204, 205, 206, 207, 208, 209]);
});

Deno.test("a busy flow moves up to bulk buffers, an idle one back to a small buffer", () => {
  const pools = createPools(4096, 0, 16384);
  const ch = new Channel(pools);
  ch.toForward = CHN_INFINITE_FORWARD;
  const sizes: number[] = [];
  // Three reads that fill their room, each drained before the next.
  for (let i = 0; i < 3; i++) {
    const r = ch.readRegion()!;
    sizes.push(ch.buf!.length);
    ch.commitRead(r.length, r.length);
    ch.forward();
    ch.commitWrite(ch.writeRegion()!.length);
  }
  assert.deepEqual(sizes, [SMALL_BUFSIZE, 4096, 16384]);
  // A short read (an idle, interactive exchange) goes back to a small buffer.
  const r = ch.readRegion()!;
  ch.commitRead(10, r.length);
  ch.forward();
  ch.commitWrite(10);
  ch.readRegion();
  assert.equal(ch.buf!.length, SMALL_BUFSIZE);
  assert.equal(pools.bulk.stats().used, 0);
  assert.equal(pools.big.stats().used, 0);
});

Deno.test("moveReadTo hands the buffer and the offset of a read in flight to another channel", () => {
  const pools = createPools(4096);
  const from = new Channel(pools), to = new Channel(pools);
  from.toForward = CHN_INFINITE_FORWARD;
  // A 300-byte response is read, forwarded and written: the next read is in
  // flight at offset 300 of the same small buffer, the channel empty.
  const r1 = from.readRegion()!;
  from.commitRead(fill(r1.subarray(0, 300), 0), r1.length);
  from.forward();
  from.reading = true; // the next read, into [300, 1024)
  from.commitWrite(from.writeRegion()!.length);
  assert.equal(from.len, 0);
  assert.equal(from.head, 300, "an empty channel keeps its head while a read is in flight");
  const buf = from.buf!;
  // The target had a buffer of its own: it goes back to its pool.
  to.readRegion();
  assert.equal(pools.small.stats().used, 2);
  from.moveReadTo(to);
  assert.equal(pools.small.stats().used, 1, "the target's own buffer was released");
  assert.equal(from.buf, null);
  assert.equal(from.reading, false);
  assert.equal(to.buf, buf);
  assert.equal(to.reading, true);
  assert.equal(to.head, 300);
  // The read completes: its bytes are where the new owner's accounting expects them.
  fill(buf.subarray(300, 310), 100);
  to.reading = false;
  to.commitRead(10, 1024 - 300);
  to.toForward = CHN_INFINITE_FORWARD;
  to.forward();
  assert.deepEqual([...to.writeRegion()!], [...buf.subarray(300, 310)]);
});

Deno.test("after a read that left a bulk buffer more than half empty, the next read waits for the write and goes small", () => {
  const pools = createPools(4096, 0, 65536);
  const ch = new Channel(pools);
  ch.shrinkAfterBurst = true; // a request channel in HTTP mode
  ch.toForward = CHN_INFINITE_FORWARD;
  // A busy flow: full reads take it to the bulk buffer.
  ch.lastReadFull = true;
  ch.lastReadLen = 4096;
  ch.bufPool = pools.big;
  ch.buf = pools.big.alloc();
  ch.readRegion(); // empty channel: moves up to bulk
  assert.equal(ch.buf!.length, 65536);
  const r = ch.readRegion()!;
  ch.commitRead(fill(r.subarray(0, 20000), 0), r.length); // the peer slowed down
  ch.forward();
  ch.writing = true; // those bytes are on their way out
  assert.equal(ch.readRegion(), null, "no read into the rest of the bulk buffer meanwhile");
  ch.writing = false;
  ch.commitWrite(20000);
  const next = ch.readRegion()!;
  assert.equal(ch.buf!.length, SMALL_BUFSIZE, "the next read, which may stall, holds 1 KiB");
  assert.equal(next.length, SMALL_BUFSIZE);
  assert.equal(pools.bulk.stats().used, 0);
  // A flow that reads at least half of the bulk buffer stays there.
  const ch2 = new Channel(pools);
  ch2.shrinkAfterBurst = true;
  ch2.toForward = CHN_INFINITE_FORWARD;
  ch2.lastReadFull = true;
  ch2.lastReadLen = 4096;
  ch2.bufPool = pools.big;
  ch2.buf = pools.big.alloc();
  const r2 = ch2.readRegion()!;
  ch2.commitRead(fill(r2.subarray(0, 40000), 0), r2.length);
  ch2.forward();
  ch2.writing = true;
  assert.ok(ch2.readRegion() !== null, "reads and writes overlap as before");
  // Without the rule (responses, TCP) a partial read keeps the bulk buffer.
  const ch3 = new Channel(pools);
  ch3.toForward = CHN_INFINITE_FORWARD;
  ch3.lastReadFull = true;
  ch3.lastReadLen = 4096;
  ch3.bufPool = pools.big;
  ch3.buf = pools.big.alloc();
  const r3 = ch3.readRegion()!;
  ch3.commitRead(fill(r3.subarray(0, 20000), 0), r3.length);
  ch3.forward();
  ch3.writing = true;
  assert.ok(ch3.readRegion() !== null);
  assert.equal(ch3.buf!.length, 65536);
});

Deno.test("a response channel whose last message outgrew the small buffer reads the next one whole", () => {
  const pools = createPools(8192);
  for (const keep of [true, false]) {
    const ch = new Channel(pools);
    ch.keepMessageSize = keep; // a server's response channel in HTTP mode
    ch.toForward = CHN_INFINITE_FORWARD;
    // A 1,239-byte response: the small buffer fills, grows, the rest follows.
    let r = ch.readRegion()!;
    assert.equal(r.length, SMALL_BUFSIZE);
    ch.commitRead(r.length, r.length);
    r = ch.readRegion()!;
    ch.commitRead(215, r.length);
    ch.forward();
    ch.commitWrite(ch.writeRegion()!.length);
    // The next response: room for all of it in the first read, or 1 KiB again.
    r = ch.readRegion()!;
    assert.equal(r.length >= 1239, keep, `keepMessageSize ${keep}: ${r.length} bytes of room`);
    // A small message goes back to the small buffer either way.
    ch.commitRead(150, r.length);
    ch.forward();
    ch.commitWrite(150);
    assert.equal(ch.readRegion()!.length, SMALL_BUFSIZE);
    ch.releaseBuffer();
  }
  assert.equal(pools.big.stats().used, 0);
});

Deno.test("an empty channel reads into its whole buffer, given as it is; a part of it gets a view kept for the next time", () => {
  const pools = createPools(8192);
  const ch = new Channel(pools);
  // A keep-alive connection reads each message into a buffer emptied by the
  // last write: no view to make, whichever pool buffer it is.
  const r1 = ch.readRegion()!;
  assert.equal(r1, ch.buf, "the buffer itself");
  ch.commitRead(100, r1.length);
  ch.forwardBytes(100);
  const w1 = ch.writeRegion()!;
  assert.deepEqual([w1.byteOffset - ch.buf!.byteOffset, w1.length], [0, 100]);
  assert.equal(ch.writeRegion(), w1, "the same region: the same view");
  ch.commitWrite(100);
  assert.equal(ch.readRegion(), ch.buf, "emptied: the whole buffer again");
});
