// Resource leaks on error paths, observed from outside the proxy process:
// after a few hundred sessions through one error path (client or server
// resets, connect failures and timeouts, queue timeouts, error replies,
// rules, tunnels, keep-alive timeouts, parked connections), the proxy must be
// back to its idle baseline: no session counted (actconn, frontend, backend
// and server `cur`), no queued stream, no pooled buffer in use beyond what the
// stats request itself holds, and no file descriptor beyond the baseline
// (listeners) once the stub servers closed their side.
//
// Every scenario asserts against a baseline taken right after start-up; the
// stats request is answered by a separate frontend (`fe_stats`).
import assert from "node:assert/strict";
import { closeQuietly, connect, delay, te, writeAll } from "../../_helpers/client.ts";
import { blackholeServer, deadPort, type StubServer } from "../../_helpers/servers.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

/** A raw HTTP origin whose behaviour per request is chosen by the path. */
class Origin {
  readonly listener: Deno.Listener;
  readonly port: number;
  readonly conns = new Set<Deno.Conn>();
  #loop: Promise<void>;

  constructor() {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.listener.addr as Deno.NetAddr).port;
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await this.listener.accept();
      } catch {
        return;
      }
      this.conns.add(c);
      this.#serve(c).catch(() => {}).finally(() => {
        this.conns.delete(c);
        closeQuietly(c);
      });
    }
  }

  async #serve(c: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(65536);
    let acc = "";
    for (;;) {
      const n = await c.read(buf);
      if (n === null) return;
      acc += new TextDecoder("latin1").decode(buf.subarray(0, n));
      for (;;) {
        const end = acc.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = acc.slice(0, end);
        acc = acc.slice(end + 4);
        const path = head.split(" ")[1] ?? "/";
        const cl = /content-length:\s*(\d+)/i.exec(head);
        if (cl !== null && !path.startsWith("/early")) {
          // Drain the body (simple: wait until it is all in acc).
          const want = Number(cl[1]);
          while (acc.length < want) {
            const m = await c.read(buf);
            if (m === null) return;
            acc += new TextDecoder("latin1").decode(buf.subarray(0, m));
          }
          acc = acc.slice(want);
        }
        if (path.startsWith("/ok")) {
          await writeAll(c, te.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        } else if (path.startsWith("/close")) {
          return; // no response: 502
        } else if (path.startsWith("/hang")) {
          await new Promise(() => {}); // never answers (closed by closeAll)
        } else if (path.startsWith("/partial")) {
          await writeAll(
            c,
            te.encode("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000)),
          );
          await delay(20);
          return;
        } else if (path.startsWith("/bigbody")) {
          await writeAll(
            c,
            te.encode("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(100000)),
          );
        } else if (path.startsWith("/early")) {
          await writeAll(
            c,
            te.encode(
              "HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig",
            ),
          );
          return;
        } else if (path.startsWith("/ws")) {
          await writeAll(
            c,
            te.encode(
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            ),
          );
          if (path.startsWith("/ws-srvclose")) {
            await delay(10);
            return;
          }
          // echo
          for (;;) {
            const m = await c.read(buf);
            if (m === null) return;
            await writeAll(c, buf.slice(0, m));
          }
        } else {
          await writeAll(c, te.encode("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
        }
      }
    }
  }

  /** Closes every connection the proxy opened to this origin. */
  closeAll(): void {
    for (const c of this.conns) closeQuietly(c);
    this.conns.clear();
  }

  async stop(): Promise<void> {
    closeQuietly(this.listener);
    this.closeAll();
    await this.#loop;
  }
}

interface Snapshot {
  actconn: number;
  used: number;
  fe: Record<string, number>;
  be: Record<string, { cur: number; queue: number; srvCur: number; srvQueue: number }>;
}

async function rawRequest(port: number, req: string, maxMs = 2000): Promise<string> {
  const c = await connect(port);
  try {
    await writeAll(c, te.encode(req));
    const buf = new Uint8Array(65536);
    let out = "";
    const end = Date.now() + maxMs;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        c.read(buf).catch(() => null),
        new Promise<null>((r) => timer = setTimeout(() => r(null), left)),
      ]);
      clearTimeout(timer);
      if (n === null) break;
      out += new TextDecoder("latin1").decode(buf.subarray(0, n));
    }
    return out;
  } finally {
    closeQuietly(c);
  }
}

