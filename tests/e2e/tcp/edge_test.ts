// TCP-mode edge cases through real sockets: resets with data still buffered
// in the proxy, timeouts when one side stops reading, clients that leave or
// send everything before their server connection exists, connect retries
// under maxconn, zero-byte and interleaved short/long connections.
//
// Every test asserts the exact bytes each side received (SHA-256) and the
// termination state of the tcplog line. The first group are bugs found in
// review (each comment says what happens on the current code); the rest are
// guards of risky paths that work.
import assert from "node:assert/strict";
import net from "node:net";
import { createHash } from "node:crypto";
import { AcceptLoop } from "../../_helpers/accept.ts";
import {
  closeQuietly,
  closeWrite,
  connect,
  delay,
  type HashedRead,
  readAll,
  readExactly,
  readToEof,
  SeededBytes,
  sha256Hex,
  td,
  te,
  withDeadline,
  writeAll,
  writeFull,
  writeSeeded,
} from "../../_helpers/client.ts";
import {
  blackholeServer,
  deadPort,
  duplexServer,
  echoServer,
  type Received,
  sinkServer,
} from "../../_helpers/servers.ts";
import { Events } from "../../_helpers/signal.ts";
import {
  logLineOf,
  parseTcpLog,
  type ProxyProcess,
  startProxy,
  type TcpLog,
} from "../../_helpers/proxy.ts";

/** A TCP-mode proxy: one frontend `fe` on `bind`, backend `be` with `servers` lines. */
function tcpConfig(opts: {
  bind?: string;
  servers: string[];
  timeouts?: string;
  backendExtra?: string;
}): string {
  return `
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { ${opts.timeouts ?? "connect: 1s, client: 5s, server: 5s"} }
  option: [tcplog]
frontends:
  fe:
    bind: "${opts.bind ?? "127.0.0.1:0"}"
    default_backend: be
backends:
  be:
${opts.backendExtra ?? ""}
    servers:
${opts.servers.map((s) => `      - ${s}`).join("\n")}
`;
}

/**
 * Reads and hashes until EOF or a read error, like a slow consumer: nothing
 * for `startMs`, then at most `chunk` bytes per read with `pauseMs` between
 * reads.
 */
function slowReadHashed(
  conn: Deno.Conn,
  opts: { startMs: number; chunk: number; pauseMs: number },
  deadlineMs = 10_000,
): Promise<HashedRead> {
  return withDeadline(
    async () => {
      await delay(opts.startMs);
      const h = createHash("sha256");
      const buf = new Uint8Array(opts.chunk);
      let count = 0;
      for (;;) {
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch (error) {
          return { sha256: h.digest("hex"), count, end: "reset", error };
        }
        if (n === null) return { sha256: h.digest("hex"), count, end: "eof", error: null };
        h.update(buf.subarray(0, n));
        count += n;
        await delay(opts.pauseMs);
      }
    },
    deadlineMs,
    "reading slowly until EOF",
    () => closeQuietly(conn),
  );
}

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

const MiB = 1024 * 1024;
/** Bytes of the reset tests. */
const RESET_TOTAL = 4 * MiB;

// ---------------------------------------------------------------------------
// Bugs found in review. Each test fails on the current code; the comment
// says how.

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

// A client that stops reading a download blocks the server behind it: `res`
// fills and the proxy stops reading the server. #serverExpiry() still counts
// `timeout server` from the server side's last read (srvSi.lastActivity), so
// with timeout server < timeout client the session is cut after timeout
// server and blamed on the server (sD). HAProxy disarms the server read
// timeout while the buffer is full and times out the blocked client write
// (cD after timeout client).
Deno.test("tcp timeout: a client that stops reading a download is timed out by timeout client (cD), not blamed on the server", async () => {
  const CLIENT_MS = 900, SERVER_MS = 300;
  const server = new AcceptLoop(async (c) => {
    const buf = new SeededBytes(7).bytes(256 * 1024);
    try {
      for (let i = 0; i < 256; i++) await writeFull(c, buf);
    } catch {
      // the proxy closed: expected
    }
  });
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${server.port}" }`],
      timeouts: `connect: 1s, client: ${CLIENT_MS}ms, server: ${SERVER_MS}ms`,
    }));
    conn = await connect(proxy.port("fe"));
    const localPort = (conn.localAddr as Deno.NetAddr).port;
    // The client neither sends nor reads.
    const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 4_000));
    assert.equal(log.ts, "cD", log.line);
    assert.ok(log.tt >= CLIENT_MS - 20, `Tt ${log.tt} < timeout client ${CLIENT_MS}: ${log.line}`);
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await server.close();
  }
});

