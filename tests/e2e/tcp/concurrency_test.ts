// 1,000 concurrent connections through the proxy, each carrying its own
// distinct payload (4–64 KiB) to an echo server: every client must get back
// exactly its own bytes — no mix-up between sessions, no loss — and the proxy
// must log one `--` line per session.
//
// All connections are opened first and only then do they all send, so the
// 1,000 sessions really overlap. The count is lowered only if the open-file
// limit (`ulimit -n`) cannot hold them: this process needs 2 descriptors per
// connection (client + echo server side), and so does the proxy.

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  readAll,
  SeededBytes,
  sha256Hex,
  writeAll,
} from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

const WANTED = 1_000;
const DEADLINE_MS = 60_000;

/** The soft open-file limit of this process (children inherit it). */
async function openFileLimit(): Promise<number> {
  const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"] }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}

const limit = await openFileLimit();
/** 2 fds per connection, 200 kept for Deno itself, pipes, listeners. */
const COUNT = Math.min(WANTED, Math.floor((limit - 200) / 2));
if (COUNT < WANTED) {
  console.warn(
    `concurrency_test: ulimit -n is ${limit}; running ${COUNT} connections, not ${WANTED}`,
  );
}

function payloadOf(i: number): Uint8Array {
  const size = 4096 + ((i * 7919) % (60 * 1024 + 1)); // 4 KiB .. 64 KiB
  return new SeededBytes(0x5eed0000 + i).bytes(size);
}

Deno.test(`tcp concurrency: ${COUNT} concurrent sessions each get exactly their own bytes back`, async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    proxy = await startProxy(`
global: { log: stdout, maxconn: 4096 }
defaults:
  mode: tcp
  timeout: { connect: 5s, client: 30s, server: 30s }
  option: [tcplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    maxconn: 2000
    default_backend: be
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${server.port}" }
`);
    const port = proxy.port("fe");
    // 1. open every connection
    const opened = await Promise.allSettled(
      Array.from({ length: COUNT }, () => connect(port, DEADLINE_MS)),
    );
    for (const r of opened) if (r.status === "fulfilled") conns.push(r.value);
    const failed = opened.find((r) => r.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;

    // 2. all send at once, each reading its echo concurrently
    const payloads = conns.map((_, i) => payloadOf(i));
    const results = await Promise.all(conns.map(async (conn, i) => {
      const reading = readAll(conn, DEADLINE_MS);
      await writeAll(conn, payloads[i]!, DEADLINE_MS);
      await closeWrite(conn);
      return await reading;
    }));

    let bad = 0;
    const firstBad: string[] = [];
    results.forEach((got, i) => {
      const want = payloads[i]!;
      const ok = got.end === "eof" && got.data.length === want.length &&
        sha256Hex(got.data) === sha256Hex(want);
      if (!ok) {
        bad++;
        if (firstBad.length < 5) {
          firstBad.push(
            `#${i}: sent ${want.length}, got ${got.data.length} (${got.end} ${
              String(got.error ?? "")
            })`,
          );
        }
      }
    });
    assert.equal(bad, 0, `${bad} sessions got wrong bytes:\n${firstBad.join("\n")}`);
    assert.equal(server.accepted, COUNT);

    const logs = (await proxy.waitForLogs(/ fe be\//, COUNT, 20_000)).map(parseTcpLog);
    assert.equal(logs.length, COUNT);
    const notNormal = logs.filter((l) => l.ts !== "--");
    assert.equal(
      notNormal.length,
      0,
      `not "--":\n${notNormal.slice(0, 5).map((l) => l.line).join("\n")}`,
    );
    const bytes = logs.reduce((a, l) => a + l.bytes, 0);
    assert.equal(bytes, payloads.reduce((a, p) => a + p.length, 0), "sum of B in the logs");
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});
