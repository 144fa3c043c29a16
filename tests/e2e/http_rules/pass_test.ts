// HTTP_RULES.md, "Messages that pass": valid traffic goes through unchanged,
// with the connection management a client and a server expect.
//
// - Keep-alive on both sides by default (two requests, one client connection,
//   one server connection); pipelined requests answered in order;
//   `Connection: close` honoured; HTTP/1.0 closes unless keep-alive is asked,
//   and then gets `Connection: keep-alive`.
// - `Expect: 100-continue`: the interim response reaches the client before it
//   sends the body; then the final response.
// - Chunked bodies with extensions and trailers pass byte for byte, both
//   ways; 20 MiB bodies stream through (the server has the head and the
//   first MiB while the client still holds the rest).
// - Responses to HEAD, 1xx, 204 and 304 carry no body whatever their headers
//   say, and the next request on the connection still works.
// - Upgrade (WebSocket) and CONNECT become tunnels after 101 / 2xx, with the
//   tunnel timeout instead of the client/server ones.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { delay, SeededBytes, sha256Hex, writeSeeded } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  type HttpStub,
  httpStub,
  type HttpStubOptions,
  okReply,
  type StubReply,
} from "../../_helpers/http_stub.ts";
import {
  bytes,
  type ConfigOptions,
  httpConfig,
  IO_MS,
  latin1,
  logsOf,
  RawClient,
  show,
} from "./_common.ts";

/** Starts a stub and a proxy in front of it, runs `fn`, and cleans up whatever happens. */
async function withProxy(
  stubOpts: HttpStubOptions,
  cfg: Omit<ConfigOptions, "serverPort">,
  fn: (proxy: ProxyProcess, stub: HttpStub) => Promise<void>,
): Promise<void> {
  const stub = httpStub(stubOpts);
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(httpConfig({ ...cfg, serverPort: stub.port }));
    await fn(proxy, stub);
  } finally {
    await proxy?.stop();
    await stub.close();
  }
}

/** Opens a client, runs `fn`, always closes it. */
async function withClient<T>(proxy: ProxyProcess, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.open(proxy.port("fe"));
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Answers each request with a 200 whose body is the request's target. */
function echoTarget(req: { target: string; index: number }): StubReply {
  const body = req.target;
  return { bytes: `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}` };
}

function lower(v: string[]): string[] {
  return v.map((x) => x.toLowerCase());
}

// ---------------------------------------------------------------------------
// Connection management

Deno.test("keep-alive by default: two requests on one client connection use one server connection", async () => {
  await withProxy({ respond: echoTarget }, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const req1 = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
      const req2 = "GET /two HTTP/1.1\r\nHost: a\r\n\r\n";
      await c.send(req1);
      const r1 = await c.readResponse();
      assert.equal(r1.status, 200, show(r1.raw));
      assert.equal(latin1(r1.body), "/one");
      assert.deepEqual(r1.header("connection"), [], `no close announced: ${show(r1.raw)}`);
      await c.send(req2);
      const r2 = await c.readResponse();
      assert.equal(latin1(r2.body), "/two");
      // The client side is still open: the proxy has not closed it.
      const stubWritten = stub.connections.items.map((x) => latin1(x.written)).join("");
      assert.equal(latin1(c.received), stubWritten, "responses forwarded byte for byte");

      assert.equal(stub.accepted, 1, "both requests should share one server connection");
      const conn = stub.connections.items[0]!;
      assert.equal(conn.requests.length, 2);
      assert.equal(latin1(conn.raw), req1 + req2, "server got both heads unchanged");
      assert.equal(conn.end, null, "the server connection was closed");

      const logs = await logsOf(proxy, c.localPort, 2);
      assert.deepEqual(logs.map((l) => [l.request, l.status, l.tsc, l.server, l.bytes]), [
        ["GET /one HTTP/1.1", 200, "----", "s1", r1.raw.length],
        ["GET /two HTTP/1.1", 200, "----", "s1", r2.raw.length],
      ]);
      // A third request after a pause shorter than http-keep-alive still works.
      await c.send("GET /three HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal(latin1((await c.readResponse()).body), "/three");
      assert.equal(stub.accepted, 1);
    });
  });
});

