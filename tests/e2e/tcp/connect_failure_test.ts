// Bytes a client sends before its server connection exists, when that
// connection fails: after a connect timeout and a redispatch they reach the
// next server once; when every connect is refused they are dropped with the
// session (SC) and the next session is unaffected.
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
  td,
  te,
  writeAll,
} from "../../_helpers/client.ts";
import { blackholeServer, deadPort, sinkServer } from "../../_helpers/servers.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { tcpConfig } from "./_common.ts";

// Data and FIN received while the first connect hangs, then a connect
// timeout and a redispatch: everything reaches the second server once.
Deno.test("tcp: data and FIN buffered during a hanging connect reach the redispatched server, +1 --", async () => {
  const hole = await blackholeServer();
  const sink = sinkServer({ reply: (r) => te.encode(`${r.count}:${r.sha256}`) });
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [
        `{ name: s1, address: "127.0.0.1:${hole.port}" }`,
        `{ name: s2, address: "127.0.0.1:${sink.port}" }`,
      ],
      timeouts: "connect: 200ms, client: 5s, server: 5s",
      backendExtra: "    retries: 1\n    balance: first\n    option: [redispatch]",
    }));
    const data = new SeededBytes(81).bytes(96 * 1024 + 1);
    const c = await connect(proxy.port("fe"));
    try {
      const localPort = (c.localAddr as Deno.NetAddr).port;
      const reading = readAll(c, 5_000);
      await writeAll(c, data);
      await closeWrite(c);
      const got = await reading;
      assert.equal(got.end, "eof");
      assert.equal(td.decode(got.data), `${data.length}:${sha256Hex(data)}`);
      const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 3_000));
      assert.equal(`${log.backend}/${log.server}`, "be/s2", log.line);
      assert.ok(log.redispatched, log.line);
      assert.equal(log.retries, 1, log.line);
      assert.equal(log.ts, "--", log.line);
      assert.equal(sink.accepted, 1);
    } finally {
      closeQuietly(c);
    }
  } finally {
    await proxy?.stop();
    await sink.close();
    await hole.close();
  }
});

// All servers refuse: the bytes the client sent are dropped with the
// session, the client gets an EOF and nothing else, and a second session
// right after is unaffected (SC both times).
Deno.test("tcp: refused connects with data buffered end in SC without affecting the next session", async () => {
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${deadPort()}" }`],
      timeouts: "connect: 200ms, client: 5s, server: 5s",
      backendExtra: "    retries: 1",
    }));
    for (let i = 0; i < 2; i++) {
      const c = await connect(proxy.port("fe"));
      try {
        const localPort = (c.localAddr as Deno.NetAddr).port;
        const reading = readAll(c, 5_000);
        await writeAll(c, new SeededBytes(90 + i).bytes(8 * 1024));
        const got = await reading;
        assert.equal(got.data.length, 0);
        const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 3_000));
        assert.equal(log.ts, "SC", log.line);
        assert.equal(log.retries, 1, log.line);
      } finally {
        closeQuietly(c);
      }
    }
  } finally {
    await proxy?.stop();
  }
});
