// Timeouts of a tunnel: `timeout tunnel` replaces client/server once the
// tunnel is up, expires on an idle tunnel (one log line), is kept alive by
// one-way traffic, and gives way to client-fin / server-fin after a FIN.

import assert from "node:assert/strict";
import { delay as sleep, latin1, te, writeFull } from "../../_helpers/client.ts";
import { logsOf } from "./_http.ts";
import { within } from "./_bytes.ts";
import {
  CONNECT_REQ,
  drain,
  OK_200,
  open,
  proxyFor,
  SWITCH_101,
  tunnelServer,
  UPGRADE_REQ,
} from "./_tunnel.ts";

Deno.test("timeout tunnel replaces client/server once the tunnel is up: 1 s idle with client/server 300ms survives", async () => {
  const srv = tunnelServer(SWITCH_101, async (conn, rd) => {
    const b = await rd.readN(4);
    await writeFull(conn, b);
    return await drain(rd);
  });
  const proxy = await proxyFor(srv.loop.port, { client: "300ms", server: "300ms", tunnel: "3s" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    await sleep(1000);
    await c.send("PING");
    assert.equal(latin1(await within(c.reader.readN(4), 3000, "echo after idle")), "PING");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("timeout tunnel expires: idle tunnel closed after ~600ms, cD--, logged once with 101", async () => {
  const srv = tunnelServer(SWITCH_101, (_conn, rd) => drain(rd));
  const proxy = await proxyFor(srv.loop.port, { client: "5s", server: "5s", tunnel: "600ms" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    const t0 = Date.now();
    const got = await within(drain(c.reader), 4000, "proxy closing the idle tunnel");
    const dt = Date.now() - t0;
    assert.equal(got.data.length, 0);
    assert.ok(dt >= 450 && dt < 2500, `closed after ${dt} ms`);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.status, 101);
    assert.equal(log!.tsc, "cD--");
    assert.equal(log!.bytes, SWITCH_101.length);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("timeout tunnel: one-way traffic (server -> client every 150ms) keeps a 500ms tunnel alive", async () => {
  const srv = tunnelServer(OK_200, async (conn) => {
    for (let i = 0; i < 10; i++) {
      await writeFull(conn, te.encode("t"));
      await sleep(150);
    }
    return null;
  });
  const proxy = await proxyFor(srv.loop.port, { client: "5s", server: "5s", tunnel: "500ms" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    const got = await within(drain(c.reader), 5000, "stream to EOF");
    assert.equal(latin1(got.data), "t".repeat(10));
    c.close();
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "----");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("client-fin overrides timeout tunnel after the client's FIN: server silent, closed after ~400ms (not 5s)", async () => {
  const srv = tunnelServer(SWITCH_101, async (_conn, rd) => {
    const got = await drain(rd); // the client's FIN
    await sleep(2500); // then silent, connection left open (longer than client-fin)
    return got;
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s", clientFin: "400ms" });
  const c = await open(proxy, UPGRADE_REQ, 101);
  try {
    await c.send("bye");
    await c.conn.closeWrite();
    const t0 = Date.now();
    const got = await within(drain(c.reader), 4000, "proxy closing after client-fin");
    const dt = Date.now() - t0;
    assert.equal(got.data.length, 0);
    assert.ok(dt >= 300 && dt < 2500, `closed after ${dt} ms`);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "cD--");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("server-fin overrides timeout tunnel after the server's FIN: client silent, closed after ~400ms, sD--", async () => {
  const srv = tunnelServer(OK_200, async (conn, rd) => {
    await writeFull(conn, te.encode("bye"));
    await conn.closeWrite();
    return await drain(rd);
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s", serverFin: "400ms" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    const t0 = Date.now();
    const got = await within(drain(c.reader), 3000, "server FIN forwarded");
    assert.equal(latin1(got.data), "bye");
    // The client keeps its write side open and says nothing: the server side
    // is half-closed and idle, server-fin ends it.
    const sgot = await within(srv.done, 4000, "proxy closing the server side");
    const dt = Date.now() - t0;
    assert.equal(sgot.data.length, 0);
    assert.ok(dt >= 300 && dt < 2500, `closed after ${dt} ms`);
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.tsc, "sD--");
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});