Deno.test("pipelining: three requests sent at once are answered in order", async () => {
  // The first answer is delayed so that a proxy answering out of order, or
  // sending the next request before the first answer, would show.
  let first = true;
  const respond = async (req: { target: string; index: number }): Promise<StubReply> => {
    if (first) {
      first = false;
      await delay(100); // pacing only: lets the later requests arrive first if they can
    }
    return echoTarget(req);
  };
  await withProxy({ respond }, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const reqs = ["/1", "/2", "/3"].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`);
      await c.send(reqs.join(""));
      const bodies = [];
      for (let i = 0; i < 3; i++) {
        const r = await c.readResponse();
        assert.equal(r.status, 200, show(r.raw));
        bodies.push(latin1(r.body));
      }
      assert.deepEqual(bodies, ["/1", "/2", "/3"]);
      const got = await stub.requests.waitFor(3, IO_MS, "requests");
      assert.deepEqual(got.map((r) => r.target), ["/1", "/2", "/3"]);
      assert.deepEqual(got.map((r) => r.headText), reqs);
      const logs = await logsOf(proxy, c.localPort, 3);
      assert.deepEqual(logs.map((l) => `${l.request} ${l.status} ${l.tsc}`), [
        "GET /1 HTTP/1.1 200 ----",
        "GET /2 HTTP/1.1 200 ----",
        "GET /3 HTTP/1.1 200 ----",
      ]);
    });
  });
});

Deno.test("pipelining: a request with a body, then two more, all in one segment", async () => {
  await withProxy({ respond: echoTarget }, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const reqs = [
        "POST /p1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST /p2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "GET /p3 HTTP/1.1\r\nHost: a\r\n\r\n",
      ];
      await c.send(reqs.join(""));
      const bodies = [];
      for (let i = 0; i < 3; i++) bodies.push(latin1((await c.readResponse()).body));
      assert.deepEqual(bodies, ["/p1", "/p2", "/p3"]);
      const got = await stub.requests.waitFor(3, IO_MS, "requests");
      assert.deepEqual(got.map((r) => latin1(r.head) + latin1(r.body!)), reqs);
      assert.equal(stub.accepted, 1);
    });
  });
});

Deno.test("an idle keep-alive connection is closed after timeout http-keep-alive, silently", async () => {
  const timeouts = "connect: 1s, client: 5s, server: 5s, http-request: 2s, http-keep-alive: 300ms";
  await withProxy({}, { timeouts }, async (proxy) => {
    await withClient(proxy, async (c) => {
      await c.send("GET /once HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.readResponse()).status, 200);
      const t0 = performance.now();
      const { extra, end } = await c.readEnd(3_000);
      const idle = performance.now() - t0;
      assert.equal(latin1(extra), "", "no reply (no 408) on an idle keep-alive connection");
      assert.equal(end, "eof");
      assert.ok(idle >= 250, `closed after ${idle.toFixed(0)} ms, before http-keep-alive`);
      assert.ok(idle < 1_800, `closed after ${idle.toFixed(0)} ms: http-request (2 s) was used?`);
      const logs = await logsOf(proxy, c.localPort, 1);
      assert.equal(logs.length, 1);
      // Nothing more is logged for the idle end.
      assert.equal(proxy.logs.filter((l) => l.includes(`:${c.localPort} [`)).length, 1);
    });
  });
});

Deno.test("a request arriving a few bytes at a time is forwarded unchanged", async () => {
  await withProxy({ respond: echoTarget }, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const req = "\r\nPOST /slowly?x=1 HTTP/1.1\r\nHost: a\r\nX-A: some value\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n4;e=1\r\nabcd\r\n0\r\nX-T: 1\r\n\r\n";
      for (let i = 0; i < req.length; i += 3) await c.send(req.slice(i, i + 3));
      const r = await c.readResponse();
      assert.equal(latin1(r.body), "/slowly?x=1", show(r.raw));
      const [got] = await stub.requests.waitFor(1, IO_MS, "requests");
      assert.equal(latin1(got!.head) + latin1(got!.body!), req.slice(2));
    });
  });
});

Deno.test("Connection: close is honoured: one response, then the proxy closes", async () => {
  await withProxy({}, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const req = "GET /bye HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
      // A request pipelined after the close must be neither answered nor forwarded.
      await c.send(req + "GET /after-close HTTP/1.1\r\nHost: a\r\n\r\n");
      const r = await c.readResponse();
      assert.equal(r.status, 200, show(r.raw));
      assert.deepEqual(lower(r.header("connection")), ["close"], show(r.raw));
      await c.expectClosed();
      const [got] = await stub.requests.waitFor(1, IO_MS, "requests");
      assert.equal(got!.headText, req, "forwarded unchanged");
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.tsc, "----", log!.line);
      assert.equal(stub.requests.length, 1, "the request after the close was forwarded");
      assert.ok(!proxy.logs.some((l) => l.includes("/after-close")), proxy.logs.join("\n"));
    });
  });
});

Deno.test("a server's Connection: close does not close the client connection", async () => {
  const respond = (req: { index: number }): StubReply => ({
    bytes: okReply(req.index, "Connection: close\r\n"),
    then: "close",
  });
  await withProxy({ respond }, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      await c.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
      const r1 = await c.readResponse();
      assert.equal(latin1(r1.body), "ok 0", show(r1.raw));
      await c.send("GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
      const r2 = await c.readResponse();
      assert.equal(latin1(r2.body), "ok 1", show(r2.raw));
      assert.equal(stub.accepted, 2, "a new server connection for the second request");
    });
  });
});

Deno.test("HTTP/1.0 without keep-alive: the proxy closes after the response", async () => {
  await withProxy({}, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const req = "GET /old HTTP/1.0\r\n\r\n";
      await c.send(req + "GET /after-close HTTP/1.0\r\n\r\n");
      const r = await c.readResponse();
      assert.equal(r.status, 200, show(r.raw));
      assert.equal(latin1(r.body), "ok 0");
      await c.expectClosed();
      const [got] = await stub.requests.waitFor(1, IO_MS, "requests");
      assert.equal(got!.headText, req);
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.request, "GET /old HTTP/1.0");
      assert.equal(log!.tsc, "----", log!.line);
      assert.equal(stub.requests.length, 1, "the request after the close was forwarded");
    });
  });
});

Deno.test("HTTP/1.0 with Connection: keep-alive: kept open and told so", async () => {
  await withProxy({}, {}, async (proxy) => {
    await withClient(proxy, async (c) => {
      for (const path of ["/k1", "/k2"]) {
        await c.send(`GET ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
        const r = await c.readResponse();
        assert.equal(r.status, 200, show(r.raw));
        assert.deepEqual(
          lower(r.header("connection")),
          ["keep-alive"],
          `an HTTP/1.0 client must be told the connection stays open: ${show(r.raw)}`,
        );
      }
      const logs = await logsOf(proxy, c.localPort, 2);
      assert.deepEqual(logs.map((l) => l.request), ["GET /k1 HTTP/1.0", "GET /k2 HTTP/1.0"]);
    });
  });
});