// The same in the other direction: a server that stops reading an upload
// blocks the client behind it; `req` fills, the proxy stops reading the
// client, and #clientExpiry() cuts the session after timeout client (cD)
// although the client keeps trying to send. Expected: sD after timeout server.
Deno.test("tcp timeout: a server that stops reading an upload is timed out by timeout server (sD), not blamed on the client", async () => {
  const CLIENT_MS = 300, SERVER_MS = 900;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = new AcceptLoop(async () => {
    await released; // never reads
  });
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${server.port}" }`],
      timeouts: `connect: 1s, client: ${CLIENT_MS}ms, server: ${SERVER_MS}ms`,
    }));
    conn = await connect(proxy.port("fe"));
    const localPort = (conn.localAddr as Deno.NetAddr).port;
    const c = conn;
    // Keeps sending until the proxy closes (its deadline closes the socket otherwise).
    const sending = writeSeeded(c, 256 * MiB, 8, 4_000).catch(() => null);
    const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 4_000));
    closeQuietly(c);
    await sending;
    assert.equal(log.ts, "sD", log.line);
    assert.ok(log.tt >= SERVER_MS - 20, `Tt ${log.tt} < timeout server ${SERVER_MS}: ${log.line}`);
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    release();
    await server.close();
  }
});

/** A proxy whose only server has maxconn 1, and a client `holder` keeping its slot busy. */
async function withHeldSlot(
  timeouts: string,
  body: (proxy: ProxyProcess) => Promise<void>,
): Promise<void> {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  let holder: Deno.TcpConn | undefined;
  let stop = false;
  let pinging: Promise<void> = Promise.resolve();
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${server.port}", maxconn: 1 }`],
      timeouts,
    }));
    const h = holder = await connect(proxy.port("fe"));
    // The holder stays active (one echo every 100 ms) so that no timeout ends it.
    await writeAll(h, te.encode("h"));
    assert.equal(td.decode(await readExactly(h, 1, 3_000)), "h");
    pinging = (async () => {
      while (!stop) {
        await delay(100);
        await writeAll(h, te.encode("p"), 3_000);
        await readExactly(h, 1, 3_000);
      }
    })();
    await body(proxy);
  } finally {
    stop = true;
    await pinging.catch(() => {});
    if (holder !== undefined) closeQuietly(holder);
    await proxy?.stop();
    await server.close();
  }
}

// A stream that ends while waiting in a server queue gets the stage of a
// connect ("C"): #checkTimeouts() and process() step 2 compute the stage as
// `srvSi.state === SI_ST_EST ? SF_FINST_D : SF_FINST_C`, so SI_ST_QUE never
// gives "Q". HAProxy logs cQ for a client timeout in the queue and CQ for a
// client abort in the queue.
Deno.test("tcp queue: a client idle in a server queue past timeout client is logged cQ", async () => {
  await withHeldSlot("connect: 1s, client: 400ms, server: 5s, queue: 5s", async (proxy) => {
    const c = await connect(proxy.port("fe"));
    try {
      const localPort = (c.localAddr as Deno.NetAddr).port;
      const got = await readToEof(c, 3_000);
      assert.equal(got.length, 0);
      const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 3_000));
      assert.equal(log.srvQueue, 1, `not queued? ${log.line}`);
      assert.equal(log.ts, "cQ", log.line);
    } finally {
      closeQuietly(c);
    }
  });
});

Deno.test("tcp queue: a client that resets while waiting in a server queue is logged CQ", async () => {
  await withHeldSlot("connect: 1s, client: 5s, server: 5s, queue: 5s", async (proxy) => {
    const s = net.connect(proxy.port("fe"), "127.0.0.1");
    try {
      await withDeadline(
        () =>
          new Promise<void>((resolve, reject) => s.once("connect", resolve).once("error", reject)),
        3_000,
        "connecting with node:net",
        () => s.destroy(),
      );
      const localPort = s.localPort!;
      await delay(200); // queued behind the holder
      s.resetAndDestroy();
      const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 3_000));
      assert.equal(log.srvQueue, 1, `not queued? ${log.line}`);
      assert.equal(log.ts, "CQ", log.line);
    } finally {
      s.destroy();
    }
  });
});

