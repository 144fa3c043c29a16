// A 100 MiB TCP transfer spanning 5 reloads arrives intact: the stream keeps
// the frontend, backend and server it started with while the configuration
// around it is replaced (the reloads alternate two server lists, so the
// stream's server is even removed from the configuration in between).
//
// The client reads and hashes; after every 16 MiB it stops reading, reloads
// the proxy (waiting for "reload #N done"), and reads on: every reload
// happens with the transfer in the middle of the proxy's buffers.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeQuietly, closeWrite, connect } from "../../_helpers/client.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { duplexServer } from "../../_helpers/servers.ts";
import { reloadWith } from "./_reload.ts";
import { tcpConfig } from "../tcp/_common.ts";

const MIB = 1024 * 1024;
const TOTAL = 100 * MIB;
const RELOAD_EVERY = 16 * MIB;
const RELOADS = 5;

function config(serverPort: number, names: string[]): string {
  return tcpConfig({
    servers: names.map((n) => `{ name: ${n}, address: "127.0.0.1:${serverPort}" }`),
    timeouts: "connect: 1s, client: 30s, server: 30s",
  });
}

Deno.test("reload: a 100 MiB TCP transfer spanning 5 reloads arrives intact (SHA-256)", async () => {
  const server = duplexServer(TOTAL, 0x5eed);
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(config(server.port, ["s1"]));
    conn = await connect(proxy.port("fe"));
    await closeWrite(conn); // nothing to send: the server's FIN ends the transfer
    const localPort = (conn.localAddr as Deno.NetAddr).port;
    const h = createHash("sha256");
    const buf = new Uint8Array(256 * 1024);
    let count = 0;
    let reloads = 0;
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`transfer stalled at ${count} bytes`);
      const n = await conn.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      count += n;
      if (reloads < RELOADS && count >= (reloads + 1) * RELOAD_EVERY) {
        reloads++;
        // s1 is replaced by s2 and back: the stream's server leaves the configuration.
        const r = await reloadWith(proxy, config(server.port, [reloads % 2 === 1 ? "s2" : "s1"]));
        assert.ok(r.ok, r.lines.join("\n"));
      }
    }
    assert.equal(reloads, RELOADS);
    const [rec] = await server.records.waitFor(1, 10_000);
    assert.ok(rec !== undefined);
    assert.equal(count, TOTAL);
    assert.equal(h.digest("hex"), rec.sent.sha256, "the bytes differ from what the server sent");
    const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 10_000));
    assert.equal(log.ts, "--", log.line);
    assert.equal(log.bytes, TOTAL, log.line);
    assert.equal(`${log.backend}/${log.server}`, "be/s1", log.line);
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await server.close();
  }
});
