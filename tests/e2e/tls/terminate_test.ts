// TLS termination on a bind, with real clients: openssl s_client gets the
// certificate of the name it asks for (exact and wildcard) and the default
// one without SNI; ALPN answers as configured; curl through HTTPS keeps the
// connection alive across requests and carries 50 MiB each way intact; the
// fetches see the connection's TLS facts; a cleartext bind of the same
// frontend redirects to https and HSTS is set by a response rule.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { makePki, type Pki, sClient, servedCn } from "../../_helpers/tls.ts";
import { backend, curl, proxyConfig, seeded, sha256 } from "./_tls.ts";

async function setup(): Promise<{ pki: Pki; certDir: string }> {
  const pki = await makePki();
  const certDir = `${pki.dir}/certs`;
  await Deno.mkdir(certDir);
  // Loaded in name order: a.test first, so it is the default.
  await pki.leaf("a.test", ["a.test", "www.a.test"], { file: "certs/1-a.pem" });
  await pki.leaf("b.test", ["b.test", "*.w.test"], { file: "certs/2-b.pem" });
  return { pki, certDir };
}

function config(certDir: string, srvPort: number, extraFe: string[] = [], bindExtra = ""): string {
  const bind = `["127.0.0.1:0 ssl crt ${certDir} alpn http/1.1${bindExtra}", "127.0.0.1:0"]`;
  return proxyConfig(bind, srvPort, { feLines: extraFe });
}

Deno.test("s_client gets the certificate of its SNI, the wildcard's, and the default without", async () => {
  const { pki, certDir } = await setup();
  const be = backend();
  const p = await startProxy(config(certDir, be.port));
  try {
    const port = p.ports.get("fe")![0]!;
    const cases: Array<[string | null, string]> = [
      ["a.test", "a.test"],
      ["b.test", "b.test"],
      ["www.a.test", "a.test"],
      ["x.w.test", "b.test"],
      ["deep.x.w.test", "a.test"], // a wildcard covers one label only: default
      ["unknown.test", "a.test"],
      [null, "a.test"],
    ];
    for (const [sni, cn] of cases) {
      const out = await sClient(port, sni === null ? ["-noservername"] : ["-servername", sni]);
      assert.equal(servedCn(out), cn, `SNI ${sni}: ${out.slice(0, 400)}`);
    }
  } finally {
    await p.stop();
    await be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("ALPN: the configured protocol is chosen; a client offering only h2 gets none", async () => {
  const { pki, certDir } = await setup();
  const be = backend();
  const p = await startProxy(config(certDir, be.port));
  try {
    const port = p.ports.get("fe")![0]!;
    const both = await sClient(port, ["-servername", "a.test", "-alpn", "h2,http/1.1"]);
    assert.match(both, /ALPN protocol: http\/1\.1/);
    const h2only = await sClient(port, ["-servername", "a.test", "-alpn", "h2"]);
    assert.doesNotMatch(h2only, /ALPN protocol: h2/);
  } finally {
    await p.stop();
    await be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("curl over HTTPS: keep-alive, 50 MiB down and up intact, TLS facts in fetches", async () => {
  const { pki, certDir } = await setup();
  const be = backend();
  const p = await startProxy(config(certDir, be.port, [
    "    http-response:",
    "      - set-header X-Alpn %[ssl_fc_alpn]",
    "      - set-header X-Tls %[ssl_fc]",
  ]));
  const big = `${pki.dir}/big.bin`;
  try {
    const port = p.ports.get("fe")![0]!;
    const url = (path: string) => `https://a.test:${port}${path}`;
    const common = ["--cacert", pki.caCrt, "--resolve", `a.test:${port}:127.0.0.1`, "--http1.1"];
    // Two requests, one connection.
    const ka = await curl([
      ...common,
      "-D-",
      url("/one"),
      url("/two"),
      "-w",
      "\n%{num_connects}\n",
    ]);
    assert.equal(ka.code, 0, ka.err);
    assert.match(ka.out, /ok \/one/);
    assert.match(ka.out, /ok \/two/);
    assert.match(ka.out, /x-alpn: http\/1\.1/i);
    assert.match(ka.out, /x-tls: 1/i);
    assert.deepEqual(
      ka.out.match(/^[01]$/mg),
      ["1", "0"],
      "the second request reused the connection",
    );
    const logs = await p.waitForLog(/GET \/two/, 10_000);
    assert.match(logs, / fe~ be\/s1 /, "%ft marks a TLS frontend with ~, as HAProxy");

    const n = 50 * 1024 * 1024;
    const down = await curl([...common, "-o", big, url(`/big?n=${n}`)]);
    assert.equal(down.code, 0, down.err);
    const got = await Deno.readFile(big);
    const want = seeded(n);
    assert.equal(got.length, n);
    assert.equal(sha256(got), sha256(want));

    const up = await curl([...common, "--data-binary", `@${big}`, url("/up")]);
    assert.equal(up.code, 0, up.err);
    assert.equal(up.out, `${sha256(want)} ${n}`);
  } finally {
    await p.stop();
    await be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("cleartext requests are redirected to https; HSTS is set on TLS responses", async () => {
  const { pki, certDir } = await setup();
  const be = backend();
  const p = await startProxy(config(certDir, be.port, [
    "    http-request:",
    "      - redirect scheme https code 301 unless { ssl_fc }",
    "    http-response:",
    '      - set-header Strict-Transport-Security "max-age=31536000" if { ssl_fc }',
  ]));
  try {
    const [tlsPort, plainPort] = p.ports.get("fe")!;
    const plain = await curl(["-D-", "-H", "Host: a.test", `http://127.0.0.1:${plainPort}/p?q=1`]);
    assert.match(plain.out, /^HTTP\/1\.1 301/);
    assert.match(plain.out, /location: https:\/\/a\.test\/p\?q=1/i);
    assert.doesNotMatch(plain.out, /strict-transport-security/i);
    const secure = await curl([
      "-D-",
      "--cacert",
      pki.caCrt,
      "--resolve",
      `a.test:${tlsPort}:127.0.0.1`,
      `https://a.test:${tlsPort}/p`,
    ]);
    assert.match(secure.out, /^HTTP\/1\.1 200/);
    assert.match(secure.out, /strict-transport-security: max-age=31536000/i);
  } finally {
    await p.stop();
    await be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});
