// The stream's decision loop in HTTP mode (Stream.process() with the HTTP
// analysers), driven without sockets or real time: scripted client and
// server connections, a fake clock, and the session lines the stream logs
// (tests/_helpers/fake_stream.ts). Each test asserts what a user would
// notice: the bytes each side was given, FINs and closes, the log line's
// status and termination state, and the counters.

import assert from "node:assert/strict";
import type { RuntimeConfig } from "../../src/config/types.ts";
import { type FakeConn, FakeProcess } from "../_helpers/fake_stream.ts";
import { parseHttpLog } from "../_helpers/proxy.ts";
import { backend, frontend, runtimeConfig, server, timeouts } from "../_helpers/runtime_config.ts";

const T = timeouts({ client: 5000, server: 3000, httpRequest: 2000, httpKeepAlive: 4000 });

/** One HTTP frontend `fe` (httplog, logs on) in front of backend `be` with server `s1`. */
function httpConfig(): RuntimeConfig {
  const rc = runtimeConfig(
    [frontend("fe", { mode: "http", options: new Set(["httplog"]), timeouts: T })],
    [backend("be", [server("s1", 8000)], { mode: "http", timeouts: T })],
  );
  return { ...rc, global: { ...rc.global, log: "stdout" } };
}

/** Runs `body` on a fresh FakeProcess; checks no stream crashed and stops the timer. */
async function withProcess(body: (p: FakeProcess) => Promise<void>): Promise<void> {
  const p = new FakeProcess(httpConfig());
  try {
    await body(p);
    assert.deepEqual(p.crashes, [], "Stream.process() threw");
  } finally {
    p.stop();
  }
}

const GET_A = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_B = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
const OK_A = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const OK_B = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";

/** The only server connection the proxy opened. */
function onlyServer(p: FakeProcess): FakeConn {
  assert.equal(p.proto.conns.length, 1, "server connections opened");
  return p.proto.conns[0]!;
}

Deno.test("http stream: a request is parsed and forwarded to the server, its response forwarded and logged", async () => {
  await withProcess(async (p) => {
    const c = p.accept();
    c.feed(GET_A);
    await p.settle();
    const s = onlyServer(p);
    assert.equal(s.text(), GET_A);
    assert.equal(c.text(), "", "nothing for the client before the server answers");
    assert.equal(p.logger.lines.length, 0, "no log line before the response");

    s.feed(OK_A);
    await p.settle();
    assert.equal(c.text(), OK_A);
    assert.equal(p.logger.lines.length, 1, p.logger.lines.join("\n"));
    const log = parseHttpLog(p.logger.lines[0]!);
    assert.equal(log.status, 200, log.line);
    assert.equal(log.tsc, "----", log.line);
    assert.equal(`${log.frontend} ${log.backend}/${log.server}`, "fe be/s1", log.line);
    assert.equal(log.bytes, OK_A.length, log.line);
    assert.equal(log.request, "GET /a HTTP/1.1", log.line);

    const fe = p.frontends[0]!, srv = p.backends[0]!.servers[0]!;
    assert.equal(fe.counters.httpReqs, 1);
    assert.equal(fe.counters.httpResp[2], 1);
    assert.equal(srv.counters.httpResp[2], 1);
    assert.equal(srv.counters.cumSessions, 1);
    // Keep-alive: both connections stay open, the session is still counted.
    assert.equal(c.closed || c.finSent, false);
    assert.equal(s.closed || s.finSent, false);
    assert.equal(p.actconn, 1);
  });
});

Deno.test("http stream: keep-alive: a second request on the same client connection reuses the server connection, one log line each", async () => {
  await withProcess(async (p) => {
    const c = p.accept();
    c.feed(GET_A);
    await p.settle();
    const s = onlyServer(p);
    s.feed(OK_A);
    await p.settle();

    c.feed(GET_B);
    await p.settle();
    assert.equal(onlyServer(p), s, "the second request went to the same server connection");
    assert.equal(s.text(), GET_A + GET_B);
    s.feed(OK_B);
    await p.settle();
    assert.equal(c.text(), OK_A + OK_B);

    assert.equal(p.logger.lines.length, 2, p.logger.lines.join("\n"));
    const [first, second] = p.logger.lines.map(parseHttpLog);
    assert.equal(first!.request, "GET /a HTTP/1.1");
    assert.equal(second!.request, "GET /b HTTP/1.1", second!.line);
    assert.equal(second!.status, 200, second!.line);
    assert.equal(second!.tsc, "----", second!.line);
    assert.equal(second!.bytes, OK_B.length, second!.line);
    const fe = p.frontends[0]!;
    assert.equal(fe.counters.httpReqs, 2);
    assert.equal(fe.counters.httpResp[2], 2);
    assert.equal(fe.counters.cumSessions, 1, "one session for both requests");
    assert.equal(p.actconn, 1);
  });
});

