// `use-server` in an HTTP backend: the first line whose condition holds
// forces its server for that request (balancing otherwise), a persistence
// cookie still wins, and a server in maintenance is not forced.

import assert from "node:assert/strict";
import { closeQuietly, connect, readAll, te, writeAll } from "../../_helpers/client.ts";
import { httpStub } from "../../_helpers/http_stub.ts";
import { parseHttpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";

Deno.test("use-server in mode http forces a server per request; a cookie wins over it", async () => {
  const s1 = httpStub(), s2 = httpStub();
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
    default_backend: be
backends:
  be:
    balance: roundrobin
    cookie: "SRV insert indirect nocache"
    use-server: ["s2 if { hdr(x-pick) -m str two }", "s1 unless { hdr(x-pick) -m found }"]
    servers:
      - { name: s1, address: "127.0.0.1:${s1.port}", cookie: c1 }
      - { name: s2, address: "127.0.0.1:${s2.port}", cookie: c2 }
`);
    const fe = proxy.port("fe");
    const ask = async (headers: string) => {
      const c = await connect(fe);
      const me = (c.localAddr as Deno.NetAddr).port;
      await writeAll(
        c,
        te.encode(`GET / HTTP/1.1\r\nHost: h\r\n${headers}Connection: close\r\n\r\n`),
      );
      await readAll(c, 10_000);
      closeQuietly(c);
      const log = parseHttpLog(
        await proxy!.waitForLog(new RegExp(`^127\\.0\\.0\\.1:${me} `), 10_000),
      );
      return log.server;
    };
    for (let i = 0; i < 3; i++) {
      assert.equal(await ask("X-Pick: two\r\n"), "s2");
      assert.equal(await ask(""), "s1", "no X-Pick: the second line forces s1");
    }
    // A header that matches no line: balanced over both.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await ask("X-Pick: other\r\n"));
    assert.deepEqual([...seen].sort(), ["s1", "s2"]);
    // The persistence cookie names s1: it wins over use-server.
    assert.equal(await ask("X-Pick: two\r\nCookie: SRV=c1\r\n"), "s1");
  } finally {
    await proxy?.stop();
    await s1.close();
    await s2.close();
  }
});
