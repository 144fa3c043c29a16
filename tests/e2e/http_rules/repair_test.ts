// HTTP_RULES.md, "Requests: accept, but repair": requests that are valid but
// ambiguous for some servers are forwarded in one unambiguous shape.
//
// - Transfer-Encoding chunked + Content-Length: the server gets the chunked
//   body without any Content-Length line, and the client connection is
//   closed after the response, so bytes after the body (a smuggled second
//   request) are never parsed nor forwarded.
// - Identical repeated Content-Length (and Host) lines: the server gets one.
// - Empty lines before a request line are skipped (not forwarded).
// - Absolute-form targets are accepted and their authority checked against
//   Host; `OPTIONS *` and `CONNECT host:port` are the only asterisk and
//   authority forms.
// - Obsolete line folding is refused with 400 (the documented choice).
//
// Server side: the stub records each request's head and body byte for byte;
// client side: the raw client frames responses itself.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { type HttpStub, httpStub, okReply } from "../../_helpers/http_stub.ts";
import { assertErrorReply, httpConfig, latin1, logsOf, RawClient, show } from "./_common.ts";

/** Starts a stub and a proxy in front of it, runs `fn`, and cleans up whatever happens. */
async function withProxy(
  fn: (proxy: ProxyProcess, stub: HttpStub) => Promise<void>,
  stub: HttpStub = httpStub(),
): Promise<void> {
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(httpConfig({ serverPort: stub.port }));
    await fn(proxy, stub);
  } finally {
    await proxy?.stop();
    await stub.close();
  }
}

/** Checks a refusal: 400 reply, close, PR-- logged, and no byte at the server. */
async function expectRefused(proxy: ProxyProcess, stub: HttpStub, request: string): Promise<void> {
  const before = stub.bytesReceived;
  const client = await RawClient.open(proxy.port("fe"));
  try {
    await client.send(request);
    const r = await client.readResponse();
    assertErrorReply(r, 400, `request ${show(request)}`);
    await client.expectClosed();
    const [log] = await logsOf(proxy, client.localPort);
    assert.equal(log!.status, 400, log!.line);
    assert.equal(log!.tsc, "PR--", log!.line);
    assert.equal(log!.request, "<BADREQ>", log!.line);
    assert.equal(stub.bytesReceived, before, "bytes reached the server");
  } finally {
    client.close();
  }
}

/** Sends `request`, expects one 200 from the stub, and returns the request the stub recorded. */
async function expectForwarded(proxy: ProxyProcess, stub: HttpStub, request: string) {
  const n = stub.requests.length;
  const client = await RawClient.open(proxy.port("fe"));
  try {
    await client.send(request);
    const r = await client.readResponse(request.startsWith("HEAD") ? "HEAD" : "GET");
    assert.equal(r.status, 200, `reply ${show(r.raw)}`);
    const reqs = await stub.requests.waitFor(n + 1, 2_000, "requests at the server");
    const [log] = await logsOf(proxy, client.localPort);
    assert.equal(log!.status, 200, log!.line);
    assert.equal(log!.tsc, "----", log!.line);
    return { req: reqs[n]!, res: r, log: log! };
  } finally {
    client.close();
  }
}

const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
const CHUNKED_BODY = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";

