// Write completions that do not run the stream (stream/stream_wake.ts): a
// write that leaves nothing to decide only restarts its side's inactivity
// timer. Driven without sockets or real time (tests/_helpers/fake_stream.ts):
// a server slow to take the bytes it is given, then silent. What a user
// notices is when the timeout fires, and the log line's state and timers.

import assert from "node:assert/strict";
import type { RuntimeConfig } from "../../src/config/types.ts";
import { type FakeConn, FakeProcess } from "../_helpers/fake_stream.ts";
import { parseHttpLog, parseTcpLog } from "../_helpers/proxy.ts";
import { backend, frontend, runtimeConfig, server, timeouts } from "../_helpers/runtime_config.ts";

const T = timeouts({ client: 10000, server: 3000, httpRequest: 2000, httpKeepAlive: 4000 });

function config(mode: "http" | "tcp"): RuntimeConfig {
  const rc = runtimeConfig(
    [frontend("fe", {
      mode,
      options: new Set([mode === "http" ? "httplog" : "tcplog"]),
      timeouts: T,
    })],
    [backend("be", [server("s1", 8000)], { mode, timeouts: T })],
  );
  return { ...rc, global: { ...rc.global, log: "stdout" } };
}

async function withProcess(mode: "http" | "tcp", body: (p: FakeProcess) => Promise<void>) {
  const p = new FakeProcess(config(mode));
  p.proto.holdWrites = true; // the server takes what it is given when the test says
  try {
    await body(p);
    assert.deepEqual(p.crashes, [], "Stream.process() threw");
  } finally {
    p.stop();
  }
}

function onlyServer(p: FakeProcess): FakeConn {
  assert.equal(p.proto.conns.length, 1, "server connections opened");
  return p.proto.conns[0]!;
}

const GET_A = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

Deno.test("write wake: HTTP: a request the server is slow to take: timeout server counts from the moment it took it", async () => {
  await withProcess("http", async (p) => {
    const c = p.accept();
    c.feed(GET_A);
    await p.settle();
    const s = onlyServer(p);
    assert.equal(s.text(), GET_A);

    // The server takes the request 2 s later, then stays silent.
    await p.advance(2000);
    s.takeWrites();
    await p.settle();
    await p.advance(T.server - 1);
    assert.equal(c.text(), "", "no 504 within timeout server of the write");
    assert.equal(p.logger.lines.length, 0);

    await p.advance(1);
    assert.match(c.text(), /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    assert.equal(p.logger.lines.length, 1, p.logger.lines.join("\n"));
    const log = parseHttpLog(p.logger.lines[0]!);
    assert.equal(log.tsc, "sH--", log.line);
    assert.equal(log.status, 504, log.line);
  });
});

Deno.test("write wake: TCP: bytes the server is slow to take: timeout server counts from the moment it took them", async () => {
  await withProcess("tcp", async (p) => {
    const c = p.accept();
    await p.settle();
    c.feed("hello");
    await p.settle();
    const s = onlyServer(p);
    assert.equal(s.text(), "hello");

    await p.advance(2000);
    s.takeWrites();
    await p.settle();
    await p.advance(T.server - 1);
    assert.ok(!c.closed && !s.closed, "nothing closed within timeout server of the write");
    assert.equal(p.logger.lines.length, 0);

    await p.advance(1);
    assert.ok(c.closed && s.closed, "both sides closed at timeout server");
    assert.equal(p.logger.lines.length, 1, p.logger.lines.join("\n"));
    const log = parseTcpLog(p.logger.lines[0]!);
    assert.equal(log.ts, "sD", log.line);
    assert.equal(log.tt, 2000 + T.server, log.line);
  });
});

Deno.test("write wake: HTTP: a response the client is slow to take ends the transaction once written, and the next request is served", async () => {
  await withProcess("http", async (p) => {
    p.proto.holdWrites = false;
    const c = p.accept();
    c.holdWrites = true;
    c.feed(GET_A);
    await p.settle();
    const s = onlyServer(p);
    s.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    await p.settle();
    assert.equal(p.logger.lines.length, 1, "logged once forwarded");

    await p.advance(1000);
    c.takeWrites();
    await p.settle();
    c.holdWrites = false;
    c.feed("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    await p.settle();
    assert.equal(s.text(), GET_A + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    s.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    await p.settle();
    assert.match(c.text(), /abc$/);
    assert.equal(p.logger.lines.length, 2, p.logger.lines.join("\n"));
  });
});
