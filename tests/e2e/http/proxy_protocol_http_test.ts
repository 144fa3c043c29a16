// An HTTP frontend behind a PROXY protocol sender: the header's address is
// the client for ACLs (`src`), `option forwardfor` and the httplog line,
// and a v2 header works the same; the request after the header is parsed
// as if it had come first.

import assert from "node:assert/strict";
import { closeQuietly, concat, connect, readAll, te, writeAll } from "../../_helpers/client.ts";
import { httpStub } from "../../_helpers/http_stub.ts";
import { parseHttpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { buildProxyV2 } from "../../../src/listener/proxy_proto.ts";

Deno.test("accept-proxy in mode http: src, forwardfor and the log use the header's address", async () => {
  const stub = httpStub();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 10s, server: 10s, http-request: 5s }
  option: [httplog, forwardfor]
frontends:
  fe:
    bind: "127.0.0.1:0 accept-proxy"
    http-request: ["deny if { src 192.0.2.66 }", "set-header X-Src-Port %[src_port]"]
    default_backend: be
backends:
  be:
    servers: [{ name: s1, address: "127.0.0.1:${stub.port}" }]
`);
    const fe = proxy.port("fe");
    const req = te.encode("GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    const ask = async (hdr: Uint8Array) => {
      const c = await connect(fe);
      await writeAll(c, concat([hdr, req]));
      const r = await readAll(c, 10_000);
      closeQuietly(c);
      return new TextDecoder().decode(r.data);
    };
    // v1: allowed, forwarded with the header's address.
    const ok = await ask(te.encode("PROXY TCP4 192.0.2.10 192.0.2.1 40001 80\r\n"));
    assert.match(ok, /^HTTP\/1\.1 200 /);
    const got = (await stub.requests.waitFor(1, 10_000))[0]!;
    assert.deepEqual(got.header("x-forwarded-for"), ["192.0.2.10"]);
    assert.deepEqual(got.header("x-src-port"), ["40001"]);
    const log = parseHttpLog(await proxy.waitForLog(/^192\.0\.2\.10:40001 /, 10_000));
    assert.equal(log.status, 200, log.line);
    // v2 over IPv6: forwarded with that address.
    const ok6 = await ask(
      buildProxyV2({ ip: "2001:db8::5", port: 40002 }, { ip: "2001:db8::1", port: 80 }),
    );
    assert.match(ok6, /^HTTP\/1\.1 200 /);
    const got6 = (await stub.requests.waitFor(2, 10_000))[1]!;
    assert.deepEqual(got6.header("x-forwarded-for"), ["2001:db8::5"]);
    // The ACL sees the header's address: this one is denied, and never reaches the server.
    const denied = await ask(te.encode("PROXY TCP4 192.0.2.66 192.0.2.1 40003 80\r\n"));
    assert.match(denied, /^HTTP\/1\.1 403 /);
    const dl = parseHttpLog(await proxy.waitForLog(/^192\.0\.2\.66:40003 /, 10_000));
    assert.equal(dl.status, 403, dl.line);
    assert.equal(stub.requests.length, 2);
  } finally {
    await proxy?.stop();
    await stub.close();
  }
});
