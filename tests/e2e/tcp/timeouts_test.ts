// Timeouts (DESIGN.md §3): each one ends a stuck session after its delay, not
// before, with the termination state that names the side that was idle.
//
// Each test sets the timeout under test short (200–400 ms) and every other
// one long (10 s), then checks: the client sees the close no sooner than the
// timeout, the log's Tt is at least the timeout and well under the long ones,
// and the two-letter state says who timed out (c = client side, s = server
// side; C = while connecting, D = during data).

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  delay,
  readAll,
  readExactly,
  readToEof,
  td,
  te,
  writeAll,
} from "../../_helpers/client.ts";
import {
  blackholeServer,
  echoServer,
  silentServer,
  type StubServer,
} from "../../_helpers/servers.ts";
import {
  logLineOf,
  parseTcpLog,
  type ProxyProcess,
  startProxy,
  type TcpLog,
} from "../../_helpers/proxy.ts";

/** Upper bound for Tt: far below the 10 s "long" timeouts, far above the short ones. */
const LONG_MS = 10_000;
const WELL_UNDER_LONG_MS = 5_000;

interface Timeouts {
  /** Frontend side: client, client-fin. */
  fe: string;
  /** Backend side: connect, server, server-fin, tunnel. */
  be: string;
  retries?: number;
}

function config(serverPort: number, t: Timeouts): string {
  return `
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: ${LONG_MS}ms, server: ${LONG_MS}ms }
  option: [tcplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    timeout: { ${t.fe} }
    default_backend: be
backends:
  be:
    retries: ${t.retries ?? 0}
    timeout: { ${t.be} }
    servers:
      - { name: s1, address: "127.0.0.1:${serverPort}" }
`;
}

/**
 * Starts `server` and a proxy with timeouts `t`, optionally lets the proxy sit
 * idle `idleFirstMs`, connects a client and runs `body(conn, proxy)`, which
 * returns once the end of the session was observed (client EOF or server
 * EOF). Returns the session's parsed log line and the time from just before
 * the connect to that observation. Cleans up everything whatever happens.
 */
async function session(
  server: StubServer,
  t: Timeouts,
  body: (conn: Deno.TcpConn, proxy: ProxyProcess) => Promise<void>,
  idleFirstMs = 0,
): Promise<{ log: TcpLog; elapsedMs: number }> {
  let proxy: ProxyProcess | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    proxy = await startProxy(config(server.port, t));
    if (idleFirstMs > 0) await delay(idleFirstMs);
    const t0 = performance.now();
    conn = await connect(proxy.port("fe"));
    const localPort = (conn.localAddr as Deno.NetAddr).port;
    try {
      await body(conn, proxy);
    } catch (e) {
      // show what the proxy logged: it says why the session ended
      const p = proxy;
      await p.waitForLog(logLineOf(localPort), 1_000).catch(() => {});
      throw new Error(`${e instanceof Error ? e.message : e}\n${p.describe()}`, { cause: e });
    }
    const elapsedMs = performance.now() - t0;
    const line = await proxy.waitForLog(logLineOf(localPort), WELL_UNDER_LONG_MS);
    return { log: parseTcpLog(line), elapsedMs };
  } finally {
    if (conn !== undefined) closeQuietly(conn);
    await proxy?.stop();
    await server.close();
  }
}

/** Clock granularity allowance: the proxy counts whole milliseconds. */
const TICK_SLACK_MS = 2;
/** How much later than the client's connect a loaded proxy may accept (ms). */
const ACCEPT_SLACK_MS = 20;
/** How much later than the client's observation the proxy may log the end. */
const LOG_SLACK_MS = 50;

/**
 * The session lasted at least `timeoutMs` as seen by the client (the close
 * did not come early), the log's Tt is at least the timeout, does not exceed
 * what the client measured (the log does not overstate the duration), and is
 * well under the long timeouts (the right timeout fired).
 */
function assertLasted(log: TcpLog, timeoutMs: number, elapsedMs: number): void {
  assert.ok(
    elapsedMs >= timeoutMs - TICK_SLACK_MS,
    `the session ended ${
      elapsedMs.toFixed(1)
    } ms after connect, before the ${timeoutMs} ms timeout: ${log.line}`,
  );
  // Tt counts from the proxy's accept, which a loaded machine may run a few ms
  // after the client's connect returned.
  assert.ok(
    log.tt >= timeoutMs - ACCEPT_SLACK_MS,
    `Tt ${log.tt} < timeout ${timeoutMs}: ${log.line}`,
  );
  assert.ok(log.tt < WELL_UNDER_LONG_MS, `Tt ${log.tt}: a long timeout fired? ${log.line}`);
  assert.ok(
    log.tt <= elapsedMs + LOG_SLACK_MS,
    `Tt ${log.tt} ms but the client saw the whole session take ${
      elapsedMs.toFixed(1)
    } ms: ${log.line}`,
  );
}

