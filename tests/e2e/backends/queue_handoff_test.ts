// Requests waiting in a queue get a server as soon as one can take them: a
// request queued while every server was full is served by the first server
// that frees a slot, and one queued on a server that goes into maintenance
// is redispatched to another server.

import assert from "node:assert/strict";
import { delay } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  adminPost,
  closeAll,
  feBeConfig,
  Gate,
  HttpConn,
  type NameServer,
  nameServers,
  type Response,
  serverLines,
  statsJson,
} from "./_common.ts";
import { STATS_FE } from "./_raw.ts";

/** A request sent on its own connection; the response is awaited later. */
async function send(port: number, path: string): Promise<{ c: HttpConn; r: Promise<Response> }> {
  const c = await HttpConn.open(port);
  const r = c.get(path, ["connection: close"], 8_000);
  r.catch(() => {});
  return { c, r };
}

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
