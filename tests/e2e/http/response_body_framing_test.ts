// How a response's body ends when it has no length: bodiless responses
// (HEAD, 204, 304) that announce one, and close-delimited responses, with the
// next request or the close after them.
//
// Every test asserts the exact bytes (or their SHA-256) each side received,
// so a lost, doubled or reordered byte, a wrong status, a hang or a
// desynchronised connection shows.

import assert from "node:assert/strict";
import { AcceptLoop } from "../../_helpers/accept.ts";
import { concat, latin1, sha256Hex as sha256, te, writeFull } from "../../_helpers/client.ts";
import { httpStub as rawStub } from "../../_helpers/http_stub.ts";
import { ByteReader, connectHttp, get } from "./_http.ts";
import { bytesOf, within } from "./_bytes.ts";
import { proxyFor } from "./_framing.ts";

Deno.test("bodiless responses: HEAD with Content-Length, 204 and 304 with framing headers, then the next request", async () => {
  const s = rawStub({
    respond: (r) => {
      if (r.target === "/204") {
        return { bytes: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n" };
      }
      if (r.target === "/304") {
        return { bytes: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n" };
      }
      if (r.method === "HEAD") {
        return {
          bytes: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nTransfer-Encoding: chunked\r\n\r\n",
        };
      }
      return { bytes: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext" };
    },
  });
  const proxy = await proxyFor([s.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    for (
      const [m, path, st] of [["HEAD", "/h", 200], ["GET", "/204", 204], [
        "GET",
        "/304",
        304,
      ]] as const
    ) {
      const r = await c.request(get(path, [], m), m, 3000);
      assert.equal(r.status, st);
      assert.equal(r.body.length, 0);
      const n = await c.request(get("/n"), "GET", 3000);
      assert.equal(`${n.status} ${n.text}`, "200 next", `after ${m} ${path}`);
    }
    assert.equal(s.connections.length, 1);
  } finally {
    c.close();
    await proxy.stop();
    await s.close();
  }
});

Deno.test("close-delimited response: every byte, then the close; an HTTP/1.1 client is told to close", async () => {
  const body = bytesOf(300_000, 9);
  const loop = new AcceptLoop(async (conn) => {
    const rd = new ByteReader(conn);
    await rd.readHead();
    await writeFull(conn, concat([te.encode("HTTP/1.1 200 OK\r\n\r\n"), body]));
  });
  const proxy = await proxyFor([loop.port]);
  const c = await connectHttp(proxy.port("fe"));
  try {
    await c.send(get("/until-close"));
    const h = latin1((await within(c.reader.readHead(), 3000, "head"))!);
    assert.match(h, /\r\nconnection: close\r\n/i);
    const rest = await within(c.reader.readToEof(), 3000, "body until close");
    assert.equal(sha256(rest), sha256(body));
  } finally {
    c.close();
    await proxy.stop();
    await loop.close();
  }
});
