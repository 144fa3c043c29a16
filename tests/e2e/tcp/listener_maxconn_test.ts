// Global and frontend maxconn across several listeners: once the limit is
// reached no listener accepts another client (LIMITED), and accepting
// resumes when a session ends.
//
// Everything goes through `main.ts` in a child process and real sockets on
// 127.0.0.1; every process and socket a test opens is closed in `finally`.

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  delay,
  readAll,
  readExactly,
  td,
  te,
  writeAll,
} from "../../_helpers/client.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { echoes, tcpConfig } from "./_process.ts";

/**
 * Sends `msg` and starts reading its echo without a deadline that closes the
 * socket: `early` tells whether it came back within `quietMs`, `later` waits
 * for it (up to `laterMs`).
 */
async function probe(
  conn: Deno.TcpConn,
  msg: string,
  quietMs: number,
  laterMs = 5_000,
): Promise<{ early: boolean; later: Promise<string> }> {
  await writeAll(conn, te.encode(msg));
  const later = readExactly(conn, msg.length, laterMs).then((b) => td.decode(b));
  later.catch(() => {});
  const early = await Promise.race([
    later.then(() => true, () => true),
    delay(quietMs).then(() => false),
  ]);
  return { early, later };
}

// src/listener/listener.ts #run(): the maxconn checks happen before
// `await sock.accept()`, and every listener keeps one accept() in flight. With
// two listeners, the second one's accept was already waiting when the first
// session took the last slot, so it accepts one more: global maxconn 1 serves
// two clients at once (HAProxy: the second waits in the backlog, LIMITED).
Deno.test("process: global maxconn holds across two listeners (second client waits)", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    proxy = await startProxy(
      tcpConfig(server.port, { binds: ["127.0.0.1:0", "127.0.0.1:0"], global: ", maxconn: 1" }),
    );
    const [p1, p2] = proxy.ports.get("fe")!;
    const a = await connect(p1!);
    conns.push(a);
    assert.ok(await echoes(a, "a", 3_000), "the first client is served");
    const b = await connect(p2!); // completes in the kernel backlog
    conns.push(b);
    const pb = await probe(b, "b", 700);
    assert.ok(
      !pb.early,
      "global maxconn 1 exceeded: a second session was served on the other listener",
    );
    // once the first session ends, the waiting client gets its slot
    await closeWrite(a);
    await readAll(a, 3_000);
    assert.equal(await pb.later, "b");
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});

// Same cause, frontend side: a frontend's maxconn with two binds.
Deno.test("process: frontend maxconn holds across the binds of one frontend", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    proxy = await startProxy(
      tcpConfig(server.port, {
        binds: ["127.0.0.1:0", "127.0.0.1:0"],
        feExtra: "    maxconn: 1",
      }),
    );
    const [p1, p2] = proxy.ports.get("fe")!;
    const a = await connect(p1!);
    conns.push(a);
    assert.ok(await echoes(a, "a", 3_000), "the first client is served");
    const b = await connect(p2!);
    conns.push(b);
    const pb = await probe(b, "b", 700);
    assert.ok(
      !pb.early,
      "frontend maxconn 1 exceeded: a second session was served on the other bind",
    );
    await closeWrite(a);
    await readAll(a, 3_000);
    assert.equal(await pb.later, "b");
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});

Deno.test("process: global maxconn on one listener: LIMITED, then resumes when a slot frees", async () => {
  const server = echoServer();
  let proxy: ProxyProcess | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    proxy = await startProxy(tcpConfig(server.port, { global: ", maxconn: 1, maxaccept: 1" }));
    const port = proxy.port("fe");
    const a = await connect(port);
    conns.push(a);
    assert.ok(await echoes(a, "a", 3_000));
    const b = await connect(port);
    conns.push(b);
    const pb = await probe(b, "b", 500);
    assert.ok(!pb.early, "the second client was served beyond maxconn 1");
    await closeWrite(a);
    await readAll(a, 3_000);
    assert.equal(await pb.later, "b");
  } finally {
    for (const c of conns) closeQuietly(c);
    await proxy?.stop();
    await server.close();
  }
});
