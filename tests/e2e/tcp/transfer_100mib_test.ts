// 100 MiB in both directions at once through the proxy: nothing lost,
// nothing reordered, nothing duplicated, and the log accounts for every byte.
//
// The client sends 100 MiB of seeded pseudo-random bytes while the server
// sends another 100 MiB stream (other seed) back at the same time; neither side
// waits for the other, so both channels of the proxy are full at once. Both
// ends hash what they send and what they receive, chunk by chunk (nothing is
// held whole in memory).

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  readHashed,
  writeSeeded,
} from "../../_helpers/client.ts";
import { duplexServer } from "../../_helpers/servers.ts";
import { logLineOf, parseTcpLog, startProxy } from "../../_helpers/proxy.ts";
import { tcpConfig } from "./_common.ts";

const MIB100 = 100 * 1024 * 1024;
/** Generous for 2 shared cores: 200 MiB through the proxy plus 400 MiB of hashing. */
const TRANSFER_DEADLINE_MS = 90_000;

Deno.test("tcp: 100 MiB each way at once arrives intact, log says -- and B=104857600", async () => {
  const server = duplexServer(MIB100, 0xbeef);
  let proxy;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${server.port}" }`],
      timeouts: "connect: 1s, client: 30s, server: 30s",
    }));
    conn = await connect(proxy.port("fe"));
    const c = conn;
    const localPort = (c.localAddr as Deno.NetAddr).port;
    const [sent, got] = await Promise.all([
      writeSeeded(c, MIB100, 0xcafe, TRANSFER_DEADLINE_MS).then(async (s) => {
        await closeWrite(c);
        return s;
      }),
      readHashed(c, TRANSFER_DEADLINE_MS),
    ]);
    assert.equal(got.end, "eof", `client read ended by ${String(got.error)}`);
    const [rec] = await server.records.waitFor(1, 10_000);
    assert.ok(rec !== undefined);
    // client → server
    assert.equal(rec.received.end, "eof");
    assert.equal(rec.received.count, MIB100);
    assert.equal(rec.received.sha256, sent.sha256);
    // server → client
    assert.equal(got.count, MIB100);
    assert.equal(got.sha256, rec.sent.sha256);

    const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 10_000));
    assert.equal(log.ts, "--", log.line);
    assert.equal(log.bytes, MIB100, log.line);
    assert.equal(`${log.frontend} ${log.backend}/${log.server}`, "fe be/s1", log.line);
    assert.equal(server.accepted, 1);
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await server.close();
  }
});
