// PROXY protocol and TLS together: a bind with `accept-proxy ssl` reads
// the header in clear, then runs the TLS handshake (its addresses become
// src); a server with `ssl: true` and `send-proxy-v2-ssl` writes the header
// in clear before its handshake. Two Sluice processes chained show both:
// client -> A (cleartext) -> [PROXY v2 + TLS] -> B (accept-proxy ssl) -> backend.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { makePki } from "../../_helpers/tls.ts";
import { backend, curl } from "./_tls.ts";

Deno.test("accept-proxy ssl on one side, send-proxy-v2-ssl over TLS on the other", async () => {
  const pki = await makePki();
  const leaf = await pki.leaf("b.test");
  const be = backend();
  const common = [
    "global: { log: stdout }",
    "defaults:",
    "  mode: http",
    "  timeout: { connect: 5s, client: 10s, server: 30s }",
  ];
  const b = await startProxy([
    ...common,
    "frontends:",
    "  fe_b:",
    `    bind: "127.0.0.1:0 accept-proxy ssl crt ${leaf.pem}"`,
    "    http-response:",
    "      - set-header X-Src %[src]",
    "      - set-header X-Sni %[ssl_fc_sni]",
    "    default_backend: be",
    "backends:",
    "  be:",
    "    servers:",
    `      - { name: s1, address: "127.0.0.1:${be.port}" }`,
    "",
  ].join("\n"));
  let a;
  try {
    const bPort = b.ports.get("fe_b")![0]!;
    a = await startProxy([
      ...common,
      "frontends:",
      "  fe_a:",
      '    bind: "127.0.0.1:0"',
      "    default_backend: to_b",
      "backends:",
      "  to_b:",
      "    servers:",
      `      - { name: b, address: "127.0.0.1:${bPort}", ssl: true, ca-file: ${pki.caCrt}, sni: b.test, send-proxy-v2-ssl: true }`,
      "",
    ].join("\n"));
    const aPort = a.ports.get("fe_a")![0]!;
    const r = await curl(["-D-", `http://127.0.0.1:${aPort}/chain`]);
    assert.match(r.out, /^HTTP\/1\.1 200/);
    assert.match(r.out, /ok \/chain/);
    // B saw the client's address from A's PROXY header and A's SNI over TLS.
    assert.match(r.out, /x-src: 127\.0\.0\.1/i);
    assert.match(r.out, /x-sni: b\.test/i);
    const line = await b.waitForLog(/ fe_b~ be\/s1 .* 200 /, 10_000);
    assert.ok(line.length > 0);

    // A raw client: header, then garbage instead of a ClientHello: logged, closed.
    const c = await Deno.connect({ hostname: "127.0.0.1", port: bPort });
    await c.write(
      new TextEncoder().encode("PROXY TCP4 10.1.2.3 10.9.9.9 4444 443\r\nGET / HTTP/1.1\r\n\r\n"),
    );
    await b.waitForLog(/^10\.1\.2\.3:4444 .* SSL handshake failure/, 10_000);
    c.close();
  } finally {
    await a?.stop();
    await b.stop();
    await be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});
