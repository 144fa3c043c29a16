// An HTTP/2 request as the analysers and the server see it: the head the mux
// writes is taken by the analysers without a second parse
// (src/http/preset_head.ts), so the rules must still see every header, edit
// it, and the server must get the edited head byte for byte.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { getHeaders, H2RawClient } from "../../_helpers/h2_client.ts";
import { httpStub } from "../http/_http.ts";

function proxyFor(port: number) {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 10s, server: 10s }
  option: [httplog, forwardfor]
frontends:
  fe:
    bind: "127.0.0.1:0 proto h2"
    default_backend: be
    http-request:
      - 'deny deny_status 403 if { hdr(x-deny) -m found }'
      - 'set-header x-seen %[req.hdr(x-a)]/%[req.hdr_cnt(cookie)]/%[req.hdr(cookie)]/%[hdr(host)]'
      - 'del-header user-agent'
      - 'add-header x-added yes'
backends:
  be:
    http-request: ['set-header x-len %[req.hdr(content-length)]-%[path]-%[query]']
    servers: [ { name: s1, address: "127.0.0.1:${port}" } ]
`);
}

Deno.test("h2 request head: rules see and edit the mux's head, the server gets it byte for byte", async () => {
  const s = httpStub("s");
  const p = await proxyFor(s.port);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    await c.sendHeaders(
      1,
      getHeaders("/p/q?x=1", [
        ["user-agent", "t/1"],
        ["cookie", "a=1"],
        ["x-a", "va"],
        ["cookie", "b=2"],
        ["x-empty", ""],
      ]),
    );
    assert.equal((await c.response(1)).status, 200);
    const post: [string, string][] = [[":method", "POST"], ...getHeaders("/up").slice(1)];
    await c.sendHeaders(3, [...post, ["content-length", "3"]], false);
    await c.sendData(3, new TextEncoder().encode("abc"), true);
    assert.equal((await c.response(3)).status, 200);
    await c.sendHeaders(5, getHeaders("/denied", [["x-deny", "1"]]));
    assert.equal((await c.response(5)).status, 403);
    c.close();
    const [get, up] = await s.waitRequests(2);
    assert.equal(
      get!.head.raw,
      "GET /p/q?x=1 HTTP/1.1\r\nhost: example.test\r\nx-a: va\r\nx-empty: \r\n" +
        "cookie: a=1; b=2\r\nx-seen: va/1/a=1; b=2/example.test\r\nx-added: yes\r\n" +
        "x-len: -/p/q-x=1\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n",
    );
    assert.equal(
      up!.head.raw,
      "POST /up HTTP/1.1\r\nhost: example.test\r\ncontent-length: 3\r\n" +
        "x-seen: /0//example.test\r\nx-added: yes\r\nx-len: 3-/up-\r\n" +
        "X-Forwarded-For: 127.0.0.1\r\n\r\n",
    );
    assert.equal(new TextDecoder().decode(up!.body), "abc");
    assert.equal(s.requests.length, 2, "the denied request never reached the server");
  } finally {
    await p.stop();
    await s.close();
  }
});
