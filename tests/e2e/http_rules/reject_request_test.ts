// HTTP_RULES.md, "Requests: reject with 400 and close": every ambiguous or
// malformed request is refused before it reaches a server.
//
// One proxy and one stub server serve the whole table. For each request the
// client must receive exactly one complete error reply (status, the four
// headers, HTML body), then the proxy must close the connection by itself
// (the client never half-closes), the stub must have seen no connection and
// no byte, and the request's log line must say 400, `fe/<NOSRV>`, `PR--` and
// `<BADREQ>`.
//
// Malformed chunked bodies are found only after the head was forwarded (the
// body streams), so for them "nothing reached the server" becomes: no
// complete request and not one byte from the offending one on; the server
// connection is aborted, the client still gets 400, and the log says `PD--`
// (the proxy, in the data phase).
//
// Control cases (101 headers, a head just under the size limit) pass, so the
// limits are where they are documented and not lower.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { type HttpStub, httpStub } from "../../_helpers/http_stub.ts";
import { assertErrorReply, bytes, httpConfig, latin1, logsOf, RawClient, show } from "./_common.ts";
import type { ProxyProcess } from "../../_helpers/proxy.ts";

interface RejectCase {
  name: string;
  /** The request, latin1 (raw bytes ≥ 0x80 and controls allowed). */
  request: string;
  /** Status of the reply; 400 unless noted. */
  status?: number;
}

const H = "Host: a\r\n";

