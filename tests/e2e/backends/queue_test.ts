// Server queues seen from the outside: a server's `maxconn` caps the requests
// it works on at once, the others wait in its queue and are served in turn
// (the log line gives their queue positions and the time they waited);
// `timeout queue` answers 503 with the `sQ` termination state; `maxqueue`
// sends the overflow to another server's queue, and when every queue is full
// the proxy answers 503 (`SQ`) at once.

import assert from "node:assert/strict";
import { pollUntil, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  closeAll,
  feBeConfig,
  Gate,
  HttpConn,
  type HttpLog,
  logOfPort,
  nameServers,
  type Response,
  serverLines,
  show,
  statsJson,
  tally,
} from "./_common.ts";

/** Starts a request on a new connection; returns its client port and the pending response. */
async function start(
  port: number,
  path: string,
): Promise<{ port: number; response: Promise<Response>; conn: HttpConn }> {
  const conn = await HttpConn.open(port);
  const response = conn.get(path, ["connection: close"], 15_000);
  return { port: conn.localPort, response, conn };
}

/** Settles and closes every started request (cleanup, errors ignored). */
async function settle(reqs: Array<{ response: Promise<Response>; conn: HttpConn }>): Promise<void> {
  await Promise.allSettled(reqs.map((r) => r.response));
  await Promise.allSettled(reqs.map((r) => r.conn.close()));
}

