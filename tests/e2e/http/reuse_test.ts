// http-reuse safe: a clean keep-alive server connection outlives its client
// and carries another client's follow-up request; a first request never
// uses another client's connection.
import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, get, httpStub } from "./_http.ts";

Deno.test("http-reuse safe: parked server connections serve other clients' follow-up requests", async () => {
  const s1 = httpStub("s1"), s2 = httpStub("s2");
  const proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    balance: roundrobin
    servers:
      - { name: s1, address: "127.0.0.1:${s1.port}" }
      - { name: s2, address: "127.0.0.1:${s2.port}" }
`);
  try {
    // Client A: one request to each server, then leaves; both connections are parked.
    const a = await connectHttp(proxy.port("fe"));
    assert.equal((await a.request(get("/a1"))).text.split(" ")[0], "s1");
    assert.equal((await a.request(get("/a2"))).text.split(" ")[0], "s2");
    a.close();
    await proxy.waitForLog(/"GET \/a2 HTTP\/1\.1"/, 3000);
    await new Promise((r) => setTimeout(r, 100));
    // Client B: its first request (to s1) must use a new connection; its
    // second (to s2) may take A's parked connection to s2.
    const b = await connectHttp(proxy.port("fe"));
    try {
      assert.equal((await b.request(get("/b1"))).text, "s1 GET /b1");
      // Its own response, not the one A's request left on that connection.
      assert.equal((await b.request(get("/b2"))).text, "s2 GET /b2");
    } finally {
      b.close();
    }
    const connOf = (stub: typeof s1, target: string) =>
      stub.requests.find((r) => r.target === target)!.conn;
    // s1 saw two connections: A's and B's own (no reuse for a first request).
    assert.notEqual(connOf(s1, "/b1"), connOf(s1, "/a1"), "a first request never reuses");
    // s2 saw one connection, carrying A's request then B's follow-up.
    assert.equal(connOf(s2, "/b2"), connOf(s2, "/a2"), "the follow-up reused A's connection");
    assert.equal(s2.conns.length, 1);
  } finally {
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});
