// Bodies larger than every buffer behind a slow peer: a slow reader gets the
// whole response and a server that pauses reading gets the whole upload
// (the timeout of the waiting side never fires), and 6 MiB each way keep
// their SHA-256.
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
import { ByteReader, connectHttp, get, httpStub } from "./_http.ts";
import { bytesOf, within } from "./_bytes.ts";
import { chunked, proxyFor } from "./_framing.ts";

// A slow client: the response channel is full and the server side is idle
// only because the proxy does not read it (backpressure). `timeout server`
// must not cut the response (HAProxy arms no read timeout on a full buffer).
Deno.test("backpressure: a client reading a large response slowly gets all of it (timeout server shorter than the stall)", async () => {
  const big = bytesOf(8 * 1024 * 1024, 7);
  const s1 = httpStub("s1", { respond: () => ({ body: big }) });
  const proxy = await proxyFor([s1.port], { server: "400ms" });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/big"));
    const head = await within(c.reader.readHead(), 3000, "response head");
    assert.match(latin1(head!), /^HTTP\/1\.1 200 /);
    await sleep(1200); // every buffer on the way fills; the proxy stops reading the server
    const got = await within(c.reader.readN(big.length), 5000, "8 MiB body");
    assert.equal(sha256(got), sha256(big));
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// The mirror image: a server reading a large upload slowly; the client is
// blocked by the proxy's full request channel, not idle.
Deno.test("backpressure: a large upload to a server that pauses reading arrives whole (timeout client shorter than the stall)", async () => {
  const big = bytesOf(8 * 1024 * 1024, 11);
  let serverDigest = "";
  const loop = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    const head = latin1((await rd.readHead())!);
    const len = Number(/content-length: (\d+)/i.exec(head)![1]);
    await sleep(1200); // not reading: the path fills up
    serverDigest = sha256(await rd.readN(len));
    await writeFull(conn, te.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    await rd.readHead().catch(() => null);
  });
  const proxy = await proxyFor([loop.port], { client: "400ms" });
  const c = await connectHttp(proxy.port("fe"));
  try {
    const sending = c.send(
      concat([
        te.encode(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n`),
        big,
      ]),
      6000,
    ).then(() => "sent", (e) => String(e));
    const r = await within(c.readResponse("POST", 6000), 6000, "upload response").catch((e) =>
      String(e)
    );
    assert.equal(await sending, "sent");
    assert.equal(typeof r === "string" ? r : `${r.status} ${r.text}`, "200 ok");
    assert.equal(serverDigest, sha256(big));
  } finally {
    c.close();
    await proxy.stop();
    await loop.close();
  }
});

Deno.test("large bodies both ways: 6 MiB chunked upload and 6 MiB content-length download keep their SHA-256", async () => {
  const up = bytesOf(6 * 1024 * 1024, 21);
  const down = bytesOf(6 * 1024 * 1024, 22);
  const upWire = chunked(up, [65536, 1, 30000, 100_000]);
  const s = rawStub({
    respond: () => ({
      bytes: concat([te.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${down.length}\r\n\r\n`), down]),
    }),
    keepBodyBytes: 16 * 1024 * 1024,
  });
  const proxy = await proxyFor([s.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    const sending = c.send(
      concat([
        te.encode("POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
        upWire,
      ]),
    );
    const r = await c.readResponse("POST", 8000);
    await sending;
    assert.equal(sha256(r.body), sha256(down));
    const req = (await s.requests.waitFor(1, 2000))[0]!;
    assert.equal(req.bodySha256, sha256(upWire));
  } finally {
    c.close();
    await proxy.stop();
    await s.close();
  }
});
