// A response sent before the request is complete (a 413 during a large
// upload, or one with Connection: close): the client connection is closed
// after it and a keep-alive client is never left hanging.
//
// Every test asserts the exact bytes (or their SHA-256) each side received,
// so a lost, doubled or reordered byte, a wrong status, a hang or a
// desynchronised connection shows.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { concat, delay as sleep, latin1, te, writeFull } from "../../_helpers/client.ts";
import { ByteReader, connectHttp, get } from "./_http.ts";
import { bytesOf } from "./_bytes.ts";
import { proxyFor } from "./_framing.ts";

// A server answering before the upload ends: the client gets the answer and
// the connection is not reused with the rest of the body in it.
Deno.test("early response: a 413 during a large upload closes the client connection after it", async () => {
  const loop = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    await rd.readHead();
    await writeFull(
      conn,
      te.encode(
        "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig",
      ),
    );
    await sleep(300);
  });
  const proxy = await proxyFor([loop.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    const body = bytesOf(4 * 1024 * 1024, 4);
    const sending = c.send(
      concat([
        te.encode(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`),
        body,
      ]),
      5000,
    ).catch(() => {});
    const r = await c.readResponse("POST", 3000);
    assert.equal(`${r.status} ${r.text}`, "413 big");
    const end = await c.readUntilClosed(4000);
    assert.equal(latin1(end.extra), "");
    await sending;
  } finally {
    c.close();
    await proxy.stop();
    await loop.close();
  }
});

// An upload whose last bytes the proxy has read and forwarded, but not yet
// written to a server that stopped reading; the server answers early with
// `Connection: close`. TX_REQ_DONE is set (the body was forwarded), so the
// client connection is kept; closeServerSide() drops the server connection
// but leaves req.out > 0, and httpProcessReqBackend waits for req.out to
// drain before committing the next request: nothing will ever write it, and
// no timeout runs (the head was parsed), so the next request hangs forever.
// The window is one proxy buffer wide; its place depends on the kernel's
// socket buffers, so the test searches for it (served below, closed above).
Deno.test("early response with close: a keep-alive client is never left hanging on its next request", async () => {
  const loop = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    const h0 = await rd.readHead().catch(() => null);
    if (h0 === null) return;
    if (latin1(h0).startsWith("POST")) {
      await sleep(400); // the client has written everything; nothing is read
      await writeFull(
        conn,
        te.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
      );
      await sleep(300);
      await rd.readToEof().catch(() => null);
      return;
    }
    for (let h: Uint8Array | null = h0; h !== null; h = await rd.readHead().catch(() => null)) {
      await writeFull(conn, te.encode("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"));
    }
  });
  const proxy = await proxyFor([loop.port]);
  const trial = async (size: number): Promise<"served" | "closed" | "hang"> => {
    const c = await connectHttp(proxy.port("fe"));
    const sending = c.send(
      concat([
        te.encode(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`),
        new Uint8Array(size).fill(97),
      ]),
      2000,
    ).catch(() => {});
    try {
      const r1 = await c.readResponse("POST", 3000);
      assert.equal(`${r1.status} ${r1.text}`, "200 ok");
      await c.send(get("/next"), 1000).catch(() => {});
      const r2 = await c.readResponse("GET", 1500);
      assert.equal(r2.text, "next");
      return "served";
    } catch (e) {
      return e instanceof Error && /Deadline/.test(e.message) ? "hang" : "closed";
    } finally {
      c.close();
      await sending;
    }
  };
  try {
    let lo = 256 * 1024, hi = 24 * 1024 * 1024;
    const seen: string[] = [];
    while (hi - lo > 16 * 1024) {
      const mid = Math.floor((lo + hi) / 2);
      const out = await trial(mid);
      seen.push(`${mid}:${out}`);
      assert.notEqual(out, "hang", `the next request hung after a ${mid}-byte upload (${seen})`);
      if (out === "served") lo = mid;
      else hi = mid;
    }
  } finally {
    await proxy.stop();
    await loop.close();
  }
});