/** Head-level refusals: answered before any server is chosen. */
const HEAD_CASES: RejectCase[] = [
  // --- request line: method
  { name: "method with '@'", request: `G@T / HTTP/1.1\r\n${H}\r\n` },
  { name: "method with '('", request: `GE(T / HTTP/1.1\r\n${H}\r\n` },
  { name: "method with a control byte", request: `GE\x01T / HTTP/1.1\r\n${H}\r\n` },
  { name: "method with a byte >= 0x80", request: `G\xc9T / HTTP/1.1\r\n${H}\r\n` },
  { name: "leading space before the method", request: ` GET / HTTP/1.1\r\n${H}\r\n` },
  // --- request line: target
  { name: "space inside the target", request: `GET /a b HTTP/1.1\r\n${H}\r\n` },
  { name: "HTAB inside the target", request: `GET /a\tb HTTP/1.1\r\n${H}\r\n` },
  { name: "control byte 0x01 in the target", request: `GET /a\x01b HTTP/1.1\r\n${H}\r\n` },
  { name: "DEL in the target", request: `GET /a\x7fb HTTP/1.1\r\n${H}\r\n` },
  { name: "byte 0x80 in the target", request: `GET /a\x80b HTTP/1.1\r\n${H}\r\n` },
  { name: "byte 0xff in the target", request: `GET /caf\xff HTTP/1.1\r\n${H}\r\n` },
  { name: "'#' in the target", request: `GET /a#frag HTTP/1.1\r\n${H}\r\n` },
  { name: "empty target (two spaces)", request: `GET  HTTP/1.1\r\n${H}\r\n` },
  // --- request line: version
  { name: "version HTTP/1.2", request: `GET / HTTP/1.2\r\n${H}\r\n` },
  { name: "version HTTP/2.0", request: `GET / HTTP/2.0\r\n${H}\r\n` },
  { name: "version HTTP/0.9", request: `GET / HTTP/0.9\r\n${H}\r\n` },
  { name: "version in lower case", request: `GET / http/1.1\r\n${H}\r\n` },
  { name: "version HTTP/1.10", request: `GET / HTTP/1.10\r\n${H}\r\n` },
  { name: "space after the version", request: `GET / HTTP/1.1 \r\n${H}\r\n` },
  { name: "HTTP/0.9 bare request line", request: `GET /\r\n` },
  { name: "HTTP/0.9 bare request line, then a blank line", request: `GET /\r\n\r\n` },
  // --- header names
  { name: "empty header name", request: `GET / HTTP/1.1\r\n${H}: x\r\n\r\n` },
  { name: "space inside a header name", request: `GET / HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n` },
  { name: "'\"' in a header name", request: `GET / HTTP/1.1\r\n${H}X"Y: z\r\n\r\n` },
  { name: "'(' in a header name", request: `GET / HTTP/1.1\r\n${H}X(Y): z\r\n\r\n` },
  { name: "'@' in a header name", request: `GET / HTTP/1.1\r\n${H}X@Y: z\r\n\r\n` },
  { name: "byte >= 0x80 in a header name", request: `GET / HTTP/1.1\r\n${H}X\xe9: z\r\n\r\n` },
  { name: "header line without a colon", request: `GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n` },
  { name: "SP between name and colon", request: `GET / HTTP/1.1\r\n${H}X-A : b\r\n\r\n` },
  { name: "HTAB between name and colon", request: `GET / HTTP/1.1\r\n${H}X-A\t: b\r\n\r\n` },
  { name: "SP between Host and colon", request: `GET / HTTP/1.1\r\nHost : a\r\n\r\n` },
  // --- header values, CR and LF
  { name: "NUL in a value", request: `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n` },
  { name: "bare CR inside a value", request: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n` },
  {
    name: "bare LF inside a value (a hidden header)",
    request: `GET / HTTP/1.1\r\n${H}X-A: a\nContent-Length: 5\r\n\r\nhello`,
  },
  {
    name: "CR CR LF at the end of a header line",
    request: `GET / HTTP/1.1\r\n${H}X-A: a\r\r\n\r\n`,
  },
  { name: "bare CR in the request line", request: `GET /\r HTTP/1.1\r\n${H}\r\n` },
  { name: "bare CR before the request line", request: `\rGET / HTTP/1.1\r\n${H}\r\n` },
  { name: "bare CR as the end of the head", request: `GET / HTTP/1.1\r\n${H}\r\r\n` },
  { name: "bare LF line ends (documented refusal)", request: `GET / HTTP/1.1\nHost: a\n\n` },
  { name: "bare LF after the request line", request: `GET / HTTP/1.1\n${H}\r\n` },
  // --- Content-Length
  { name: "Content-Length empty", request: `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n` },
  { name: "Content-Length blank", request: `POST / HTTP/1.1\r\n${H}Content-Length:  \r\n\r\n` },
  { name: "Content-Length +5", request: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello` },
  { name: "Content-Length -1", request: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n` },
  { name: "Content-Length 5x", request: `POST / HTTP/1.1\r\n${H}Content-Length: 5x\r\n\r\nhello` },
  { name: "Content-Length 0x10", request: `POST / HTTP/1.1\r\n${H}Content-Length: 0x10\r\n\r\n` },
  { name: "Content-Length 1 2", request: `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\n` },
  {
    name: "Content-Length overflowing",
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999999\r\n\r\n`,
  },
  {
    name: "Content-Length list with different values",
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!`,
  },
  {
    name: "Content-Length repeated with different values",
    request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
  },
  // --- Transfer-Encoding
  {
    name: "Transfer-Encoding gzip (last coding not chunked)",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding chunked, gzip",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding chunked then a second header gzip",
    request:
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding chunked, chunked",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding chunked in two headers",
    request:
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "unknown coding before chunked (documented 400)",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "identity before chunked (documented as unknown)",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding empty",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \r\n\r\n`,
  },
  {
    name: "Transfer-Encoding chunked;param",
    request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n`,
  },
  {
    name: "Transfer-Encoding in HTTP/1.0 (documented)",
    request: `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  },
  // --- Host
  {
    name: "two Host headers with different values",
    request: `GET / HTTP/1.1\r\n${H}Host: b\r\n\r\n`,
  },
  {
    name: "Host not matching the absolute-form authority",
    request: `GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n`,
  },
  {
    name: "Host without the port of the absolute-form authority (documented)",
    request: `GET http://a:8080/ HTTP/1.1\r\nHost: a\r\n\r\n`,
  },
  { name: "HTTP/1.1 without Host", request: `GET / HTTP/1.1\r\nX-A: b\r\n\r\n` },
  { name: "HTTP/1.1 absolute-form without Host", request: `GET http://a/ HTTP/1.1\r\n\r\n` },
  { name: "Host with a space", request: `GET / HTTP/1.1\r\nHost: a b\r\n\r\n` },
  { name: "Host with userinfo", request: `GET / HTTP/1.1\r\nHost: u@a\r\n\r\n` },
  // --- size and count limits (defaults: bufsize 16k - maxrewrite 1k; maxhdr 101)
  {
    name: "head larger than the buffer allows (15.5 KiB, limit 15 KiB)",
    request: `GET / HTTP/1.1\r\n${H}X-Big: ${"b".repeat(15_500)}\r\n\r\n`,
  },
  {
    name: "request line alone larger than the buffer allows",
    request: `GET /${"u".repeat(15_500)} HTTP/1.1\r\n${H}\r\n`,
  },
  {
    name: "102 header lines (default maximum 101)",
    request: `GET / HTTP/1.1\r\n${H}${headerLines(101)}\r\n`,
  },
  // --- not HTTP
  { name: "TLS ClientHello on the plain port", request: latin1(tlsClientHello()) },
  { name: "NUL bytes", request: "\x00\x00\x00\x00\r\n\r\n" },
  { name: "an SSH banner", request: "SSH-2.0-OpenSSH_9.6\r\n" },
];

