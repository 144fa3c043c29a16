// Sessions that carry no byte at all: the client or the server closes at
// once. Each is forwarded as an empty stream with a FIN and logged "--" with
// 0 bytes.
//
// Every test asserts the exact bytes each side received (SHA-256) and the
// termination state of the tcplog line.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import {
  closeQuietly,
  closeWrite,
  connect,
  delay,
  readAll,
  withDeadline,
} from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { tcpConfig } from "./_common.ts";

// Zero-byte connections: open then close at once, many of them at the same
// time. Each one reaches the server as an empty stream with a FIN, and logs
// "--" with 0 bytes; a server that closes at once gives the client an EOF.
Deno.test("tcp: zero-byte connections (client closes at once, or server does) log -- with 0 bytes", async () => {
  const COUNT = 20;
  const echo = echoServer();
  const closer = new AcceptLoop(() => Promise.resolve());
  let proxy: ProxyProcess | undefined;
  let proxy2: ProxyProcess | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${echo.port}" }`],
    }));
    const fe = proxy.port("fe");
    const ports = await Promise.all(Array.from({ length: COUNT }, async () => {
      const c = await connect(fe);
      const p = (c.localAddr as Deno.NetAddr).port;
      c.close();
      return p;
    }));
    for (const p of ports) {
      const log = parseTcpLog(await proxy.waitForLog(logLineOf(p), 3_000));
      assert.equal(log.ts, "--", log.line);
      assert.equal(log.bytes, 0, log.line);
    }
    assert.equal(echo.accepted, COUNT);
    await withDeadline(
      async () => {
        while (echo.echoed.length < COUNT) await delay(20);
      },
      3_000,
      "the echo server to see every EOF",
    );
    assert.deepEqual(echo.echoed, new Array(COUNT).fill(0));

    proxy2 = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${closer.port}" }`],
    }));
    const c = await connect(proxy2.port("fe"));
    try {
      const localPort = (c.localAddr as Deno.NetAddr).port;
      const got = await readAll(c, 3_000);
      assert.equal(got.end, "eof");
      assert.equal(got.data.length, 0);
      await closeWrite(c);
      const log = parseTcpLog(await proxy2.waitForLog(logLineOf(localPort), 3_000));
      assert.equal(log.ts, "--", log.line);
      assert.equal(log.bytes, 0, log.line);
    } finally {
      closeQuietly(c);
    }
  } finally {
    await proxy?.stop();
    await proxy2?.stop();
    await echo.close();
    await closer.close();
  }
});
