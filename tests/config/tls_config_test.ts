// TLS configuration problems are refused by `sluice -c` at the line and
// column of the bind or server that names the file, naming the file and
// what is wrong with it; an expired certificate is only a warning.

import assert from "node:assert/strict";
import { checkConfig } from "../_helpers/proxy.ts";
import { makePki } from "../_helpers/tls.ts";

function cfg(bind: string, server = ""): string {
  return [
    "defaults:",
    "  mode: http",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "frontends:",
    "  fe:",
    `    bind: "${bind}"`,
    "    default_backend: be",
    "backends:",
    "  be:",
    "    servers:",
    `      - { name: s1, address: 127.0.0.1:9001${server} }`,
    "",
  ].join("\n");
}

Deno.test("sluice -c refuses broken certificates and keys, naming the file at the bind's position", async () => {
  const pki = await makePki();
  try {
    const a = await pki.leaf("a.test");
    const b = await pki.leaf("b.test");
    const d = pki.dir;
    await Deno.writeTextFile(`${d}/nokey.pem`, await Deno.readTextFile(a.crt));
    await Deno.writeTextFile(
      `${d}/mismatch.pem`,
      (await Deno.readTextFile(a.crt)) + (await Deno.readTextFile(b.key)),
    );
    await Deno.writeTextFile(`${d}/garbage.pem`, "not a certificate\n");
    const expired = await pki.leaf("old.test", ["old.test"], { days: 0 });
    const cases: Array<[string, string, RegExp]> = [
      ["missing file", `127.0.0.1:8443 ssl crt ${d}/absent.pem`, /cannot read it/],
      ["no key", `127.0.0.1:8443 ssl crt ${d}/nokey.pem`, /no private key in it/],
      [
        "key of another certificate",
        `127.0.0.1:8443 ssl crt ${d}/mismatch.pem`,
        /private key does not match the certificate/,
      ],
      ["not PEM", `127.0.0.1:8443 ssl crt ${d}/garbage.pem`, /no PEM certificate in it/],
      [
        "missing CA file",
        `127.0.0.1:8443 ssl crt ${a.pem} verify required ca-file ${d}/none.crt`,
        /CA file ".*none\.crt": cannot read it/,
      ],
    ];
    for (const [what, bind, msg] of cases) {
      const r = await checkConfig(cfg(bind));
      assert.notEqual(r.code, 0, what);
      const line = r.stderr.split("\n").find((l) => msg.test(l));
      assert.ok(line !== undefined, `${what}: ${r.stderr}`);
      assert.ok(line.startsWith(`${r.file}:6:11: error: frontends.fe.bind: `), `${what}: ${line}`);
    }
    const old = await checkConfig(cfg(`127.0.0.1:8443 ssl crt ${expired.pem}`));
    assert.equal(old.code, 0, old.stderr);
    assert.match(old.stderr, /:6:11: warning: .*old\.test.*expired on/);
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("bind TLS options are checked as a line; server TLS files at the server", async () => {
  const cases: Array<[string, string, RegExp]> = [
    ["ssl without crt", "127.0.0.1:8443 ssl", /"ssl" needs at least one certificate/],
    ["crt without ssl", "127.0.0.1:8443 crt /x.pem", /"crt" needs "ssl"/],
    [
      "verify without ca-file",
      "127.0.0.1:8443 ssl crt /x.pem verify required",
      /"verify required" needs "ca-file"/,
    ],
    ["old version", "127.0.0.1:8443 ssl crt /x.pem ssl-min-ver TLSv1.0", /unsupported ssl-min-ver/],
    ["bad alpn", "127.0.0.1:8443 ssl crt /x.pem alpn h2,,x", /invalid alpn protocol name/],
  ];
  for (const [what, bind, msg] of cases) {
    const r = await checkConfig(cfg(bind));
    assert.notEqual(r.code, 0, what);
    assert.match(r.stderr, msg, what);
    assert.match(r.stderr, /:6:11: error: frontends\.fe\.bind: /, what);
  }
  const srv = await checkConfig(cfg("127.0.0.1:8080", ", ssl: true, ca-file: /nonexistent/ca.pem"));
  assert.notEqual(srv.code, 0);
  assert.match(srv.stderr, /:11:.*error: .*CA file "\/nonexistent\/ca\.pem": cannot read it/);
  // `sni` takes a sample expression (tests/e2e/tls/server_sni_test.ts); an unknown fetch is refused.
  const sni = await checkConfig(cfg("127.0.0.1:8080", ", ssl: true, sni: req.hdr(host)"));
  assert.equal(sni.code, 0, sni.stderr);
  const bad = await checkConfig(cfg("127.0.0.1:8080", ", ssl: true, sni: nosuch(host)"));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /:11:\d+: error: .*sni "nosuch\(host\)": unknown fetch method 'nosuch'/);
});