// On a failed connect, #serverSide() (SI_ST_CER) gives the server slot back
// (#releaseServer → Backend.release), which hands it at once to the oldest
// stream in that server's queue; the retry then goes TAR → ASS, and ASS takes
// a slot again with be.take(srv) without checking serverHasSlot(). With
// maxconn 1 the server ends up with two connections (the queued stream's and
// the retry's). HAProxy keeps the slot across retries to the same server.
Deno.test("tcp maxconn: a connect retry does not take a slot again after its queued successor got it", async () => {
  // A port that drops SYNs until we start accepting (see blackholeServer).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, tcpBacklog: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const fillers: Deno.TcpConn[] = [];
  const serving = new Set<Promise<void>>();
  const open = new Set<Deno.TcpConn>();
  let current = 0, max = 0;
  let accepting: Promise<void> = Promise.resolve();
  let proxy: ProxyProcess | undefined;
  const clients: Deno.TcpConn[] = [];
  try {
    for (let full = false, i = 0; !full && i < 16; i++) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 200);
      try {
        fillers.push(await Deno.connect({ hostname: "127.0.0.1", port, signal: ac.signal }));
      } catch (e) {
        if (!ac.signal.aborted) throw e;
        full = true;
      } finally {
        clearTimeout(timer);
      }
    }
    const fillerPorts = new Set(fillers.map((c) => (c.localAddr as Deno.NetAddr).port));
    const serve = async (c: Deno.TcpConn): Promise<void> => {
      current++;
      if (current > max) max = current;
      try {
        const buf = new Uint8Array(1024);
        for (;;) {
          const n = await c.read(buf);
          if (n === null) break;
          await writeFull(c, buf.subarray(0, n));
        }
        await c.closeWrite();
      } catch {
        // closed by the test
      } finally {
        current--;
        open.delete(c);
        closeQuietly(c);
      }
    };
    const startAccepting = () => {
      accepting = (async () => {
        for (;;) {
          let c: Deno.TcpConn;
          try {
            c = await listener.accept();
          } catch {
            return;
          }
          if (fillerPorts.has((c.remoteAddr as Deno.NetAddr).port)) {
            closeQuietly(c);
            continue;
          }
          open.add(c);
          const p: Promise<void> = serve(c).finally(() => serving.delete(p));
          serving.add(p);
        }
      })();
    };

    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${port}", maxconn: 1 }`],
      timeouts: "connect: 300ms, client: 5s, server: 5s, queue: 5s",
      backendExtra: "    retries: 1",
    }));
    const fe = proxy.port("fe");
    // A: its connect hangs (SYN dropped) while holding the only slot.
    const a = await connect(fe);
    clients.push(a);
    await writeAll(a, te.encode("A"));
    await delay(100);
    // B: queued behind A.
    const b = await connect(fe);
    clients.push(b);
    await writeAll(b, te.encode("B"));
    await delay(100);
    // From now on the server accepts. A's attempt times out at ~300 ms and
    // is retried after a 300 ms turn-around.
    startAccepting();
    const echoA = readExactly(a, 1, 5_000).then((x) => td.decode(x));
    const echoB = readExactly(b, 1, 5_000).then((x) => td.decode(x));
    const first = await Promise.race([echoA.then(() => a), echoB.then(() => b)]);
    await delay(900); // long enough for A's retry to connect if it may
    const maxWhileBoth = max;
    // Finish the one that was served, then the other must be served too.
    await closeWrite(first);
    await readToEof(first, 3_000);
    const other = first === a ? b : a;
    assert.equal(await echoA, "A");
    assert.equal(await echoB, "B");
    await closeWrite(other);
    await readToEof(other, 3_000);
    const logs = await proxy.waitForLogs(/ fe be\/s1 /, 2, 3_000);
    assert.ok(
      maxWhileBoth <= 1,
      `the server (maxconn 1) had ${maxWhileBoth} connections at once:\n${logs.join("\n")}`,
    );
  } finally {
    for (const c of clients) closeQuietly(c);
    await proxy?.stop();
    for (const c of fillers) closeQuietly(c);
    closeQuietly(listener);
    await accepting;
    for (const c of open) closeQuietly(c);
    await Promise.all([...serving]);
  }
});

