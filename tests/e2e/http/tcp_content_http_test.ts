// `tcp-request content` rules in an HTTP frontend run on the connection's
// first bytes, before its first request is parsed: a reject closes it
// without a reply (PR in the log), an accepted connection is served as
// usual, keep-alive requests included.

import assert from "node:assert/strict";
import { closeQuietly, connect, readAll, te, writeAll } from "../../_helpers/client.ts";
import { httpStub } from "../../_helpers/http_stub.ts";
import { logLineOf, parseHttpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

Deno.test("tcp-request content in mode http: reject before parsing, accept then serve", async () => {
  const stub = httpStub();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 10s, server: 10s, http-request: 5s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    tcp-request:
      - "inspect-delay 2s"
      - "content reject if { req.payload(0,6) -m str DELETE }"
      - "content accept if { req.len ge 7 }"
    default_backend: be
backends:
  be:
    servers: [{ name: s1, address: "127.0.0.1:${stub.port}" }]
`);
    const fe = proxy.port("fe");
    const c = await connect(fe);
    const me = (c.localAddr as Deno.NetAddr).port;
    await writeAll(c, te.encode("DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n"));
    const r = await readAll(c, 10_000);
    closeQuietly(c);
    assert.equal(r.data.length, 0, "no reply to a rejected connection");
    const log = parseHttpLog(await proxy.waitForLog(logLineOf(me), 10_000));
    assert.equal(log.ts.slice(0, 2), "PR", log.line);
    assert.equal(stub.requests.length, 0);

    const k = await connect(fe);
    await writeAll(
      k,
      te.encode(
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      ),
    );
    const kr = new TextDecoder().decode((await readAll(k, 10_000)).data);
    closeQuietly(k);
    assert.equal(kr.match(/HTTP\/1\.1 200 /g)?.length, 2, kr);
    assert.deepEqual((await stub.requests.waitFor(2, 10_000)).map((q) => q.target), ["/a", "/b"]);
  } finally {
    await proxy?.stop();
    await stub.close();
  }
});
