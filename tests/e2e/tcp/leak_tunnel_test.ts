// Resource leaks of tunnels and TCP sessions: WebSocket tunnels closed by
// either side, TCP sessions reset by either side.
//
// After a few hundred sessions through one error path the proxy must be back
// to its idle baseline, observed from outside the process: no session counted
// (actconn, frontend, backend and server `cur`), no queued stream, no pooled
// buffer in use beyond what the stats request itself holds, and no file
// descriptor beyond the baseline (listeners) once the stub servers closed
// their side. Every scenario asserts against a baseline taken right after
// start-up; the stats request is answered by a separate frontend
// (`fe_stats`).

import { assertIdle, GET, many, rawRequest, sendAndClose, withEnv } from "./_leak.ts";

Deno.test("leak: WebSocket tunnels closed by either side, TCP sessions reset by either side", async () => {
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
