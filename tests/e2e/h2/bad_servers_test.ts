// HTTP/2 clients in front of misbehaving HTTP/1.1 servers: what the proxy
// sends the client when a server's response holds something HTTP/2 forbids
// or cannot carry (docs/http2.md "Misbehaving servers"). Found by comparing
// Sluice with HAProxy 2.6 on scripted server replies.

import assert from "node:assert/strict";
import type { ProxyProcess } from "../../_helpers/proxy.ts";
import { h2cProxyTo } from "./_h2.ts";
import { getHeaders, H2RawClient, type H2Response } from "../../_helpers/h2_client.ts";
import { httpStub, type StubReply } from "../http/_http.ts";

const OK = "Content-Length: 2\r\n\r\nok";

const REPLIES: Record<string, StubReply> = {
  // A chunk size followed by BWS (RFC 9112 §7.1.1: before `;`, or alone,
  // as HAProxy and the analysers take it).
  "/chunk-bws": {
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3 \r\nabc\r\n4\t;ext=1\r\ndefg\r\n0\r\n\r\n",
  },
  // Codings other than chunked: the client would get gzip bytes as content.
  "/te-gzip-chunked": {
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
  },
  "/te-gzip": { raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nGZBYTES", close: true },
  // Transfer-Encoding in HTTP/1.0 is faulty framing (RFC 9112 §6.1).
  "/te-http10": {
    raw: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    close: true,
  },
  // The same coding on a response without a body: nothing to decode.
  "/te-gzip-304": { raw: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: gzip\r\n\r\n" },
  // RFC 9110 §8.6: no Content-Length in 1xx and 204 (nghttp2 resets the stream).
  "/204-cl": { raw: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n" },
  "/103-cl": {
    raw: "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nLink: </a.css>\r\n\r\n" +
      "HTTP/1.1 200 OK\r\n" + OK,
  },
  // TE is a request field; in a response it is connection-specific (nghttp2
  // resets a stream whose response has `te` other than "trailers").
  "/te-field": { raw: "HTTP/1.1 200 OK\r\nTE: gzip\r\nX-A: 1\r\n" + OK },
  // A trailer may not change the framing or the routing (RFC 9110 §6.5.1).
  "/trailer-cl": {
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n" +
      "Content-Length: 7\r\nHost: elsewhere\r\nX-T: 1\r\n\r\n",
  },
};

async function get(c: H2RawClient, sid: number, path: string): Promise<H2Response> {
  await c.sendHeaders(sid, getHeaders(path));
  return await c.response(sid);
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const names = (r: H2Response) => r.headers.map((h) => h[0]);

/** Runs `f` with a client connected to a proxy in front of the scripted server. */
async function withProxy(f: (c: H2RawClient, p: ProxyProcess) => Promise<void>): Promise<void> {
  const s = httpStub("s", { respond: (r) => REPLIES[r.target] ?? {} });
  const p = await h2cProxyTo(s.port);
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await f(c, p);
    // Whatever the server did, the connection goes on.
    const r = await get(c, 101, "/after");
    assert.equal(r.status, 200);
  } finally {
    c.close();
    await p.stop();
    await s.close();
  }
}

Deno.test("h2 bad servers: a chunk size followed by BWS is read, not reset", async () => {
  await withProxy(async (c) => {
    const r = await get(c, 1, "/chunk-bws");
    assert.equal(r.reset, -1, "not reset");
    assert.equal(text(r.body), "abcdefg");
  });
});

Deno.test("h2 bad servers: a body with a transfer coding other than chunked is a 502 (PH), not coded bytes", async () => {
  await withProxy(async (c, p) => {
    let r = await get(c, 1, "/te-gzip-chunked");
    assert.equal(r.status, 502);
    r = await get(c, 3, "/te-gzip");
    assert.equal(r.status, 502);
    r = await get(c, 7, "/te-http10");
    assert.equal(r.status, 502);
    await p.waitForLogs(/ 502 .* PH-- .*"GET \/te-(gzip|gzip-chunked|http10) HTTP\/2\.0"/, 3);
    // No body, nothing to decode: forwarded (without the field).
    r = await get(c, 9, "/te-gzip-304");
    assert.equal(r.status, 304);
    assert.deepEqual(r.headers, [[":status", "304"]]);
  });
});

Deno.test("h2 bad servers: no content-length in a 1xx or a 204", async () => {
  await withProxy(async (c) => {
    let r = await get(c, 1, "/204-cl");
    assert.equal(r.status, 204);
    assert.deepEqual(r.headers, [[":status", "204"], ["x-a", "1"]]);
    r = await get(c, 3, "/103-cl");
    assert.equal(r.status, 200);
    assert.equal(text(r.body), "ok");
    const early = c.frames.find((f) =>
      f.streamId === 3 && f.headers?.some((h) => h[0] === ":status" && h[1] === "103")
    )!;
    assert.deepEqual(early.headers, [[":status", "103"], ["link", "</a.css>"]]);
    // The final response keeps its content-length.
    assert.ok(r.headers.some((h) => h[0] === "content-length" && h[1] === "2"));
  });
});

Deno.test("h2 bad servers: a te field in a response is dropped", async () => {
  await withProxy(async (c) => {
    const r = await get(c, 1, "/te-field");
    assert.ok(!names(r).includes("te"));
    assert.ok(names(r).includes("x-a"));
  });
});

Deno.test("h2 bad servers: content-length and host trailers are dropped", async () => {
  await withProxy(async (c) => {
    const r = await get(c, 1, "/trailer-cl");
    assert.equal(text(r.body), "abc");
    assert.deepEqual(r.trailers, [["x-t", "1"]]);
  });
});