// ---------------------------------------------------------------------------
// Expect: 100-continue

Deno.test("Expect: 100-continue: the client sees 100 Continue, then the final response", async () => {
  await withProxy({}, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const head =
        "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n";
      await c.send(head);
      // The body is held back until the interim response arrives.
      const interim = await c.readResponse("POST");
      assert.equal(interim.status, 100, show(interim.raw));
      assert.equal(latin1(interim.raw), "HTTP/1.1 100 Continue\r\n\r\n");
      await c.send("hello world");
      const r = await c.readResponse("POST");
      assert.equal(r.status, 200, show(r.raw));
      assert.equal(latin1(r.body), "ok 0");
      const [got] = await stub.requests.waitFor(1, IO_MS, "requests");
      assert.equal(got!.headText, head);
      assert.equal(latin1(got!.body!), "hello world");
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.status, 200, log!.line);
      assert.equal(log!.tsc, "----", log!.line);
      // The connection still serves requests.
      await c.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal(latin1((await c.readResponse()).body), "ok 1");
    });
  });
});

// ---------------------------------------------------------------------------
// Chunked bodies

Deno.test("chunked bodies with extensions and trailers pass byte for byte, both ways", async () => {
  const resBody =
    '4;a=1\r\nWiki\r\n5;b;c="x, y"\r\npedia\r\n0;end\r\nX-Sum: abc\r\nX-Two: 2\r\n\r\n';
  const resHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n";
  const respond = (req: { index: number }): StubReply =>
    req.index === 0 ? { bytes: resHead + resBody } : { bytes: okReply(req.index) };
  await withProxy({ respond }, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const head = "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
      const body = "3;ext\r\nabc\r\n" + 'A;n="q;v"  \r\n0123456789\r\n' +
        "000\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n";
      await c.send(head + body);
      const r = await c.readResponse("POST");
      assert.equal(latin1(r.raw), resHead + resBody, "response forwarded byte for byte");
      const [got] = await stub.requests.waitFor(1, IO_MS, "requests");
      assert.equal(got!.headText, head);
      assert.equal(latin1(got!.body!), body, "request body forwarded byte for byte");
      // The next request on the same connection still works.
      await c.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal(latin1((await c.readResponse()).body), "ok 1");
      assert.equal(stub.accepted, 1);
      const logs = await logsOf(proxy, c.localPort, 2);
      assert.deepEqual(logs.map((l) => l.tsc), ["----", "----"]);
    });
  });
});

// ---------------------------------------------------------------------------
// Large bodies

const BIG = 20 * 1024 * 1024;

