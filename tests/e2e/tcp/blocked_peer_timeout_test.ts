// A side that stops reading blocks the other one behind a full buffer: the
// timeout that ends the session is the one of the side that stopped reading,
// and the termination state blames it (cD / sD), as in HAProxy.
//
// Every test asserts the exact bytes each side received (SHA-256) and the
// termination state of the tcplog line.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import {
  closeQuietly,
  connect,
  SeededBytes,
  writeFull,
  writeSeeded,
} from "../../_helpers/client.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { MiB, tcpConfig } from "./_common.ts";

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
