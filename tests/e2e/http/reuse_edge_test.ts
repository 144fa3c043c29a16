// Server connections handed from one owner to another: kept between the
// requests of one client, parked in a server's idle pool with their read in
// flight, adopted by another client, dropped on a server switch. Every test
// asserts the exact bytes each side received: a wrong channel offset, a
// stale byte or a stale timer carried over a handoff shows as another
// client's (or another request's) bytes, or as an error reply.
import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  ByteReader,
  connectHttp,
  get,
  type HttpClient,
  httpStub,
  logsOf,
  type StubRequest,
} from "./_http.ts";

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
// Bugs found in review, each fixed (the comments describe the behaviour
// before the fix; every test here failed on it).

// The server side's inactivity tick (srvSi.lastActivity) is the end of the
// previous response: a request sent over a kept connection after a longer
// pause than `timeout server` is answered 504 at once by the proxy, without
// waiting for the server (httpWaitForResponse, #serverExpiry).
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

// Same for a parked connection: #adoptIdle keeps the interface's old tick.
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

// Bytes after the end of a response stay as input in the response channel
// (the transaction reset leaves them there) and are parsed as the response
// to the next request sent over that connection.
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

// The same bytes when the client leaves: #abort erases the response channel
// before #parkServerConn looks at it, and Channel.erase() zeroes len before
// computing the tail its in-flight read lands at, so the parked offset is
// the start of those bytes and the adopter parses them first.
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

// The erase() offset bug with a well-behaved server: the client is gone, the
// write of the response body fails, #abort erases the unsent body (len > 0,
// the server read in flight) and parks the connection with head at the start
// of that body: the next client's response lands after it, and the next
// client is answered with the previous client's body bytes.
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

/** A raw 200 response of exactly `total` bytes (head and body). */
function rawOfSize(total: number): string {
  for (let n = 0; n < total; n++) {
    const head = `HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n`;
    if (head.length + n === total) return head + "x".repeat(n);
  }
  throw new Error(`no response of ${total} bytes`);
}

