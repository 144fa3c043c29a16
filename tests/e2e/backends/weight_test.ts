// Weights changeable at run time (HAProxy's `set weight`, here a stats admin
// action): roundrobin follows the new weights at once.
import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, get, httpStub } from "../http/_http.ts";

Deno.test("a runtime weight change through the stats admin form reshapes roundrobin at once", async () => {
  const a = httpStub("a"), b = httpStub("b");
  const proxy = await startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    stats: { uri: /stats, admin: true }
    default_backend: be
backends:
  be:
    balance: roundrobin
    servers:
      - { name: a, address: "127.0.0.1:${a.port}", weight: 1 }
      - { name: b, address: "127.0.0.1:${b.port}", weight: 1 }
`);
  const count = async (n: number) => {
    const c = await connectHttp(proxy.port("fe"));
    const seen = { a: 0, b: 0 };
    try {
      for (let i = 0; i < n; i++) {
        const r = await c.request(get("/"));
        seen[r.text.split(" ")[0] as "a" | "b"]++;
      }
    } finally {
      c.close();
    }
    return seen;
  };
  try {
    assert.deepEqual(await count(40), { a: 20, b: 20 });
    const body = "s=be%2Fb&action=weight&weight=3";
    const c = await connectHttp(proxy.port("fe"));
    try {
      const r = await c.request(
        `POST /stats HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        "POST",
      );
      assert.equal(r.status, 200);
      assert.match(r.text, /be\/b: weight done/);
    } finally {
      c.close();
    }
    assert.deepEqual(await count(40), { a: 10, b: 30 });
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
  }
});
