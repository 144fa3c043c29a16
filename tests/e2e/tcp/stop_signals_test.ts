// Soft stop (SIGQUIT) and hard stop (SIGTERM / SIGINT) with sessions in
// progress: a soft stop lets them finish, then exits 0; a hard stop closes
// them at once, also during a soft stop.
//
// Everything goes through `main.ts` in a child process and real sockets on
// 127.0.0.1; every process and socket a test opens is closed in `finally`.

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  delay,
  readAll,
  readExactly,
  td,
  te,
  writeAll,
} from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { echoes, tcpConfig } from "./_process.ts";

Deno.test("process: SIGQUIT lets a queued session get its server, then exits 0", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    proxy = await startProxy(tcpConfig(server.port, { srvExtra: ", maxconn: 1" }));
    const port = proxy.port("fe");
    const a = await connect(port);
    conns.push(a);
    assert.ok(await echoes(a, "a", 3_000));
    const b = await connect(port);
    conns.push(b);
    await writeAll(b, te.encode("b")); // queued behind a (server maxconn 1)
    await delay(200);
    proxy.kill("SIGQUIT");
    await proxy.waitForStderr(/soft stop/, 3_000);
    assert.equal(proxy.exitStatus, null);
    await closeWrite(a);
    await readAll(a, 3_000);
    // the queued session gets the server and finishes normally
    assert.equal(td.decode(await readExactly(b, 1, 3_000)), "b");
    await closeWrite(b);
    await readAll(b, 3_000);
    const bPort = (b.localAddr as Deno.NetAddr).port;
    const log = parseTcpLog(await proxy.waitForLog(logLineOf(bPort), 3_000));
    assert.equal(log.ts, "--", log.line);
    const status = await proxy.waitExit(5_000);
    assert.equal(status.code, 0, proxy.describe());
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`process: ${sig} closes every session at once and exits 0`, async () => {
    const server = echoServer();
    let proxy: ProxyProcess | undefined;
    let conn: Deno.TcpConn | undefined;
    try {
      proxy = await startProxy(tcpConfig(server.port));
      conn = await connect(proxy.port("fe"));
      assert.ok(await echoes(conn, "x", 3_000));
      const t0 = Date.now();
      proxy.kill(sig);
      const status = await proxy.waitExit(3_000);
      assert.equal(status.code, 0, proxy.describe());
      const r = await readAll(conn, 3_000);
      assert.equal(r.data.length, 0);
      assert.ok(Date.now() - t0 < 2_000, "the hard stop waited for the session");
    } finally {
      if (conn !== undefined) closeQuietly(conn);
      await proxy?.stop();
      await server.close();
    }
  });
}

Deno.test("process: SIGTERM during a soft stop ends it at once", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(tcpConfig(server.port));
    conn = await connect(proxy.port("fe"));
    assert.ok(await echoes(conn, "x", 3_000));
    proxy.kill("SIGQUIT");
    await proxy.waitForStderr(/soft stop/, 3_000);
    proxy.kill("SIGQUIT"); // a second soft stop changes nothing
    await delay(100);
    assert.equal(proxy.exitStatus, null, "the soft stop did not wait for the session");
    assert.ok(await echoes(conn, "y", 3_000), "the session stopped working after SIGQUIT");
    proxy.kill("SIGTERM");
    const status = await proxy.waitExit(3_000);
    assert.equal(status.code, 0, proxy.describe());
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await server.close();
  }
});
