// Edge cases of health checks, server states, queues and the stats page,
// seen through real sockets: what an HAProxy user would notice. The first
// group are bugs found in review (each test fails on the code it was written
// against; the comment says why); the second group guards risky paths that
// behave correctly.

import assert from "node:assert/strict";
import { closeQuietly, delay, td, te, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  adminPost,
  closeAll,
  feBeConfig,
  fetchOnce,
  Gate,
  HttpConn,
  type NameServer,
  nameServers,
  type Response,
  serverLines,
  statsJson,
} from "./_common.ts";
import { parseExposition } from "../stats/_exposition.ts";

// ---------------------------------------------------------------------------
// Helpers.

/** A raw TCP server on 127.0.0.1 running `handler` per connection. */
class RawServer {
  readonly port: number;
  #l: Deno.TcpListener;
  #conns = new Set<Deno.TcpConn>();
  #handlers = new Set<Promise<void>>();
  #loop: Promise<void>;

  constructor(handler: (c: Deno.TcpConn) => Promise<void>) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#l = l;
    this.port = (l.addr as Deno.NetAddr).port;
    this.#loop = (async () => {
      for (;;) {
        let c: Deno.TcpConn;
        try {
          c = await l.accept();
        } catch {
          return;
        }
        this.#conns.add(c);
        const p: Promise<void> = handler(c).catch(() => {}).finally(() => {
          this.#conns.delete(c);
          closeQuietly(c);
          this.#handlers.delete(p);
        });
        this.#handlers.add(p);
      }
    })();
  }

  async close(): Promise<void> {
    closeQuietly(this.#l);
    await this.#loop;
    for (const c of this.#conns) closeQuietly(c);
    await Promise.all([...this.#handlers]);
  }
}

/** Reads request heads (no bodies) from `c`; null at EOF. */
function headReader(c: Deno.Conn): () => Promise<string | null> {
  let buf = "";
  const chunk = new Uint8Array(4096);
  return async () => {
    for (;;) {
      const i = buf.indexOf("\r\n\r\n");
      if (i >= 0) {
        const h = buf.slice(0, i + 4);
        buf = buf.slice(i + 4);
        return h;
      }
      let n: number | null;
      try {
        n = await c.read(chunk);
      } catch {
        return null;
      }
      if (n === null) return null;
      buf += td.decode(chunk.subarray(0, n));
    }
  };
}

/** Waits until `pred` holds (polling), or throws naming `what`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(20);
  }
}

/** A request sent on its own connection; the response is awaited later. */
async function send(port: number, path: string): Promise<{ c: HttpConn; r: Promise<Response> }> {
  const c = await HttpConn.open(port);
  const r = c.get(path, ["connection: close"], 8_000);
  r.catch(() => {});
  return { c, r };
}

const STATS_FE = `    stats: { uri: /stats, admin: true, prometheus: /metrics }`;

// ---------------------------------------------------------------------------
// Bugs.

// Queues are per server (Backend.queueFor picks one server's queue, and
// Backend.release only serves the queue of the server that freed a slot):
// a request that queued behind a busy server keeps waiting while another
// server's slot is free. HAProxy queues non-persistent requests in the
// backend queue, which any server serves as soon as it has a free slot.
Deno.test("queue: a request queued while all servers were full is served by the first server that frees a slot", async () => {
  const gateA = new Gate(), gateB = new Gate();
  const servers = nameServers(2, "s", () => ({
    hold: (req) => req.path === "/a" ? gateA.wait() : req.path === "/b" ? gateB.wait() : undefined,
  }));
  const [s1, s2] = servers as [NameServer, NameServer];
  let proxy: ProxyProcess | undefined;
  const conns: HttpConn[] = [];
  try {
    proxy = await startProxy(feBeConfig({
      backend: "    balance: roundrobin\n    timeout: { queue: 4s }",
      servers: serverLines(servers, () => "maxconn: 1"),
    }));
    const port = proxy.port("fe");
    const a = await send(port, "/a");
    conns.push(a.c);
    await s1.waitInflight(1);
    const b = await send(port, "/b");
    conns.push(b.c);
    await s2.waitInflight(1);
    const c = await send(port, "/c");
    conns.push(c.c);
    await delay(150); // /c is queued now (both servers at maxconn 1)
    gateB.open();
    const rb = await b.r;
    assert.equal(rb.server, "s2");
    // s2 is free; s1 is still busy with /a.
    const t0 = Date.now();
    const rc = await Promise.race([
      c.r,
      delay(1_500).then(() => null),
    ]);
    assert.ok(
      rc !== null,
      `/c still queued ${Date.now() - t0} ms after s2 freed its slot (s1 busy)`,
    );
    assert.equal(rc.status, 200);
    assert.equal(rc.server, "s2");
  } finally {
    gateA.open();
    gateB.open();
    for (const c of conns) await c.close();
    await proxy?.stop();
    await closeAll(servers);
  }
});

// IdlePool.closeAll() (src/backend/idle_conns.ts) is never called: when a
// server goes DOWN, the keep-alive connections parked in its idle pool stay
// open (only a later take() would close them, and none comes for a DOWN
// server). HAProxy closes a server's idle connections when it goes down
// (srv_cleanup_connections()).
Deno.test("idle: a parked keep-alive connection to a server that goes DOWN is closed", async () => {
  let health = 200;
  let trafficOpen = 0, trafficClosed = 0;
  const srv = new RawServer(async (c) => {
    const next = headReader(c);
    let traffic = false;
    try {
      for (;;) {
        const h = await next();
        if (h === null) return;
        if (h.includes(" /health")) {
          await writeFull(
            c,
            te.encode(
              `HTTP/1.1 ${health} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
            ),
          );
          return;
        }
        if (!traffic) {
          traffic = true;
          trafficOpen++;
        }
        await writeFull(c, te.encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
      }
    } finally {
      if (traffic) trafficClosed++;
    }
  });
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      backend: `    option: ["httpchk GET /health HTTP/1.1"]
    http-reuse: safe`,
      servers:
        `      - { name: s1, address: "127.0.0.1:${srv.port}", check: true, inter: 100ms, fall: 1, rise: 1 }`,
    }));
    const port = proxy.port("fe");
    const c = await HttpConn.open(port);
    const r = await c.get("/x");
    assert.equal(r.status, 200);
    await c.close(); // the server connection is parked
    await delay(300);
    assert.equal(trafficOpen, 1);
    assert.equal(trafficClosed, 0, "the server connection was not parked");
    health = 500;
    await proxy.waitForStderr(/Server be\/s1 is DOWN/, 3_000);
    await until(
      () => trafficClosed === 1,
      1_500,
      "the parked connection of the DOWN server to be closed",
    );
  } finally {
    await proxy?.stop();
    await srv.close();
  }
});

// A server without `check` that starts `disabled: true` and is put back with
// the admin `ready` action takes traffic, but the stats keep reading MAINT:
// its check state says "no check", which serverStats() replaces with
// defaultStatus(), and defaultStatus() looks at the configuration's
// `disabled` flag (src/stats/snapshot.ts:512) instead of the live state.
Deno.test("stats: a disabled unchecked server set ready reads UP (json and prometheus), not MAINT", async () => {
  const servers = nameServers(2);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      frontend: STATS_FE,
      servers: serverLines(servers, (_s, i) => (i === 1 ? "disabled: true" : "")),
    }));
    const port = proxy.port("fe");
    let snap = await statsJson(port);
    assert.equal(snap.backends[0]!.servers[1]!.status, "MAINT");
    const r = await adminPost(port, "be/s2", "ready");
    assert.equal(r.status, 200);
    const got = new Set<string | null>();
    for (let i = 0; i < 4; i++) got.add((await fetchOnce(port, `/r${i}`)).server);
    assert.ok(got.has("s2"), "s2 takes traffic after ready");
    snap = await statsJson(port);
    const j1 = snap.backends[0]!.servers[0]!, j2 = snap.backends[0]!.servers[1]!;
    assert.equal(j2.status, j1.status, `s2 reads ${j2.status}, s1 ${j1.status}`);
    const prom = parseExposition((await fetchOnce(port, "/metrics")).body);
    const st = prom.get("sluice_server_status")!.samples.filter((s) =>
      s.labels.server === "s2" && s.value === 1
    );
    assert.deepEqual(st.map((s) => s.labels.state), ["UP"]);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

// The admin `weight` action writes server.weight directly
// (src/stats/stats_service.ts:26), which is also where drain keeps its 0:
// setting a weight on a drained server ends the drain in all but name (it
// takes new traffic while the stats say DRAIN). HAProxy keeps a drained
// server out of the balancing whatever its user weight (the drain is an
// admin flag; `set weight` changes the weight restored when it ends).
Deno.test("admin: a weight set on a drained server does not undrain it", async () => {
  const servers = nameServers(2);
  const [, s2] = servers as [NameServer, NameServer];
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      frontend: STATS_FE,
      backend: "    balance: roundrobin",
      servers: serverLines(servers),
    }));
    const port = proxy.port("fe");
    assert.equal((await adminPost(port, "be/s2", "drain")).status, 200);
    const c = await HttpConn.open(port);
    try {
      const body = "s=be%2Fs2&action=weight&weight=5";
      const r = await c.request(
        `POST /stats HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n` +
          `content-length: ${body.length}\r\n\r\n${body}`,
        "POST",
      );
      assert.equal(r.status, 200);
    } finally {
      await c.close();
    }
    const before = s2.served;
    for (let i = 0; i < 10; i++) assert.equal((await fetchOnce(port, `/d${i}`)).status, 200);
    const snap = await statsJson(port);
    assert.match(snap.backends[0]!.servers[1]!.status, /^DRAIN/);
    assert.equal(s2.served - before, 0, "the drained server got new requests");
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

// ---------------------------------------------------------------------------
// Guards.

Deno.test("health: rise/fall count consecutive results exactly (log-health-checks trace)", async () => {
  // Check n (1-based) answers PLAN[n-1], then 200 for ever.
  const PLAN = [200, 200, 500, 200, 500, 500, 200, 200, 500, 200, 200, 200];
  const servers = nameServers(1, "s", () => ({
    healthStatus: () => PLAN[servers[0]!.healthChecks - 1] ?? 200,
  }));
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      backend: `    option: ["httpchk GET /health", log-health-checks]`,
      servers: serverLines(servers, () => "check: true, inter: 80ms, rise: 3, fall: 2"),
    }));
    await proxy.waitForStderr(/Server be\/s1 is UP/, 5_000);
    const trace = proxy.stderr
      .map((l) =>
        /Health check for server be\/s1 .*status: (\d+\/\d+ \w+)\.$|Server be\/s1 is (\w+)/.exec(l)
      )
      .filter((m) => m !== null)
      .map((m) => m![1] ?? m![2]);
    assert.deepEqual(trace, [
      "2/2 UP", // 1: 200, fully up
      "1/2 UP", // 3: 500
      "2/2 UP", // 4: 200
      "1/2 UP", // 5: 500
      "0/3 DOWN", // 6: 500 -> fall 2 reached
      "DOWN",
      "1/3 DOWN", // 7
      "2/3 DOWN", // 8
      "0/3 DOWN", // 9: a failure restarts the rise count
      "1/3 DOWN", // 10
      "2/3 DOWN", // 11
      "2/2 UP", // 12: rise 3 reached
      "UP",
    ]);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("health: a check the server accepts but never answers fails at `timeout check` (L7TOUT), not at inter", async () => {
  const hung: Deno.TcpConn[] = [];
  const srv = new RawServer(async (c) => {
    hung.push(c);
    const buf = new Uint8Array(1024);
    while ((await c.read(buf)) !== null); // reads, never answers
  });
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      backend: `    option: ["httpchk GET /health"]
    timeout: { check: 300ms }`,
      servers: `      - { name: s1, address: "127.0.0.1:${srv.port}", check: true, inter: 4s }`,
    }));
    const t0 = Date.now();
    const line = await proxy.waitForStderr(/Server be\/s1 is DOWN/, 3_000);
    const took = Date.now() - t0;
    assert.match(line, /reason: Layer7 timeout/);
    assert.ok(took < 1_500, `DOWN after ${took} ms (timeout check 300ms, inter 4s)`);
    await until(() => hung.length >= 1, 1_000, "the check connection");
  } finally {
    await proxy?.stop();
    await srv.close();
  }
});

Deno.test("health: a check answer split across reads, on the `port` override, matches `expect string`", async () => {
  let checks = 0;
  let hostSeen = "";
  const chk = new RawServer(async (c) => {
    const h = await headReader(c)();
    if (h === null) return;
    checks++;
    hostSeen = /\r\nhost: ([^\r]*)/i.exec(h)?.[1] ?? "";
    const parts = [
      "HTTP/1.1 2",
      "00 OK\r\ncontent-le",
      "ngth: 19\r\n\r\nservice is h",
      "ealthy!",
    ];
    for (const p of parts) {
      await writeFull(c, te.encode(p));
      await delay(15);
    }
  });
  const servers = nameServers(1);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      frontend: STATS_FE,
      backend: `    option: ["httpchk GET /status HTTP/1.1"]
    http-check: ["expect status 200-299", "expect string 'is healthy'"]
    timeout: { check: 1s }`,
      servers: serverLines(servers, () => `check: true, inter: 100ms, port: ${chk.port}`),
    }));
    const port = proxy.port("fe");
    await until(() => checks >= 3, 3_000, "3 checks on the check port");
    assert.ok(!proxy.stderr.some((l) => /is DOWN/.test(l)), proxy.describe());
    assert.equal(servers[0]!.healthChecks, 0, "a check reached the traffic port");
    assert.equal(hostSeen, `127.0.0.1:${servers[0]!.port}`);
    const snap = await statsJson(port);
    assert.equal(snap.backends[0]!.servers[0]!.status, "UP");
    assert.equal((await fetchOnce(port, "/p")).server, "s1");
  } finally {
    await proxy?.stop();
    await chk.close();
    await closeAll(servers);
  }
});

Deno.test("queue: a request queued on a server that goes into maintenance is redispatched to another server", async () => {
  const gate = new Gate();
  const servers = nameServers(2, "s", () => ({
    hold: (req) => (req.path.startsWith("/h") ? gate.wait() : undefined),
  }));
  const [s1, s2] = servers as [NameServer, NameServer];
  let proxy: ProxyProcess | undefined;
  const conns: HttpConn[] = [];
  try {
    proxy = await startProxy(feBeConfig({
      frontend: STATS_FE,
      backend: "    balance: roundrobin\n    timeout: { queue: 4s }",
      servers: serverLines(servers, (_s, i) => (i === 0 ? "maxconn: 1" : "maxconn: 2")),
    }));
    const port = proxy.port("fe");
    const h1 = await send(port, "/h1");
    conns.push(h1.c);
    await s1.waitInflight(1);
    const h2 = await send(port, "/h2");
    conns.push(h2.c);
    await s2.waitInflight(1);
    const h3 = await send(port, "/h3");
    conns.push(h3.c);
    await s2.waitInflight(2);
    // Both full: /q queues (on s1, whose queue is as short as s2's and comes first).
    const q = await send(port, "/q");
    conns.push(q.c);
    await delay(150);
    assert.equal((await statsJson(port)).backends[0]!.servers[0]!.queueCur, 1);
    assert.equal((await adminPost(port, "be/s1", "maint")).status, 200);
    // s1 in maintenance: /q chooses again, waits for s2, and is served there.
    gate.open();
    const rq = await q.r;
    assert.equal(rq.status, 200);
    assert.equal(rq.server, "s2");
    assert.equal((await h1.r).server, "s1", "the established session on s1 finished");
  } finally {
    gate.open();
    for (const c of conns) await c.close();
    await proxy?.stop();
    await closeAll(servers);
  }
});