Deno.test("tcp timeout connect: blackholed server, every attempt waits the full connect timeout, sC", async () => {
  const CONNECT_MS = 200;
  const server = await blackholeServer();
  const { log, elapsedMs } = await session(
    server,
    { fe: "", be: `connect: ${CONNECT_MS}ms`, retries: 1 },
    async (conn) => {
      await writeAll(conn, te.encode("hello?"));
      const got = await readAll(conn);
      assert.equal(got.end, "eof", `expected a clean close, got ${String(got.error)}`);
      assert.equal(got.data.length, 0);
    },
  );
  assert.equal(log.ts, "sC", log.line);
  assert.equal(log.retries, 1, log.line);
  assert.equal(log.bytes, 0, log.line);
  // two attempts (first + 1 retry), each bounded by timeout connect
  assertLasted(log, 2 * CONNECT_MS, elapsedMs);
});

Deno.test("tcp timeout client: idle client is closed after timeout client, cD", async () => {
  const CLIENT_MS = 300;
  const { log, elapsedMs } = await session(
    echoServer(),
    { fe: `client: ${CLIENT_MS}ms`, be: `server: ${LONG_MS}ms` },
    async (conn) => {
      await writeAll(conn, te.encode("ping"));
      assert.equal(td.decode(await readExactly(conn, 4)), "ping");
      // now silent, without FIN: only the client timeout can end this
      const rest = await readToEof(conn, WELL_UNDER_LONG_MS);
      assert.equal(rest.length, 0);
    },
  );
  assert.equal(log.ts, "cD", log.line);
  assert.equal(log.bytes, 4, log.line);
  assertLasted(log, CLIENT_MS, elapsedMs);
});

Deno.test("tcp timeout server: silent server is dropped after timeout server, sD", async () => {
  const SERVER_MS = 300;
  const server = silentServer();
  const { log, elapsedMs } = await session(
    server,
    { fe: `client: ${LONG_MS}ms`, be: `server: ${SERVER_MS}ms` },
    async (conn) => {
      await writeAll(conn, te.encode("anything?"));
      const got = await readToEof(conn, WELL_UNDER_LONG_MS);
      assert.equal(got.length, 0);
      // the proxy closed its server connection too
      await server.eofs.waitFor(1, 2_000);
    },
  );
  assert.equal(log.ts, "sD", log.line);
  assert.equal(log.bytes, 0, log.line);
  assertLasted(log, SERVER_MS, elapsedMs);
});

Deno.test("tcp timeout client-fin: client shut its write side, server silent, cD after client-fin", async () => {
  const CLIENT_FIN_MS = 300;
  const server = silentServer();
  const { log, elapsedMs } = await session(
    server,
    { fe: `client: ${LONG_MS}ms, client-fin: ${CLIENT_FIN_MS}ms`, be: `server: ${LONG_MS}ms` },
    async (conn) => {
      await writeAll(conn, te.encode("last words"));
      await closeWrite(conn);
      // the FIN was forwarded to the server, which stays open and silent
      await server.eofs.waitFor(1, 2_000);
      const got = await readToEof(conn, WELL_UNDER_LONG_MS);
      assert.equal(got.length, 0);
    },
  );
  assert.equal(log.ts, "cD", log.line);
  assertLasted(log, CLIENT_FIN_MS, elapsedMs);
});

Deno.test("tcp timeout server-fin: server shut its write side, client silent, sD after server-fin", async () => {
  const SERVER_FIN_MS = 300;
  const server = silentServer({ greeting: te.encode("bye"), shutw: true });
  const { log, elapsedMs } = await session(
    server,
    { fe: `client: ${LONG_MS}ms`, be: `server: ${LONG_MS}ms, server-fin: ${SERVER_FIN_MS}ms` },
    async (conn) => {
      // greeting, then the server's FIN reaches the client
      assert.equal(td.decode(await readToEof(conn)), "bye");
      // the client stays open and silent; the proxy must close the server side
      await server.eofs.waitFor(1, WELL_UNDER_LONG_MS);
    },
  );
  assert.equal(log.ts, "sD", log.line);
  assert.equal(log.bytes, 3, log.line);
  assertLasted(log, SERVER_FIN_MS, elapsedMs);
});

