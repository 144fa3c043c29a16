// Half-close (DESIGN.md §2): a FIN is forwarded only after every byte read
// before it, and the other direction keeps flowing until its own FIN.

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  readAll,
  readToEof,
  SeededBytes,
  sha256Hex,
  writeAll,
} from "../../_helpers/client.ts";
import {
  answerFirstServer,
  readThenAnswerServer,
  type StubServer,
} from "../../_helpers/servers.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { tcpConfig } from "./_common.ts";

function config(serverPort: number): string {
  return tcpConfig({
    servers: [`{ name: s1, address: "127.0.0.1:${serverPort}" }`],
    timeouts: "connect: 1s, client: 10s, server: 10s",
  });
}

/** Runs `body` with a proxy in front of `server`; always stops both. */
async function withProxy(
  server: StubServer,
  body: (proxy: ProxyProcess) => Promise<void>,
): Promise<void> {
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(server.port));
    await body(proxy);
  } finally {
    await proxy?.stop();
    await server.close();
  }
}

Deno.test("tcp half-close: client sends then shuts write; server reads EOF then answers in full", async () => {
  const request = new SeededBytes(11).bytes(512 * 1024 + 3);
  const answer = new SeededBytes(12).bytes(2 * 1024 * 1024 + 5);
  const server = readThenAnswerServer(answer);
  await withProxy(server, async (proxy) => {
    const conn = await connect(proxy.port("fe"));
    try {
      const localPort = (conn.localAddr as Deno.NetAddr).port;
      const reading = readAll(conn);
      await writeAll(conn, request);
      await closeWrite(conn);
      const got = await reading;
      assert.equal(got.end, "eof", `client read ended by ${String(got.error)}`);
      assert.equal(got.data.length, answer.length);
      assert.equal(sha256Hex(got.data), sha256Hex(answer));

      const [rec] = await server.received.waitFor(1, 5_000);
      assert.equal(rec?.end, "eof");
      assert.equal(rec?.count, request.length);
      assert.equal(rec?.sha256, sha256Hex(request));

      const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort)));
      assert.equal(log.ts, "--", log.line);
      assert.equal(log.bytes, answer.length, log.line);
    } finally {
      closeQuietly(conn);
    }
  });
});

Deno.test("tcp half-close: server answers and shuts write first; client data keeps flowing until its FIN", async () => {
  const first = new SeededBytes(21).bytes(1024);
  const during = new SeededBytes(22).bytes(4 * 1024 * 1024);
  const after = new SeededBytes(23).bytes(64 * 1024 + 1);
  const answer = new SeededBytes(24).bytes(256 * 1024 + 7);
  const server = answerFirstServer({ firstBytes: first.length, answer, mode: "shutw" });
  await withProxy(server, async (proxy) => {
    const conn = await connect(proxy.port("fe"));
    try {
      const localPort = (conn.localAddr as Deno.NetAddr).port;
      const reading = readAll(conn);
      await writeAll(conn, first);
      // The client is still sending while the answer and the server's FIN come back.
      await writeAll(conn, during);
      const got = await reading;
      assert.equal(got.end, "eof", `client read ended by ${String(got.error)}`);
      assert.equal(got.data.length, answer.length);
      assert.equal(sha256Hex(got.data), sha256Hex(answer));
      // After the server's FIN reached the client, client → server still works.
      await writeAll(conn, after);
      await closeWrite(conn);

      const [rec] = await server.received.waitFor(1, 5_000);
      const all = new Uint8Array(first.length + during.length + after.length);
      all.set(first, 0);
      all.set(during, first.length);
      all.set(after, first.length + during.length);
      assert.equal(rec?.end, "eof");
      assert.equal(rec?.count, all.length);
      assert.equal(rec?.sha256, sha256Hex(all));

      const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort)));
      assert.equal(log.ts, "--", log.line);
      assert.equal(log.bytes, answer.length, log.line);
    } finally {
      closeQuietly(conn);
    }
  });
});

Deno.test("tcp half-close: server answers and closes completely; client gets the whole answer then EOF", async () => {
  const request = new SeededBytes(31).bytes(1024);
  const answer = new SeededBytes(32).bytes(256 * 1024 + 9);
  const server = answerFirstServer({ firstBytes: request.length, answer, mode: "close" });
  await withProxy(server, async (proxy) => {
    const conn = await connect(proxy.port("fe"));
    try {
      const localPort = (conn.localAddr as Deno.NetAddr).port;
      await writeAll(conn, request);
      // no FIN from the client: the server's close alone must end the answer
      const got = await readToEof(conn);
      assert.equal(got.length, answer.length);
      assert.equal(sha256Hex(got), sha256Hex(answer));

      const [rec] = await server.received.waitFor(1, 5_000);
      assert.equal(rec?.count, request.length);
      assert.equal(rec?.sha256, sha256Hex(request));

      await closeWrite(conn);
      const log = parseTcpLog(await proxy.waitForLog(logLineOf(localPort)));
      assert.equal(log.ts, "--", log.line);
      assert.equal(log.bytes, answer.length, log.line);
    } finally {
      closeQuietly(conn);
    }
  });
});
