// Redispatch under a flapping server (issue 14, item 3). With roundrobin,
// `retries 3` and `option redispatch`, a refused connect used to be retried
// on the same server after a turn-around pause of min(1 s, timeout connect),
// three times, before the last retry went elsewhere: every request that
// roundrobin sent to the dead server took 1-2 s. HAProxy redispatches at
// once when nothing ties the stream to that server (no persistence, a
// non-hash algorithm, another active server); the pause is for retrying the
// same server. `timeout connect` is 5 s here so that the old pause (1 s)
// shows in Tc.
//
// s1 stops (the port refuses; requests in progress, and the first request of
// a connection it has just accepted, are answered; idle kept-alive
// connections are closed) and restarts every 300 ms, faster than the health
// checks can follow, while clients on new connections and on kept-alive
// connections keep asking. A kept-alive server connection closed as a
// request goes out on it is HAProxy's abort_keep_alive case: the client
// connection is closed without a reply and the client (a browser, or the
// client here) sends the request again.

import assert from "node:assert/strict";
import { delay } from "../../_helpers/client.ts";
import { parseHttpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  closeAll,
  headerValues,
  HttpConn,
  type NameServer,
  nameServers,
  serverLines,
} from "./_common.ts";

function config(
  servers: NameServer[],
  backendExtra: string,
  check = "check: true, inter: 200ms, fall: 2, rise: 1",
): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 5s, client: 10s, server: 10s, http-request: 5s, http-keep-alive: 5s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
backends:
  be:
    balance: roundrobin
    retries: 3
${backendExtra}
    servers:
${serverLines(servers, () => check)}
`;
}

/** Stops and restarts `srv` every `periodMs` until `until` resolves. */
async function flap(srv: NameServer, periodMs: number, stop: { done: boolean }): Promise<void> {
  while (!stop.done) {
    await srv.stop({ spareFresh: true });
    await delay(periodMs);
    srv.restart();
    await delay(periodMs);
  }
}

interface Outcome {
  status: number;
  ms: number;
}

/**
 * `n` requests, each on a new connection when `keepAlive` is false, else on
 * one connection. Like a browser, a request whose kept-alive connection is
 * closed before any response byte is sent again on a new connection once.
 */
async function client(port: number, n: number, keepAlive: boolean): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let conn: HttpConn | null = null;
  let reused = false;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        if (conn === null) {
          conn = await HttpConn.open(port);
          reused = false;
        }
        const r = await conn.get(`/r${i}`, keepAlive ? [] : ["connection: close"], 8_000);
        out.push({ status: r.status, ms: performance.now() - t0 });
        const closes = headerValues(r.head, "connection").some((v) => /close/i.test(v));
        if (!keepAlive || closes) {
          await conn.close();
          conn = null;
        } else reused = true;
        break;
      } catch (e) {
        const retry = reused && attempt === 0 && /EOF before a response/.test(String(e));
        await conn?.close().catch(() => {});
        conn = null;
        if (!retry) {
          out.push({ status: 0, ms: performance.now() - t0 });
          break;
        }
      }
    }
    await delay(20);
  }
  await conn?.close();
  return out;
}

async function flapRun(backendExtra: string) {
  const servers = nameServers(2);
  let proxy: ProxyProcess | undefined;
  const stop = { done: false };
  try {
    proxy = await startProxy(config(servers, backendExtra));
    const port = proxy.port("fe");
    const flapping = flap(servers[0]!, 300, stop);
    const results = await Promise.all([
      client(port, 40, false),
      client(port, 40, false),
      client(port, 40, true),
      client(port, 40, true),
    ]);
    stop.done = true;
    await flapping;
    const logs = proxy.logs.filter((l) => / fe be\//.test(l)).map(parseHttpLog);
    return { results: results.flat(), logs, proxy };
  } finally {
    stop.done = true;
    await proxy?.stop();
    await closeAll(servers);
  }
}

Deno.test("redispatch: a flapping server costs no turn-around pause and no failed request", async () => {
  const { results, logs } = await flapRun("    option: [redispatch]");
  // The one failure no proxy can avoid: a connection the kernel completed
  // in s1's listen backlog is reset when s1 closes its listener, after the
  // request went out on it (502 SH, no retry: HAProxy does the same). Every
  // other request must succeed; in particular no 502 for a request sent on
  // a kept-alive server connection that s1 closed.
  const failed = results.filter((r) => r.status !== 200);
  const bad = logs.filter((l) => l.status !== 200 && l.status !== -1);
  for (const l of bad) {
    assert.ok(l.status === 502 && l.tsc === "SH--" && l.retries === 0, `failed: ${l.line}`);
  }
  assert.ok(
    failed.length <= 2 && failed.every((r) => r.status === 502),
    `failed requests: ${JSON.stringify(failed)}\n${bad.map((l) => l.line).join("\n")}`,
  );
  const retried = logs.filter((l) => l.retries > 0);
  assert.ok(retried.length > 0, "s1 never refused a connection: the test did not exercise retries");
  for (const l of retried) {
    // Redispatched to s2 at once: Tc is the refused attempt plus the next
    // one, not a 1 s pause in between.
    assert.ok(l.redispatched, `a retry stayed on the dead server: ${l.line}`);
    assert.equal(l.server, "s2", l.line);
    assert.ok(l.tc < 500, `connect took ${l.tc} ms (a turn-around pause?): ${l.line}`);
  }
  const slow = results.filter((r) => r.ms >= 900).length;
  assert.equal(slow, 0, `${slow} of ${results.length} requests took 900 ms or more`);
});

Deno.test("redispatch: without option redispatch the same server is retried after the pause", async () => {
  // The guard of the other side of the rule: the pause still applies when
  // the retry goes to the same server (here: redispatch off). Keep this
  // short: one request on a new connection while s1 is down.
  const servers = nameServers(2);
  let proxy: ProxyProcess | undefined;
  try {
    // No health checks: s1 must stay in the rotation while it refuses.
    proxy = await startProxy(config(servers, "", "").replace("retries: 3", "retries: 1"));
    const port = proxy.port("fe");
    await servers[0]!.stop();
    // roundrobin: of two requests, one is sent to s1 first.
    const rs = [];
    for (let i = 0; i < 2; i++) {
      const c = await HttpConn.open(port);
      try {
        rs.push(await c.get("/x", ["connection: close"], 8_000));
      } finally {
        await c.close();
      }
    }
    const logs = (await proxy.waitForLogs(/ fe be\//, 2)).map(parseHttpLog);
    const viaS1 = logs.find((l) => l.retries > 0 || l.status === 503);
    assert.ok(viaS1 !== undefined, `no request tried s1:\n${logs.map((l) => l.line).join("\n")}`);
    // The retry went to s1 again (no redispatch), after min(1 s, connect) = 1 s.
    assert.ok(!viaS1.redispatched, viaS1.line);
    assert.ok(viaS1.ta >= 900, `no turn-around pause before the same-server retry: ${viaS1.line}`);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});

Deno.test("redispatch: `option redispatch 1` moves on at the first retry with a hash algorithm too", async () => {
  const servers = nameServers(2);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(
      config(servers, '    option: ["redispatch 1"]', "").replace(
        "balance: roundrobin",
        "balance: uri",
      ),
    );
    const port = proxy.port("fe");
    await servers[0]!.stop();
    // Paths until one hashes to s1 (with two servers, one of a few does).
    let hit: ReturnType<typeof parseHttpLog> | undefined;
    for (let i = 0; i < 12 && hit === undefined; i++) {
      const c = await HttpConn.open(port);
      let status = 0;
      try {
        status = (await c.get(`/p${i}`, ["connection: close"], 8_000)).status;
      } finally {
        await c.close();
      }
      assert.equal(status, 200, `request /p${i}`);
      const log = parseHttpLog(await proxy.waitForLog(new RegExp(` fe be/.*GET /p${i} `)));
      if (log.retries > 0) hit = log;
    }
    assert.ok(hit !== undefined, "no path hashed to the stopped s1");
    assert.ok(hit.redispatched, hit.line);
    assert.equal(hit.retries, 1, hit.line);
    assert.ok(hit.tc < 500, `a pause before the redispatch: ${hit.line}`);
  } finally {
    await proxy?.stop();
    await closeAll(servers);
  }
});