async function snapshot(p: ProxyProcess): Promise<Snapshot> {
  const text = await rawRequest(
    p.port("fe_stats"),
    "GET /stats;json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const j = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
  const pools = [j.process.pool, j.process.smallPool, j.process.bulkPool];
  assert.equal(typeof j.process.pool?.used, "number", "stats JSON exposes process.pool.used");
  const snap: Snapshot = {
    actconn: j.process.actconn,
    used: pools.reduce((a: number, x: { used?: number }) => a + (x?.used ?? 0), 0),
    fe: {},
    be: {},
  };
  for (const f of j.frontends) snap.fe[f.name] = f.curSessions;
  for (const b of j.backends) {
    let srvCur = 0, srvQueue = 0;
    for (const s of b.servers) {
      srvCur += s.curSessions;
      srvQueue += s.queueCur;
    }
    snap.be[b.name] = { cur: b.curSessions, queue: b.queueCur, srvCur, srvQueue };
  }
  return snap;
}

/**
 * The proxy's file descriptor links (`/proc/PID/fd`), listed by `ls`: Deno's
 * permissions refuse /proc/PID/fd to anything short of --allow-all, and the
 * suite runs with --allow-run, not --allow-all.
 */
function fdLinks(pid: number): string[] {
  const out = new Deno.Command("ls", { args: ["-l", `/proc/${pid}/fd`], stderr: "null" })
    .outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.includes(" -> "));
}

function fdCount(pid: number): number {
  return fdLinks(pid).length;
}

/** Sockets of the proxy process (fd links to socket:[...]). */
function socketCount(pid: number): number {
  return fdLinks(pid).filter((l) => l.includes("-> socket:")).length;
}

interface Env {
  proxy: ProxyProcess;
  origin: Origin;
  blackhole: StubServer;
  base: Snapshot;
  baseSockets: number;
}

function config(origin: number, blackhole: number, dead: number): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 200ms, client: 1s, server: 400ms, http-request: 400ms, http-keep-alive: 200ms, tunnel: 1s, queue: 150ms }
  option: [httplog]
frontends:
  fe_stats:
    bind: "127.0.0.1:0"
    stats: { uri: /stats }
  fe_http:
    bind: "127.0.0.1:0"
    http-request:
      - 'deny if { path /deny }'
      - 'return status 200 content-type text/plain string ok if { path /ret }'
      - 'redirect location /moved code 302 if { path /redir }'
    use_backend:
      - "be_dead if { path_beg /dead }"
      - "be_bh if { path_beg /bh }"
      - "be_q if { path_beg /q }"
    default_backend: be_app
  fe_tcp:
    bind: "127.0.0.1:0"
    mode: tcp
    default_backend: be_tcp
backends:
  be_app:
    servers:
      - { name: s1, address: "127.0.0.1:${origin}" }
  be_q:
    servers:
      - { name: s1, address: "127.0.0.1:${origin}", maxconn: 1 }
  be_dead:
    retries: 2
    servers:
      - { name: s1, address: "127.0.0.1:${dead}" }
  be_bh:
    retries: 1
    servers:
      - { name: s1, address: "127.0.0.1:${blackhole}" }
  be_tcp:
    mode: tcp
    servers:
      - { name: s1, address: "127.0.0.1:${origin}" }
