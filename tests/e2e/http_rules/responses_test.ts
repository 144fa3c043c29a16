// HTTP_RULES.md, "Responses from servers": what the client gets when the
// server answers badly, late or not at all.
//
// - Invalid status line, invalid headers, bad framing, a head larger than the
//   buffer: 502, logged `PH--` (the proxy refused the response head). The
//   stub then stays silent and open, so the proxy decides on the head alone.
// - A server that closes before a complete head: 502, logged `SH--`.
// - No server reachable after retries: 503 `SC--`; no backend matched and no
//   default: 503 `SC--` with `<NOSRV>`; queue timeout: 503 `sQ--`.
// - No response within `timeout server`: 504 `sH--`, not before the timeout.
// - Request head not complete within `timeout http-request`: 408 `cR--`.
//
// Every error reply is checked for its full format (see error_replies_test.ts
// for the format in detail) and for the close that follows it.

import assert from "node:assert/strict";
import { deadPort } from "../../_helpers/servers.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { type HttpStub, httpStub, type StubReply } from "../../_helpers/http_stub.ts";
import {
  assertErrorReply,
  explainFailure,
  IO_MS,
  latin1,
  logsOf,
  RawClient,
  show,
} from "./_common.ts";

interface BadResponse {
  name: string;
  /** What the server sends. */
  answer: string;
  /** Then: stay silent (the proxy must decide on the bytes) or close. */
  then: "silent" | "close";
  /** Expected termination state. */
  tsc: "PH--" | "SH--";
}

