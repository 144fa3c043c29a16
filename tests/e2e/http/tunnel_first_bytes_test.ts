// The first bytes of a tunnel: tunnel bytes sharing a write with the head
// that opens it (101, CONNECT 200), optimistic client bytes sent before it,
// and a refused CONNECT whose optimistic bytes are never forwarded.
//
// Every test asserts the exact bytes (or their SHA-256) each side received,
// so a lost, doubled or reordered byte, a wrong status, a hang or a
// desynchronised connection shows.

import assert from "node:assert/strict";
import { delay as sleep, latin1 } from "../../_helpers/client.ts";
import { httpStub as rawStub } from "../../_helpers/http_stub.ts";
import { connectHttp, httpStub } from "./_http.ts";
import { within } from "./_bytes.ts";
import { proxyFor } from "./_framing.ts";

// CONNECT refused by the server: no tunnel was formed, so bytes the client
// sent optimistically after its CONNECT head are not a request and must never
// reach a server as one.
Deno.test("CONNECT: optimistic tunnel bytes after a refused CONNECT are never forwarded as a request", async () => {
  const s1 = httpStub("s1", {
    respond: (r) => r.method === "CONNECT" ? { status: 403, body: "no" } : {},
  });
  const proxy = await proxyFor([s1.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(
      "CONNECT internal:443 HTTP/1.1\r\nHost: internal:443\r\n\r\n" +
        "GET /smuggled HTTP/1.1\r\nHost: internal\r\n\r\n",
    );
    const r = await c.readResponse("CONNECT", 3000);
    assert.equal(r.status, 403);
    // Whatever the client side sees next (a close or nothing), the server never gets it as a request.
    await c.readUntilClosed(3000).catch(() => null);
    await sleep(100);
    assert.deepEqual(s1.requests.map((q) => `${q.method} ${q.target}`), ["CONNECT internal:443"]);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// 101 and the first tunnel bytes in one server write; the client's first
// frame sent right after its request head (before the 101).
Deno.test("Upgrade: a 101 sharing a write with tunnel bytes, and client bytes sent before the 101", async () => {
  const s = rawStub({
    respond: () => ({
      bytes:
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nSRV-FIRST",
      then: "echo",
    }),
  });
  const proxy = await proxyFor([s.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nCLI-EARLY",
    );
    const h = latin1((await within(c.reader.readHead(), 3000, "101"))!);
    assert.match(h, /^HTTP\/1\.1 101 /);
    assert.equal(
      latin1(await within(c.reader.readN(18), 3000, "tunnel bytes")),
      "SRV-FIRSTCLI-EARLY",
    );
    await c.send("more");
    assert.equal(latin1(await within(c.reader.readN(4), 3000, "echo")), "more");
  } finally {
    c.close();
    await proxy.stop();
    await s.close();
  }
});

Deno.test("CONNECT: a 200 and optimistic client bytes form a tunnel both ways", async () => {
  const s = rawStub({
    respond: () => ({ bytes: "HTTP/1.1 200 Connection Established\r\n\r\nHELLO", then: "echo" }),
  });
  const proxy = await proxyFor([s.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send("CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\nEARLY");
    const h = latin1((await within(c.reader.readHead(), 3000, "200"))!);
    assert.match(h, /^HTTP\/1\.1 200 /);
    assert.equal(latin1(await within(c.reader.readN(10), 3000, "tunnel")), "HELLOEARLY");
  } finally {
    c.close();
    await proxy.stop();
    await s.close();
  }
});