`;
}

async function withEnv(fn: (e: Env) => Promise<void>): Promise<void> {
  const origin = new Origin();
  const blackhole = await blackholeServer();
  let proxy: ProxyProcess | null = null;
  try {
    proxy = await startProxy(config(origin.port, blackhole.port, deadPort()));
    await snapshot(proxy); // warm up (first stats request may carve buffers)
    await delay(50);
    const base = await snapshot(proxy);
    const e: Env = { proxy, origin, blackhole, base, baseSockets: socketCount(proxy.pid) };
    await fn(e);
  } finally {
    await proxy?.stop();
    await origin.stop();
    await blackhole.close();
  }
}

/** Waits until the proxy is back to its idle baseline (or fails with the difference). */
async function assertIdle(e: Env, what: string, timeoutMs = 3000): Promise<void> {
  e.origin.closeAll(); // parked server connections go away with it
  const end = Date.now() + timeoutMs;
  let last: Snapshot | null = null;
  let sockets = -1;
  for (;;) {
    last = await snapshot(e.proxy);
    sockets = socketCount(e.proxy.pid);
    const beBusy = Object.entries(last.be).filter(([, b]) =>
      b.cur !== 0 || b.queue !== 0 || b.srvCur !== 0 || b.srvQueue !== 0
    );
    const ok = last.actconn === e.base.actconn && last.fe.fe_http === 0 &&
      last.fe.fe_tcp === 0 && beBusy.length === 0 && last.used <= e.base.used &&
      sockets <= e.baseSockets;
    if (ok) return;
    if (Date.now() > end) break;
    await delay(100);
  }
  assert.fail(
    `${what}: not back to idle after ${timeoutMs} ms\nbaseline ${
      JSON.stringify(e.base)
    } sockets ${e.baseSockets}\nnow      ${JSON.stringify(last)} sockets ${sockets} (fds ${
      fdCount(e.proxy.pid)
    })`,
  );
}

/** Runs `n` clients of `one`, `par` at a time. */
async function many(n: number, par: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await one(i).catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: par }, worker));
}

/** Sends `req`, optionally waits for `waitMs` or some bytes, then closes. */
async function sendAndClose(port: number, req: string, waitMs: number): Promise<void> {
  const c = await connect(port);
  try {
    await writeAll(c, te.encode(req));
    if (waitMs > 0) await delay(waitMs);
  } finally {
    closeQuietly(c);
  }
}

const GET = (p: string, extra = "") => `GET ${p} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

// ---------------------------------------------------------------------------
// Guards: error paths that go back to the idle baseline.

Deno.test("leak guard: client resets mid-request head, mid-body and mid-response", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    await many(100, 20, (i) => sendAndClose(port, "GET /ok HTTP/1.1\r\nHo", i % 3));
    await many(
      100,
      20,
      (i) =>
        sendAndClose(
          port,
          "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nabc",
          i % 3,
        ),
    );
    await many(100, 20, (i) => sendAndClose(port, GET("/bigbody"), 5 + (i % 5)));
    await many(60, 20, () => sendAndClose(port, GET("/hang"), 20));
    await assertIdle(e, "client resets");
  });
});

Deno.test("leak guard: server closes (502), partial responses, 504 and 400/408 replies", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    await many(
      100,
      20,
      () => rawRequest(port, GET("/close", "Connection: close\r\n")).then(() => {}),
    );
    await many(
      100,
      20,
      () => rawRequest(port, GET("/partial", "Connection: close\r\n")).then(() => {}),
    );
    await many(
      40,
      20,
      () => rawRequest(port, GET("/hang", "Connection: close\r\n")).then(() => {}),
    );
    await many(100, 20, () => rawRequest(port, "BLAH\x01 / HTTP/1.1\r\n\r\n").then(() => {}));
    await many(40, 20, () => rawRequest(port, "GET /ok HTTP/1.1\r\n", 1000).then(() => {}));
    await assertIdle(e, "server errors / error replies");
  });
});

Deno.test("leak guard: connect refused with retries, connect timeouts, queue timeouts and aborts while queued", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    await many(
      60,
      20,
      () => rawRequest(port, GET("/dead", "Connection: close\r\n")).then(() => {}),
    );
    await many(40, 20, () => rawRequest(port, GET("/bh", "Connection: close\r\n")).then(() => {}));
    // Connect abandoned by the client while it is in flight.
    await many(60, 20, () => sendAndClose(port, GET("/bh"), 50));
    // One stream holds be_q's only slot; the others queue and time out or leave.
    const holder = sendAndClose(port, GET("/q/hang"), 1500);
    await delay(100);
    await many(
      60,
      20,
      () => rawRequest(port, GET("/q/ok", "Connection: close\r\n")).then(() => {}),
    );
    await many(60, 20, () => sendAndClose(port, GET("/q/ok"), 40));
    await holder;
    await assertIdle(e, "connect failures / queue");
  });
});

