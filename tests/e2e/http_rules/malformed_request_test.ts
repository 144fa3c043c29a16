// Malformed requests: more broken heads and chunked bodies get 400 and a
// close with nothing (or no complete request) reaching the server, and
// Transfer-Encoding + Content-Length with variants of "chunked" drop the
// length, close after the response and smuggle nothing.
//
// Each test is bounded (every read has a deadline) and uses 127.0.0.1 only.

import assert from "node:assert/strict";
import type { ProxyProcess } from "../../_helpers/proxy.ts";
import type { HttpStub } from "../../_helpers/http_stub.ts";
import { assertErrorReply, latin1, logsOf, RawClient, show } from "./_common.ts";
import { CHUNK_HEAD, H, SMUGGLED, withProxy } from "./_conformance.ts";

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

Deno.test("more malformed request heads get 400 + close, nothing reaches the server", async (t) => {
  await withProxy(async (proxy, stub) => {
    for (const c of EXTRA_HEAD_CASES) {
      await t.step(c.name, () => expectHeadRejected(proxy, stub, c.request));
    }
  });
});

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

Deno.test("more malformed chunked request bodies get 400 + close, no complete request", async (t) => {
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

Deno.test("TE + CL with case / whitespace variants of chunked: CL dropped, close, no smuggling", async (t) => {
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
