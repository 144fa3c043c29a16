// HTTP/1.1 responses as HTTP/2 clients get them: chunked bodies and
// trailers, bodies until close, 204/304/HEAD without DATA, interim 103,
// repeated set-cookie fields, and HTTP/2 requests as servers get them.

import assert from "node:assert/strict";
import { FF_END_STREAM, FT_DATA, FT_HEADERS } from "../../../src/h2/frame.ts";
import { h2cProxyTo } from "./_h2.ts";
import { getHeaders, H2RawClient } from "../../_helpers/h2_client.ts";
import { httpStub, reqHeader, type StubReply } from "../http/_http.ts";

const REPLIES: Record<string, StubReply> = {
  "/chunked": {
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n" +
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t1\r\n\r\n",
  },
  "/chunked-plain": {
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
  },
  "/until-close": { raw: "HTTP/1.1 200 OK\r\nX-B: 2\r\n\r\nuntil the end", close: true },
  "/204": { raw: "HTTP/1.1 204 No Content\r\nX-C: 3\r\n\r\n" },
  "/304": { raw: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 10\r\n\r\n' },
  "/103": {
    raw: "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  },
  "/cookies": {
    raw: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: close, X-Hop\r\n" +
      "X-Hop: dropped\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n",
  },
};

Deno.test("h2 translation: each HTTP/1.1 response framing becomes the right frames", async () => {
  const s = httpStub("s", { respond: (r) => REPLIES[r.target.split("?")[0]!] ?? {} });
  const p = await h2cProxyTo(s.port);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    const get = async (sid: number, path: string, method = "GET") => {
      await c.sendHeaders(sid, [[":method", method], ...getHeaders(path).slice(1)]);
      return await c.response(sid);
    };
    let r = await get(1, "/chunked");
    assert.equal(r.status, 200);
    assert.equal(new TextDecoder().decode(r.body), "hello world");
    assert.deepEqual(r.trailers, [["x-trailer", "t1"]]);
    assert.ok(!r.headers.some((h) => h[0] === "transfer-encoding"));
    assert.ok(r.headers.some((h) => h[0] === "x-a" && h[1] === "1"));
    r = await get(3, "/chunked-plain");
    assert.equal(new TextDecoder().decode(r.body), "abc");
    assert.deepEqual(r.trailers, []);
    r = await get(5, "/until-close");
    assert.equal(new TextDecoder().decode(r.body), "until the end");
    for (const [sid, path] of [[7, "/204"], [9, "/304"]] as const) {
      r = await get(sid, path);
      assert.equal(r.status, Number(path.slice(1)));
      // END_STREAM on the HEADERS frame itself: no DATA at all.
      const h = c.frames.find((f) => f.type === FT_HEADERS && f.streamId === sid)!;
      assert.equal(h.flags & FF_END_STREAM, FF_END_STREAM);
      assert.ok(!c.frames.some((f) => f.type === FT_DATA && f.streamId === sid));
    }
    r = await get(11, "/x", "HEAD");
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.ok(r.headers.some((h) => h[0] === "content-length"));
    r = await get(13, "/103");
    assert.equal(r.status, 200);
    assert.equal(new TextDecoder().decode(r.body), "ok");
    const heads = c.frames.filter((f) => f.type === FT_HEADERS && f.streamId === 13);
    assert.equal(heads.length, 2);
    assert.deepEqual(heads[0]!.headers!.find((h) => h[0] === ":status"), [":status", "103"]);
    r = await get(15, "/cookies");
    assert.deepEqual(r.headers.filter((h) => h[0] === "set-cookie").map((h) => h[1]), [
      "a=1",
      "b=2",
    ]);
    const names = r.headers.map((h) => h[0]);
    for (const n of ["connection", "keep-alive"]) assert.ok(!names.includes(n), n);
    c.close();
    // The server saw HTTP/1.1 requests with a Host from :authority.
    const seen = s.requests[0]!;
    assert.equal(seen.version, "HTTP/1.1");
    assert.deepEqual(reqHeader(seen, "host"), ["example.test"]);
  } finally {
    await p.stop();
    await s.close();
  }
});

Deno.test("h2 translation: a request body without content-length reaches the server chunked, with trailers", async () => {
  const s = httpStub("s");
  const p = await h2cProxyTo(s.port);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    await c.sendHeaders(1, [[":method", "PUT"], ...getHeaders("/put").slice(1)], false);
    await c.sendData(1, new TextEncoder().encode("part1-"));
    await c.sendData(1, new TextEncoder().encode("part2"));
    await c.sendHeaders(1, [["x-sum", "abc"]], true);
    assert.equal((await c.response(1)).status, 200);
    c.close();
    const r = (await s.waitRequests(1))[0]!;
    assert.equal(new TextDecoder().decode(r.body), "part1-part2");
    assert.deepEqual(reqHeader(r, "transfer-encoding"), ["chunked"]);
  } finally {
    await p.stop();
    await s.close();
  }
});
