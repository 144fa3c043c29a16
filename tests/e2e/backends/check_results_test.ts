// Health check results as HAProxy counts them: rise/fall count consecutive
// results exactly, a check the server never answers fails at `timeout
// check` (L7TOUT), and an answer split across reads on the `port` override
// still matches `expect string`.

import assert from "node:assert/strict";
import { delay, te, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { closeAll, feBeConfig, fetchOnce, nameServers, serverLines, statsJson } from "./_common.ts";
import { headReader, RawServer, STATS_FE, until } from "./_raw.ts";

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