Deno.test("a 20 MiB request body streams through to the server", async () => {
  await withProxy({}, {}, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const head = `POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${BIG}\r\n\r\n`;
      const first = new SeededBytes(7).bytes(1024 * 1024);
      await c.send(head);
      await c.send(first);
      // Streaming: the server has the head and the first MiB before the
      // client sends the other 19.
      const conn = (await stub.connections.waitFor(1, IO_MS, "server connections"))[0]!;
      await conn.waitRaw(head.length + first.length, IO_MS);
      assert.equal(stub.requests.length, 0);
      const rest = await writeSeeded(c.conn, BIG - first.length, 8, 20_000);
      const [got] = await stub.requests.waitFor(1, 20_000, "requests");
      // digest of first + rest, recomputed from the seeds
      const h = createHash("sha256");
      h.update(first);
      const gen = new SeededBytes(8);
      const buf = new Uint8Array(256 * 1024);
      for (let left = BIG - first.length; left > 0; left -= buf.length) {
        gen.fill(buf);
        h.update(buf.subarray(0, Math.min(left, buf.length)));
      }
      assert.equal(rest.count, BIG - first.length);
      assert.equal(got!.bodyLength, BIG);
      assert.equal(got!.bodySha256, h.digest("hex"));
      const r = await c.readResponse("POST");
      assert.equal(r.status, 200, show(r.raw));
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.tsc, "----", log!.line);
    });
  });
});

Deno.test("a 20 MiB response body streams through to the client", async () => {
  const payload = new SeededBytes(9).bytes(BIG);
  const head = bytes(`HTTP/1.1 200 OK\r\nContent-Length: ${BIG}\r\n\r\n`);
  const reply = new Uint8Array(head.length + BIG);
  reply.set(head, 0);
  reply.set(payload, head.length);
  await withProxy({ respond: () => ({ bytes: reply }) }, {}, async (proxy) => {
    await withClient(proxy, async (c) => {
      await c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
      const { head: h, sha256, length } = await c.readLargeResponse(20_000);
      assert.equal(h.status, 200);
      assert.equal(length, BIG);
      assert.equal(sha256, sha256Hex(payload));
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.tsc, "----", log!.line);
      assert.equal(log!.bytes, head.length + BIG, log!.line);
    });
  });
});

// ---------------------------------------------------------------------------
// Responses without a body

interface NoBodyCase {
  name: string;
  method: string;
  /** What the server answers (no body bytes follow, as a correct server does). */
  answer: string;
  /** Statuses the client must see before the final answer to the next request. */
  statuses: number[];
}

const NO_BODY_CASES: NoBodyCase[] = [
  {
    name: "HEAD with Content-Length: 1000",
    method: "HEAD",
    answer: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
    statuses: [200],
  },
  {
    name: "HEAD with Transfer-Encoding: chunked",
    method: "HEAD",
    answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    statuses: [200],
  },
  {
    name: "204 with Content-Length: 5",
    method: "GET",
    answer: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    statuses: [204],
  },
  {
    name: "204 with Transfer-Encoding: chunked",
    method: "DELETE",
    answer: "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
    statuses: [204],
  },
  {
    name: "304 with Content-Length: 5",
    method: "GET",
    answer: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: "x"\r\n\r\n',
    statuses: [304],
  },
  {
    name: "103 with Content-Length: 5, then 200",
    method: "GET",
    answer: "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nLink: </s.css>\r\n\r\n" +
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
    statuses: [103, 200],
  },
  {
    name: "two 1xx, then 200",
    method: "GET",
    answer: "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
    statuses: [102, 103, 200],
  },
];

Deno.test("responses to HEAD, 1xx, 204 and 304 have no body; the next request still works", async (t) => {
  let script: NoBodyCase | null = null;
  const respond = (req: { target: string; index: number }): StubReply =>
    req.target === "/nobody" ? { bytes: script!.answer } : { bytes: okReply(req.index) };
  await withProxy({ respond }, {}, async (proxy, stub) => {
    for (const c of NO_BODY_CASES) {
      for (const pipelined of [false, true]) {
        await t.step(`${c.name}${pipelined ? ", next request pipelined" : ""}`, async () => {
          script = c;
          await withClient(proxy, async (cl) => {
            const n = stub.requests.length;
            const first = `${c.method} /nobody HTTP/1.1\r\nHost: a\r\n\r\n`;
            const nextReq = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
            await cl.send(pipelined ? first + nextReq : first);
            for (const st of c.statuses) {
              const r = await cl.readResponse(c.method, 2_000);
              assert.equal(r.status, st, show(r.raw));
              if (st === 200 && c.method !== "HEAD") assert.equal(latin1(r.body), "hi");
            }
            // The proxy did not wait for a body and did not forward one: the
            // next request gets its own answer, and nothing else arrived.
            if (!pipelined) await cl.send(nextReq);
            const next = await cl.readResponse("GET", 2_000);
            assert.equal(next.status, 200, show(next.raw));
            const reqs = await stub.requests.waitFor(n + 2, IO_MS, "requests");
            assert.equal(latin1(next.body), `ok ${reqs[n + 1]!.index}`);
            assert.equal(
              latin1(cl.received),
              c.answer + latin1(next.raw),
              "client got exactly the server's bytes",
            );
            const logs = await logsOf(proxy, cl.localPort, 2);
            assert.deepEqual(logs.map((l) => [l.status, l.tsc]), [
              [c.statuses.at(-1)!, "----"],
              [200, "----"],
            ]);
          });
        });
      }
    }
  });
});