/**
 * Sends `pings` short messages `everyMs` apart, each echoed back, then stays
 * silent until the proxy closes. With `everyMs` below the timeout but the
 * whole series longer than it, only activity refreshing the timeout keeps
 * the session open; each gap is 3/4 of the timeout, so an activity recorded
 * late or early by more than a quarter of it shows.
 */
async function pingThenIdle(conn: Deno.TcpConn, pings: number, everyMs: number): Promise<void> {
  for (let i = 0; i < pings; i++) {
    if (i > 0) await delay(everyMs);
    const msg = `ping${i}`;
    await writeAll(conn, te.encode(msg));
    assert.equal(td.decode(await readExactly(conn, msg.length)), msg, `ping ${i} not echoed`);
  }
  assert.equal((await readToEof(conn, WELL_UNDER_LONG_MS)).length, 0);
}

Deno.test("tcp timeout client: each exchange restarts the client timeout, cD once idle", async () => {
  const CLIENT_MS = 400;
  const PINGS = 3;
  const EVERY_MS = 300; // series spans 600 ms > CLIENT_MS
  const { log, elapsedMs } = await session(
    echoServer(),
    { fe: `client: ${CLIENT_MS}ms`, be: `server: ${LONG_MS}ms` },
    (conn) => pingThenIdle(conn, PINGS, EVERY_MS),
  );
  assert.equal(log.ts, "cD", log.line);
  assert.equal(log.bytes, PINGS * 5, log.line);
  assertLasted(log, (PINGS - 1) * EVERY_MS + CLIENT_MS, elapsedMs);
});

Deno.test("tcp timeout client: data from the client alone restarts the client timeout", async () => {
  // An upload in bursts: nothing comes back, so only the client's own bytes
  // (read by the proxy) count as client-side activity.
  const CLIENT_MS = 400;
  const BURSTS = 3;
  const EVERY_MS = 300; // series spans 600 ms > CLIENT_MS
  const server = silentServer();
  const { log, elapsedMs } = await session(
    server,
    { fe: `client: ${CLIENT_MS}ms`, be: `server: ${LONG_MS}ms` },
    async (conn) => {
      for (let i = 0; i < BURSTS; i++) {
        if (i > 0) await delay(EVERY_MS);
        await writeAll(conn, new Uint8Array(1024).fill(i));
      }
      assert.equal((await readToEof(conn, WELL_UNDER_LONG_MS)).length, 0);
    },
  );
  assert.equal(log.ts, "cD", log.line);
  assert.equal(log.bytes, 0, log.line);
  assertLasted(log, (BURSTS - 1) * EVERY_MS + CLIENT_MS, elapsedMs);
});

Deno.test("tcp timeout tunnel: traffic keeps the tunnel alive, idleness ends it after tunnel, cD", async () => {
  const TUNNEL_MS = 400;
  const PINGS = 3;
  const EVERY_MS = 300; // series spans 600 ms > TUNNEL_MS
  const { log, elapsedMs } = await session(
    echoServer(),
    { fe: `client: ${LONG_MS}ms`, be: `server: ${LONG_MS}ms, tunnel: ${TUNNEL_MS}ms` },
    (conn) => pingThenIdle(conn, PINGS, EVERY_MS),
  );
  assert.equal(log.ts, "cD", log.line);
  assert.equal(log.bytes, PINGS * 5, log.line);
  assertLasted(log, (PINGS - 1) * EVERY_MS + TUNNEL_MS, elapsedMs);
});

Deno.test("tcp timeout client: still the full delay, and a true Tt, after the proxy sat idle for 1 s", async () => {
  // Timers must count from the real accept time, not from a clock reading
  // cached before an idle period.
  const CLIENT_MS = 300;
  const { log, elapsedMs } = await session(
    echoServer(),
    { fe: `client: ${CLIENT_MS}ms`, be: `server: ${LONG_MS}ms` },
    async (conn) => {
      await writeAll(conn, te.encode("ping"));
      assert.equal(td.decode(await readExactly(conn, 4)), "ping");
      assert.equal((await readToEof(conn, WELL_UNDER_LONG_MS)).length, 0);
    },
    1_000,
  );
  assert.equal(log.ts, "cD", log.line);
  assertLasted(log, CLIENT_MS, elapsedMs);
});
