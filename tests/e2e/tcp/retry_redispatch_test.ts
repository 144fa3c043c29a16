// Connection retries and redispatch: a refused connect is retried, and with
// `option redispatch` the last retry goes to another server at once; when
// every attempt fails the client is closed without data and the log says SC.
//
// `balance first` makes the first pick deterministic (s1, the dead one), so
// the retry path is taken on every run.

import assert from "node:assert/strict";
import { exchange, SeededBytes, sha256Hex } from "../../_helpers/client.ts";
import { deadPort, echoServer } from "../../_helpers/servers.ts";
import { parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { tcpConfig } from "./_common.ts";

/** The pause before a same-server retry would be min(1s, connect) = 1 s here. */
function config(s1: number, s2: number, balance = "first"): string {
  return tcpConfig({
    backendExtra: `    balance: ${balance}\n    retries: 1\n    option: [redispatch]`,
    servers: [
      `{ name: s1, address: "127.0.0.1:${s1}" }`,
      `{ name: s2, address: "127.0.0.1:${s2}" }`,
    ],
  });
}

Deno.test("tcp retry: first server refuses, redispatch reaches s2 at once, log be/s2 +1", async () => {
  const alive = echoServer();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(deadPort(), alive.port));
    const request = new SeededBytes(5).bytes(32 * 1024);
    const got = await exchange(proxy.port("fe"), request);
    assert.equal(got.end, "eof", `client read ended by ${String(got.error)}`);
    assert.equal(got.data.length, request.length);
    assert.equal(sha256Hex(got.data), sha256Hex(request));
    assert.equal(alive.accepted, 1);

    const log = parseTcpLog(await proxy.waitForLog(/ fe be\//));
    assert.equal(`${log.backend}/${log.server}`, "be/s2", log.line);
    assert.equal(log.retries, 1, log.line);
    assert.ok(log.redispatched, `retries not marked "+" (redispatched): ${log.line}`);
    assert.equal(log.ts, "--", log.line);
    assert.equal(log.bytes, request.length, log.line);
    // "at once": no 1 s turn-around pause before the redispatched attempt
    assert.ok(log.tc < 900, `connect took ${log.tc} ms (a retry pause was taken?): ${log.line}`);
  } finally {
    await proxy?.stop();
    await alive.close();
  }
});

Deno.test("tcp retry: roundrobin with s1 dead, every session still served by s2", async () => {
  const alive = echoServer();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(deadPort(), alive.port, "roundrobin"));
    const port = proxy.port("fe");
    // sequential sessions: roundrobin must pick the dead s1 for some of them
    for (let i = 0; i < 4; i++) {
      const request = new SeededBytes(100 + i).bytes(1000 + i);
      const got = await exchange(port, request);
      assert.equal(got.end, "eof", `session ${i}: read ended by ${String(got.error)}`);
      assert.equal(sha256Hex(got.data), sha256Hex(request), `session ${i}: wrong echo`);
    }
    const logs = (await proxy.waitForLogs(/ fe be\//, 4)).map(parseTcpLog);
    for (const log of logs) {
      assert.equal(`${log.backend}/${log.server}`, "be/s2", log.line);
      assert.equal(log.ts, "--", log.line);
      assert.equal(log.redispatched, log.retries > 0, log.line);
    }
    const retried = logs.filter((l) => l.retries === 1 && l.redispatched).length;
    assert.ok(retried >= 1, `no session was redispatched from s1:\n${proxy.logs.join("\n")}`);
    assert.equal(alive.accepted, 4);
  } finally {
    await proxy?.stop();
    await alive.close();
  }
});

Deno.test("tcp retry: all servers refuse, client gets EOF without data, log SC", async () => {
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(deadPort(), deadPort()));
    const got = await exchange(proxy.port("fe"), new TextEncoder().encode("anyone there?"));
    assert.equal(got.end, "eof", `expected a clean close, got ${String(got.error)}`);
    assert.equal(got.data.length, 0);

    const log = parseTcpLog(await proxy.waitForLog(/ fe be\//));
    assert.equal(log.ts, "SC", log.line);
    assert.equal(log.bytes, 0, log.line);
    assert.equal(log.retries, 1, log.line);
  } finally {
    await proxy?.stop();
  }
});
