// Parked (idle) keep-alive server connections follow their server's state:
// they are closed when the server goes DOWN.

import assert from "node:assert/strict";
import { delay, te, writeFull } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { feBeConfig, HttpConn } from "./_common.ts";
import { headReader, RawServer, until } from "./_raw.ts";

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
