// TLS on a TCP-mode bind: the proxy decrypts and forwards the bytes in the
// clear to the server; `log-format` shows %sslv/%sslc and %ft with its "~";
// `ssl-min-ver TLSv1.3` refuses a TLS 1.2 client (logged) and serves a 1.3 one.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { echoServer } from "../../_helpers/servers.ts";
import { makePki, sClient } from "../../_helpers/tls.ts";

Deno.test("tcp mode over TLS: clear bytes to the server, %sslv %sslc in the log, ssl-min-ver", async () => {
  const pki = await makePki();
  const leaf = await pki.leaf("a.test");
  const echo = echoServer();
  const p = await startProxy([
    "global: { log: stdout }",
    "defaults:",
    "  mode: tcp",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "frontends:",
    "  fe:",
    `    bind: "127.0.0.1:0 ssl crt ${leaf.pem} ssl-min-ver TLSv1.3"`,
    '    log-format: "%ci:%cp %ft %sslv %sslc %B"',
    "    default_backend: be",
    "backends:",
    "  be:",
    "    servers:",
    `      - { name: s1, address: "127.0.0.1:${echo.port}" }`,
    "",
  ].join("\n"));
  try {
    const port = p.ports.get("fe")![0]!;
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    const c = await Deno.startTls(tcp, {
      hostname: "a.test",
      caCerts: [await Deno.readTextFile(pki.caCrt)],
    });
    await c.write(new TextEncoder().encode("hello-echo\n"));
    const buf = new Uint8Array(64);
    let got = "";
    while (!got.includes("\n")) {
      const n = await c.read(buf);
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    c.close();
    assert.equal(got, "hello-echo\n", "the echo server's answer came back through TLS");
    const line = await p.waitForLog(/ fe~ TLSv1\.3 TLS_\S+ \d+$/, 10_000);
    assert.ok(line.length > 0);

    const old = await sClient(port, ["-servername", "a.test", "-tls1_2"]);
    assert.doesNotMatch(old, /hello-echo/);
    await p.waitForLog(
      /SSL handshake failure \(protocol TLSv1\.2 below ssl-min-ver TLSv1\.3\)/,
      10_000,
    );
  } finally {
    await p.stop();
    await echo.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});
