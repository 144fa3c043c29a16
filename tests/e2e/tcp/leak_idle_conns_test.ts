// Resource leaks of idle connections: keep-alive client connections closed
// by http-keep-alive, parked server connections closed by the server, and
// parked connections that outlive the idle purge delay.
//
// After a few hundred sessions through one error path the proxy must be back
// to its idle baseline, observed from outside the process: no session counted
// (actconn, frontend, backend and server `cur`), no queued stream, no pooled
// buffer in use beyond what the stats request itself holds, and no file
// descriptor beyond the baseline (listeners) once the stub servers closed
// their side. Every scenario asserts against a baseline taken right after
// start-up; the stats request is answered by a separate frontend
// (`fe_stats`).

import assert from "node:assert/strict";
import { closeQuietly, connect, delay, te, writeAll } from "../../_helpers/client.ts";
import { assertIdle, GET, many, rawRequest, socketCount, withEnv } from "./_leak.ts";

Deno.test("leak: keep-alive connections closed by http-keep-alive, parked connections closed by the server", async () => {
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
    // Against the baseline as assertIdle() compares: a socket that was
    // closing when the baseline was taken (the stats request's) may be gone.
    const left = socketCount(e.proxy.pid) - e.baseSockets;
    assert.ok(left <= 0, `${left} parked server sockets still open after the purge delay`);
  });
});
