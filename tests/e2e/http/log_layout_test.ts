// The layout of the httplog and tcplog lines, field by field, as HAProxy
// prints them: date with milliseconds, timers, termination state, quoted
// request line, and the <BADREQ> / <NOSRV> / SC forms.
//
// The reference peer is HAProxy 2.6, run side by side on the same traffic:
// the expected values quoted in each test are HAProxy's output for the same
// exchange.

import assert from "node:assert/strict";
import { logLineOf, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { te } from "../../_helpers/client.ts";
import { exchange, req, withStubProxy } from "./_log.ts";

/** HAProxy's %t / %tr: 06/Dec/2026:00:37:17.801 */
const DATE = String.raw`\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3}`;

Deno.test("httplog: layout, date with ms, timers, ---- and quoted request line", async () => {
  await withStubProxy(`  fe: { bind: "127.0.0.1:0", default_backend: be }`, async (proxy) => {
    const cp = await exchange(proxy.port("fe"), req("/a?b=1"));
    const line = await proxy.waitForLog(logLineOf(cp));
    // HAProxy: 127.0.0.1:49314 [06/Dec/2026:00:37:17.801] fe be/s1 0/0/0/3/3 200 54 - - ---- 1/1/0/0/0 0/0 "GET /a?b=1 HTTP/1.1"
    const re = new RegExp(
      String
        .raw`^127\.0\.0\.1:${cp} \[${DATE}\] fe be/s1 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- \d+/\d+/\d+/\d+/0 0/0 "GET /a\?b=1 HTTP/1\.1"$`,
    );
    assert.match(line, re);
  });
});

Deno.test('httplog: an invalid request is fe/<NOSRV> -1/-1/-1/-1 400 PR-- "<BADREQ>"', async () => {
  await withStubProxy(`  fe: { bind: "127.0.0.1:0", default_backend: be }`, async (proxy) => {
    const cp = await exchange(proxy.port("fe"), te.encode("GARBAGE\r\n\r\n"));
    const line = await proxy.waitForLog(logLineOf(cp));
    // HAProxy: ... fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"
    // (%B differs: HAProxy 2.6 counts 0 for an error its mux sent; not asserted.)
    assert.match(
      line,
      new RegExp(
        String.raw`\] fe fe/<NOSRV> -1/-1/-1/-1/\d+ 400 \d+ - - PR-- \d+/\d+/0/0/0 0/0 "<BADREQ>"$`,
      ),
    );
  });
});

Deno.test("tcplog: layout and a refused server is <b>/<s> Tw/-1/Tt SC with 1 retry", async () => {
  let proxy: ProxyProcess | null = null;
  // A port that refuses: listen, note it, close.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = (l.addr as Deno.NetAddr).port;
  l.close();
  try {
    proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: tcp
  option: [tcplog]
  retries: 1
  timeout: { connect: 1s, client: 5s, server: 3s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: bet }
backends:
  bet:
    servers: [ { name: s1, address: "127.0.0.1:${dead}" } ]
`);
    const cp = await exchange(proxy.port("fe"), te.encode("x"), 4_000);
    const line = await proxy.waitForLog(logLineOf(cp), 5_000);
    // HAProxy: 127.0.0.1:41264 [..] fe bet/s1 0/-1/1003 0 SC 1/1/0/0/1 0/0
    assert.match(
      line,
      new RegExp(
        String
          .raw`^127\.0\.0\.1:${cp} \[${DATE}\] fe bet/s1 \d+/-1/\d+ 0 SC \d+/\d+/\d+/\d+/1 0/0$`,
      ),
    );
  } finally {
    await proxy?.stop();
  }
});
