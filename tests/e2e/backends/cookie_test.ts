// Cookie persistence (`cookie SRV insert indirect nocache`): the first reply
// tells the client its server; later requests carrying the cookie go to that
// server whatever the balancer says, the server never sees the cookie, and
// the mapping survives a restart of the proxy (cookie values are static).
import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { fetchOnce, get, type HttpStub, httpStub, reqHeader } from "../http/_http.ts";

function config(a: HttpStub, b: HttpStub, mode = "insert indirect nocache"): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    balance: roundrobin
    cookie: "SRV ${mode}"
    servers:
      - { name: a, address: "127.0.0.1:${a.port}", cookie: ca }
      - { name: b, address: "127.0.0.1:${b.port}", cookie: cb }
`;
}

Deno.test("cookie insert: the client sticks to its server, across a proxy restart", async () => {
  const a = httpStub("a"), b = httpStub("b");
  let proxy: ProxyProcess | null = null;
  try {
    proxy = await startProxy(config(a, b));
    const first = await fetchOnce(proxy.port("fe"), get("/"));
    assert.equal(first.status, 200);
    const setCookie = first.get("set-cookie");
    assert.ok(setCookie !== undefined, "insert mode sets the cookie");
    const m = /^SRV=(c[ab]); path=\//.exec(setCookie);
    assert.ok(m !== null, setCookie);
    assert.equal(first.get("cache-control"), "private", "nocache marks it private");
    const served = first.text.split(" ")[0]; // the stub's tag
    assert.equal(`c${served}`, m[1]);

    // Ten more requests with the cookie: all to the same server, no new Set-Cookie,
    // and (indirect) the server never sees the SRV cookie, while others pass.
    for (let i = 0; i < 10; i++) {
      const r = await fetchOnce(proxy.port("fe"), get("/", [`Cookie: SRV=${m[1]}; theme=dark`]));
      assert.equal(r.text.split(" ")[0], served);
      assert.equal(r.get("set-cookie"), undefined);
    }
    const stub = served === "a" ? a : b;
    const last = stub.requests[stub.requests.length - 1]!;
    assert.deepEqual(reqHeader(last, "cookie"), ["theme=dark"]);

    // Restart the proxy: the same cookie still names the same server.
    await proxy.stop();
    proxy = await startProxy(config(a, b));
    for (let i = 0; i < 4; i++) {
      const r = await fetchOnce(proxy.port("fe"), get("/", [`Cookie: SRV=${m[1]}`]));
      assert.equal(r.text.split(" ")[0], served, "persistence survives the restart");
    }
  } finally {
    await proxy?.stop();
    await a.close();
    await b.close();
  }
});

Deno.test("cookie for a server that is gone falls back to balancing and gets a new cookie", async () => {
  const a = httpStub("a"), b = httpStub("b");
  const proxy = await startProxy(config(a, b));
  try {
    const r = await fetchOnce(proxy.port("fe"), get("/", ["Cookie: SRV=nosuch"]));
    assert.equal(r.status, 200);
    assert.match(r.get("set-cookie") ?? "", /^SRV=c[ab]; path=\//);
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
  }
});