for (
  const [order, clFirst] of [["Content-Length first", true], [
    "Transfer-Encoding first",
    false,
  ]] as const
) {
  Deno.test(`TE + CL (${order}): chunked forwarded without CL, client closed after the response, no smuggling`, async () => {
    await withProxy(async (proxy, stub) => {
      const cl = "Content-Length: 4\r\n";
      const te = "Transfer-Encoding: chunked\r\n";
      const head = `POST /upload HTTP/1.1\r\nHost: a\r\n${
        clFirst ? cl + te : te + cl
      }X-End: 1\r\n\r\n`;
      const client = await RawClient.open(proxy.port("fe"));
      try {
        // The body, then a second request in the same segment: a server
        // framing by Content-Length would read "5\r\nh" as the body and the
        // rest as requests.
        await client.send(head + CHUNKED_BODY + SMUGGLED);
        const r = await client.readResponse();
        assert.equal(r.status, 200, show(r.raw));
        assert.equal(latin1(r.body), "ok 0");
        assert.deepEqual(
          r.header("connection").map((v) => v.toLowerCase()),
          ["close"],
          `the response should announce the close: ${show(r.raw)}`,
        );
        await client.expectClosed();

        const [req] = await stub.requests.waitFor(1, 2_000, "requests");
        const expectedHead = `POST /upload HTTP/1.1\r\nHost: a\r\n${te}X-End: 1\r\n\r\n`;
        assert.deepEqual(req!.header("content-length"), [], `server head ${show(req!.head)}`);
        assert.deepEqual(req!.header("transfer-encoding"), ["chunked"]);
        assert.deepEqual(
          req!.header("host"),
          ["a"],
          `server head ${show(req!.head)}`,
        );
        assert.equal(req!.method + " " + req!.target, "POST /upload");
        assert.equal(req!.header("x-end")[0], "1");
        // Apart from the dropped line (and maybe a Connection header the proxy
        // adds for the server), the head is unchanged.
        const headWithoutConn = req!.headText.replace(/\r\nconnection: close(?=\r\n)/i, "");
        assert.equal(headWithoutConn, expectedHead, `server head ${show(req!.head)}`);
        assert.equal(latin1(req!.body!), CHUNKED_BODY, "chunked body forwarded byte for byte");

        // Nothing after the body reached any server connection, and only one
        // request was logged.
        const logs = await logsOf(proxy, client.localPort);
        assert.equal(logs.length, 1);
        assert.equal(logs[0]!.request, "POST /upload HTTP/1.1");
        assert.equal(logs[0]!.status, 200);
        assert.equal(stub.requests.length, 1, "the smuggled request reached the server");
        for (const c of stub.connections.items) {
          assert.ok(!latin1(c.raw).includes("smuggled"), `server got ${show(c.raw)}`);
        }
        assert.ok(
          !proxy.logs.some((l) => l.includes("/smuggled")),
          `the smuggled request was parsed: ${proxy.logs.join("\n")}`,
        );
      } finally {
        client.close();
      }
    });
  });
}

Deno.test("TE + CL: a second request sent after the response is not served either", async () => {
  await withProxy(async (proxy, stub) => {
    const client = await RawClient.open(proxy.port("fe"));
    try {
      await client.send(
        `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n` +
          "0\r\n\r\n",
      );
      const r = await client.readResponse();
      assert.equal(r.status, 200, show(r.raw));
      // The connection is closing: whatever we send now is never answered.
      await client.send(SMUGGLED).catch(() => {});
      await client.expectClosed();
      assert.equal(stub.requests.length, 1);
    } finally {
      client.close();
    }
  });
});

