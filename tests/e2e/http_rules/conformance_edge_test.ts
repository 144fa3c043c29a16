// HTTP_RULES.md edge cases not covered by the other http_rules tests, seen
// through real sockets: request-smuggling variants of the request rules, and
// the response-side rules (502, the server connection never reused after a
// bad or over-long response, no tunnel without an Upgrade request).
//
// Each test is bounded (every read has a deadline) and uses 127.0.0.1 only.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import type { ProxyProcess } from "../../_helpers/proxy.ts";
import { type HttpStub, httpStub, type StubReply } from "../../_helpers/http_stub.ts";
import { assertErrorReply, httpConfig, latin1, logsOf, RawClient, show } from "./_common.ts";

const H = "Host: a\r\n";
const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

async function withProxy(
  fn: (proxy: ProxyProcess, stub: HttpStub) => Promise<void>,
  respond?: (req: import("../../_helpers/http_stub.ts").StubRequest) => StubReply,
): Promise<void> {
  const stub = httpStub(respond ? { respond } : {});
  const proxy = await startProxy(httpConfig({ serverPort: stub.port }));
  try {
    await fn(proxy, stub);
  } finally {
    await proxy.stop();
    await stub.close();
  }
}

/** The refusal: one error reply, a close, nothing at the server. */
async function expectHeadRejected(
  proxy: ProxyProcess,
  stub: HttpStub,
  request: string,
): Promise<void> {
  const before = stub.bytesReceived;
  const client = await RawClient.open(proxy.port("fe"));
  try {
    await client.send(request);
    const r = await client.readResponse();
    assertErrorReply(r, 400, `request ${show(request, 120)}`);
    await client.expectClosed();
    const [log] = await logsOf(proxy, client.localPort);
    assert.equal(log!.tsc, "PR--", log!.line);
    assert.equal(stub.bytesReceived, before, "bytes reached the server");
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------
// Requests: reject with 400 and close (cases the main table does not have)

const EXTRA_HEAD_CASES: Array<{ name: string; request: string }> = [
  { name: "HTTP/2 connection preface", request: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" },
  { name: "HTAB between method and target", request: `GET\t/ HTTP/1.1\r\n${H}\r\n` },
  { name: "asterisk target on GET", request: `GET * HTTP/1.1\r\n${H}\r\n` },
  { name: "authority-form target on OPTIONS", request: `OPTIONS a:80 HTTP/1.1\r\n${H}\r\n` },
  { name: "CONNECT with an origin-form target", request: `CONNECT /x HTTP/1.1\r\n${H}\r\n` },
  {
    name: "CONNECT authority not matching Host",
    request: `CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n`,
  },
  {
    name: "absolute-form target with userinfo",
    request: `GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n`,
  },
  {
    name: "absolute-form: second Host differs from the authority",
    request: `GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`,
  },
  { name: "Host a and Host a:80", request: `GET / HTTP/1.1\r\nHost: a\r\nHost: a:80\r\n\r\n` },
  { name: "NUL in a header name", request: `GET / HTTP/1.1\r\n${H}X\x00A: b\r\n\r\n` },
  { name: "bare CR in a header name", request: `GET / HTTP/1.1\r\n${H}X-A\r: b\r\n\r\n` },
  {
    name: "SP before the colon of Transfer-Encoding",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc`,
  },
  {
    name: "Transfer-Encoding: chunked, identity",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding: identity alone, with Content-Length",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc`,
  },
  {
    name: "Transfer-Encoding chunked then identity in a second header",
    request:
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding chunked followed by a vertical tab",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding 'chunked' twice with different case",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, CHUNKED\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "HTTP/1.0 with Transfer-Encoding and Content-Length",
    request:
      `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Content-Length '1,1' (documented: a list is refused)",
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 1,1\r\n\r\nx`,
  },
  {
    name: "Content-Length 5 then '5, 5'",
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5, 5\r\n\r\nhello`,
  },
  {
    name: "Content-Length 2^53",
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740992\r\n\r\n`,
  },
];

Deno.test("edge: more malformed request heads get 400 + close, nothing reaches the server", async (t) => {
  await withProxy(async (proxy, stub) => {
    for (const c of EXTRA_HEAD_CASES) {
      await t.step(c.name, () => expectHeadRejected(proxy, stub, c.request));
    }
  });
});

const CHUNK_HEAD = `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;

const EXTRA_CHUNK_CASES: Array<{ name: string; body: string }> = [
  { name: "bare LF after a chunk size", body: "5\nhello\r\n0\r\n\r\n" },
  { name: "bare LF after the last chunk", body: "0\n\r\n" },
  { name: "bare LF ending a trailer line", body: "0\r\nX-T: 1\n\r\n" },
  { name: "bare LF as the final empty line", body: "0\r\nX-T: 1\r\n\n" },
  { name: "chunk size 2^53 (0x20000000000000)", body: "20000000000000\r\nhello\r\n0\r\n\r\n" },
  { name: "NUL in a chunk extension", body: "5;a\x00b\r\nhello\r\n0\r\n\r\n" },
  { name: "bare CR in a chunk extension", body: "5;a\rb\r\nhello\r\n0\r\n\r\n" },
  { name: "space before a trailer colon", body: "0\r\nX-T : 1\r\n\r\n" },
  { name: "obs-fold in the trailers", body: "0\r\nX-T: 1\r\n 2\r\n\r\n" },
  { name: "two sizes on one line", body: "5 5\r\nhello\r\n0\r\n\r\n" },
];

Deno.test("edge: more malformed chunked request bodies get 400 + close, no complete request", async (t) => {
  await withProxy(async (proxy, stub) => {
    for (const c of EXTRA_CHUNK_CASES) {
      await t.step(c.name, async () => {
        const client = await RawClient.open(proxy.port("fe"));
        try {
          await client.send(CHUNK_HEAD + c.body + SMUGGLED);
          const r = await client.readResponse();
          assertErrorReply(r, 400, c.name);
          await client.expectClosed();
          const [log] = await logsOf(proxy, client.localPort);
          assert.equal(log!.tsc, "PD--", log!.line);
          assert.equal(stub.requests.length, 0, "a complete request reached the server");
          for (const conn of stub.connections.items) {
            assert.ok(!latin1(conn.raw).includes("smuggled"), `server got ${show(conn.raw)}`);
          }
        } finally {
          client.close();
        }
      });
    }
  });
});

// ---------------------------------------------------------------------------
// Requests that pass (guards)

Deno.test("edge: TE + CL with case / whitespace variants of chunked: CL dropped, close, no smuggling", async (t) => {
  for (const te of ["Chunked", "CHUNKED", "chunked ", "\tchunked", "gzip, chunked"]) {
    await t.step(JSON.stringify(te), async () => {
      await withProxy(async (proxy, stub) => {
        const body = "5\r\nhello\r\n0\r\n\r\n";
        const head = `POST /up HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding:${
          te.startsWith("\t") ? "" : " "
        }${te}\r\n\r\n`;
        const client = await RawClient.open(proxy.port("fe"));
        try {
          await client.send(head + body + SMUGGLED);
          const r = await client.readResponse();
          assert.equal(r.status, 200, show(r.raw));
          await client.expectClosed();
          const [req] = await stub.requests.waitFor(1, 2_000, "requests");
          assert.deepEqual(req!.header("content-length"), [], show(req!.head));
          assert.equal(latin1(req!.body!), body);
          assert.equal(stub.requests.length, 1);
          for (const conn of stub.connections.items) {
            assert.ok(!latin1(conn.raw).includes("smuggled"), `server got ${show(conn.raw)}`);
          }
        } finally {
          client.close();
        }
      });
    });
  }
});

Deno.test("edge: chunk sizes with leading zeros (16 digits) and quoted extensions pass byte for byte", async () => {
  await withProxy(async (proxy, stub) => {
    const body = '0000000000000005;name="a;b\\"c"\r\nhello\r\n000;x=""\r\nX-T: 1\r\n\r\n';
    const client = await RawClient.open(proxy.port("fe"));
    try {
      await client.send(CHUNK_HEAD + body + `GET /next HTTP/1.1\r\n${H}\r\n`);
      const r1 = await client.readResponse();
      assert.equal(r1.status, 200, show(r1.raw));
      const r2 = await client.readResponse();
      assert.equal(r2.status, 200, show(r2.raw));
      const reqs = await stub.requests.waitFor(2, 2_000, "requests");
      assert.equal(latin1(reqs[0]!.body!), body);
      assert.equal(reqs[1]!.target, "/next");
    } finally {
      client.close();
    }
  });
});

Deno.test("edge: GET with a Content-Length body, then a pipelined GET: both answered, bodies exact", async () => {
  await withProxy(async (proxy, stub) => {
    const first = `GET /a HTTP/1.1\r\n${H}Content-Length: 0005\r\n\r\nGET /`;
    const second = `GET /b HTTP/1.1\r\n${H}\r\n`;
    const client = await RawClient.open(proxy.port("fe"));
    try {
      await client.send(first + second);
      const r1 = await client.readResponse();
      const r2 = await client.readResponse();
      assert.equal(latin1(r1.body), "ok 0", show(r1.raw));
      assert.equal(latin1(r2.body), "ok 1", show(r2.raw));
      const reqs = await stub.requests.waitFor(2, 2_000, "requests");
      assert.equal(reqs[0]!.headText + latin1(reqs[0]!.body!), first);
      assert.equal(reqs[1]!.headText, second);
    } finally {
      client.close();
    }
  });
});

// ---------------------------------------------------------------------------
// Responses from servers

Deno.test("edge: 101 to a request that asked no Upgrade is refused (502), no tunnel opens", async () => {
  await withProxy(
    async (proxy, stub) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET /plain HTTP/1.1\r\n${H}\r\n`);
        const r = await client.readResponse();
        // Not a tunnel: whatever the client sends next must be parsed as a
        // request, never reach the server as raw tunnel bytes.
        if (r.status === 101) await client.send(SMUGGLED);
        assertErrorReply(r, 502, "101 without an Upgrade request");
        await client.expectClosed();
      } finally {
        client.close();
      }
      await new Promise((res) => setTimeout(res, 100));
      for (const conn of stub.connections.items) {
        assert.ok(
          !latin1(conn.raw).includes("smuggled"),
          `raw client bytes reached the server through a tunnel: ${show(conn.raw)}`,
        );
      }
    },
    (req) =>
      req.target === "/plain"
        ? { bytes: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", then: "echo" }
        : { bytes: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n" },
  );
});

