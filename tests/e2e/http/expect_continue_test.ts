// Expect: 100-continue: the server's 100 is relayed before the final
// response, and a 417 without a 100 never makes the connection parse the
// withheld body as a request.
//
// Every test asserts the exact bytes (or their SHA-256) each side received,
// so a lost, doubled or reordered byte, a wrong status, a hang or a
// desynchronised connection shows.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { latin1, td as utf8, te, writeFull } from "../../_helpers/client.ts";
import { ByteReader, connectHttp, get, httpStub } from "./_http.ts";
import { within } from "./_bytes.ts";
import { proxyFor } from "./_framing.ts";

Deno.test("Expect: 100-continue: the server's 100 is relayed before the final response", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor([s1.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(
      "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    const h = await within(c.reader.readHead(), 3000, "100 Continue before the body");
    assert.equal(latin1(h!), "HTTP/1.1 100 Continue\r\n\r\n");
    await c.send("hello");
    const r = await c.readResponse("POST", 3000);
    assert.equal(`${r.status} ${r.text}`, "200 s1 POST /e");
    assert.equal(utf8.decode(s1.requests[0]!.body), "hello");
    assert.equal((await c.request(get("/n"))).text, "s1 GET /n");
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// A final status instead of 100: the body the client may still send must
// never be parsed as a request.
Deno.test("Expect: 100-continue answered 417 without 100: the connection does not parse the withheld body", async () => {
  const loop = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    await rd.readHead();
    await writeFull(
      conn,
      te.encode("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"),
    );
    await rd.readToEof().catch(() => null);
  });
  const proxy = await proxyFor([loop.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(
      "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 40\r\n\r\n",
    );
    const r = await c.readResponse("POST", 3000);
    assert.equal(r.status, 417);
    // The client sends its body anyway; it looks like a request.
    await c.send("GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 3000).catch(() => {});
    const end = await c.readUntilClosed(3000);
    assert.equal(latin1(end.extra), "");
  } finally {
    c.close();
    await proxy.stop();
    await loop.close();
  }
});
