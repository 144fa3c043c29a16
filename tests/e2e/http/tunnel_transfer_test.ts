// Large transfers through tunnels (CONNECT and Upgrade): 6 MiB each way at
// once checked by SHA-256 with the FINs after the data and one log line,
// and a CONNECT 200 sharing a burst with 1 MiB before the server closes.

import assert from "node:assert/strict";
import { delay as sleep, sha256Hex as sha256, writeFull } from "../../_helpers/client.ts";
import { logsOf } from "./_http.ts";
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

for (
  const [kind, req, reply, status] of [
    ["CONNECT", CONNECT_REQ, OK_200, 200],
    ["Upgrade", UPGRADE_REQ, SWITCH_101, 101],
  ] as const
) {
  Deno.test(`tunnel (${kind}): 6 MiB each way at once, SHA-256 both sides, FINs after the data, one log line`, async () => {
    const up = bytesOf(6 * 1024 * 1024, 3), down = bytesOf(6 * 1024 * 1024, 5);
    const srv = tunnelServer(reply, async (conn, rd) => {
      const w = (async () => {
        await writeFull(conn, down);
        await conn.closeWrite();
      })();
      const got = await drain(rd);
      await w;
      return got;
    });
    const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
    const c = await open(proxy, req, status);
    try {
      const w = (async () => {
        await writeFull(c.conn, up);
        await c.conn.closeWrite();
      })();
      const got = await within(drain(c.reader), 15_000, "client side to EOF");
      await w;
      const sgot = await within(srv.done, 15_000, "server side to EOF");
      assert.equal(got.end, "eof");
      assert.equal(got.data.length, down.length);
      assert.equal(sha256(got.data), sha256(down));
      assert.equal(sgot.end, "eof");
      assert.equal(sgot.data.length, up.length);
      assert.equal(sha256(sgot.data), sha256(up));
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.status, status);
      assert.equal(log!.tsc, "----");
      const headLen = status === 200 ? OK_200.length : SWITCH_101.length;
      assert.equal(log!.bytes, headLen + down.length);
      await sleep(300);
      assert.equal(proxy.logs.filter((l) => l.includes(`:${c.localPort} [`)).length, 1);
    } finally {
      c.close();
      await proxy.stop();
      await srv.loop.close();
    }
  });
}

Deno.test("CONNECT: 200 plus 1 MiB in the same burst then close, client silent: all bytes then EOF", async () => {
  const down = bytesOf(1024 * 1024, 17);
  const srv = tunnelServer(OK_200, async (conn) => {
    await writeFull(conn, down);
    return null;
  }); // the accept loop closes the connection when the handler ends
  const proxy = await proxyFor(srv.loop.port, { tunnel: "5s" });
  const c = await open(proxy, CONNECT_REQ, 200);
  try {
    const got = await within(drain(c.reader), 5000, "client to EOF");
    assert.equal(got.end, "eof");
    assert.equal(sha256(got.data), sha256(down));
  } finally {
    c.close();
    await proxy.stop();
    await srv.loop.close();
  }
});