// ---------------------------------------------------------------------------
// Guards: risky paths that work today.

// Controls of the two reset tests: the same sessions with clean closes
// deliver every byte, so the losses above come from the reset handling.
Deno.test("tcp guard: a unix server closes cleanly after 4 MiB; the slow client gets every byte, --", async () => {
  const { got, sent, log } = await unixServerThenClose(false);
  assert.equal(got.end, "eof");
  assert.equal(got.count, sent.count);
  assert.equal(got.sha256, sent.sha256);
  assert.equal(log.ts, "--", log.line);
  assert.equal(log.bytes, sent.count, log.line);
});

Deno.test("tcp guard: a unix client closes cleanly after 4 MiB; the slow server gets every byte, --", async () => {
  const { got, log } = await unixClientThenClose(false);
  assert.equal(got.end, "eof");
  assert.equal(got.count, RESET_TOTAL);
  assert.equal(got.sha256, seededSha(RESET_TOTAL, 42));
  assert.equal(log.ts, "--", log.line);
});

// A client that sends everything and closes completely while queued, before
// any server connection exists: once a slot frees up, its bytes reach the
// server, then the FIN.
Deno.test("tcp guard: data and close sent while queued reach the server in full, then the FIN, --", async () => {
  const server = sinkServer();
  let proxy: ProxyProcess | undefined;
  let holder: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(tcpConfig({
      servers: [`{ name: s1, address: "127.0.0.1:${server.port}", maxconn: 1 }`],
      timeouts: "connect: 1s, client: 5s, server: 5s, queue: 5s",
    }));
    holder = await connect(proxy.port("fe"));
    await writeAll(holder, te.encode("holder"));
    const data = new SeededBytes(51).bytes(128 * 1024 + 5);
    const c = await connect(proxy.port("fe"));
    const localPort = (c.localAddr as Deno.NetAddr).port;
    try {
      await writeAll(c, data, 3_000);
    } finally {
      closeQuietly(c); // a full close, not a half-close
    }
    await delay(200); // still queued: the holder keeps the only slot
    assert.equal(server.accepted, 1);
    await closeWrite(holder);
    const [first, second] = await server.received.waitFor(2, 5_000);
    assert.equal(first?.count, 6);
    assert.equal(second?.end, "eof");
    assert.equal(second?.count, data.length);
    assert.equal(second?.sha256, sha256Hex(data));
    const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort), 3_000));
    assert.equal(log.ts, "--", log.line);
    assert.equal(log.srvQueue, 1, log.line);
  } finally {
    if (holder !== undefined) closeQuietly(holder);
    await proxy?.stop();
    await server.close();
  }
});

// Zero-byte connections: open then close at once, many of them at the same
// time. Each one reaches the server as an empty stream with a FIN, and logs
// "--" with 0 bytes; a server that closes at once gives the client an EOF.
Deno.test("tcp guard: zero-byte connections (client closes at once, or server does) log -- with 0 bytes", async () => {
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

// The client half-closes at once while the server streams 8 MiB to it, and
// it reads slowly (backpressure through the proxy's buffers): its FIN reaches
// the server right away, the download arrives intact, then the server's FIN.
Deno.test("tcp guard: client half-closes at once, slow-read 8 MiB download arrives intact, --", async () => {
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

// Short connections come and go while a long transfer runs both ways on the
// same proxy: nobody gets another's bytes, nobody waits for the long one.
Deno.test("tcp guard: 40 short echo sessions interleaved with a 4 MiB duplex transfer, all intact", async () => {
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

// Data and FIN received while the first connect hangs, then a connect
// timeout and a redispatch: everything reaches the second server once.
Deno.test("tcp guard: data and FIN buffered during a hanging connect reach the redispatched server, +1 --", async () => {
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
Deno.test("tcp guard: refused connects with data buffered end in SC without affecting the next session", async () => {
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
