// A reset on one side of a TCP session while the proxy still holds bytes for
// the other side: every byte the proxy read is delivered before the close
// (SD / CD), as HAProxy does. The same sessions with clean closes are the
// controls.
//
// Every test asserts the exact bytes each side received (SHA-256) and the
// termination state of the tcplog line.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  closeQuietly,
  closeWrite,
  type HashedRead,
  readExactly,
  SeededBytes,
  td,
  te,
  writeAll,
  writeFull,
  writeSeeded,
} from "../../_helpers/client.ts";
import type { Received } from "../../_helpers/servers.ts";
import { Events } from "../../_helpers/signal.ts";
import { parseTcpLog, type ProxyProcess, startProxy, type TcpLog } from "../../_helpers/proxy.ts";
import { MiB, slowReadHashed, tcpConfig } from "./_common.ts";

/** SHA-256 of the first `n` bytes of seed `seed`'s stream (as writeSeeded sends them). */
function seededSha(n: number, seed: number): string {
  const gen = new SeededBytes(seed);
  const h = createHash("sha256");
  const buf = new Uint8Array(256 * 1024);
  for (let left = n; left > 0; left -= buf.length) {
    gen.fill(buf);
    h.update(buf.subarray(0, Math.min(left, buf.length)));
  }
  return h.digest("hex");
}

/** A temporary directory for unix sockets, removed after `fn`. */
async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-edge-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Bytes of the reset tests. */
const RESET_TOTAL = 4 * MiB;

// A server reset (READ_ERROR on res) ends the stream at once in TCP mode:
// stream.ts process() step 2 calls #abort(SF_ERR_SRVCL, SF_FINST_D), which
// erases `res` (or, with a write in flight, closes the client under it) and
// closes the client. What the proxy had already read from the server and not
// yet written to a slow client is dropped, and the client sees a clean EOF
// after a truncated stream. HAProxy shuts the server side only, forwards what
// `res` holds, then closes the client (SD).
//
// Both sides are unix sockets, so that buffers are small and "written" means
// "in the peer's receive queue" (no send queue a reset would discard): the
// server writes 4 MiB, then closes with the client's byte unread (the proxy
// reads everything, then ECONNRESET). The same session with a clean close is
// the control (guards below).
async function unixServerThenClose(
  reset: boolean,
): Promise<{ got: HashedRead; sent: { sha256: string; count: number }; log: TcpLog }> {
  return await inTempDir(async (dir) => {
    const path = `${dir}/srv.sock`, front = `${dir}/fe.sock`;
    const l = Deno.listen({ transport: "unix", path });
    const sent = new Events<{ sha256: string; count: number }>();
    const served = (async () => {
      let c: Deno.Conn;
      try {
        c = await l.accept();
      } catch {
        return;
      }
      try {
        // Clean close: read the client's byte first. Reset: leave it unread.
        if (!reset) await readExactly(c, 1, 5_000);
        sent.push(await writeSeeded(c, RESET_TOTAL, 41, 10_000));
      } catch {
        // the proxy went away: the test's assertions say why
      } finally {
        closeQuietly(c);
      }
    })();
    let proxy: ProxyProcess | undefined;
    let conn: Deno.UnixConn | undefined;
    try {
      proxy = await startProxy(tcpConfig({
        bind: `unix@${front}`,
        servers: [`{ name: s1, address: "unix@${path}" }`],
      }));
      await proxy.waitForStderr(/listening fe unix@/, 3_000);
      conn = await Deno.connect({ transport: "unix", path: front });
      await writeAll(conn, te.encode("x"));
      const got = await slowReadHashed(conn, { startMs: 300, chunk: 16 * 1024, pauseMs: 1 });
      const [s] = await sent.waitFor(1, 5_000, "the server's write to finish");
      await closeWrite(conn, true);
      const log = parseTcpLog(await proxy.waitForLog(/ fe be\/s1 /, 3_000));
      return { got, sent: s!, log };
    } finally {
      if (conn !== undefined) closeQuietly(conn);
      await proxy?.stop();
      l.close();
      await served;
    }
  });
}

