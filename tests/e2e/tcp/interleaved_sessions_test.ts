// Short sessions next to a long transfer on the same proxy: nobody gets
// another session's bytes and nobody waits for the long one.
//
// Every test asserts the exact bytes each side received (SHA-256) and the
// termination state of the tcplog line.

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  readAll,
  SeededBytes,
  sha256Hex,
  writeAll,
  writeSeeded,
} from "../../_helpers/client.ts";
import { duplexServer, echoServer } from "../../_helpers/servers.ts";
import { parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { MiB, slowReadHashed } from "./_common.ts";

// Short connections come and go while a long transfer runs both ways on the
// same proxy: nobody gets another's bytes, nobody waits for the long one.
Deno.test("tcp: 40 short echo sessions interleaved with a 4 MiB duplex transfer, all intact", async () => {
  const TOTAL = 4 * MiB;
  const long = duplexServer(TOTAL, 71);
  const echo = echoServer();
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 5s, server: 5s }
  option: [tcplog]
frontends:
  long: { bind: "127.0.0.1:0", default_backend: long }
  short: { bind: "127.0.0.1:0", default_backend: short }
backends:
  long: { servers: [ { name: s1, address: "127.0.0.1:${long.port}" } ] }
  short: { servers: [ { name: s1, address: "127.0.0.1:${echo.port}" } ] }
`);
    conn = await connect(proxy.port("long"));
    const c = conn;
    const download = slowReadHashed(c, { startMs: 0, chunk: 32 * 1024, pauseMs: 1 });
    const upload = (async () => {
      const s = await writeSeeded(c, TOTAL, 72, 10_000);
      await closeWrite(c);
      return s;
    })();
    const shortPort = proxy.port("short");
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const id = round * 8 + i;
        const msg = new SeededBytes(1000 + id).bytes(100 + id * 311);
        const sc = await connect(shortPort);
        try {
          const reading = readAll(sc, 5_000);
          await writeAll(sc, msg, 5_000);
          await closeWrite(sc);
          const got = await reading;
          assert.equal(got.end, "eof", `short ${id}`);
          assert.equal(sha256Hex(got.data), sha256Hex(msg), `short ${id}: wrong bytes`);
        } finally {
          closeQuietly(sc);
        }
      }));
    }
    const [got, sent] = await Promise.all([download, upload]);
    const [rec] = await long.records.waitFor(1, 5_000);
    assert.equal(got.end, "eof");
    assert.equal(got.count, TOTAL);
    assert.equal(got.sha256, rec?.sent.sha256);
    assert.equal(rec?.received.count, TOTAL);
    assert.equal(rec?.received.sha256, sent.sha256);
    const logs = await proxy.waitForLogs(/ short short\/s1 /, 40, 3_000);
    for (const l of logs) assert.equal(parseTcpLog(l).ts, "--", l);
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await long.close();
    await echo.close();
  }
});