Deno.test("edge: response with both Transfer-Encoding and Content-Length: chunked to the client, server connection not reused", async () => {
  const body = "5\r\nhello\r\n0\r\n\r\n";
  await withProxy(
    async (proxy, stub) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET /te HTTP/1.1\r\n${H}\r\n`);
        const r = await client.readResponse();
        assert.equal(r.status, 200, show(r.raw));
        assert.deepEqual(r.header("content-length"), [], show(r.raw));
        assert.equal(latin1(r.body), body);
        await client.send(`GET /next HTTP/1.1\r\n${H}\r\n`);
        const r2 = await client.readResponse();
        assert.equal(r2.status, 200, show(r2.raw));
        const reqs = await stub.requests.waitFor(2, 2_000, "requests");
        assert.notEqual(reqs[0]!.conn, reqs[1]!.conn, "server connection reused after TE+CL");
      } finally {
        client.close();
      }
    },
    (req) =>
      req.target === "/te"
        ? {
          bytes:
            `HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
        }
        : { bytes: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" },
  );
});

Deno.test("edge: malformed chunked response body: the client connection ends, the server connection is closed", async () => {
  await withProxy(
    async (proxy, stub) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET /bad HTTP/1.1\r\n${H}\r\n`);
        const { extra } = await client.readEnd();
        const got = latin1(extra);
        // Nothing was written to the client before the bad chunk arrived (one
        // segment): a 502 is still possible and due; an empty close is not.
        assert.ok(
          got.startsWith("HTTP/1.1 200") || got.startsWith("HTTP/1.1 502"),
          `the client got neither the response nor a 502: ${show(got)}`,
        );
        assert.ok(!got.includes("EVIL"), `bytes after the bad chunk were forwarded: ${show(got)}`);
        const conns = stub.connections.items;
        assert.equal(conns.length, 1);
        await conns[0]!.waitEnd(2_000);
      } finally {
        client.close();
      }
    },
    () => ({
      bytes:
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nEVIL",
      then: "keep",
    }),
  );
});

Deno.test("edge: 1xx with body bytes: the bytes are not a final response; 502", async () => {
  await withProxy(
    async (proxy) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
        const r1 = await client.readResponse();
        assert.equal(r1.status, 103, show(r1.raw));
        const r2 = await client.readResponse();
        assertErrorReply(r2, 502, "garbage after a 1xx");
        await client.expectClosed();
      } finally {
        client.close();
      }
    },
    () => ({
      bytes: "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n" +
        "content-length: 4\r\n\r\nEVIL",
      then: "keep",
    }),
  );
});

Deno.test("edge: 100 Continue, then the server closes: 502 after the interim response", async () => {
  await withProxy(
    async (proxy) => {
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
        const r1 = await client.readResponse();
        assert.equal(r1.status, 100, show(r1.raw));
        const r2 = await client.readResponse();
        assertErrorReply(r2, 502, "server closed after a 1xx");
        await client.expectClosed();
      } finally {
        client.close();
      }
    },
    () => ({ bytes: "HTTP/1.1 100 Continue\r\n\r\n", then: "close" }),
  );
});

/**
 * A server that answers the first request on its connection, then (after a
 * pause, so the bytes arrive in a separate read) writes a whole second,
 * unsolicited response, then answers a second request on the same connection
 * with `good`.
 */
function strayResponseServer(): { port: number; requests: string[]; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const conns: Deno.Conn[] = [];
  const readHead = async (c: Deno.Conn): Promise<string | null> => {
    let s = "";
    const b = new Uint8Array(4096);
    while (!s.includes("\r\n\r\n")) {
      const n = await c.read(b);
      if (n === null) return null;
      s += latin1(b.subarray(0, n));
    }
    return s;
  };
  const enc = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  const serve = (async () => {
    for await (const c of listener) {
      conns.push(c);
      (async () => {
        try {
          const r1 = await readHead(c);
          if (r1 === null) return;
          requests.push(r1);
          await c.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
          await new Promise((res) => setTimeout(res, 150));
          await c.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nEVIL"));
          const r2 = await readHead(c);
          if (r2 === null) return;
          requests.push(r2);
          await c.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ngood"));
        } catch {
          // connection closed by the proxy
        }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    requests,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await serve;
    },
  };
}

Deno.test("edge: an unsolicited response sent between requests is never given to the next request", async () => {
  const srv = strayResponseServer();
  const proxy = await startProxy(httpConfig({ serverPort: srv.port }));
  const client = await RawClient.open(proxy.port("fe"));
  try {
    await client.send(`GET /one HTTP/1.1\r\n${H}\r\n`);
    const r1 = await client.readResponse();
    assert.equal(latin1(r1.body), "ok", show(r1.raw));
    await new Promise((res) => setTimeout(res, 400)); // the stray response arrives meanwhile
    await client.send(`GET /two HTTP/1.1\r\n${H}\r\n`);
    const r2 = await client.readResponse();
    assert.notEqual(latin1(r2.body), "EVIL", `the stray response answered /two: ${show(r2.raw)}`);
  } finally {
    client.close();
    await proxy.stop();
    await srv.close();
  }
});