Deno.test("http stream: a malformed request head gets a 400 and a close, PR--, and no server connection", async () => {
  await withProcess(async (p) => {
    const c = p.accept();
    c.feed("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    await p.settle();
    assert.match(c.text(), /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(c.text(), /\r\nconnection: close\r\n/i);
    assert.ok(c.finSent, "the proxy sent its FIN after the 400");
    assert.equal(p.proto.conns.length, 0, "a bad request never reaches a server");

    assert.equal(p.logger.lines.length, 1, p.logger.lines.join("\n"));
    const log = parseHttpLog(p.logger.lines[0]!);
    assert.equal(log.status, 400, log.line);
    assert.equal(log.tsc, "PR--", log.line);
    assert.equal(`${log.backend}/${log.server}`, "fe/<NOSRV>", log.line);
    assert.equal(log.request, "<BADREQ>", log.line);
    const fe = p.frontends[0]!;
    assert.equal(fe.counters.errors, 1);
    assert.equal(fe.counters.httpResp[4], 1);

    // The lingering close ends: the session is gone, with no second log line.
    await p.advance(2000);
    assert.ok(c.closed, "the client connection was closed after the linger");
    assert.equal(p.actconn, 0);
    assert.equal(p.logger.lines.length, 1);
  });
});

Deno.test("http stream: a server silent past timeout server gets the client a 504, sH--, and the server connection closed", async () => {
  await withProcess(async (p) => {
    const c = p.accept();
    c.feed(GET_A);
    await p.settle();
    const s = onlyServer(p);
    assert.equal(s.text(), GET_A);

    await p.advance(T.server - 1);
    assert.equal(c.text(), "", "no 504 before timeout server");
    assert.equal(p.logger.lines.length, 0);

    await p.advance(1);
    assert.match(c.text(), /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    assert.ok(s.closed, "the server connection was closed");
    assert.equal(p.logger.lines.length, 1, p.logger.lines.join("\n"));
    const log = parseHttpLog(p.logger.lines[0]!);
    assert.equal(log.status, 504, log.line);
    assert.equal(log.tsc, "sH--", log.line);
    assert.equal(`${log.backend}/${log.server}`, "be/s1", log.line);
    assert.equal(log.tr, -1, log.line);
    const fe = p.frontends[0]!, be = p.backends[0]!, srv = be.servers[0]!;
    assert.equal(fe.counters.httpResp[5], 1);
    assert.equal(be.counters.httpResp[5], 1);
    assert.equal(srv.counters.httpResp[5], 0, "the proxy's own 504 is not the server's");
    assert.equal(srv.counters.respErrors, 1);
  });
});

Deno.test("http stream: a request head not complete within timeout http-request gets a 408, cR--", async () => {
  await withProcess(async (p) => {
    const c = p.accept();
    c.feed("GET /a HTTP/1.1\r\nHo");
    await p.settle();
    await p.advance(T.httpRequest - 1);
    assert.equal(c.text(), "", "no 408 before timeout http-request");

    await p.advance(1);
    assert.match(c.text(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(c.finSent || c.closed, "the client connection is being closed");
    assert.equal(p.proto.conns.length, 0, "an incomplete request never reaches a server");
    assert.equal(p.logger.lines.length, 1, p.logger.lines.join("\n"));
    const log = parseHttpLog(p.logger.lines[0]!);
    assert.equal(log.status, 408, log.line);
    assert.equal(log.tsc, "cR--", log.line);
    assert.equal(`${log.backend}/${log.server}`, "fe/<NOSRV>", log.line);
    assert.equal(p.frontends[0]!.counters.httpResp[4], 1);
  });
});

Deno.test("http stream: a client that closes between requests ends the session without a log line", async () => {
  await withProcess(async (p) => {
    const c = p.accept();
    c.feed(GET_A);
    await p.settle();
    const s = onlyServer(p);
    s.feed(OK_A);
    await p.settle();
    assert.equal(c.text(), OK_A);
    assert.equal(p.logger.lines.length, 1);

    c.end();
    await p.settle();
    assert.ok(c.closed, "the client connection was closed");
    assert.equal(p.actconn, 0, "the session ended");
    assert.equal(p.frontends[0]!.feconn, 0);
    assert.equal(p.logger.lines.length, 1, `a line for no request:\n${p.logger.lines.join("\n")}`);
    assert.equal(c.text(), OK_A, "nothing more was sent to the client");
  });
});
