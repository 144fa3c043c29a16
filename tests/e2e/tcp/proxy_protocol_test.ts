// The PROXY protocol with a real peer on both sides: HAProxy 2.6 sends v1
// and v2 headers to a Sluice bind with `accept-proxy`, and Sluice sends both
// (`send-proxy`, `send-proxy-v2`) to an HAProxy bind with `accept-proxy`.
// The client's own address and port must show in Sluice's log line and in
// HAProxy's, and the bytes must come back intact through the whole chain:
//
//   client ─▶ HAProxy (send-proxy[-v2]) ─▶ Sluice (accept-proxy,
//   send-proxy[-v2]) ─▶ HAProxy (accept-proxy) ─▶ echo server

import assert from "node:assert/strict";
import { closeQuietly, closeWrite, connect, readAll, te, writeAll } from "../../_helpers/client.ts";
import { findHaproxy, freePort, HAPROXY_MISSING, startHaproxy } from "../../_helpers/haproxy.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { echoServer } from "../../_helpers/servers.ts";

const HAPROXY = findHaproxy();

Deno.test({
  name: "proxy protocol: HAProxy -> Sluice -> HAProxy carries the client's address in v1 and v2",
  ignore: HAPROXY === null,
  fn: async () => {
    const echo = echoServer();
    const hsIn = freePort(), hcV1 = freePort(), hcV2 = freePort();
    let proxy: ProxyProcess | undefined;
    let hap: Awaited<ReturnType<typeof startHaproxy>> | undefined;
    try {
      proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 2s, client: 10s, server: 10s }
  option: [tcplog]
frontends:
  fe_v1:
    bind: "127.0.0.1:0 accept-proxy"
    default_backend: be_v1
    log-format: "%ci:%cp -> %fi:%fp %ft %b/%s %B %ts"
  fe_v2:
    bind: "127.0.0.1:0 accept-proxy"
    default_backend: be_v2
    log-format: "%ci:%cp -> %fi:%fp %ft %b/%s %B %ts"
backends:
  be_v1:
    servers: [{ name: hap, address: "127.0.0.1:${hsIn}", send-proxy: true }]
  be_v2:
    servers: [{ name: hap, address: "127.0.0.1:${hsIn}", send-proxy-v2: true }]
`);
      hap = await startHaproxy(
        HAPROXY!,
        `
frontend hc_v1
  bind 127.0.0.1:${hcV1}
  default_backend to_sluice_v1
frontend hc_v2
  bind 127.0.0.1:${hcV2}
  default_backend to_sluice_v2
backend to_sluice_v1
  server sluice 127.0.0.1:${proxy.port("fe_v1")} send-proxy
backend to_sluice_v2
  server sluice 127.0.0.1:${proxy.port("fe_v2")} send-proxy-v2
frontend hs_in
  bind 127.0.0.1:${hsIn} accept-proxy
  log-format "IN %ci:%cp -> %fi:%fp %ft %b/%s %B %ts"
  default_backend echo
backend echo
  server echo 127.0.0.1:${echo.port}
`,
        [hcV1, hcV2, hsIn],
      );
      for (const [name, port] of [["fe_v1", hcV1], ["fe_v2", hcV2]] as const) {
        const c = await connect(port);
        const me = (c.localAddr as Deno.NetAddr).port;
        const msg = te.encode(`hello through ${name}\n`);
        await writeAll(c, msg);
        await closeWrite(c);
        const r = await readAll(c);
        closeQuietly(c);
        assert.equal(new TextDecoder().decode(r.data), `hello through ${name}\n`);
        // Sluice saw the client (not HAProxy's outgoing port) and HAProxy's frontend address.
        const line = await proxy.waitForLog(new RegExp(`^127\\.0\\.0\\.1:${me} `), 10_000);
        assert.match(
          line,
          new RegExp(`^127\\.0\\.0\\.1:${me} -> 127\\.0\\.0\\.1:${port} ${name} `),
        );
        assert.ok(line.endsWith(` ${msg.length} --`), line);
        // HAProxy behind Sluice saw the same client, from Sluice's header.
        const inLine = await hap.waitForLog(new RegExp(`^IN 127\\.0\\.0\\.1:${me} `), 10_000);
        assert.match(inLine, new RegExp(`-> 127\\.0\\.0\\.1:${port} hs_in echo/echo `), inLine);
      }
    } finally {
      await hap?.stop();
      await proxy?.stop();
      await echo.close();
    }
  },
});

if (HAPROXY === null) console.warn(HAPROXY_MISSING);

Deno.test({
  name: "proxy protocol: HTTP health checks to a server with send-proxy start with a header",
  ignore: HAPROXY === null,
  fn: async () => {
    const hsIn = freePort();
    let proxy: ProxyProcess | undefined;
    let hap: Awaited<ReturnType<typeof startHaproxy>> | undefined;
    try {
      // HAProxy answers /health itself, and only after a PROXY header.
      hap = await startHaproxy(
        HAPROXY!,
        `
frontend web
  mode http
  bind 127.0.0.1:${hsIn} accept-proxy
  log-format "WEB %ci %r %ST"
  http-request return status 200 content-type text/plain string ok
`,
        [hsIn],
      );
      const servers = (opt: string) =>
        `[{ name: hap, address: "127.0.0.1:${hsIn}", check: true, inter: 100ms, rise: 1, fall: 1${opt} }]`;
      proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 10s, server: 10s, check: 2s }
  option: ["httpchk GET /health"]
frontends:
  fe_stats:
    bind: "127.0.0.1:0"
    stats: { uri: /stats, prometheus: /metrics }
    default_backend: be_v1
backends:
  be_v1:
    servers: ${servers(", send-proxy: true")}
  be_v2:
    servers: ${servers(", send-proxy-v2: true")}
  be_none:
    servers: ${servers("")}
`);
      const metrics = async () =>
        await (await fetch(`http://127.0.0.1:${proxy!.port("fe_stats")}/metrics`)).text();
      const up = (text: string, be: string) =>
        new RegExp(`\\nsluice_server_up\\{proxy="${be}",server="hap"\\} 1\\n`).test(text);
      // Without a header HAProxy refuses the checks: that server goes down...
      let text = "";
      for (let i = 0; i < 200; i++) {
        text = await metrics();
        if (!up(text, "be_none")) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(!up(text, "be_none"), "be_none should be DOWN");
      // ... while the checks of the others, with theirs, pass and keep them up.
      assert.ok(up(text, "be_v1"), text);
      assert.ok(up(text, "be_v2"), text);
      await hap.waitForLog(/^WEB 127\.0\.0\.1 GET \/health HTTP\/1\.[01] 200$/);
      await hap.waitForLog(/Received something which does not look like a PROXY protocol header/);
    } finally {
      await proxy?.stop();
      await hap?.stop();
    }
  },
});
