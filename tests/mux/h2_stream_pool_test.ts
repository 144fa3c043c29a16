import assert from "node:assert/strict";
import { createPools } from "../../src/buf/pool.ts";
import { type H2Sender, H2Stream, H2StreamPool } from "../../src/mux/h2_stream.ts";

/** A connection that takes every frame at once and records what it sent. */
class Sender implements H2Sender {
  sent: string[] = [];
  closed: number[] = [];
  sendHeaders(
    s: H2Stream,
    names: readonly string[],
    values: readonly string[],
    count: number,
    endStream: boolean,
  ): boolean {
    const f: string[] = [];
    for (let i = 0; i < count; i++) f.push(`${names[i]}=${values[i]}`);
    this.sent.push(`${s.id} HEADERS ${f.join(" ")}${endStream ? " END" : ""}`);
    return true;
  }
  sendData(s: H2Stream, src: Uint8Array, start: number, len: number, last: boolean): number {
    const text = new TextDecoder().decode(src.subarray(start, start + len));
    this.sent.push(`${s.id} DATA ${text}${last ? " END" : ""}`);
    if (last) s.markDone();
    return len;
  }
  consumed(_s: H2Stream, _n: number): void {}
  responseDone(_s: H2Stream): void {}
  resetStream(_s: H2Stream, _code: number, _why: string): void {}
  streamClosed(s: H2Stream, _complete: boolean): void {
    this.closed.push(s.id);
  }
}

const enc = new TextEncoder();

/** One request and response through `s`, the way a Stream drives it; returns the request bytes read. */
async function exchange(s: H2Stream, head: string, response: string): Promise<string> {
  const b = enc.encode(head);
  s.lendHead(b, b.length);
  s.requestEnded();
  const view = new Uint8Array(1024);
  const n = s.readNow(view); // as the Stream's constructor does
  assert.ok(s.keepHead());
  const eof = s.read(view); // the end of stream, once the response is out
  await s.write(enc.encode(response));
  assert.equal(await eof, 0);
  s.close();
  return new TextDecoder().decode(view.subarray(0, n));
}

Deno.test("h2 stream pool: a closed stream is reopened as a new one, nothing of its last request left", async () => {
  const pools = createPools(4096);
  const sender = new Sender();
  const pool = new H2StreamPool(sender, pools.big);
  const s1 = pool.open(1, 65535, 65535, 10);
  s1.isHead = false;
  s1.reqLength = 3;
  const req1 = await exchange(
    s1,
    "POST /a HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\n",
    "HTTP/1.1 200 OK\r\nx-one: 1\r\nx-two: 2\r\ncontent-length: 2\r\n\r\nhi",
  );
  assert.equal(req1, "POST /a HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\n");
  pool.give(s1);

  const s3 = pool.open(3, 1000, 2000, 20);
  assert.equal(s3, s1, "the closed stream is reused");
  const fresh = new H2Stream(3, sender, pools.big, 1000, 2000, 20);
  assert.deepEqual(Object.entries(s3), Object.entries(fresh));
  const req3 = await exchange(
    s3,
    "GET /b HTTP/1.1\r\nhost: b\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
  );
  assert.equal(req3, "GET /b HTTP/1.1\r\nhost: b\r\n\r\n");
  assert.deepEqual(sender.sent, [
    "1 HEADERS :status=200 x-one=1 x-two=2 content-length=2",
    "1 DATA hi END",
    "3 HEADERS :status=204 END",
  ]);
  assert.deepEqual(sender.closed, [1, 3]);
  assert.equal(pools.big.stats().used, 0, "no request buffer held");
});

Deno.test("h2 stream pool: a stream still open or still waiting for room is not taken back", () => {
  const pools = createPools(4096);
  const sender = new Sender();
  const pool = new H2StreamPool(sender, pools.big);
  const open = pool.open(1, 100, 100, 0);
  pool.give(open);
  const blocked = pool.open(3, 100, 100, 0);
  assert.notEqual(blocked, open, "an open stream is not reused");
  blocked.blocked = true;
  blocked.close();
  pool.give(blocked);
  assert.notEqual(pool.open(5, 100, 100, 0), blocked, "a blocked one is not reused");
});

Deno.test("h2 stream: a lent head the Stream did not read whole is kept, then read in order", async () => {
  const pools = createPools(4096);
  const s = new H2Stream(1, new Sender(), pools.big, 65535, 65535, 0);
  const text = "GET /long HTTP/1.1\r\nhost: example\r\n\r\n";
  const lent = enc.encode(text);
  s.lendHead(lent, lent.length);
  s.requestEnded();
  const first = new Uint8Array(10);
  assert.equal(s.readNow(first), 10);
  assert.ok(s.keepHead());
  lent.fill(0x78); // the connection writes the next head there
  const rest = new Uint8Array(1024);
  const n = await s.read(rest);
  const got = new TextDecoder().decode(first) + new TextDecoder().decode(rest.subarray(0, n));
  assert.equal(got, text);
  assert.equal(s.readNow(rest), 0);
  // Nothing read before the head stopped being valid: all of it is kept.
  const t = new H2Stream(3, new Sender(), pools.big, 65535, 65535, 0);
  const lent2 = enc.encode(text);
  t.lendHead(lent2, lent2.length);
  assert.ok(t.keepHead());
  lent2.fill(0x78);
  assert.equal(new TextDecoder().decode(rest.subarray(0, t.readNow(rest))), text);
});
