// Backend-side layer-4 rules in TCP mode: `tcp-request content` rules of
// the backend (with its own inspect-delay) and `use-server` pick a server
// from the first bytes of the stream; those bytes then reach it intact.

import assert from "node:assert/strict";
import { closeQuietly, closeWrite, connect, readAll, te, writeAll } from "../../_helpers/client.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { tcpConfig } from "./_common.ts";

Deno.test("tcp content: use-server and tcp-request content use-server choose by payload", async () => {
  const e1 = echoServer(), e2 = echoServer();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      timeouts: "connect: 2s, client: 10s, server: 10s",
      backendExtra: `    balance: roundrobin
    tcp-request:
      - "inspect-delay 5s"
      - "content reject if { req.payload(0,4) -m str QUIT }"
      - "content use-server s1 if { req.payload(0,3) -m str one }"
      - "content accept if { req.len ge 3 }"
    use-server: ["s2 if { req.payload(0,3) -m str two }"]`,
      servers: [
        `{ name: s1, address: "127.0.0.1:${e1.port}" }`,
        `{ name: s2, address: "127.0.0.1:${e2.port}" }`,
      ],
    }));
    const fe = proxy.port("fe");
    const send = async (parts: string[]) => {
      const c = await connect(fe);
      const me = (c.localAddr as Deno.NetAddr).port;
      for (const p of parts) await writeAll(c, te.encode(p));
      await closeWrite(c);
      const r = await readAll(c, 10_000);
      closeQuietly(c);
      const log = parseTcpLog(await proxy!.waitForLog(logLineOf(me), 10_000));
      return { echoed: new TextDecoder().decode(r.data), log };
    };
    for (let i = 0; i < 3; i++) {
      const two = await send(["tw", "o-payload"]);
      assert.equal(two.echoed, "two-payload");
      assert.equal(two.log.server, "s2", two.log.line);
      const one = await send(["one-payload"]);
      assert.equal(one.echoed, "one-payload");
      assert.equal(one.log.server, "s1", one.log.line);
    }
    const quit = await send(["QUIT now"]);
    assert.equal(quit.echoed, "");
    assert.equal(quit.log.ts, "PR", quit.log.line);
  } finally {
    await proxy?.stop();
    await e1.close();
    await e2.close();
  }
});