Deno.test("identical repeated Content-Length lines reach the server as one", async () => {
  await withProxy(async (proxy, stub) => {
    const { req } = await expectForwarded(
      proxy,
      stub,
      "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-Mid: m\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.deepEqual(req.header("content-length"), ["5"], `server head ${show(req.head)}`);
    assert.equal(
      req.headText,
      "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-Mid: m\r\n\r\n",
    );
    assert.equal(latin1(req.body!), "hello");
  });
});

Deno.test("identical repeated Host lines reach the server as one (documented)", async () => {
  await withProxy(async (proxy, stub) => {
    const { req } = await expectForwarded(
      proxy,
      stub,
      "GET /h HTTP/1.1\r\nHost: a.example\r\nHost: A.example\r\n\r\n",
    );
    assert.deepEqual(req.header("host"), ["a.example"], `server head ${show(req.head)}`);
  });
});

Deno.test("empty lines before a request line are skipped, not forwarded", async () => {
  await withProxy(async (proxy, stub) => {
    const client = await RawClient.open(proxy.port("fe"));
    try {
      const first = "GET /first HTTP/1.1\r\nHost: a\r\n\r\n";
      const second = "GET /second HTTP/1.1\r\nHost: a\r\n\r\n";
      await client.send("\r\n\r\n" + first);
      const r1 = await client.readResponse();
      assert.equal(r1.status, 200, show(r1.raw));
      // A stray CRLF after a message (old clients send one after a POST body)
      // before the next request on the same connection.
      await client.send("\r\n" + second);
      const r2 = await client.readResponse();
      assert.equal(r2.status, 200, show(r2.raw));
      const reqs = await stub.requests.waitFor(2, 2_000, "requests");
      assert.equal(reqs[0]!.headText, first);
      assert.equal(reqs[1]!.headText, second);
      // Byte for byte what the server connection(s) carried: no CRLF left.
      const raw = stub.connections.items.map((c) => latin1(c.raw)).join("");
      assert.equal(raw, first + second);
      const logs = await logsOf(proxy, client.localPort, 2);
      assert.deepEqual(logs.map((l) => l.request), [
        "GET /first HTTP/1.1",
        "GET /second HTTP/1.1",
      ]);
    } finally {
      client.close();
    }
  });
});

Deno.test("absolute-form targets are accepted with a matching Host", async (t) => {
  await withProxy(async (proxy, stub) => {
    for (
      const [target, host] of [
        ["http://example.com/p?q=1", "example.com"],
        ["http://example.com:8080/p", "example.com:8080"],
        ["http://EXAMPLE.com/", "example.COM"],
        ["https://example.com/s", "example.com"],
      ] as const
    ) {
      await t.step(`${target} with Host ${host}`, async () => {
        const request = `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
        const { req, log } = await expectForwarded(proxy, stub, request);
        assert.equal(req.target, target);
        assert.equal(req.headText, request);
        assert.equal(log.request, `GET ${target} HTTP/1.1`);
      });
    }
    await t.step(
      "absolute-form with a different Host is refused",
      () =>
        expectRefused(proxy, stub, "GET http://example.com/ HTTP/1.1\r\nHost: other.com\r\n\r\n"),
    );
  });
});

Deno.test("OPTIONS * and CONNECT host:port are the only asterisk / authority forms", async (t) => {
  const stub = httpStub({
    respond: (req) =>
      req.method === "CONNECT"
        ? { bytes: "HTTP/1.1 200 Connection established\r\n\r\n", then: "echo" }
        : { bytes: okReply(req.index) },
  });
  await withProxy(async (proxy, stub) => {
    await t.step("OPTIONS * is forwarded", async () => {
      const request = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
      const { req, log } = await expectForwarded(proxy, stub, request);
      assert.equal(req.headText, request);
      assert.equal(log.request, "OPTIONS * HTTP/1.1");
    });
    await t.step("CONNECT host:port is forwarded", async () => {
      const n = stub.requests.length;
      const request = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(request);
        const r = await client.readResponse("CONNECT");
        assert.equal(r.status, 200, show(r.raw));
        const reqs = await stub.requests.waitFor(n + 1, 2_000, "requests");
        assert.equal(reqs[n]!.headText, request);
      } finally {
        client.close();
      }
    });
    for (
      const [name, request] of [
        ["GET *", "GET * HTTP/1.1\r\nHost: a\r\n\r\n"],
        ["HEAD *", "HEAD * HTTP/1.1\r\nHost: a\r\n\r\n"],
        ["OPTIONS *x", "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"],
        ["OPTIONS */", "OPTIONS */ HTTP/1.1\r\nHost: a\r\n\r\n"],
        ["GET host:port", "GET example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n\r\n"],
        ["POST host:port", "POST example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n\r\n"],
        ["CONNECT /", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"],
        ["CONNECT host (no port)", "CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"],
        ["CONNECT host:port/path", "CONNECT a.com:443/x HTTP/1.1\r\nHost: a.com:443\r\n\r\n"],
        ["CONNECT host:notaport", "CONNECT a.com:https HTTP/1.1\r\nHost: a.com:https\r\n\r\n"],
        ["CONNECT *", "CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n"],
        ["CONNECT with a different Host", "CONNECT a.com:443 HTTP/1.1\r\nHost: b.com:443\r\n\r\n"],
        ["a target without a leading /", "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n"],
      ] as const
    ) {
      await t.step(`${name} is refused`, () => expectRefused(proxy, stub, request));
    }
  }, stub);
});

Deno.test("obsolete line folding is refused with 400 (documented choice)", async (t) => {
  await withProxy(async (proxy, stub) => {
    for (
      const [name, request] of [
        ["folded with SP", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: part1\r\n part2\r\n\r\n"],
        ["folded with HTAB", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: part1\r\n\tpart2\r\n\r\n"],
        ["folded Host", "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"],
        [
          "folded Content-Length",
          "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n 0\r\n\r\n0123456789",
        ],
        ["whitespace line right after the request line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"],
      ] as const
    ) {
      await t.step(name, () => expectRefused(proxy, stub, request));
    }
  });
});
