// Frontend maxconn: with 50 clients at once and maxconn 10, the proxy never
// holds more than 10 sessions (the server never sees more than 10 concurrent
// connections), and the other clients wait in the listen queue and are
// served later — nobody is refused or cut. The accept queue must hold the
// burst for that: it defaults to maxconn (HAProxy), and Linux resets some of
// a burst larger than maxconn + backlog (HAProxy's clients see the same), so
// the bind line asks for a queue of 64.

import assert from "node:assert/strict";
import { exchange, SeededBytes, sha256Hex } from "../../_helpers/client.ts";
import { countingServer } from "../../_helpers/servers.ts";
import { parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

const MAXCONN = 10;
const CLIENTS = 50;
const HOLD_MS = 50;

/** The server's answer to a request: its SHA-256, then the request reversed. */
function answerOf(req: Uint8Array): Uint8Array {
  const digest = new TextEncoder().encode(sha256Hex(req));
  const out = new Uint8Array(digest.length + req.length);
  out.set(digest, 0);
  out.set(req.slice().reverse(), digest.length);
  return out;
}

Deno.test(`tcp maxconn: ${CLIENTS} clients at once, server never sees more than ${MAXCONN}, all served`, async () => {
  const server = countingServer({ holdMs: HOLD_MS, answer: answerOf });
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(`
global: { log: stdout, maxconn: 4096 }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 10s, server: 10s }
  option: [tcplog]
frontends:
  fe:
    bind: "127.0.0.1:0 backlog 64"
    maxconn: ${MAXCONN}
    default_backend: be
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${server.port}" }
`);
    const port = proxy.port("fe");
    const requests = Array.from(
      { length: CLIENTS },
      (_, i) => new SeededBytes(1000 + i).bytes(512 + i * 97),
    );
    const t0 = performance.now();
    const results = await Promise.all(requests.map((r) => exchange(port, r, 20_000)));
    const elapsed = performance.now() - t0;

    results.forEach((got, i) => {
      assert.equal(got.end, "eof", `client ${i}: read ended by ${String(got.error)}`);
      assert.equal(
        sha256Hex(got.data),
        sha256Hex(answerOf(requests[i]!)),
        `client ${i}: wrong answer`,
      );
    });
    assert.equal(server.accepted, CLIENTS);
    assert.ok(
      server.stats.max <= MAXCONN,
      `server saw ${server.stats.max} concurrent connections (maxconn ${MAXCONN})`,
    );
    // The limit is used, not just respected: sessions did run in parallel.
    assert.ok(server.stats.max >= 2, `no parallelism at all (max ${server.stats.max})`);
    // At most 10 at a time, each held 50 ms: at least 5 rounds.
    assert.ok(elapsed >= (CLIENTS / MAXCONN) * HOLD_MS, `all served in ${elapsed} ms: too fast`);

    const logs = (await proxy.waitForLogs(/ fe be\//, CLIENTS)).map(parseTcpLog);
    for (const log of logs) {
      assert.equal(log.ts, "--", log.line);
      assert.ok(log.feconn <= MAXCONN, `feconn ${log.feconn} > ${MAXCONN}: ${log.line}`);
    }
  } finally {
    await proxy?.stop();
    await server.close();
  }
});
