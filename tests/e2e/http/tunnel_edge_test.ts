// Tunnels through the HTTP proxy (WebSocket Upgrade answered 101, CONNECT
// answered 2xx) through real sockets: large transfers both ways checked by
// SHA-256, half-closes in each direction, resets on each side, `timeout
// tunnel` replacing client/server, client-fin / server-fin after a
// half-close, the single log line, no keep-alive after a tunnel, and a
// refused upgrade that leaves the connection a normal keep-alive one.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { concat, latin1, readAll, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { ByteReader, connectHttp, get, type HttpClient, httpStub, logsOf } from "./_http.ts";

const te = new TextEncoder();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Deterministic pseudo-random bytes (xorshift). */
function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads until EOF or reset from a ByteReader (what it read ahead included). */
async function drain(rd: ByteReader): Promise<{ data: Uint8Array; end: "eof" | "reset" }> {
  const parts: Uint8Array[] = [];
  if (rd.pending > 0) parts.push(await rd.readN(rd.pending));
  if (rd.eof) return { data: concat(parts), end: "eof" };
  const r = await readAll(rd.conn, 15_000);
  parts.push(r.data);
  return { data: concat(parts), end: r.end };
}

interface T {
  client?: string;
  server?: string;
  tunnel?: string;
  clientFin?: string;
  serverFin?: string;
}

function proxyFor(port: number, t: T = {}): Promise<ProxyProcess> {
  const extra = [
    t.tunnel !== undefined ? `tunnel: ${t.tunnel}` : "",
    t.clientFin !== undefined ? `client-fin: ${t.clientFin}` : "",
    t.serverFin !== undefined ? `server-fin: ${t.serverFin}` : "",
  ].filter((s) => s !== "").map((s) => ", " + s).join("");
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: ${t.client ?? "5s"}, server: ${
    t.server ?? "5s"
  }, http-request: 2s, http-keep-alive: 2s${extra} }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${port}" }
`);
}

const CONNECT_REQ = "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n";
const UPGRADE_REQ =
  "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
const OK_200 = "HTTP/1.1 200 Connection established\r\n\r\n";
const SWITCH_101 =
  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";

/**
 * A server that reads one head, answers `reply`, then hands the tunnel to
 * `tunnel(conn, reader)`. `done` resolves with what the handler returns.
 */
function tunnelServer<R>(
  reply: string,
  tunnel: (conn: Deno.TcpConn, rd: ByteReader) => Promise<R>,
): { loop: AcceptLoop; done: Promise<R> } {
  let resolve!: (r: R) => void, reject!: (e: unknown) => void;
  const done = new Promise<R>((a, b) => {
    resolve = a;
    reject = b;
  });
  const loop = new AcceptLoop(async (conn) => {
    try {
      const rd = new ByteReader(conn);
      await rd.readHead();
      await writeFull(conn, te.encode(reply));
      resolve(await tunnel(conn, rd));
    } catch (e) {
      reject(e);
    }
  });
  return { loop, done };
}

/** Opens the tunnel from the client side: sends `req`, reads the head, checks its status. */
async function open(proxy: ProxyProcess, req: string, status: number): Promise<HttpClient> {
  const c = await connectHttp(proxy.port("fe"));
  await c.send(req);
  const head = latin1((await within(c.reader.readHead(), 3000, "tunnel head"))!);
  assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `));
  return c;
}

// ---------------------------------------------------------------------------
// Data integrity and half-close.

