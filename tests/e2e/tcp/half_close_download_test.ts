// A client that half-closes at once and then reads a large download slowly:
// its FIN reaches the server at once and back-pressure through the proxy's
// buffers loses nothing.
//
// Every test asserts the exact bytes each side received (SHA-256) and the
// termination state of the tcplog line.

import assert from "node:assert/strict";
import { closeQuietly, closeWrite, connect } from "../../_helpers/client.ts";
import { duplexServer } from "../../_helpers/servers.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { MiB, slowReadHashed, tcpConfig } from "./_common.ts";

// The client half-closes at once while the server streams 8 MiB to it, and
// it reads slowly (backpressure through the proxy's buffers): its FIN reaches
// the server right away, the download arrives intact, then the server's FIN.
Deno.test("tcp: client half-closes at once, slow-read 8 MiB download arrives intact, --", async () => {
  const TOTAL = 8 * MiB;
  const server = duplexServer(TOTAL, 61);
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${server.port}" }`],
    }));
    conn = await connect(proxy.port("fe"));
    const localPort = (conn.localAddr as Deno.NetAddr).port;
    await closeWrite(conn);
    const got = await slowReadHashed(conn, { startMs: 200, chunk: 64 * 1024, pauseMs: 1 });
    const [rec] = await server.records.waitFor(1, 5_000);
    assert.equal(rec?.received.count, 0);
    assert.equal(rec?.received.end, "eof");
    assert.equal(got.end, "eof");
    assert.equal(got.count, TOTAL);
    assert.equal(got.sha256, rec?.sent.sha256);
    const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 3_000));
    assert.equal(log.ts, "--", log.line);
    assert.equal(log.bytes, TOTAL, log.line);
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await server.close();
  }
});
