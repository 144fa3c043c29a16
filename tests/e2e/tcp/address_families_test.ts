// IPv6 and dual-stack end to end: IPv6 binds and servers as logs print
// them, IPv4-mapped clients of a [::] bind in logs, `src` ACLs and
// X-Forwarded-For, and health checks and the stats CSV for IPv6 and unix
// servers.

import assert from "node:assert/strict";
import { pollUntil, startProxy } from "../../_helpers/proxy.ts";
import { delay, td, te } from "../../_helpers/client.ts";
import { get, httpServer } from "./_address.ts";

/** True when this host has an IPv6 loopback we can bind. */
function hasIPv6Loopback(): boolean {
  try {
    const l = Deno.listen({ hostname: "::1", port: 0 });
    l.close();
    return true;
  } catch {
    return false;
  }
}

const NO_V6 = !hasIPv6Loopback();

Deno.test({
  name:
    "address: IPv6 bind and server: tcplog prints '::1:PORT' and log-format %ci %fi %si unbracketed",
  ignore: NO_V6,
  fn: async () => {
    const srv = httpServer({ hostname: "::1", port: 0 }, "v6");
    const proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe_std: { bind: "[::1]:0", default_backend: be, option: [tcplog] }
  fe_fmt:
    bind: "[::1]:0"
    default_backend: be
    log-format: "F %ci|%cp|%fi|%fp|%si|%sp|%{+X}ci|%{+X}si"
backends:
  be: { servers: [ { name: s1, address: "[::1]:${srv.port}" } ] }
`);
    try {
      assert.match(proxy.stderr.join("\n"), /listening fe_std \[::1\]:\d+/);
      const p1 = proxy.port("fe_std"), p2 = proxy.port("fe_fmt");
      const c1 = await Deno.connect({ hostname: "::1", port: p1 });
      const cp1 = (c1.localAddr as Deno.NetAddr).port;
      c1.write(te.encode("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
      await c1.read(new Uint8Array(4096));
      c1.close();
      const c2 = await Deno.connect({ hostname: "::1", port: p2 });
      const cp2 = (c2.localAddr as Deno.NetAddr).port;
      c2.write(te.encode("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
      await c2.read(new Uint8Array(4096));
      c2.close();
      const std = await proxy.waitForLog(/ fe_std be\/s1 /, 3000);
      assert.ok(std.startsWith(`::1:${cp1} [`), std);
      const fmt = await proxy.waitForLog(/^F /, 3000);
      const v6hex = "00000000000000000000000000000001";
      assert.equal(fmt, `F ::1|${cp2}|::1|${p2}|::1|${srv.port}|${v6hex}|${v6hex}`);
    } finally {
      await proxy.stop();
      await srv.close();
    }
  },
});

Deno.test({
  name:
    "address: dual-stack [::] bind: IPv4 client is ::ffff:127.0.0.1 in logs, matched by src 127.0.0.0/8, XFF 127.0.0.1",
  ignore: NO_V6,
  fn: async () => {
    const srv = httpServer({ hostname: "127.0.0.1", port: 0 }, "s1");
    const proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "[::]:0"
    default_backend: be
    option: [httplog, forwardfor]
    acl: { lo4: "src 127.0.0.0/8" }
    http-request: ["deny if !lo4"]
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${srv.port}" } ] }
`);
    try {
      const port = proxy.port("fe");
      const r4 = await get({ hostname: "127.0.0.1", port });
      assert.equal(r4.status, 200);
      assert.equal(r4.xff, "127.0.0.1");
      const line = await proxy.waitForLog(/ fe be\/s1 .* 200 /, 3000);
      assert.match(line, /^::ffff:127\.0\.0\.1:\d+ \[/);
      // ::1 is not in 127.0.0.0/8: denied.
      const r6 = await get({ hostname: "::1", port });
      assert.equal(r6.status, 403);
    } finally {
      await proxy.stop();
      await srv.close();
    }
  },
});

Deno.test({
  name:
    "address: health checks reach an IPv6 server and a unix server; stats CSV shows [::1]:port and unix@path",
  ignore: NO_V6,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const back = `${dir}/back.sock`;
    const s6 = httpServer({ hostname: "::1", port: 0 }, "v6");
    const su = httpServer({ transport: "unix", path: back }, "ux");
    const proxy = await startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s, check: 1s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    stats: { uri: /stats }
backends:
  be:
    option: ["httpchk GET /health"]
    servers:
      - { name: v6, address: "[::1]:${s6.port}", check: true, inter: 100ms, rise: 1 }
      - { name: ux, address: "unix@${back}", check: true, inter: 100ms, rise: 1 }
      - { name: v6addr, address: "127.0.0.1:1", addr: "::1", port: ${s6.port}, check: true, inter: 100ms, rise: 1 }
`);
    try {
      const port = proxy.port("fe");
      let csv = "";
      const deadline = Date.now() + 5000;
      for (;;) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        await c.write(te.encode("GET /stats;csv HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
        let acc = "";
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await c.read(buf).catch(() => null);
          if (n === null) break;
          acc += td.decode(buf.subarray(0, n));
        }
        c.close();
        csv = acc;
        const ups = ["v6", "ux", "v6addr"].filter((n) =>
          new RegExp(`^be,${n},.*\\bUP\\b`, "m").test(csv)
        );
        if (ups.length === 3 || Date.now() > deadline) break;
        await delay(100);
      }
      for (const n of ["v6", "ux", "v6addr"]) {
        assert.match(csv, new RegExp(`^be,${n},.*\\bUP\\b`, "m"), `${n} not UP:\n${csv}`);
      }
      assert.ok(csv.includes(`[::1]:${s6.port}`), csv);
      assert.ok(csv.includes(`unix@${back}`), csv);
      // The IPv6 server gets the HTTP check (HTTP/1.0 without Host, as HAProxy 2.6).
      // Servers start UP: the CSV above may come before the first check did.
      await pollUntil(
        () =>
          Promise.resolve(s6.heads.some((x) => x.startsWith("GET /health HTTP/1.0")) || undefined),
        5_000,
        "the HTTP check on the IPv6 server",
      );
    } finally {
      await proxy.stop();
      await s6.close();
      await su.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