for (
  const [kind, req, reply, status] of [
    ["CONNECT", CONNECT_REQ, OK_200, 200],
    ["Upgrade", UPGRADE_REQ, SWITCH_101, 101],
  ] as const
) {
  Deno.test(`tunnel (${kind}): 6 MiB each way at once, SHA-256 both sides, FINs after the data, one log line`, async () => {
    const up = bytesOf(6 * 1024 * 1024, 3), down = bytesOf(6 * 1024 * 1024, 5);
    const srv = tunnelServer(reply, async (conn, rd) => {
      const w = (async () => {
        await writeFull(conn, down);
        await conn.closeWrite();
      })();
      const got = await drain(rd);
      await w;
      return got;
    });
    const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
    const c = await open(proxy, req, status);
    try {
      const w = (async () => {
        await writeFull(c.conn, up);
        await c.conn.closeWrite();
      })();
      const got = await within(drain(c.reader), 15_000, "client side to EOF");
      await w;
      const sgot = await within(srv.done, 15_000, "server side to EOF");
      assert.equal(got.end, "eof");
      assert.equal(got.data.length, down.length);
      assert.equal(sha256(got.data), sha256(down));
      assert.equal(sgot.end, "eof");
      assert.equal(sgot.data.length, up.length);
      assert.equal(sha256(sgot.data), sha256(up));
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.status, status);
      assert.equal(log!.tsc, "----");
      const headLen = status === 200 ? OK_200.length : SWITCH_101.length;
      assert.equal(log!.bytes, headLen + down.length);
      await sleep(300);
      assert.equal(proxy.logs.filter((l) => l.includes(`:${c.localPort} [`)).length, 1);
    } finally {
      c.close();
      await proxy.stop();
      await srv.loop.close();
    }
  });
}

