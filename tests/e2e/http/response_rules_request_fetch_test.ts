// http-response rules may read the request (%[path], hdr(), method): the
// request head's bytes are long gone from the buffer by the time the
// response comes (here a 2 MiB upload overwrote them), so the values must
// have been kept.
import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, httpStub } from "./_http.ts";

Deno.test("http-response rules see the request's path, method and headers after a large body", async () => {
  const origin = httpStub("o");
  const proxy = await startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-response:
      - "set-header X-Req-Path %[path]"
      - "set-header X-Req-Method %[method]"
      - "set-header X-Req-Tag %[req.hdr(x-tag)]"
    default_backend: be
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${origin.port}" } ] }
`);
  const c = await connectHttp(proxy.port("fe"));
  try {
    const body = "z".repeat(2 << 20);
    const r = await c.request(
      `PUT /uploads/report-2026.bin HTTP/1.1\r\nHost: x\r\nX-Tag: blue\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      "PUT",
    );
    assert.equal(r.status, 200);
    assert.equal(r.get("x-req-path"), "/uploads/report-2026.bin");
    assert.equal(r.get("x-req-method"), "PUT");
    assert.equal(r.get("x-req-tag"), "blue");
  } finally {
    c.close();
    await proxy.stop();
    await origin.close();
  }
});