Deno.test("tcp reset: a unix server resets after its last byte; a slow client still gets every byte the proxy read, SD", async () => {
  const { got, sent, log } = await unixServerThenClose(true);
  assert.equal(sent.count, RESET_TOTAL);
  assert.equal(
    got.count,
    sent.count,
    `the client got ${got.count} of the ${sent.count} bytes the server wrote before its reset ` +
      `(end: ${got.end}): ${log.line}`,
  );
  assert.equal(got.sha256, sent.sha256);
  assert.equal(log.ts, "SD", log.line);
});

// The mirror image: a client reset (READ_ERROR on req) ends the stream at
// once (stream.ts process() step 2, #abort(SF_ERR_CLICL, ...)), erasing what
// `req` still holds for a slow server, and the server gets a clean EOF after
// a truncated upload. HAProxy shuts the client side, forwards `req` to the
// server, then sends the FIN (CD). Unix sockets on both sides again: the
// client's write completes only once its bytes are in the proxy's receive
// queue; it sends 4 MiB, then closes without reading the server's one-byte
// greeting.
async function unixClientThenClose(reset: boolean): Promise<{ got: Received; log: TcpLog }> {
  return await inTempDir(async (dir) => {
    const path = `${dir}/srv.sock`, front = `${dir}/fe.sock`;
    const l = Deno.listen({ transport: "unix", path });
    const received = new Events<Received>();
    const served = (async () => {
      let c: Deno.Conn;
      try {
        c = await l.accept();
      } catch {
        return;
      }
      try {
        await writeFull(c, te.encode("g"));
        const r = await slowReadHashed(c, { startMs: 300, chunk: 16 * 1024, pauseMs: 1 });
        received.push({ sha256: r.sha256, count: r.count, end: r.end });
      } catch {
        // the proxy went away: the test's assertions say why
      } finally {
        closeQuietly(c);
      }
    })();
    let proxy: ProxyProcess | undefined;
    let conn: Deno.UnixConn | undefined;
    try {
      proxy = await startProxy(tcpConfig({
        bind: `unix@${front}`,
        servers: [`{ name: s1, address: "unix@${path}" }`],
      }));
      await proxy.waitForStderr(/listening fe unix@/, 3_000);
      conn = await Deno.connect({ transport: "unix", path: front });
      const sent = await writeSeeded(conn, RESET_TOTAL, 42, 10_000);
      assert.equal(sent.sha256, seededSha(RESET_TOTAL, 42));
      // Clean close: read the greeting first. Reset: leave it unread.
      if (!reset) assert.equal(td.decode(await readExactly(conn, 1, 3_000)), "g");
      conn.close();
      conn = undefined;
      const [got] = await received.waitFor(1, 8_000, "the server to read until EOF");
      const log = parseTcpLog(await proxy.waitForLog(/ fe be\/s1 /, 3_000));
      return { got: got!, log };
    } finally {
      if (conn !== undefined) closeQuietly(conn);
      await proxy?.stop();
      l.close();
      await served;
    }
  });
}

Deno.test("tcp reset: a unix client resets after its last byte; a slow server still gets every byte the proxy read, CD", async () => {
  const { got, log } = await unixClientThenClose(true);
  assert.equal(
    got.count,
    RESET_TOTAL,
    `the server got ${got.count} of the ${RESET_TOTAL} bytes the client wrote before its reset, ` +
      `then ${got.end === "eof" ? "a clean FIN" : "a reset"}: ${log.line}`,
  );
  assert.equal(got.sha256, seededSha(RESET_TOTAL, 42));
  assert.equal(log.ts, "CD", log.line);
});

// Controls of the two reset tests: the same sessions with clean closes
// deliver every byte, so the losses above come from the reset handling.
Deno.test("tcp: a unix server closes cleanly after 4 MiB; the slow client gets every byte, --", async () => {
  const { got, sent, log } = await unixServerThenClose(false);
  assert.equal(got.end, "eof");
  assert.equal(got.count, sent.count);
  assert.equal(got.sha256, sent.sha256);
  assert.equal(log.ts, "--", log.line);
  assert.equal(log.bytes, sent.count, log.line);
});

Deno.test("tcp: a unix client closes cleanly after 4 MiB; the slow server gets every byte, --", async () => {
  const { got, log } = await unixClientThenClose(false);
  assert.equal(got.end, "eof");
  assert.equal(got.count, RESET_TOTAL);
  assert.equal(got.sha256, seededSha(RESET_TOTAL, 42));
  assert.equal(log.ts, "--", log.line);
});