Deno.test("tunnel: client half-closes first; the server gets all then FIN, and its 2 MiB reply still flows back", async () => {
  const up = bytesOf(2 * 1024 * 1024, 7), down = bytesOf(2 * 1024 * 1024, 9);
  const srv = tunnelServer(SWITCH_101, async (conn, rd) => {
    const got = await drain(rd); // to the client's FIN
    await sleep(200);
    await writeFull(conn, down);
    await conn.closeWrite();
    return got;
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    await writeFull(c.conn, up);
    await c.conn.closeWrite();
    const sgot = await within(srv.done, 10_000, "server to EOF");
    assert.equal(sgot.end, "eof");
    assert.equal(sha256(sgot.data), sha256(up));
    const got = await within(drain(c.reader), 10_000, "client to EOF");
    assert.equal(got.end, "eof");
    assert.equal(got.data.length, down.length);
    assert.equal(sha256(got.data), sha256(down));
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "----");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("tunnel: server half-closes first (right after the 200); the client gets all then EOF, and its 2 MiB still reach the server", async () => {
  const up = bytesOf(2 * 1024 * 1024, 11), down = bytesOf(2 * 1024 * 1024, 13);
  const srv = tunnelServer(OK_200, async (conn, rd) => {
    await writeFull(conn, down);
    await conn.closeWrite();
    return await drain(rd);
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    const got = await within(drain(c.reader), 10_000, "client to EOF");
    assert.equal(got.end, "eof");
    assert.equal(sha256(got.data), sha256(down));
    await sleep(200);
    await writeFull(c.conn, up);
    await c.conn.closeWrite();
    const sgot = await within(srv.done, 10_000, "server to EOF");
    assert.equal(sgot.end, "eof");
    assert.equal(sgot.data.length, up.length);
    assert.equal(sha256(sgot.data), sha256(up));
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "----");
    assert.equal(log!.bytes, OK_200.length + down.length);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("CONNECT: client FIN right after its request (before the 200); tunnel still forms, server gets early bytes then FIN", async () => {
  const srv = tunnelServer(OK_200 + "HELLO", async (conn, rd) => {
    const got = await drain(rd);
    await writeFull(conn, te.encode("BYE"));
    return got;
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(CONNECT_REQ + "EARLY");
    await c.conn.closeWrite();
    const head = latin1((await within(c.reader.readHead(), 3000, "200"))!);
    assert.match(head, /^HTTP\/1\.1 200 /);
    const sgot = await within(srv.done, 5000, "server to EOF");
    assert.equal(latin1(sgot.data), "EARLY");
    const got = await within(drain(c.reader), 5000, "client to EOF");
    assert.equal(latin1(got.data), "HELLOBYE");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("CONNECT: 200 plus 1 MiB in the same burst then close, client silent: all bytes then EOF", async () => {
  const down = bytesOf(1024 * 1024, 17);
  const srv = tunnelServer(OK_200, async (conn) => {
    await writeFull(conn, down);
    return null;
  }); // the accept loop closes the connection when the handler ends
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    const got = await within(drain(c.reader), 5000, "client to EOF");
    assert.equal(got.end, "eof");
    assert.equal(sha256(got.data), sha256(down));
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("CONNECT: a 200 with Content-Length: 0 still forms a tunnel (the length is ignored for CONNECT 2xx)", async () => {
  const srv = tunnelServer(
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHELLO",
    async (conn, rd) => {
      const b = await rd.readN(4);
      await writeFull(conn, b);
      return latin1(b);
    },
  );
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    assert.equal(latin1(await within(c.reader.readN(5), 3000, "HELLO")), "HELLO");
    await c.send("PING");
    assert.equal(latin1(await within(c.reader.readN(4), 3000, "echo")), "PING");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

// ---------------------------------------------------------------------------
// Timeouts.

Deno.test("timeout tunnel replaces client/server once the tunnel is up: 1 s idle with client/server 300ms survives", async () => {
  const srv = tunnelServer(SWITCH_101, async (conn, rd) => {
    const b = await rd.readN(4);
    await writeFull(conn, b);
    return await drain(rd);
  });
  const proxy = await proxyFor(srv.loop.port, { client: "300ms", server: "300ms", tunnel: "3s" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    await sleep(1000);
    await c.send("PING");
    assert.equal(latin1(await within(c.reader.readN(4), 3000, "echo after idle")), "PING");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("timeout tunnel expires: idle tunnel closed after ~600ms, cD--, logged once with 101", async () => {
  const srv = tunnelServer(SWITCH_101, (_conn, rd) => drain(rd));
  const proxy = await proxyFor(srv.loop.port, { client: "5s", server: "5s", tunnel: "600ms" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    const t0 = Date.now();
    const got = await within(drain(c.reader), 4000, "proxy closing the idle tunnel");
    const dt = Date.now() - t0;
    assert.equal(got.data.length, 0);
    assert.ok(dt >= 450 && dt < 2500, `closed after ${dt} ms`);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.status, 101);
    assert.equal(log!.tsc, "cD--");
    assert.equal(log!.bytes, SWITCH_101.length);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("timeout tunnel: one-way traffic (server -> client every 150ms) keeps a 500ms tunnel alive", async () => {
  const srv = tunnelServer(OK_200, async (conn) => {
    for (let i = 0; i < 10; i++) {
      await writeFull(conn, te.encode("t"));
      await sleep(150);
    }
    return null;
  });
  const proxy = await proxyFor(srv.loop.port, { client: "5s", server: "5s", tunnel: "500ms" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    const got = await within(drain(c.reader), 5000, "stream to EOF");
    assert.equal(latin1(got.data), "t".repeat(10));
    c.close();
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "----");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("client-fin overrides timeout tunnel after the client's FIN: server silent, closed after ~400ms (not 5s)", async () => {
  const srv = tunnelServer(SWITCH_101, async (_conn, rd) => {
    const got = await drain(rd); // the client's FIN
    await sleep(2500); // then silent, connection left open (longer than client-fin)
    return got;
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s", clientFin: "400ms" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    await c.send("bye");
    await c.conn.closeWrite();
    const t0 = Date.now();
    const got = await within(drain(c.reader), 4000, "proxy closing after client-fin");
    const dt = Date.now() - t0;
    assert.equal(got.data.length, 0);
    assert.ok(dt >= 300 && dt < 2500, `closed after ${dt} ms`);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "cD--");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("server-fin overrides timeout tunnel after the server's FIN: client silent, closed after ~400ms, sD--", async () => {
  const srv = tunnelServer(OK_200, async (conn, rd) => {
    await writeFull(conn, te.encode("bye"));
    await conn.closeWrite();
    return await drain(rd);
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s", serverFin: "400ms" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    const t0 = Date.now();
    const got = await within(drain(c.reader), 3000, "server FIN forwarded");
    assert.equal(latin1(got.data), "bye");
    // The client keeps its write side open and says nothing: the server side
    // is half-closed and idle, server-fin ends it.
    const sgot = await within(srv.done, 4000, "proxy closing the server side");
    const dt = Date.now() - t0;
    assert.equal(sgot.data.length, 0);
    assert.ok(dt >= 300 && dt < 2500, `closed after ${dt} ms`);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "sD--");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

// ---------------------------------------------------------------------------
// Resets.

Deno.test("tunnel: server reset after sending 512 KiB: the client gets them all, then the close", async () => {
  const down = bytesOf(512 * 1024, 19);
  const srv = tunnelServer(OK_200, async (conn, rd) => {
    await rd.readN(1); // the client's first byte: the tunnel is up both ways
    await writeFull(conn, down);
    await sleep(400); // everything is on the proxy's side now
    // Unread bytes in our receive buffer: close() sends a RST.
    return null;
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    await c.send("X");
    await sleep(100);
    await c.send("unread".repeat(100)); // left in the server's receive queue
    await sleep(1000); // not reading: the reset comes while the data waits in the proxy
    const got = await within(drain(c.reader), 5000, "client to close");
    assert.equal(got.data.length, down.length);
    assert.equal(sha256(got.data), sha256(down));
    c.close();
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.status, 200);
    // Deno's TcpConn.read() returns null (EOF) on ECONNRESET, so over TCP
    // the proxy cannot tell this reset from a FIN and logs "----"; the
    // unix-socket tests in tests/e2e/tcp/edge_test.ts assert the state.
    assert.ok(["SD--", "----"].includes(log!.tsc), log!.line);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("tunnel: client reset after sending 512 KiB: the server gets them all, then the close", async () => {
  const up = bytesOf(512 * 1024, 23);
  const srv = tunnelServer(SWITCH_101 + "unread-by-client".repeat(50), async (_conn, rd) => {
    await sleep(1000); // not reading until the reset happened
    return await drain(rd);
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(UPGRADE_REQ);
    await sleep(300); // the 101 and the bytes after it sit unread in our buffer
    await writeFull(c.conn, up);
    await sleep(300);
    c.close(); // unread data: RST
    const sgot = await within(srv.done, 5000, "server to close");
    assert.equal(sgot.data.length, up.length);
    assert.equal(sha256(sgot.data), sha256(up));
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.status, 101);
    // Deno's TcpConn.read() returns null (EOF) on ECONNRESET, so over TCP
    // the proxy cannot tell this reset from a FIN and logs "----"; the
    // unix-socket tests in tests/e2e/tcp/edge_test.ts assert the state.
    assert.ok(["CD--", "----"].includes(log!.tsc), log!.line);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

// ---------------------------------------------------------------------------
// No HTTP after a tunnel; refused upgrades.

Deno.test("tunnel: HTTP-looking bytes inside it go through raw; no keep-alive once it ends", async () => {
  const inner = get("/inner");
  let accepted = 0;
  const srv = tunnelServer(SWITCH_101, async (conn, rd) => {
    accepted++;
    const b = await rd.readN(inner.length);
    await writeFull(conn, te.encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    return latin1(b);
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    await c.send(inner);
    assert.equal(await within(srv.done, 3000, "inner bytes"), inner);
    const got = await within(drain(c.reader), 3000, "EOF after the tunnel ends");
    assert.equal(latin1(got.data), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert.equal(got.end, "eof");
    assert.equal(accepted, 1);
    c.close();
    const logs = await logsOf(proxy, c.localPort);
    assert.equal(logs.length, 1);
    await sleep(300);
    assert.equal(proxy.logs.filter((l) => l.includes(`:${c.localPort} [`)).length, 1);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

for (const status of [200, 400]) {
  Deno.test(`Upgrade refused with ${status}: the connection goes on as HTTP keep-alive`, async () => {
    const s1 = httpStub("s1", {
      respond: (r) => r.target === "/ws" ? { status, body: "nope" } : {},
    });
    const proxy = await proxyFor(s1.port);
    const c = await connectHttp(proxy.port("fe"));
    try {
      await c.send(UPGRADE_REQ);
      const r1 = await c.readResponse("GET", 3000);
      assert.equal(r1.status, status);
      assert.equal(r1.text, "nope");
      assert.notEqual(r1.get("connection")?.toLowerCase(), "close");
      await c.send(get("/next"));
      const r2 = await c.readResponse("GET", 3000);
      assert.equal(`${r2.status} ${r2.text}`, "200 s1 GET /next");
      const logs = await logsOf(proxy, c.localPort, 2);
      assert.deepEqual(logs.map((l) => `${l.status} ${l.tsc}`), [`${status} ----`, "200 ----"]);
    } finally {
      c.close();
      await proxy.stop();
      await s1.close();
    }
  });
}
