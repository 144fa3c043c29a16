// Client certificates on a bind (`verify optional|required ca-file FILE`):
// a certificate signed by the CA is accepted and its subject reaches the
// fetches; one from another CA is refused (handshake failure logged); with
// `required` a client without a certificate is refused, with `optional` it
// is served and ssl_c_used says no.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { makePki } from "../../_helpers/tls.ts";
import { backend, curl, proxyConfig } from "./_tls.ts";

for (const mode of ["optional", "required"] as const) {
  Deno.test(`verify ${mode}: good, foreign and missing client certificates`, async () => {
    const pki = await makePki("ca");
    const other = await makePki("other", pki.dir);
    const server = await pki.leaf("a.test");
    const good = await pki.leaf("client1");
    const foreign = await other.leaf("intruder");
    const be = backend();
    const p = await startProxy(proxyConfig(
      `"127.0.0.1:0 ssl crt ${server.pem} verify ${mode} ca-file ${pki.caCrt}"`,
      be.port,
      {
        feLines: [
          "    http-response:",
          "      - set-header X-Used %[ssl_c_used]",
          "      - set-header X-Verify %[ssl_c_verify]",
          "      - set-header X-Dn %[ssl_c_s_dn]",
          "      - set-header X-Proto %[ssl_fc_protocol]",
        ],
      },
    ));
    try {
      const port = p.ports.get("fe")![0]!;
      const base = [
        "-D-",
        "--cacert",
        pki.caCrt,
        "--resolve",
        `a.test:${port}:127.0.0.1`,
        `https://a.test:${port}/x`,
      ];
      const ok = await curl([...base, "--cert", good.crt, "--key", good.key]);
      assert.equal(ok.code, 0, ok.err);
      assert.match(ok.out, /x-used: 1/i);
      assert.match(ok.out, /x-verify: 0/i);
      assert.match(ok.out, /x-dn: \/CN=client1/i);
      assert.match(ok.out, /x-proto: TLSv1\.[23]/i);

      const bad = await curl([...base, "--cert", foreign.crt, "--key", foreign.key]);
      assert.notEqual(bad.code, 0, "a certificate of another CA is refused");
      await p.waitForLog(/SSL handshake failure \(client certificate refused/, 10_000);

      const none = await curl(base);
      if (mode === "required") {
        assert.notEqual(none.code, 0, "no certificate: refused");
        await p.waitForLog(/SSL handshake failure \(no client certificate/, 10_000);
      } else {
        assert.equal(none.code, 0, none.err);
        assert.match(none.out, /x-used: 0/i);
      }
    } finally {
      await p.stop();
      await be.close();
      await Deno.remove(pki.dir, { recursive: true });
    }
  });
}
