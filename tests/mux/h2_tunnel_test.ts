// H2Stream as a CONNECT tunnel (RFC 9113 §8.5), against a fake connection:
// the frames a 2xx, the server's bytes, its FIN or its failure become, and
// when the Stream sees the client's end of stream.

import assert from "node:assert/strict";
import { BufferPool } from "../../src/buf/pool.ts";
import { H2_CONNECT_ERROR } from "../../src/h2/frame.ts";
import { type H2Sender, H2Stream } from "../../src/mux/h2_stream.ts";

/** A connection that records every frame the stream sends, as text. */
class FakeSender implements H2Sender {
  frames: string[] = [];
  closed: boolean[] = [];
  sendHeaders(
    _s: H2Stream,
    names: readonly string[],
    values: readonly string[],
    count: number,
    endStream: boolean,
  ): boolean {
    const f = [];
    for (let i = 0; i < count; i++) f.push(`${names[i]}=${values[i]}`);
    this.frames.push(`HEADERS ${f.join(" ")}${endStream ? " ES" : ""}`);
    return true;
  }
  sendData(s: H2Stream, src: Uint8Array, start: number, len: number, last: boolean): number {
    const text = new TextDecoder().decode(src.subarray(start, start + len));
    this.frames.push(`DATA "${text}"${last ? " ES" : ""}`);
    if (last) s.markDone();
    return len;
  }
  consumed(): void {}
  responseDone(): void {}
  resetStream(s: H2Stream, code: number, _why: string): void {
    this.frames.push(`RST ${code}`);
    s.abort("reset");
  }
  streamClosed(_s: H2Stream, complete: boolean): void {
    this.closed.push(complete);
  }
}

const te = new TextEncoder();

function connectStream(sender: FakeSender): H2Stream {
  const s = new H2Stream(1, sender, new BufferPool(1024, 8), 65535, 65535, 0);
  s.isConnect = true;
  return s;
}

/** Whether a read of `s` completes now, and with what (null: it waits). */
function readNowOrWait(s: H2Stream): { n: number | null } {
  const r = { n: null as number | null };
  s.readTo(new Uint8Array(64), (n) => (r.n = n), () => (r.n = -1));
  return r;
}

Deno.test("h2 tunnel: a 2xx to CONNECT is HEADERS without END_STREAM nor content-length, then DATA; the FIN is an empty END_STREAM", async () => {
  const sender = new FakeSender();
  const s = connectStream(sender);
  const v = te.encode(
    "HTTP/1.1 200 Connection established\r\nContent-Length: 0\r\nx-a: 1\r\n\r\nhello",
  );
  assert.equal(await s.write(v), v.length);
  assert.equal(await s.write(te.encode(" world")), 6);
  await s.closeWrite();
  assert.deepEqual(sender.frames, [
    "HEADERS :status=200 x-a=1",
    'DATA "hello"',
    'DATA " world"',
    'DATA "" ES',
  ]);
  assert.equal(s.tunnel, true);
  assert.equal(s.resDone, true);
  // The client's END_STREAM is the Stream's end of stream; both ends: complete.
  s.requestEnded();
  assert.equal(readNowOrWait(s).n, 0);
  s.close();
  assert.deepEqual(sender.closed, [true]);
});

Deno.test("h2 tunnel: the client's END_STREAM before the 2xx is seen once the tunnel opens, not before", async () => {
  const sender = new FakeSender();
  const s = connectStream(sender);
  s.requestEnded();
  const r = readNowOrWait(s);
  assert.equal(r.n, null, "no end of stream before the answer");
  await s.write(te.encode("HTTP/1.1 200 OK\r\n\r\n"));
  assert.equal(r.n, 0);
});

Deno.test("h2 tunnel: a failed server is RST_STREAM CONNECT_ERROR after its bytes; a tunnel closed half-open is not complete", async () => {
  const sender = new FakeSender();
  const s = connectStream(sender);
  await s.write(te.encode("HTTP/1.1 200 OK\r\n\r\nlast bytes"));
  s.peerFailed();
  assert.equal(sender.frames.length, 2, "the reset waits for the write shutdown");
  await s.closeWrite();
  assert.deepEqual(sender.frames.slice(1), ['DATA "last bytes"', `RST ${H2_CONNECT_ERROR}`]);

  const t = connectStream(sender);
  await t.write(te.encode("HTTP/1.1 200 OK\r\n\r\n"));
  await t.closeWrite(); // the server's FIN; the client never ended its side
  t.close();
  assert.deepEqual(sender.closed, [false]); // the connection resets it (CANCEL)
});

Deno.test("h2 tunnel: a non-2xx answer to CONNECT is an ordinary response that ends the stream", async () => {
  const sender = new FakeSender();
  const s = connectStream(sender);
  const v = te.encode("HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno");
  assert.equal(await s.write(v), v.length);
  assert.deepEqual(sender.frames, ["HEADERS :status=403 content-length=2", 'DATA "no" ES']);
  assert.equal(s.tunnel, false);
  assert.equal(s.resDone, true);
});
