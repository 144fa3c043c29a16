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

/** A proxy on one or two stub servers with `http-reuse: MODE`. */
function reuseProxy(mode: string, ports: number[]) {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    balance: roundrobin
    http-reuse: ${mode}
    servers:
${ports.map((p, i) => `      - { name: s${i + 1}, address: "127.0.0.1:${p}" }`).join("\n")}
`);
}

/**
 * One client connection: its requests in turn, then it leaves and the proxy
 * logs the last one. Returns the server that answered each; every response
 * body must be that server's answer to that very request.
 */
async function client(
  proxy: Awaited<ReturnType<typeof startProxy>>,
  paths: string[],
): Promise<string[]> {
  const c = await connectHttp(proxy.port("fe"));
  const tags: string[] = [];
  try {
    for (const p of paths) {
      const text = (await c.request(get(p))).text;
      const tag = text.split(" ")[0]!;
      assert.equal(text, `${tag} GET ${p}`, "the response to this request");
      tags.push(tag);
    }
  } finally {
    c.close();
  }
  const last = paths[paths.length - 1]!.replaceAll("/", "\\/");
  await proxy.waitForLog(new RegExp(`"GET ${last} HTTP/1\\.1"`), 3000);
  await new Promise((r) => setTimeout(r, 50)); // the stream ends after its log line
  return tags;
}

Deno.test("http-reuse never: a server connection is closed with its client and never shared", async () => {
  const s1 = httpStub("s1"), s2 = httpStub("s2");
  const proxy = await reuseProxy("never", [s1.port, s2.port]);
  try {
    assert.deepEqual(await client(proxy, ["/a1", "/a2"]), ["s1", "s2"]);
    // Both of A's server connections close at once (safe would park them for 5 s).
    assert.equal(await s1.waitClosed(0, 2000), "peer");
    assert.equal(await s2.waitClosed(0, 2000), "peer");
    assert.deepEqual(await client(proxy, ["/b1", "/b2"]), ["s1", "s2"]);
    // B's follow-up to s2 opened a connection of its own.
    assert.equal(s2.conns.length, 2);
    assert.equal(s2.requests.find((r) => r.target === "/b2")!.conn, 1);
  } finally {
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("http-reuse always: a first request takes another client's parked connection", async () => {
  const s1 = httpStub("s1");
  const proxy = await reuseProxy("always", [s1.port]);
  try {
    for (const p of ["/a", "/b", "/c"]) assert.deepEqual(await client(proxy, [p]), ["s1"]);
    // Three clients, one request each, one server connection.
    assert.equal(s1.conns.length, 1);
    assert.deepEqual(s1.requests.map((r) => r.conn), [0, 0, 0]);
    assert.equal(s1.conns[0]!.closedBy, null, "the connection is still open, parked");
  } finally {
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("http-reuse safe (default): one-request clients each open a server connection", async () => {
  const s1 = httpStub("s1");
  const proxy = await reuseProxy("safe", [s1.port]);
  try {
    for (const p of ["/a", "/b", "/c"]) await client(proxy, [p]);
    assert.deepEqual(s1.requests.map((r) => r.conn), [0, 1, 2]);
  } finally {
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("http-reuse aggressive: a first request takes only a connection that carried two requests", async () => {
  const s1 = httpStub("s1");
  const proxy = await reuseProxy("aggressive", [s1.port]);
  try {
    await client(proxy, ["/a"]); // conn 0 parked after one request: not proven
    await client(proxy, ["/b"]); // so B opens conn 1 (then parked, not proven either)
    await client(proxy, ["/c1", "/c2"]); // C opens conn 2 and proves it
    await client(proxy, ["/d"]); // D's first request takes C's proven connection
    const connOf = (t: string) => s1.requests.find((r) => r.target === t)!.conn;
    assert.deepEqual(["/a", "/b", "/c1", "/c2", "/d"].map(connOf), [0, 1, 2, 2, 2]);
    assert.equal(s1.conns.length, 3);
  } finally {
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("http-reuse always: clients that each send Connection: close share one server connection", async () => {
  const s1 = httpStub("s1");
  const proxy = await reuseProxy("always", [s1.port]);
  try {
    for (const p of ["/x", "/y", "/z"]) {
      const c = await connectHttp(proxy.port("fe"));
      try {
        const r = await c.request(get(p, ["Connection: close"]));
        assert.equal(r.text, `s1 GET ${p}`);
      } finally {
        c.close();
      }
      await proxy.waitForLog(new RegExp(`"GET ${p.replace("/", "\\/")} HTTP/1\\.1"`), 3000);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The close was the clients' hop only: the server never saw it.
    const connHeaders = s1.requests.flatMap((r) =>
      r.head.headers.filter(([k]) => /^connection$/i.test(k))
    );
    assert.deepEqual(connHeaders, []);
    assert.deepEqual(s1.requests.map((r) => r.conn), [0, 0, 0]);
    assert.equal(s1.conns[0]!.closedBy, null);
  } finally {
    await proxy.stop();
    await s1.close();
  }
});
