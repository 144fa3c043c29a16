// Sessions waiting in a server's queue (server maxconn): the termination
// stage of a session that ends there is Q, bytes and FIN sent while queued
// reach the server once a slot frees, and a connect retry keeps the slot it
// had instead of taking a second one.
//
// Every test asserts the exact bytes each side received (SHA-256) and the
// termination state of the tcplog line.

import assert from "node:assert/strict";
import net from "node:net";
import {
  closeQuietly,
  closeWrite,
  connect,
  delay,
  readExactly,
  readToEof,
  SeededBytes,
  sha256Hex,
  td,
  te,
  withDeadline,
  writeAll,
  writeFull,
} from "../../_helpers/client.ts";
import { echoServer, sinkServer } from "../../_helpers/servers.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { tcpConfig } from "./_common.ts";

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

// A client that sends everything and closes completely while queued, before
// any server connection exists: once a slot frees up, its bytes reach the
// server, then the FIN.
Deno.test("tcp: data and close sent while queued reach the server in full, then the FIN, --", async () => {
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
