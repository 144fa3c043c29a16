// The certificate store of a TLS bind: names from SAN (else CN), exact
// names before wildcards, a wildcard covers one label, the first loaded is
// the default; a directory loads its PEM files in name order, skipping
// companions (.key); client certificate verification against a CA.

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { loadCerts } from "../../src/listener/tls_certs.ts";
import {
  verifyClientCert,
  X509_V_ERR_CERT_HAS_EXPIRED,
  X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
  X509_V_OK,
} from "../../src/listener/tls_node.ts";
import { makePki } from "../_helpers/tls.ts";

Deno.test("CertStore: SNI lookup by exact name, wildcard, default", async () => {
  const pki = await makePki();
  try {
    await Deno.mkdir(`${pki.dir}/d`);
    await pki.leaf("first.test", ["first.test"], { file: "d/a.pem" });
    await pki.leaf("wild", ["*.w.test", "w.test"], { file: "d/b.pem" });
    await pki.leaf("cn-only.test", [], { file: "d/c.pem" });
    // A key file beside them is a companion, not a certificate.
    await Deno.writeTextFile(`${pki.dir}/d/c.key`, "ignored\n");
    const { store, problems } = loadCerts([`${pki.dir}/d`]);
    assert.deepEqual(problems, []);
    assert.ok(store !== null);
    assert.deepEqual(store.entries.map((e) => e.names), [
      ["first.test"],
      ["*.w.test", "w.test"],
      ["cn-only.test"],
    ]);
    const cn = (sni: string | null) => store.lookup(sni).subject;
    assert.equal(cn("first.test"), "CN=first.test");
    assert.equal(cn("FIRST.test"), "CN=first.test");
    assert.equal(cn("a.w.test"), "CN=wild");
    assert.equal(cn("w.test"), "CN=wild");
    assert.equal(cn("a.b.w.test"), "CN=first.test");
    assert.equal(cn("cn-only.test"), "CN=cn-only.test");
    assert.equal(cn(null), "CN=first.test");
    assert.equal(cn(""), "CN=first.test");
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("verifyClientCert: signed by the CA, by another CA, expired", async () => {
  const pki = await makePki("ca");
  const other = await makePki("other", pki.dir);
  try {
    const x = async (p: string) => new X509Certificate(await Deno.readTextFile(p));
    const ca = await x(pki.caCrt);
    const good = await x((await pki.leaf("c1")).crt);
    const foreign = await x((await other.leaf("c2")).crt);
    const expired = await x((await pki.leaf("c3", ["c3"], { days: 0 })).crt);
    assert.equal(verifyClientCert([good], [ca]), X509_V_OK);
    assert.equal(verifyClientCert([foreign], [ca]), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert.equal(verifyClientCert([expired], [ca], Date.now() + 5000), X509_V_ERR_CERT_HAS_EXPIRED);
    assert.equal(verifyClientCert([], [ca]), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});