Deno.test("queue: maxconn 2 with 6 concurrent slow requests: never more than 2 at the server, all served, queue positions logged", async () => {
  const HOLD = 400;
  const servers = nameServers(1, "s", () => ({
    hold: () => new Promise<void>((r) => setTimeout(r, HOLD)),
  }));
  const s1 = servers[0]!;
  let proxy: ProxyProcess | undefined;
  const reqs: Array<Awaited<ReturnType<typeof start>>> = [];
  try {
    proxy = await startProxy(feBeConfig({
      backend: "    timeout: { queue: 10s }",
      servers: serverLines(servers, () => "maxconn: 2"),
    }));
    const port = proxy.port("fe");
    for (let i = 0; i < 6; i++) reqs.push(await start(port, `/slow/${i}`));
    const answers = await Promise.all(reqs.map((r) => r.response));
    for (const a of answers) assert.equal(a.status, 200, a.body);
    assert.equal(show(tally(answers.map((a) => a.server))), show(new Map([["s1", 6]])));
    assert.equal(s1.served, 6);
    assert.equal(s1.maxInflight, 2, `the server worked on ${s1.maxInflight} requests at once`);

    const logs = await Promise.all(reqs.map((r) => logOfPort(proxy!, r.port)));
    for (const l of logs) {
      assert.equal(l.status, 200, l.line);
      assert.equal(`${l.backend}/${l.server}`, "be/s1", l.line);
      assert.equal(l.tsc, "----", l.line);
    }
    const queued = logs.filter((l) => l.srvQueue > 0);
    const direct = logs.filter((l) => l.srvQueue === 0);
    assert.equal(queued.length, 4, `queued requests:\n${logs.map((l) => l.line).join("\n")}`);
    assert.deepEqual(queued.map((l) => l.srvQueue).sort(), [1, 2, 3, 4], "server queue positions");
    assert.deepEqual(queued.map((l) => l.beQueue).sort(), [1, 2, 3, 4], "backend queue positions");
    for (const l of direct) assert.ok(l.tw >= 0 && l.tw < HOLD / 2, `not queued, Tw: ${l.line}`);
    // The first two queued waited for one hold, the last two for two.
    const tws = queued.map((l) => l.tw).sort((a, b) => a - b);
    assert.ok(tws[0]! >= HOLD * 0.75, `Tw ${tws.join(",")}: a queued request waited < one hold`);
    assert.ok(tws[2]! >= HOLD * 1.75, `Tw ${tws.join(",")}: the last two waited < two holds`);
  } finally {
    await settle(reqs);
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("queue: `timeout queue` expires while the only slot is busy: 503 and sQ in the log", async () => {
  const gate = new Gate();
  const servers = nameServers(1, "s", () => ({ hold: () => gate.wait() }));
  const s1 = servers[0]!;
  let proxy: ProxyProcess | undefined;
  const reqs: Array<Awaited<ReturnType<typeof start>>> = [];
  try {
    proxy = await startProxy(feBeConfig({
      backend: "    timeout: { queue: 200ms }",
      servers: serverLines(servers, () => "maxconn: 1"),
    }));
    const port = proxy.port("fe");
    reqs.push(await start(port, "/busy"));
    await s1.waitInflight(1);
    const t0 = Date.now();
    const waiting = await start(port, "/waits");
    reqs.push(waiting);
    const r = await waiting.response;
    const took = Date.now() - t0;
    assert.equal(r.status, 503, r.body);
    assert.equal(r.server, null, "the 503 came from an origin");
    assert.ok(took >= 180 && took < 2_000, `503 after ${took} ms (timeout queue 200ms)`);
    assert.equal(s1.served, 1, "the queued request reached the server");

    const log = await logOfPort(proxy, waiting.port);
    assert.equal(log.status, 503, log.line);
    assert.equal(log.tsc, "sQ--", log.line);
    assert.ok(log.tw >= 180, `Tw ${log.tw}: ${log.line}`);
    assert.equal(log.srvQueue + log.beQueue > 0, true, `no queue position: ${log.line}`);

    gate.open();
    const first = await reqs[0]!.response;
    assert.equal(first.status, 200);
    assert.equal(first.server, "s1");
  } finally {
    gate.open();
    await settle(reqs);
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("queue: maxqueue 1 on two servers with maxconn 1: the overflow queues on the other server, then 503 when both queues are full", async () => {
  const gate = new Gate();
  const servers = nameServers(2, "s", () => ({ hold: () => gate.wait() }));
  let proxy: ProxyProcess | undefined;
  const reqs: Array<Awaited<ReturnType<typeof start>>> = [];
  try {
    proxy = await startProxy(feBeConfig({
      frontend: "    stats: { uri: /stats }",
      backend: "    timeout: { queue: 10s }",
      servers: serverLines(servers, () => "maxconn: 1, maxqueue: 1"),
    }));
    const port = proxy.port("fe");
    const queues = async (): Promise<string> => {
      const be = (await statsJson(port)).backends.find((b) => b.name === "be")!;
      return be.servers.map((s) => `${s.name}:${s.queueCur}`).join(" ");
    };
    // One request per server: both slots taken.
    reqs.push(await start(port, "/r1"));
    reqs.push(await start(port, "/r2"));
    await Promise.all(servers.map((s) => s.waitInflight(1)));
    // Third: waits in a queue.
    reqs.push(await start(port, "/r3"));
    const q3 = await pollUntil(
      async () => {
        const q = await queues();
        return q === "s1:0 s2:0" ? undefined : q;
      },
      3_000,
      "r3 to be queued",
    );
    assert.ok(q3 === "s1:1 s2:0" || q3 === "s1:0 s2:1", `queues after r3: ${q3}`);
    // Fourth: that queue is full, so it waits in the other server's queue.
    reqs.push(await start(port, "/r4"));
    await pollUntil(
      async () => ((await queues()) === "s1:1 s2:1" ? true : undefined),
      3_000,
      "r4 to be queued on the other server",
    );
    // Fifth: every queue is full: 503 at once.
    const fifth = await start(port, "/r5");
    reqs.push(fifth);
    const r5 = await fifth.response;
    assert.equal(r5.status, 503, r5.body);
    assert.equal(r5.server, null);
    const log5 = await logOfPort(proxy, fifth.port);
    assert.equal(log5.status, 503, log5.line);
    assert.equal(log5.tsc, "SQ--", log5.line);
    assert.equal(servers[0]!.served + servers[1]!.served, 2, "r3/r4/r5 reached a server early");

    gate.open();
    const answers = await Promise.all(reqs.slice(0, 4).map((r) => r.response));
    for (const a of answers) assert.equal(a.status, 200);
    assert.equal(show(tally(answers.map((a) => a.server))), show(new Map([["s1", 2], ["s2", 2]])));
    const logs = await Promise.all(reqs.slice(2, 4).map((r) => logOfPort(proxy!, r.port)));
    const [l3, l4] = logs as [HttpLog, HttpLog];
    assert.equal(l3.srvQueue, 1, l3.line);
    assert.equal(l4.srvQueue, 1, l4.line);
    assert.notEqual(
      l3.server,
      l4.server,
      `r3 and r4 served by one server:\n${l3.line}\n${l4.line}`,
    );
    assert.equal(l4.beQueue, 2, `r4 is second in the backend's queues: ${l4.line}`);
    for (const s of servers) assert.equal(s.maxInflight, 1, `${s.name} maxconn 1 exceeded`);
  } finally {
    gate.open();
    await settle(reqs);
    await proxy?.stop();
    await closeAll(servers);
  }
});
