// Health checks seen from the outside: the proxy's stderr announces state
// changes in HAProxy's words, a DOWN server gets no traffic, a server that
// comes back gets traffic again, and clients never see a failure while at
// least one server is up (requests that raced the failure are retried and
// redispatched to a live server).
//
// A server is "killed" by closing its listening socket: connects are refused
// from then on, requests already being answered finish, idle keep-alive
// connections are closed. It is "restarted" by listening on the same port.

import assert from "node:assert/strict";
import { delay } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  closeAll,
  feBeConfig,
  fetchOnce,
  HttpConn,
  type HttpLog,
  type NameServer,
  nameServers,
  parseHttpLog,
  serverLines,
  show,
  tally,
} from "./_common.ts";

/** One request of the client loop. */
interface Sent {
  /** Client port (finds the log line). */
  port: number;
  startedAt: number;
  status: number | string;
  server: string | null;
}

/**
 * Sequential requests, each on a new connection, about `gapMs` apart, until
 * `stop()`. Every outcome is recorded; a transport error is recorded as its
 * message (a failure the test reports), never thrown.
 */
function clientLoop(port: number, gapMs: number): { sent: Sent[]; stop(): Promise<void> } {
  const sent: Sent[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const startedAt = Date.now();
      let c: HttpConn | undefined;
      const rec: Sent = { port: 0, startedAt, status: "not sent", server: null };
      sent.push(rec);
      try {
        c = await HttpConn.open(port);
        rec.port = c.localPort;
        const r = await c.get(`/loop/${sent.length}`, ["connection: close"], 5_000);
        rec.status = r.status;
        rec.server = r.server;
      } catch (e) {
        rec.status = e instanceof Error ? e.message : String(e);
      } finally {
        await c?.close();
      }
      await delay(gapMs);
    }
  })();
  return {
    sent,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const WARNING = (pid: number) => `^\\[WARNING\\] \\(${pid}\\) : `;

Deno.test("health: a server killed and restarted under load goes DOWN then UP (logged), and no client request fails", async () => {
  const servers = nameServers(3);
  const s2 = servers[1]!;
  let proxy: ProxyProcess | undefined;
  let loop: ReturnType<typeof clientLoop> | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      backend: `
    balance: roundrobin
    retries: 1
    option: [redispatch]
    timeout: { connect: 500ms, check: 500ms }`,
      servers: serverLines(servers, () => "check: true, inter: 100ms, fall: 2, rise: 2"),
    }));
    const pid = proxy.pid;
    loop = clientLoop(proxy.port("fe"), 20);
    await Promise.all(servers.map((s) => s.waitServed(3)));

    // Kill s2 under load.
    await s2.stop();
    const killedAt = Date.now();
    const servedWhenKilled = s2.served;
    const down = await proxy.waitForStderr(/Server be\/s2 is DOWN/, 3_000);
    const downAt = Date.now();
    assert.match(
      down,
      new RegExp(
        WARNING(pid) +
          'Server be/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", ' +
          "check duration: \\d+ms\\. 2 active and 0 backup servers left\\. " +
          "\\d+ sessions active, \\d+ requeued, \\d+ remaining in queue\\.$",
      ),
    );
    // fall 2 at inter 100ms: two failed checks, well under a second.
    assert.ok(downAt - killedAt < 1_500, `DOWN announced ${downAt - killedAt} ms after the kill`);

    // Let the loop run while s2 is DOWN, then bring it back.
    const countAtDown = loop.sent.length;
    await proxy.waitUntil(
      () => (loop!.sent.length >= countAtDown + 10 ? true : undefined),
      5_000,
      "10 more client requests while s2 is DOWN",
    );
    s2.restart();
    const restartedAt = Date.now();
    const up = await proxy.waitForStderr(/Server be\/s2 is UP/, 3_000);
    assert.match(
      up,
      new RegExp(
        WARNING(pid) +
          "Server be/s2 is UP, reason: Layer4 check passed, check duration: \\d+ms\\. " +
          "3 active and 0 backup servers online\\. \\d+ sessions requeued, \\d+ total in queue\\.$",
      ),
    );
    assert.ok(Date.now() - restartedAt < 1_500, "UP announced more than 1.5 s after the restart");
    // Traffic comes back to s2.
    await s2.waitServed(servedWhenKilled + 3, 3_000);
    await loop.stop();

    // Not one client request failed.
    const failed = loop.sent.filter((r) => r.status !== 200);
    assert.deepEqual(failed, [], `${failed.length} of ${loop.sent.length} requests failed`);
    assert.equal(
      loop.sent.filter((r) => r.server === null).length,
      0,
      "a 200 without x-server (not from an origin)",
    );

    // The log: every request logged 200; those that raced the kill were
    // redispatched ("+1") to a live server; once DOWN was announced, until
    // the restart, no request even tried s2 (no retry at all).
    const logs = await proxy.waitForLogs(/ fe be\//, loop.sent.length, 10_000);
    const byPort = new Map<number, HttpLog>();
    for (const l of logs) {
      const log = parseHttpLog(l);
      byPort.set(log.clientPort, log);
      assert.equal(log.status, 200, log.line);
    }
    const logOf = (r: Sent): HttpLog => {
      const log = byPort.get(r.port);
      assert.ok(log !== undefined, `no log line for client port ${r.port}`);
      return log;
    };
    const raced = loop.sent.filter((r) => r.startedAt >= killedAt && r.startedAt < downAt)
      .map(logOf).filter((l) => l.retries !== 0 || l.redispatched);
    assert.ok(raced.length >= 1, "no request hit the dead s2 before DOWN (nothing was retried?)");
    for (const l of raced) {
      assert.deepEqual(
        [l.redispatched, l.retries],
        [true, 1],
        `a retried request was not redispatched: ${l.line}`,
      );
      assert.notEqual(l.server, "s2", l.line);
    }
    const whileDown = loop.sent.filter((r) => r.startedAt > downAt && r.startedAt < restartedAt)
      .map(logOf);
    assert.ok(whileDown.length >= 10);
    for (const l of whileDown) {
      assert.deepEqual(
        [l.redispatched, l.retries],
        [false, 0],
        `a request tried s2 while it was DOWN: ${l.line}`,
      );
      assert.notEqual(l.server, "s2", l.line);
    }
  } finally {
    await loop?.stop();
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("health: httpchk with `expect status 200` takes a server answering 500 DOWN; it gets no traffic until it answers 200", async () => {
  let s3Health = 500;
  const servers = nameServers(3, "s", (name) => ({
    healthStatus: () => (name === "s3" ? s3Health : 200),
  }));
  const [s1, s2, s3] = servers as [NameServer, NameServer, NameServer];
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(feBeConfig({
      backend: `
    balance: roundrobin
    option: ["httpchk GET /health HTTP/1.1"]
    http-check: ["expect status 200"]
    timeout: { check: 500ms }`,
      servers: serverLines(servers, () => "check: true, inter: 100ms, fall: 2, rise: 2"),
    }));
    const pid = proxy.pid;
    const port = proxy.port("fe");
    const down = await proxy.waitForStderr(/Server be\/s3 is DOWN/, 3_000);
    assert.match(
      down,
      new RegExp(
        WARNING(pid) +
          'Server be/s3 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", ' +
          "check duration: \\d+ms\\. 2 active and 0 backup servers left\\.",
      ),
    );
    // The healthy servers were checked with the configured request and stay up.
    await s1.changed.until(
      () => (s1.healthChecks >= 2 ? true : undefined),
      3_000,
      () => "s1 checks",
    );
    assert.ok(!proxy.stderr.some((l) => /Server be\/s[12] is DOWN/.test(l)), proxy.describe());
    const chk = s1.healthRequests[0]!;
    assert.equal(chk.head.startLine, "GET /health HTTP/1.1");
    assert.deepEqual(
      chk.head.headers.filter(([k]) => k === "host").map(([, v]) => v),
      [`127.0.0.1:${s1.port}`],
    );

    const before = s3.served;
    const got: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await fetchOnce(port, `/page/${i}`);
      assert.equal(r.status, 200);
      got.push(String(r.server));
    }
    assert.equal(show(tally(got)), show(new Map([["s1", 15], ["s2", 15]])));
    assert.equal(s3.served, before, "s3 (DOWN) received traffic");

    // Healthy again: rise 2 checks, then it takes its share.
    s3Health = 200;
    const up = await proxy.waitForStderr(/Server be\/s3 is UP/, 3_000);
    assert.match(
      up,
      new RegExp(
        WARNING(pid) +
          'Server be/s3 is UP, reason: Layer7 check passed, code: 200, info: "OK", ' +
          "check duration: \\d+ms\\. 3 active and 0 backup servers online\\.",
      ),
    );
    const again: string[] = [];
    for (let i = 0; i < 30; i++) again.push(String((await fetchOnce(port, `/again/${i}`)).server));
    assert.equal(show(tally(again)), show(new Map([["s1", 10], ["s2", 10], ["s3", 10]])));
    assert.equal(s2.errors.length + s1.errors.length + s3.errors.length, 0);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});
