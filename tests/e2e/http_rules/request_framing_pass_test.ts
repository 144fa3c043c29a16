// Unusual but valid request framing passes byte for byte: chunk sizes with
// leading zeros and quoted extensions, and a GET with a Content-Length body
// followed by a pipelined GET.
//
// Each test is bounded (every read has a deadline) and uses 127.0.0.1 only.

import assert from "node:assert/strict";
import { latin1, RawClient, show } from "./_common.ts";
import { CHUNK_HEAD, H, withProxy } from "./_conformance.ts";

Deno.test("chunk sizes with leading zeros (16 digits) and quoted extensions pass byte for byte", async () => {
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

Deno.test("GET with a Content-Length body, then a pipelined GET: both answered, bodies exact", async () => {
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