const BAD_RESPONSES: BadResponse[] = ([
  // --- status line
  { name: "status 2x0", answer: "HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n" },
  { name: "status with two digits", answer: "HTTP/1.1 20 OK\r\ncontent-length: 0\r\n\r\n" },
  { name: "status with four digits", answer: "HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n" },
  { name: "status 099", answer: "HTTP/1.1 099 Low\r\ncontent-length: 0\r\n\r\n" },
  { name: "status 600", answer: "HTTP/1.1 600 High\r\ncontent-length: 0\r\n\r\n" },
  { name: "version HTTP/2.0", answer: "HTTP/2.0 200 OK\r\ncontent-length: 0\r\n\r\n" },
  { name: "version HTTP/1.2", answer: "HTTP/1.2 200 OK\r\ncontent-length: 0\r\n\r\n" },
  { name: "version in lower case", answer: "http/1.1 200 OK\r\ncontent-length: 0\r\n\r\n" },
  { name: "ICY status line", answer: "ICY 200 OK\r\ncontent-length: 0\r\n\r\n" },
  { name: "two spaces before the status", answer: "HTTP/1.1  200 OK\r\ncontent-length: 0\r\n\r\n" },
  { name: "NUL in the reason", answer: "HTTP/1.1 200 O\x00K\r\ncontent-length: 0\r\n\r\n" },
  { name: "not HTTP at all", answer: "hello world\r\n\r\n" },
  // --- headers
  {
    name: "space in a header name",
    answer: "HTTP/1.1 200 OK\r\nBad Name: x\r\ncontent-length: 0\r\n\r\n",
  },
  {
    name: "space before the colon",
    answer: "HTTP/1.1 200 OK\r\nX-A : y\r\ncontent-length: 0\r\n\r\n",
  },
  {
    name: "header line without colon",
    answer: "HTTP/1.1 200 OK\r\nNoColon\r\ncontent-length: 0\r\n\r\n",
  },
  { name: "NUL in a value", answer: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\ncontent-length: 0\r\n\r\n" },
  {
    name: "bare CR in a value",
    answer: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\ncontent-length: 0\r\n\r\n",
  },
  { name: "bare LF line ends (documented)", answer: "HTTP/1.1 200 OK\ncontent-length: 0\n\n" },
  {
    name: "obs-fold (documented)",
    answer: "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\ncontent-length: 0\r\n\r\n",
  },
  {
    name: "102 header lines",
    answer: `HTTP/1.1 200 OK\r\n${lines(101)}content-length: 0\r\n\r\n`,
  },
  // --- framing
  { name: "Content-Length abc", answer: "HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\n" },
  { name: "Content-Length -1", answer: "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n" },
  {
    name: "Content-Length 5 then 6",
    answer: "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!",
  },
  {
    name: "Content-Length list 5, 6",
    answer: "HTTP/1.1 200 OK\r\ncontent-length: 5, 6\r\n\r\nhello!",
  },
  {
    name: "Transfer-Encoding chunked, chunked",
    answer: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
  },
  // --- size
  {
    name: "head larger than the buffer (20 KiB)",
    answer: `HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(20 * 1024)}\r\ncontent-length: 0\r\n\r\n`,
  },
] as Array<{ name: string; answer: string }>).map((c) => ({
  ...c,
  then: "silent" as const,
  tsc: "PH--" as const,
}));

const CLOSED_EARLY: BadResponse[] = ([
  { name: "closes without a byte", answer: "" },
  { name: "closes inside the status line", answer: "HTT" },
  { name: "closes after the status line", answer: "HTTP/1.1 200 OK\r\n" },
  { name: "closes inside a header", answer: "HTTP/1.1 200 OK\r\nContent-Le" },
  { name: "closes before the blank line", answer: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n" },
] as Array<{ name: string; answer: string }>).map((c) => ({
  ...c,
  then: "close" as const,
  tsc: "SH--" as const,
}));

function lines(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += `X-H${i}: v\r\n`;
  return s;
}

const SERVER_TIMEOUT_MS = 400;
const HTTP_REQUEST_TIMEOUT_MS = 400;
const QUEUE_TIMEOUT_MS = 300;

/**
 * One proxy for every scenario:
 * - fe → be (the scripted stub, timeout server 400 ms);
 * - fe_dead → be_dead (a dead port, 1 retry);
 * - fe_nobe: no backend matches and there is no default;
 * - fe_q → be_q (one slot, timeout queue 300 ms);
 * - fe_slow → be, timeout http-request 400 ms.
 */
function config(stubPort: number, dead: number): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 300ms, client: 5s, server: 5s, http-request: 2s, http-keep-alive: 2s }
  option: [httplog]
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
  fe_dead: { bind: "127.0.0.1:0", default_backend: be_dead }
  fe_nobe: { bind: "127.0.0.1:0", use_backend: ["be if FALSE"] }
  fe_q: { bind: "127.0.0.1:0", default_backend: be_q }
  fe_slow:
    bind: "127.0.0.1:0"
    default_backend: be
    timeout: { http-request: ${HTTP_REQUEST_TIMEOUT_MS}ms }
backends:
  be:
    retries: 0
    timeout: { server: ${SERVER_TIMEOUT_MS}ms }
    servers: [ { name: s1, address: "127.0.0.1:${stubPort}" } ]
  be_dead:
    retries: 1
    servers: [ { name: d1, address: "127.0.0.1:${dead}" } ]
  be_q:
    retries: 0
    timeout: { queue: ${QUEUE_TIMEOUT_MS}ms }
    servers: [ { name: q1, address: "127.0.0.1:${stubPort}", maxconn: 1 } ]
`;
}

/** The stub answers `/case/N` with the scripted bad response N; anything else it never answers. */
function scriptedStub(cases: BadResponse[]): HttpStub {
  return httpStub({
    respond: (req): StubReply => {
      const m = /^\/case\/(\d+)$/.exec(req.target);
      if (m === null) return { then: "silent" };
      const c = cases[Number(m[1])]!;
      return { bytes: c.answer, then: c.then };
    },
  });
}

async function withSetup(fn: (proxy: ProxyProcess, stub: HttpStub) => Promise<void>) {
  const all = [...BAD_RESPONSES, ...CLOSED_EARLY];
  const stub = scriptedStub(all);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(stub.port, deadPort()));
    await fn(proxy, stub);
  } finally {
    await proxy?.stop();
    await stub.close();
  }
}

/** Sends a GET for `path` on frontend `fe` and returns the reply, its log line and the elapsed time. */
async function ask(proxy: ProxyProcess, fe: string, request: string, deadlineMs = IO_MS) {
  const c = await RawClient.open(proxy.port(fe));
  try {
    return await explainFailure(proxy, () => c.localPort, async () => {
      const t0 = performance.now();
      await c.send(request);
      const r = await c.readResponse("GET", deadlineMs);
      const elapsed = performance.now() - t0;
      await c.expectClosed();
      const [log] = await logsOf(proxy, c.localPort);
      return { r, log: log!, elapsed, received: c.received };
    });
  } finally {
    c.close();
  }
}

Deno.test("invalid or oversize response heads: 502 to the client, PH-- logged", async (t) => {
  await withSetup(async (proxy, stub) => {
    const all = [...BAD_RESPONSES, ...CLOSED_EARLY];
    for (const [i, c] of all.entries()) {
      await t.step(`${c.name} → 502 ${c.tsc}`, async () => {
        const before = stub.requests.length;
        const { r, log, received } = await ask(
          proxy,
          "fe",
          `GET /case/${i} HTTP/1.1\r\nHost: a\r\n\r\n`,
        );
        assertErrorReply(r, 502, `server answered ${show(c.answer, 80)}`);
        assert.equal(log.status, 502, log.line);
        assert.equal(log.tsc, c.tsc, log.line);
        assert.equal(`${log.backend}/${log.server}`, "be/s1", log.line);
        assert.equal(log.request, `GET /case/${i} HTTP/1.1`, log.line);
        assert.equal(log.bytes, r.raw.length, log.line);
        // The request did reach the server (the failure is the server's).
        const reqs = await stub.requests.waitFor(before + 1, IO_MS, "requests");
        assert.equal(reqs[before]!.target, `/case/${i}`);
        // No byte of the bad response reached the client: all it got is the reply.
        assert.equal(latin1(received), latin1(r.raw), "the client got more than the reply");
      });
    }
  });
});

Deno.test("no server reachable after retries: 503, SC-- logged with the retry count", async () => {
  await withSetup(async (proxy, stub) => {
    const { r, log } = await ask(proxy, "fe_dead", "GET /dead HTTP/1.1\r\nHost: a\r\n\r\n");
    assertErrorReply(r, 503, "dead server");
    assert.equal(log.status, 503, log.line);
    assert.equal(log.tsc, "SC--", log.line);
    assert.equal(`${log.backend}/${log.server}`, "be_dead/d1", log.line);
    assert.equal(log.retries, 1, log.line);
    assert.equal(log.request, "GET /dead HTTP/1.1", log.line);
    assert.equal(stub.accepted, 0);
  });
});

Deno.test("no backend matched and no default: 503, fe/<NOSRV>, SC-- logged", async () => {
  await withSetup(async (proxy, stub) => {
    const { r, log } = await ask(proxy, "fe_nobe", "GET /nobe HTTP/1.1\r\nHost: a\r\n\r\n");
    assertErrorReply(r, 503, "no backend");
    assert.equal(log.status, 503, log.line);
    assert.equal(log.tsc, "SC--", log.line);
    assert.equal(`${log.backend}/${log.server}`, "fe_nobe/<NOSRV>", log.line);
    assert.equal(log.request, "GET /nobe HTTP/1.1", log.line);
    assert.equal(stub.accepted, 0);
  });
});

Deno.test("queue timeout: 503 after timeout queue, sQ-- logged", async () => {
  await withSetup(async (proxy, stub) => {
    // The first request takes the only slot and is never answered.
    const holder = await RawClient.open(proxy.port("fe_q"));
    try {
      await holder.send("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
      await stub.requests.waitFor(1, IO_MS, "requests");
      const { r, log, elapsed } = await ask(
        proxy,
        "fe_q",
        "GET /queued HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      assertErrorReply(r, 503, "queue timeout");
      assert.equal(log.tsc, "sQ--", log.line);
      assert.equal(log.backend, "be_q", log.line);
      assert.ok(elapsed >= QUEUE_TIMEOUT_MS - 5, `503 after ${elapsed.toFixed(0)} ms`);
      assert.ok(log.tw >= QUEUE_TIMEOUT_MS - 5, `Tw ${log.tw} < timeout queue: ${log.line}`);
      assert.equal(stub.requests.length, 1, "the queued request reached the server");
    } finally {
      holder.close();
    }
  });
});

Deno.test("server silent: 504 after timeout server, sH-- logged", async () => {
  await withSetup(async (proxy, stub) => {
    const { r, log, elapsed } = await ask(proxy, "fe", "GET /silent HTTP/1.1\r\nHost: a\r\n\r\n");
    assertErrorReply(r, 504, "silent server");
    assert.equal(log.status, 504, log.line);
    assert.equal(log.tsc, "sH--", log.line);
    assert.equal(`${log.backend}/${log.server}`, "be/s1", log.line);
    assert.ok(elapsed >= SERVER_TIMEOUT_MS - 5, `504 after ${elapsed.toFixed(0)} ms`);
    assert.ok(elapsed < SERVER_TIMEOUT_MS + 1_500, `504 after ${elapsed.toFixed(0)} ms`);
    assert.ok(log.ta >= SERVER_TIMEOUT_MS - 5, `Ta ${log.ta}: ${log.line}`);
    assert.equal(log.tr, -1, `no response, so Tr should be -1: ${log.line}`);
    const [req] = await stub.requests.waitFor(1, IO_MS, "requests");
    assert.equal(req!.target, "/silent");
    // The server connection is closed by the proxy after the timeout.
    const [conn] = await stub.connections.waitFor(1, IO_MS, "server connections");
    assert.equal(await conn!.waitEnd(IO_MS), "eof");
  });
});

Deno.test("request head incomplete within timeout http-request: 408, cR-- logged", async (t) => {
  await withSetup(async (proxy, stub) => {
    for (
      const [name, part] of [
        ["half a head", "GET /slow HTTP/1.1\r\nHost: a\r\n"],
        ["half a request line", "GET /sl"],
      ] as const
    ) {
      await t.step(name, async () => {
        const c = await RawClient.open(proxy.port("fe_slow"));
        try {
          await explainFailure(proxy, () => c.localPort, async () => {
            const t0 = performance.now();
            await c.send(part);
            const r = await c.readResponse("GET", IO_MS);
            const elapsed = performance.now() - t0;
            assertErrorReply(r, 408, "slow request head");
            await c.expectClosed();
            assert.ok(elapsed >= HTTP_REQUEST_TIMEOUT_MS - 5, `408 after ${elapsed.toFixed(0)} ms`);
            assert.ok(
              elapsed < HTTP_REQUEST_TIMEOUT_MS + 1_500,
              `408 after ${elapsed.toFixed(0)} ms`,
            );
            const [log] = await logsOf(proxy, c.localPort);
            assert.equal(log!.status, 408, log!.line);
            assert.equal(log!.tsc, "cR--", log!.line);
            assert.equal(`${log!.backend}/${log!.server}`, "fe_slow/<NOSRV>", log!.line);
            assert.equal(log!.request, "<BADREQ>", log!.line);
            assert.equal(stub.accepted, 0, "the server was contacted");
          });
        } finally {
          c.close();
        }
      });
    }
  });
});
