// Chunked bodies cut at every byte: size lines, extensions and trailers of a
// request, and responses sliced at odd offsets over keep-alive, arrive
// unchanged.
//
// Every test asserts the exact bytes (or their SHA-256) each side received,
// so a lost, doubled or reordered byte, a wrong status, a hang or a
// desynchronised connection shows.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import {
  concat,
  delay as sleep,
  latin1,
  sha256Hex as sha256,
  te,
  writeFull,
} from "../../_helpers/client.ts";
import { httpStub as rawStub } from "../../_helpers/http_stub.ts";
import { ByteReader, connectHttp, get } from "./_http.ts";
import { bytesOf, within } from "./_bytes.ts";
import { chunked, proxyFor } from "./_framing.ts";

/** Writes `data` one slice at a time with a pause between slices (each slice its own read). */
async function trickle(conn: Deno.Conn, data: Uint8Array, sizes: number[], pauseMs: number) {
  let off = 0, k = 0;
  while (off < data.length) {
    const n = Math.min(sizes[k++ % sizes.length]!, data.length - off);
    await writeFull(conn, data.subarray(off, off + n));
    off += n;
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

// Chunk-size lines, extensions, CRLFs and trailers cut at every byte: the
// server gets the encoding exactly as the client sent it.
Deno.test("chunked request: size lines, extensions and trailers split at every byte arrive unchanged", async () => {
  const s = rawStub();
  const proxy = await proxyFor([s.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    const body = chunked(
      bytesOf(700, 5),
      [1, 16, 255, 17],
      ';name="v";x',
      "X-T: 1\r\nY-T: two\r\n",
    );
    await c.send("POST /ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    await trickle(c.conn, body.subarray(0, 120), [1], 2);
    await trickle(c.conn, body.subarray(120), [7, 3, 61], 1);
    const r = await c.readResponse("POST", 3000);
    assert.equal(r.status, 200);
    const req = (await s.requests.waitFor(1, 2000))[0]!;
    assert.equal(sha256(req.body!), sha256(body));
    // The connection stays in sync for the next request.
    const r2 = await c.request(get("/next"), "GET", 3000);
    assert.equal(r2.text, "ok 1");
  } finally {
    c.close();
    await proxy.stop();
    await s.close();
  }
});

// The same for responses, over a ring that wraps: several chunked responses on
// one connection, each written in odd slices.
Deno.test("chunked response: slices at odd offsets over several keep-alive responses arrive unchanged", async () => {
  const bodies = [0, 1, 2, 3].map((i) =>
    chunked(
      bytesOf(20_000 + i * 3001, 40 + i),
      [1, 4093, 17, 8192],
      ";e=1",
      i % 2 ? "T: v\r\n" : "",
    )
  );
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const loop = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    for (let i = 0; i < bodies.length; i++) {
      if ((await rd.readHead()) === null) return;
      await trickle(conn, concat([te.encode(head), bodies[i]!]), [5, 1, 3000, 2, 9000], 1);
    }
    await rd.readHead().catch(() => null);
  });
  const proxy = await proxyFor([loop.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    for (let i = 0; i < bodies.length; i++) {
      await c.send(get(`/r${i}`));
      const h = await within(c.reader.readHead(), 3000, `head ${i}`);
      assert.match(latin1(h!), /transfer-encoding: chunked/i);
      const raw = await within(c.reader.readN(bodies[i]!.length), 3000, `body ${i}`);
      assert.equal(sha256(raw), sha256(bodies[i]!), `response ${i}`);
    }
    assert.equal(c.reader.pending, 0);
  } finally {
    c.close();
    await proxy.stop();
    await loop.close();
  }
});
