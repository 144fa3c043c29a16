// Server connections go back to the idle pool between a client's requests
// (http-reuse safe, the default): a crowd of keep-alive clients idle between
// requests holds about as many server connections as requests in progress,
// and the bytes of one client never reach another, however the connections
// are handed around.
import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, get, type HttpClient, httpStub, type StubRequest } from "./_http.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function proxyFor(ports: number[], reuse = "safe"): Promise<ProxyProcess> {
  return startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 20s, server: 5s, http-keep-alive: 20s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    balance: roundrobin
    http-reuse: ${reuse}
    servers:
${ports.map((p, i) => `      - { name: s${i + 1}, address: "127.0.0.1:${p}" }`).join("\n")}
`);
}

Deno.test("http-reuse safe: 50 keep-alive clients idle between requests hold far fewer than 50 server connections", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor([s1.port]);
  const clients: HttpClient[] = [];
  try {
    for (let i = 0; i < 50; i++) clients.push(await connectHttp(proxy.port("fe")));
    // Every first request at once: each opens a server connection of its own
    // (safe: a first request never takes another client's connection).
    await Promise.all(clients.map(async (c, i) => {
      assert.equal((await c.request(get(`/c${i}/0`))).text, `s1 GET /c${i}/0`);
    }));
    assert.equal(s1.conns.length, 50);
    // Then one request every 500 ms each, spread out, for longer than the
    // purge delay (5 s): idle in between, the clients share a few connections
    // and the others are closed.
    const deadline = Date.now() + 7000;
    await Promise.all(clients.map(async (c, i) => {
      await sleep(i * 10);
      for (let k = 1; Date.now() < deadline; k++) {
        assert.equal((await c.request(get(`/c${i}/${k}`))).text, `s1 GET /c${i}/${k}`);
        await sleep(500);
      }
    }));
    const open = s1.conns.filter((c) => c.closedBy === null).length;
    assert.ok(open <= 10, `${open} server connections still open for 50 idle clients`);
    // The later requests were carried by a handful of connections.
    const later = new Set(s1.requests.filter((r) => !r.target.endsWith("/0")).map((r) => r.conn));
    assert.ok(later.size <= 20, `${later.size} connections carried the later requests`);
  } finally {
    for (const c of clients) c.close();
    await proxy.stop();
    await s1.close();
  }
});

/** `/cI/rK-SIZE` → a body of SIZE bytes that names the request. */
function bodyFor(tag: string, target: string): string {
  const size = Number(/-(\d+)$/.exec(target)![1]);
  const unit = `<${tag}${target}>`;
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/**
 * A stub answering each request with a body naming it (sizes from the
 * target), its request body echoed in a header, and now and then
 * `Connection: close` (the proxy must drop that connection, not park it).
 */
function namingStub(tag: string) {
  let n = 0;
  return httpStub(tag, {
    respond: (r: StubRequest) => ({
      headers: [
        ["Content-Type", "text/plain"],
        ["X-Req-Body", new TextDecoder().decode(r.body)],
      ],
      body: bodyFor(tag, r.target),
      close: ++n % 7 === 0,
    }),
  });
}

/** Sizes that move ring offsets around and cross the small (1 KiB), big and bulk buffers. */
const SIZES = [0, 5, 1000, 1023, 1024, 3000, 16384, 17000, 70000];

Deno.test("http-reuse safe: 30 concurrent keep-alive clients over shared server connections each get exactly their own bytes", async () => {
  const s1 = namingStub("s1"), s2 = namingStub("s2");
  const proxy = await proxyFor([s1.port, s2.port]);
  const clients: HttpClient[] = [];
  try {
    for (let i = 0; i < 30; i++) clients.push(await connectHttp(proxy.port("fe")));
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < 24; k++) {
        const target = `/c${i}/r${k}-${SIZES[(i + k) % SIZES.length]}`;
        // Some requests carry a body of their own, some are pipelined in pairs.
        if (k % 5 === 4) {
          const t2 = `/c${i}/r${k}b-${SIZES[(i + 2 * k) % SIZES.length]}`;
          await c.send(get(target) + get(t2));
          for (const t of [target, t2]) {
            const r = await c.readResponse("GET", 5000);
            const tag = r.get("x-backend")!;
            assert.equal(r.text, bodyFor(tag, t), `client ${i} ${t}`);
          }
        } else if (k % 3 === 1) {
          const body = `body of client ${i} request ${k}`;
          const r = await c.request(
            get(target, [`Content-Length: ${body.length}`], "POST") + body,
            "POST",
            5000,
          );
          const tag = r.get("x-backend")!;
          assert.equal(r.text, bodyFor(tag, target), `client ${i} ${target}`);
          assert.equal(r.get("x-req-body"), body, `client ${i} ${target} request body`);
        } else {
          const r = await c.request(get(target), "GET", 5000);
          const tag = r.get("x-backend")!;
          assert.equal(r.text, bodyFor(tag, target), `client ${i} ${target}`);
        }
        // Idle for a moment now and then: the connection is parked meanwhile.
        if ((i + k) % 4 === 0) await sleep(5 + ((i * 7 + k) % 20));
      }
    }));
    // Every request reached a server exactly once, with its own body.
    const all = [...s1.requests, ...s2.requests];
    assert.equal(all.length, 30 * (24 + 4)); // k = 4, 9, 14, 19 sent a pair
    for (const r of all) {
      if (r.method === "POST") {
        const [, i, k] = /^\/c(\d+)\/r(\d+)-/.exec(r.target)!;
        assert.equal(new TextDecoder().decode(r.body), `body of client ${i} request ${k}`);
      }
    }
    // Connections were shared: far fewer than one per client and server.
    assert.ok(s1.conns.length + s2.conns.length < 30 * 2 + all.length / 7);
  } finally {
    for (const c of clients) c.close();
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});