/** Chunked bodies refused after the head went to the server. */
interface ChunkCase {
  name: string;
  /** The body (the head is a POST with Transfer-Encoding: chunked). */
  body: string;
  /** Offset in `body` of the first byte that must never reach the server. */
  bad: number;
}

const CHUNK_HEAD = `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;

const CHUNK_CASES: ChunkCase[] = [
  { name: "chunk size not hex", body: "5\r\nhello\r\nzz\r\nhello\r\n0\r\n\r\n", bad: 10 },
  { name: "chunk size with a sign", body: "+5\r\nhello\r\n0\r\n\r\n", bad: 0 },
  { name: "chunk size 0x5", body: "0x5\r\nhello\r\n0\r\n\r\n", bad: 1 },
  { name: "empty chunk size", body: "\r\nhello\r\n0\r\n\r\n", bad: 0 },
  {
    name: "chunk size over 16 hex digits (leading zeros)",
    body: "00000000000000005\r\nhello\r\n0\r\n\r\n",
    bad: 16,
  },
  {
    name: "chunk size over 16 hex digits",
    body: "10000000000000000\r\nhello\r\n0\r\n\r\n",
    bad: 16,
  },
  {
    name: "chunk size overflowing 2^53-1",
    body: "ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    bad: 13,
  },
  { name: "missing CRLF after chunk data", body: "5\r\nhelloXX\r\n0\r\n\r\n", bad: 8 },
  { name: "chunk data longer than its size", body: "3\r\nhello\r\n0\r\n\r\n", bad: 6 },
  { name: "bare LF after chunk data", body: "5\r\nhello\n0\r\n\r\n", bad: 8 },
];

/** `n` distinct header lines `X-Hn: v`. */
function headerLines(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += `X-H${i}: v\r\n`;
  return s;
}

/** The first bytes of a real TLS 1.2 ClientHello record. */
function tlsClientHello(): Uint8Array {
  const hello = [0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03];
  for (let i = 0; i < 32; i++) hello.push((i * 37 + 11) & 0xff); // random
  hello.push(0x00, 0x00, 0x20, 0xcc, 0xa8, 0xcc, 0xa9, 0xc0, 0x2f, 0xc0, 0x30);
  return new Uint8Array(hello);
}

/**
 * Sends `request` on a fresh connection and checks the refusal: the exact
 * error reply, the close, the log line, and that the stub received nothing.
 */
async function expectRejected(
  proxy: ProxyProcess,
  stub: HttpStub,
  request: string,
  status = 400,
): Promise<void> {
  const client = await RawClient.open(proxy.port("fe"));
  try {
    await client.send(request);
    const r = await client.readResponse();
    assertErrorReply(r, status, `request ${show(request, 120)}`);
    await client.expectClosed();
    const [log] = await logsOf(proxy, client.localPort);
    assert.equal(log!.status, status, log!.line);
    assert.equal(log!.tsc, "PR--", log!.line);
    assert.equal(`${log!.backend}/${log!.server}`, "fe/<NOSRV>", log!.line);
    assert.equal(log!.request, "<BADREQ>", log!.line);
    assert.equal(log!.bytes, r.raw.length, `log %B vs bytes received: ${log!.line}`);
    assert.equal(stub.accepted, 0, "a connection reached the server");
    assert.equal(stub.bytesReceived, 0, "bytes reached the server");
  } finally {
    client.close();
  }
}

Deno.test("malformed request heads: 400, close, nothing reaches the server, PR-- logged", async (t) => {
  const stub = httpStub();
  const proxy = await startProxy(httpConfig({ serverPort: stub.port }));
  try {
    for (const c of HEAD_CASES) {
      await t.step(c.name, () => expectRejected(proxy, stub, c.request, c.status));
    }
  } finally {
    await proxy.stop();
    await stub.close();
  }
});

Deno.test("malformed chunked request bodies: 400, close, no invalid byte reaches the server, PD-- logged", async (t) => {
  const stub = httpStub();
  const proxy = await startProxy(httpConfig({ serverPort: stub.port }));
  try {
    for (const c of CHUNK_CASES) {
      await t.step(c.name, async () => {
        const connsBefore = stub.connections.length;
        const client = await RawClient.open(proxy.port("fe"));
        try {
          const request = CHUNK_HEAD + c.body;
          await client.send(request);
          const r = await client.readResponse();
          assertErrorReply(r, 400, c.name);
          await client.expectClosed();
          const [log] = await logsOf(proxy, client.localPort);
          assert.equal(log!.status, 400, log!.line);
          assert.equal(log!.tsc, "PD--", log!.line);
          assert.equal(log!.request, "POST /upload HTTP/1.1", log!.line);
          // The server saw no complete request and no byte from the bad one on.
          assert.equal(stub.requests.length, 0, "a complete request reached the server");
          for (const conn of stub.connections.items.slice(connsBefore)) {
            await stub.ends.waitFor(conn.index + 1, 2_000, "server connection ends");
            const got = latin1(conn.raw);
            const limit = CHUNK_HEAD.length + c.bad;
            assert.ok(
              request.startsWith(got) && got.length <= limit,
              `server received ${show(got)}; at most the first ${limit} bytes were allowed`,
            );
            assert.notEqual(conn.end, null, "the server connection was left open");
          }
        } finally {
          client.close();
        }
      });
    }
  } finally {
    await proxy.stop();
    await stub.close();
  }
});

Deno.test("header count limit: 101 headers pass, 102 do not; a configured maxhdr applies", async (t) => {
  const stub = httpStub();
  const proxy = await startProxy(httpConfig({ serverPort: stub.port }));
  const small = httpStub();
  const proxy5 = await startProxy(httpConfig({ serverPort: small.port, global: "maxhdr: 5" }));
  try {
    await t.step("101 header lines reach the server unchanged", async () => {
      const request = `GET /many HTTP/1.1\r\n${H}${headerLines(100)}\r\n`;
      const client = await RawClient.open(proxy.port("fe"));
      try {
        await client.send(request);
        const r = await client.readResponse();
        assert.equal(r.status, 200, show(r.raw));
        const [req] = await stub.requests.waitFor(1, 2_000, "requests");
        assert.equal(req!.headText, request);
      } finally {
        client.close();
      }
    });
    await t.step("maxhdr 5: 5 headers pass", async () => {
      const request = `GET /five HTTP/1.1\r\n${H}${headerLines(4)}\r\n`;
      const client = await RawClient.open(proxy5.port("fe"));
      try {
        await client.send(request);
        const r = await client.readResponse();
        assert.equal(r.status, 200, show(r.raw));
        const [req] = await small.requests.waitFor(1, 2_000, "requests");
        assert.equal(req!.headText, request);
      } finally {
        client.close();
      }
    });
    await t.step("maxhdr 5: 6 headers get 400", async () => {
      const before = small.bytesReceived;
      const client = await RawClient.open(proxy5.port("fe"));
      try {
        await client.send(`GET /six HTTP/1.1\r\n${H}${headerLines(5)}\r\n`);
        const r = await client.readResponse();
        assertErrorReply(r, 400, "6 headers with maxhdr 5");
        await client.expectClosed();
        const [log] = await logsOf(proxy5, client.localPort);
        assert.equal(log!.tsc, "PR--", log!.line);
        assert.equal(small.bytesReceived, before, "bytes reached the server");
      } finally {
        client.close();
      }
    });
  } finally {
    await proxy.stop();
    await proxy5.stop();
    await stub.close();
    await small.close();
  }
});

Deno.test("head size limit: bufsize - maxrewrite, default and configured", async (t) => {
  const stub = httpStub();
  const proxy = await startProxy(httpConfig({ serverPort: stub.port }));
  const small = httpStub();
  const proxy4k = await startProxy(
    httpConfig({ serverPort: small.port, global: "bufsize: 4k, maxrewrite: 1k" }),
  );
  /** A request whose head is exactly `size` bytes. */
  const headOf = (size: number) => {
    const prefix = `GET /big HTTP/1.1\r\n${H}X-Big: `;
    return prefix + "b".repeat(size - prefix.length - 4) + "\r\n\r\n";
  };
  const passes = async (p: ProxyProcess, s: HttpStub, request: string) => {
    const n = s.requests.length;
    const client = await RawClient.open(p.port("fe"));
    try {
      await client.send(request);
      const r = await client.readResponse();
      assert.equal(r.status, 200, show(r.raw));
      const reqs = await s.requests.waitFor(n + 1, 2_000, "requests");
      assert.deepEqual(reqs[n]!.head, bytes(request));
    } finally {
      client.close();
    }
  };
  try {
    // Defaults: 16384 - 1024 = 15360 bytes.
    await t.step("default: a 15000-byte head passes", () => passes(proxy, stub, headOf(15_000)));
    await t.step("default: a 15360-byte head passes", () => passes(proxy, stub, headOf(15_360)));
    await t.step("default: a 15361-byte head gets 400", async () => {
      const before = stub.bytesReceived;
      await expectRejectedBy(proxy, headOf(15_361));
      assert.equal(stub.bytesReceived, before, "bytes reached the server");
    });
    // bufsize 4k: 4096 - 1024 = 3072 bytes.
    await t.step(
      "bufsize 4k: a 3072-byte head passes",
      () => passes(proxy4k, small, headOf(3_072)),
    );
    await t.step("bufsize 4k: a 3073-byte head gets 400", async () => {
      const before = small.bytesReceived;
      await expectRejectedBy(proxy4k, headOf(3_073));
      assert.equal(small.bytesReceived, before, "bytes reached the server");
    });
  } finally {
    await proxy.stop();
    await proxy4k.stop();
    await stub.close();
    await small.close();
  }
});

/** The refusal seen by the client and in the log (the server side is checked by the caller). */
async function expectRejectedBy(proxy: ProxyProcess, request: string): Promise<void> {
  const client = await RawClient.open(proxy.port("fe"));
  try {
    await client.send(request);
    const r = await client.readResponse();
    assertErrorReply(r, 400, `a ${request.length}-byte head`);
    await client.expectClosed();
    const [log] = await logsOf(proxy, client.localPort);
    assert.equal(log!.tsc, "PR--", log!.line);
    assert.equal(log!.request, "<BADREQ>", log!.line);
  } finally {
    client.close();
  }
}