// An interim head committed as a prefix (parsed from a scratch copy) is not
// written yet when the final head, in the same read, is committed as a
// prefix too: httpProcessResponse waits only for res.out/res.writing, and
// commitHead ignores setPrefix() refusing a second prefix. The final head is
// skipped and never sent (its pool buffer is lost too).
Deno.test("keep-alive: an interim response and a rewritten final head arriving together both reach the client", async () => {
  // The first response (1010 bytes) leaves the connection's small (1 KiB)
  // buffer with its read armed at offset 1010: the next response wraps
  // around the buffer's end, so its heads are parsed from a scratch copy and
  // written from prefix buffers. The final head is rewritten (the server's
  // Connection: close is its hop only).
  const s1 = httpStub("s1", {
    respond: (r) =>
      r.target === "/one" ? { raw: rawOfSize(1010) } : {
        raw: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" +
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
      },
  });
  const proxy = await proxyFor([s1.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    assert.equal(
      (await c.request(get("/one"), "GET", 3000)).text,
      rawOfSize(1010).split("\r\n\r\n")[1],
    );
    const r = await c.request(get("/two"), "GET", 3000);
    assert.deepEqual(c.interim.map((i) => i.status), [103]);
    assert.equal(`${r.status} ${r.text}`, "200 ok");
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
  }
});

// A stream whose first request adopts a parked connection never sets
// tConnStart: its log names <NOSRV> (and %Tw is -1) and the server's status
// counters skip it (countStatus).
Deno.test("http-reuse: a first request served over an adopted connection is logged with its server", async () => {
  const s1 = httpStub("s1");
  const proxy = await proxyFor([s1.port], { reuse: "always" });
  try {
    const a = await connectHttp(proxy.port("fe"));
    try {
      assert.equal(await body(a, "/a"), "s1 GET /a");
    } finally {
      a.close();
    }
    await logged(proxy, "/a");
    const b = await connectHttp(proxy.port("fe"));
    try {
      assert.equal(await body(b, "/b"), "s1 GET /b");
    } finally {
      b.close();
    }
    assert.deepEqual(s1.requests.map((r) => r.conn), [0, 0], "B adopted A's connection");
    const [log] = await logsOf(proxy, b.localPort);
    assert.equal(log!.server, "s1", log!.line);
  } finally {
    await proxy.stop();
    await s1.close();
  }
});

// ---------------------------------------------------------------------------
// Handoffs that work: regression guards.

/** A body of exactly `size` bytes that names its server and request at every place. */
function patterned(tag: string, target: string, size: number): string {
  const unit = `<${tag}${target}>`;
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** Stub answering `/NAME-SIZE` with a patterned body of SIZE bytes. */
function sizedStub(tag: string) {
  return httpStub(tag, {
    respond: (r: StubRequest) => {
      const m = /-(\d+)$/.exec(r.target);
      return m === null ? {} : { body: patterned(tag, r.target, Number(m[1])) };
    },
  });
}

/** Sizes that move the ring offsets around: tiny, just under 1 KiB, across small/big/bulk buffers. */
const SIZES = [1010, 3, 1500, 20, 17000, 1, 40000, 999, 5000, 64, 1023, 300];

/**
 * Who sends each request when two clients share a roundrobin over two
 * servers: A, B, B, A, B, B... so that each client meets both servers and
 * takes over connections the other one parked.
 */
const TURNS = ["a", "b", "b"] as const;

Deno.test("http-reuse: two clients alternating servers swap parked connections and get their own bytes", async () => {
  const s1 = sizedStub("s1"), s2 = sizedStub("s2");
  const proxy = await proxyFor([s1.port, s2.port], { reuse: "always" });
  const clients = {
    a: await connectHttp(proxy.port("fe")),
    b: await connectHttp(proxy.port("fe")),
  };
  const seen = { a: [] as string[], b: [] as string[] };
  try {
    for (let i = 0; i < 2 * SIZES.length; i++) {
      const name = TURNS[i % 3]!;
      const target = `/${name}${i}-${SIZES[i % SIZES.length]}`;
      const r = await clients[name].request(get(target), "GET", 3000);
      const tag = r.get("x-backend")!;
      seen[name].push(tag);
      assert.equal(
        r.text,
        patterned(tag, target, Number(target.split("-")[1])),
        `${target} ${tag}`,
      );
    }
    // Each client met both servers, over connections handed around rather
    // than opened per request.
    assert.deepEqual([...new Set(seen.a)].sort(), ["s1", "s2"]);
    assert.deepEqual([...new Set(seen.b)].sort(), ["s1", "s2"]);
    assert.ok(s1.conns.length + s2.conns.length <= 4, `${s1.conns.length}+${s2.conns.length}`);
  } finally {
    clients.a.close();
    clients.b.close();
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("http-reuse safe: one client switching servers on every request adopts its own parked connections", async () => {
  const s1 = sizedStub("s1"), s2 = sizedStub("s2");
  const proxy = await proxyFor([s1.port, s2.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    for (let i = 0; i < SIZES.length; i++) {
      const target = `/r${i}-${SIZES[i]}`;
      const r = await c.request(get(target), "GET", 3000);
      assert.equal(r.get("x-backend"), i % 2 === 0 ? "s1" : "s2");
      assert.equal(r.text, patterned(r.get("x-backend")!, target, SIZES[i]!), target);
    }
    assert.deepEqual([s1.conns.length, s2.conns.length], [1, 1]);
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("keep-alive: pipelined requests across two servers are answered in order, byte for byte", async () => {
  const s1 = sizedStub("s1"), s2 = sizedStub("s2");
  const proxy = await proxyFor([s1.port, s2.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    const targets = ["/p0-1010", "/p1-5", "/p2-17000", "/p3-999", "/p4-1", "/p5-3000"];
    await c.send(targets.map((t) => get(t)).join(""));
    for (const [i, t] of targets.entries()) {
      const r = await c.readResponse("GET", 3000);
      assert.equal(r.get("x-backend"), i % 2 === 0 ? "s1" : "s2", t);
      assert.equal(r.text, patterned(r.get("x-backend")!, t, Number(t.split("-")[1])), t);
    }
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("http-reuse: request bodies sent over parked and adopted connections arrive intact", async () => {
  const s1 = httpStub("s1"), s2 = httpStub("s2");
  const proxy = await proxyFor([s1.port, s2.port], { reuse: "always" });
  const clients = {
    a: await connectHttp(proxy.port("fe")),
    b: await connectHttp(proxy.port("fe")),
  };
  try {
    const sizes = [10, 5000, 70000, 1, 1500, 20000, 999, 3];
    const sent = new Map<string, string>();
    for (let i = 0; i < 2 * sizes.length; i++) {
      const name = TURNS[i % 3]!;
      const target = `/${name}${i}`;
      const payload = patterned(name, target, sizes[i % sizes.length]!);
      sent.set(target, payload);
      const head =
        `POST ${target} HTTP/1.1\r\nHost: t\r\nContent-Length: ${payload.length}\r\n\r\n`;
      const r = await clients[name].request(head + payload, "POST", 3000);
      assert.equal(r.text, `${r.get("x-backend")} POST ${target}`);
    }
    const got = [...s1.requests, ...s2.requests];
    assert.equal(got.length, sent.size);
    for (const r of got) {
      assert.equal(new TextDecoder().decode(r.body), sent.get(r.target), r.target);
    }
    assert.ok(s1.conns.length + s2.conns.length <= 4, `${s1.conns.length}+${s2.conns.length}`);
  } finally {
    clients.a.close();
    clients.b.close();
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("keep-alive: HTTP/1.0 keep-alive responses (rewritten heads) across server switches", async () => {
  const s1 = sizedStub("s1"), s2 = sizedStub("s2");
  const proxy = await proxyFor([s1.port, s2.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    for (let i = 0; i < 6; i++) {
      const target = `/k${i}-${SIZES[i]}`;
      const r = await c.request(
        `GET ${target} HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n`,
        "GET",
        3000,
      );
      assert.equal(r.get("connection")?.toLowerCase(), "keep-alive");
      assert.equal(r.text, patterned(r.get("x-backend")!, target, SIZES[i]!), target);
    }
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});

Deno.test("keep-alive: a server switch while the previous response is still being written", async () => {
  // The client reads nothing for a while, so the end of the first response
  // is still in the response channel, being written, when the pipelined
  // request to s2 arrives. That request waits until the first response has
  // left (before, it was processed at once and s1's connection closed with
  // its read in flight); s2's response must land after every byte of it.
  const big = 2 << 20;
  const s1 = sizedStub("s1"), s2 = sizedStub("s2");
  const proxy = await proxyFor([s1.port, s2.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get(`/big-${big}`) + get("/next-7"));
    await sleep(200);
    const r1 = await c.readResponse("GET", 5000);
    assert.equal(r1.body.length, big);
    assert.ok(r1.text === patterned("s1", `/big-${big}`, big), "the big body, byte for byte");
    const r2 = await c.readResponse("GET", 3000);
    assert.equal(r2.text, patterned("s2", "/next-7", 7));
  } finally {
    c.close();
    await proxy.stop();
    await s1.close();
    await s2.close();
  }
});

/**
 * A keep-alive origin that answers `TAG METHOD TARGET` and then, `afterMs`
 * after each response, runs `after(conn)` on the idle connection (returns
 * false to close it).
 */
function idleActor(
  tag: string,
  afterMs: number,
  after: (conn: Deno.TcpConn) => Promise<boolean>,
) {
  const targets: Array<[number, string]> = [];
  const loop = new AcceptLoop(async (conn, index) => {
    const rd = new ByteReader(conn);
    for (;;) {
      const raw = await rd.readHead().catch(() => null);
      if (raw === null) return;
      const [method, target] = new TextDecoder().decode(raw).split(" ");
      targets.push([index, target!]);
      const b = `${tag} ${method} ${target}`;
      await writeFull(
        conn,
        te.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${b.length}\r\n\r\n${b}`),
      );
      await sleep(afterMs);
      if (!(await after(conn))) return;
    }
  });
  return { port: loop.port, targets, close: () => loop.close() };
}

Deno.test("http-reuse: a parked connection the server closes is dropped, not adopted", async () => {
  const o = idleActor("o", 100, () => Promise.resolve(false));
  const proxy = await proxyFor([o.port], { reuse: "always" });
  try {
    const a = await connectHttp(proxy.port("fe"));
    try {
      assert.equal(await body(a, "/a"), "o GET /a");
    } finally {
      a.close();
    }
    await logged(proxy, "/a");
    await sleep(250); // the origin has closed the parked connection
    const b = await connectHttp(proxy.port("fe"));
    try {
      const r = await b.request(get("/b"), "GET", 3000);
      assert.equal(`${r.status} ${r.text}`, "200 o GET /b");
    } finally {
      b.close();
    }
    assert.deepEqual(o.targets, [[0, "/a"], [1, "/b"]]);
  } finally {
    await proxy.stop();
    await o.close();
  }
});

Deno.test("http-reuse: a parked connection on which the server talks out of turn is dropped", async () => {
  const o = idleActor("o", 100, async (conn) => {
    await writeFull(conn, te.encode(INNER)).catch(() => {});
    return true;
  });
  const proxy = await proxyFor([o.port], { reuse: "always" });
  try {
    const a = await connectHttp(proxy.port("fe"));
    try {
      assert.equal(await body(a, "/a"), "o GET /a");
    } finally {
      a.close();
    }
    await logged(proxy, "/a");
    await sleep(250); // the unsolicited response reached the parked connection
    const b = await connectHttp(proxy.port("fe"));
    try {
      const r = await b.request(get("/b"), "GET", 3000);
      assert.equal(`${r.status} ${r.text}`, "200 o GET /b");
    } finally {
      b.close();
    }
    assert.deepEqual(o.targets, [[0, "/a"], [1, "/b"]]);
  } finally {
    await proxy.stop();
    await o.close();
  }
});