Deno.test("leak guard: http-request deny/return/redirect, early 413 during upload (lingering close)", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    for (const p of ["/deny", "/ret", "/redir"]) {
      await many(60, 20, () => rawRequest(port, GET(p), 600).then(() => {}));
    }
    // deny while a body is still being uploaded: lingering close, client leaves.
    await many(
      60,
      20,
      (i) =>
        sendAndClose(
          port,
          "POST /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + "y".repeat(3000),
          i % 2 ? 0 : 30,
        ),
    );
    await many(
      60,
      20,
      () =>
        sendAndClose(
          port,
          "POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + "y".repeat(3000),
          30,
        ),
    );
    await assertIdle(e, "rules / early replies");
  });
});

Deno.test("leak guard: WebSocket tunnels closed by either side, TCP sessions reset by either side", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    const ws = GET("/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\n");
    await many(60, 20, () => sendAndClose(port, ws + "hello", 30));
    await many(
      60,
      20,
      () =>
        rawRequest(
          port,
          GET("/ws-srvclose", "Upgrade: websocket\r\nConnection: Upgrade\r\n"),
          300,
        ).then(() => {}),
    );
    const tport = e.proxy.port("fe_tcp");
    await many(60, 20, () => sendAndClose(tport, GET("/ok"), 10));
    await many(60, 20, () => sendAndClose(tport, GET("/close"), 10));
    await assertIdle(e, "tunnels");
  });
});

Deno.test("leak guard: keep-alive connections closed by http-keep-alive, parked connections closed by the server", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    // Keep-alive client that stays idle: closed by the proxy after 200 ms.
    await many(100, 25, async () => {
      const c = await connect(port);
      try {
        await writeAll(c, te.encode(GET("/ok")));
        const buf = new Uint8Array(1024);
        while ((await c.read(buf)) !== null) { /* until the proxy closes */ }
      } finally {
        closeQuietly(c);
      }
    });
    // Client leaves after a keep-alive response: the server connection is
    // parked; then the server closes every one of them.
    await many(100, 25, () => rawRequest(port, GET("/ok"), 30).then(() => {}));
    await assertIdle(e, "keep-alive / parked");
  });
});

Deno.test("leak guard: soft stop (SIGUSR1) while sessions are active exits once they end", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await connect(port);
      await writeAll(c, te.encode(GET(i % 2 ? "/hang" : "/ok")));
      conns.push(c);
    }
    await delay(100);
    e.proxy.kill("SIGUSR1");
    await delay(100);
    e.origin.closeAll();
    for (const c of conns) closeQuietly(c);
    const st = await e.proxy.waitExit(4000);
    assert.equal(st.code, 0, e.proxy.describe());
  });
});

// ---------------------------------------------------------------------------
// Parked server connections are only purged lazily (IdlePool.take): a server
// that keeps its connections open leaves them parked, one fd each, well past
// IDLE_PURGE_DELAY (5 s) when no later request to that server comes.

Deno.test("leak: parked server connections outlive the idle purge delay when no request follows", async () => {
  await withEnv(async (e) => {
    const port = e.proxy.port("fe_http");
    // 40 concurrent keep-alive clients, each leaves after its response: 40 parked.
    await many(40, 40, () => rawRequest(port, GET("/ok"), 100).then(() => {}));
    const parked = socketCount(e.proxy.pid) - e.baseSockets;
    assert.ok(parked >= 20, `expected parked server connections, got ${parked}`);
    await delay(5000 + 1500); // IDLE_PURGE_DELAY plus margin
    const left = socketCount(e.proxy.pid) - e.baseSockets;
    assert.equal(left, 0, `${left} parked server sockets still open after the purge delay`);
  });
});
