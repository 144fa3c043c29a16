// Server connections handed from one owner to another: kept between the
// requests of one client, parked in a server's idle pool with their read in
// flight, adopted by another client, dropped on a server switch. Every test
// asserts the exact bytes each side received: a wrong channel offset, a
// stale byte or a stale timer carried over a handoff shows as another
// client's (or another request's) bytes, or as an error reply.
import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, get, type HttpClient, httpStub } from "./_http.ts";

const te = new TextEncoder();

/** A proxy in front of stub servers on `ports`, with extra backend lines. */
function proxyFor(
  ports: number[],
  opts: { reuse?: string; server?: string; backendExtra?: string } = {},
): Promise<ProxyProcess> {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: ${opts.server ?? "5s"}, http-keep-alive: 5s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    balance: roundrobin
    http-reuse: ${opts.reuse ?? "safe"}
${opts.backendExtra ?? ""}
    servers:
${ports.map((p, i) => `      - { name: s${i + 1}, address: "127.0.0.1:${p}" }`).join("\n")}
`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until the proxy logged `path` (the stream ends right after its last log line). */
async function logged(proxy: ProxyProcess, path: string): Promise<void> {
  const p = path.replace(/[/.?]/g, (c) => `\\${c}`);
  await proxy.waitForLog(new RegExp(`"[A-Z]+ ${p} HTTP/1\\.[01]"`), 3000);
  await sleep(50);
}

async function body(c: HttpClient, path: string): Promise<string> {
  return (await c.request(get(path), "GET", 3000)).text;
}

// ---------------------------------------------------------------------------
// Suspected bugs.

Deno.test("keep-alive: a follow-up request after a pause longer than timeout server gets its response", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor([s1.port], { server: "500ms" });
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal(await body(c, "/a1"), "s1 GET /a1");
    // The server connection is idle, not timing out: no response is expected.
    await sleep(900);
    const r = await c.request(get("/a2"), "GET", 3000);
    assert.equal(`${r.status} ${r.text}`, "200 s1 GET /a2");
    assert.equal(s1.requests.length, 2);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("http-reuse: a connection parked longer than timeout server serves its adopter", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor([s1.port], { reuse: "always", server: "500ms" });
  try {
    const a = await connectHttp(proxy.port("fe"));
    try {
      assert.equal(await body(a, "/a"), "s1 GET /a");
    } finally {
      a.close();
    }
    await logged(proxy, "/a");
    await sleep(900); // parked for longer than timeout server (well under the purge delay)
    const b = await connectHttp(proxy.port("fe"));
    try {
      const r = await b.request(get("/b"), "GET", 3000);
      assert.equal(`${r.status} ${r.text}`, "200 s1 GET /b");
    } finally {
      b.close();
    }
  } finally {
    await proxy.stop();
    await s1.close();
  }
});

/** A response whose body is itself a complete HTTP response (what a client might upload). */
const INNER = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nLEAKED";

Deno.test("keep-alive: bytes a server sends after its response never answer the next request", async () => {
  const s1 = httpStub("s1", {
    respond: (r) =>
      r.target === "/dirty"
        ? { raw: `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello${INNER}` }
        : {},
  });
  const proxy = await proxyFor([s1.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal(await body(c, "/dirty"), "hello");
    await sleep(100);
    assert.equal(await body(c, "/next"), "s1 GET /next");
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("http-reuse: bytes a server sent after a response never reach the adopter of the parked connection", async () => {
  const s1 = httpStub("s1", {
    respond: (r) =>
      r.target === "/dirty"
        ? { raw: `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello${INNER}` }
        : {},
  });
  const proxy = await proxyFor([s1.port], { reuse: "always" });
  try {
    const a = await connectHttp(proxy.port("fe"));
    try {
      assert.equal(await body(a, "/dirty"), "hello");
    } finally {
      a.close();
    }
    await logged(proxy, "/dirty");
    const b = await connectHttp(proxy.port("fe"));
    try {
      assert.equal(await body(b, "/b"), "s1 GET /b");
    } finally {
      b.close();
    }
  } finally {
    await proxy.stop();
    await s1.close();
  }
});

Deno.test("http-reuse: a client that resets before its response is written leaks nothing to the adopter", async () => {
  const s1 = httpStub("s1", {
    respond: (r) => (r.target === "/private" ? { body: INNER } : {}),
  });
  // The response rule makes the head a separate write (a prefix) before the body.
  const proxy = await proxyFor([s1.port], {
    reuse: "always",
    backendExtra: `    http-response: ["set-header X-Via sluice"]`,
  });
  try {
    const a = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port("fe") });
    await a.write(te.encode(get("/private")));
    a.close(); // gone before the response: the proxy's second write fails
    await logged(proxy, "/private");
    const b = await connectHttp(proxy.port("fe"));
    try {
      assert.equal(await body(b, "/b"), "s1 GET /b");
    } finally {
      b.close();
    }
  } finally {
    await proxy.stop();
    await s1.close();
  }
});
