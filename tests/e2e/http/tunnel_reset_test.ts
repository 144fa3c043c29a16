// A reset on one side of a tunnel: the other side gets every byte sent
// before it, then the close.

import assert from "node:assert/strict";
import { delay as sleep, sha256Hex as sha256, writeFull } from "../../_helpers/client.ts";
import { connectHttp, logsOf } from "./_http.ts";
import { bytesOf, within } from "./_bytes.ts";
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

Deno.test("tunnel: server reset after sending 512 KiB: the client gets them all, then the close", async () => {
  const down = bytesOf(512 * 1024, 19);
  const srv = tunnelServer(OK_200, async (conn, rd) => {
    await rd.readN(1); // the client's first byte: the tunnel is up both ways
    await writeFull(conn, down);
    await sleep(400); // everything is on the proxy's side now
    // Unread bytes in our receive buffer: close() sends a RST.
    return null;
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    await c.send("X");
    await sleep(100);
    await c.send("unread".repeat(100)); // left in the server's receive queue
    await sleep(1000); // not reading: the reset comes while the data waits in the proxy
    const got = await within(drain(c.reader), 5000, "client to close");
    assert.equal(got.data.length, down.length);
    assert.equal(sha256(got.data), sha256(down));
    c.close();
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.status, 200);
    // Deno's TcpConn.read() returns null (EOF) on ECONNRESET, so over TCP
    // the proxy cannot tell this reset from a FIN and logs "----"; the
    // unix-socket tests in tests/e2e/tcp/edge_test.ts assert the state.
    assert.ok(["SD--", "----"].includes(log!.tsc), log!.line);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});

Deno.test("tunnel: client reset after sending 512 KiB: the server gets them all, then the close", async () => {
  const up = bytesOf(512 * 1024, 23);
  const srv = tunnelServer(SWITCH_101 + "unread-by-client".repeat(50), async (_conn, rd) => {
    await sleep(1000); // not reading until the reset happened
    return await drain(rd);
  });
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(UPGRADE_REQ);
    await sleep(300); // the 101 and the bytes after it sit unread in our buffer
    await writeFull(c.conn, up);
    await sleep(300);
    c.close(); // unread data: RST
    const sgot = await within(srv.done, 5000, "server to close");
    assert.equal(sgot.data.length, up.length);
    assert.equal(sha256(sgot.data), sha256(up));
    const [log] = await logsOf(proxy, c.localPort);
    assert.equal(log!.status, 101);
    // Deno's TcpConn.read() returns null (EOF) on ECONNRESET, so over TCP
    // the proxy cannot tell this reset from a FIN and logs "----"; the
    // unix-socket tests in tests/e2e/tcp/edge_test.ts assert the state.
    assert.ok(["CD--", "----"].includes(log!.tsc), log!.line);
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});