// ---------------------------------------------------------------------------
// Tunnels

const TUNNEL_TIMEOUTS = "connect: 1s, client: 300ms, server: 300ms, tunnel: 1200ms, " +
  "http-request: 2s, http-keep-alive: 2s";

/**
 * After the tunnel is up: the server speaks first, the client's bytes (which
 * look like HTTP on purpose) come back echoed, and idle periods longer than
 * client/server timeouts but shorter than the tunnel timeout do not end it;
 * an idle period longer than the tunnel timeout does.
 */
async function exerciseTunnel(c: RawClient, greeting: string): Promise<void> {
  assert.equal(latin1(await c.readExactly(greeting.length)), greeting);
  const payload = "GET /not-parsed HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff binary \r\n";
  await c.send(payload);
  assert.equal(latin1(await c.readExactly(payload.length)), payload);
  // Idle longer than timeout client/server (300 ms), under timeout tunnel.
  await delay(600);
  await c.send("ping");
  assert.equal(latin1(await c.readExactly(4)), "ping");
  // Idle past the tunnel timeout: the proxy closes.
  const t0 = performance.now();
  const { extra } = await c.readEnd(5_000);
  const idle = performance.now() - t0;
  assert.equal(extra.length, 0, show(extra));
  assert.ok(idle >= 1_100, `tunnel closed after ${idle.toFixed(0)} ms idle, before timeout tunnel`);
  assert.ok(idle < 3_000, `tunnel closed after ${idle.toFixed(0)} ms idle`);
}

Deno.test("Upgrade: websocket → 101, then bytes flow both ways under timeout tunnel", async () => {
  const greeting = "\x81\x05hello"; // a WebSocket text frame from the server
  const res101 =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  const respond = (): StubReply => ({ bytes: res101 + greeting, then: "echo" });
  await withProxy({ respond }, { timeouts: TUNNEL_TIMEOUTS }, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const req = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
      await c.send(req);
      const r = await c.readResponse("GET");
      assert.equal(r.status, 101, show(r.raw));
      assert.equal(latin1(r.raw), res101, "101 forwarded unchanged");
      const [got] = await stub.requests.waitFor(1, IO_MS, "requests");
      assert.equal(got!.headText, req, "upgrade request forwarded unchanged");
      await exerciseTunnel(c, greeting);
      // Logged when the tunnel ends (as HAProxy does): idle past timeout tunnel.
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.status, 101, log!.line);
      assert.equal(log!.tsc, "cD--", log!.line);
    });
  });
});

Deno.test("CONNECT host:port → 200, then bytes flow both ways under timeout tunnel", async () => {
  const greeting = "SSH-2.0-stub\r\n";
  const res200 = "HTTP/1.1 200 Connection established\r\n\r\n";
  const respond = (): StubReply => ({ bytes: res200 + greeting, then: "echo" });
  await withProxy({ respond }, { timeouts: TUNNEL_TIMEOUTS }, async (proxy, stub) => {
    await withClient(proxy, async (c) => {
      const req = "CONNECT example.com:22 HTTP/1.1\r\nHost: example.com:22\r\n\r\n";
      await c.send(req);
      const r = await c.readResponse("CONNECT");
      assert.equal(r.status, 200, show(r.raw));
      assert.equal(latin1(r.raw), res200);
      const [got] = await stub.requests.waitFor(1, IO_MS, "requests");
      assert.equal(got!.headText, req);
      await exerciseTunnel(c, greeting);
      const [log] = await logsOf(proxy, c.localPort);
      assert.equal(log!.status, 200, log!.line);
      assert.equal(log!.request, "CONNECT example.com:22 HTTP/1.1");
      assert.equal(log!.tsc, "cD--", log!.line);
    });
  });
});
