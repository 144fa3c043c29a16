// `crt-list FILE` on a bind (HAProxy's format: `PATH [SNI filter...]` per
// line, comments): s_client gets the certificate whose filters match the
// name it sends, the first certificate loaded without SNI or for a name no
// filter covers; filters replace the certificate's own names; `!name`
// removes one. A per-line option list is refused at the bind's position,
// naming the list's line, and so is a missing certificate.

import assert from "node:assert/strict";
import { checkConfig, startProxy } from "../../_helpers/proxy.ts";
import { makePki, sClient, servedCn } from "../../_helpers/tls.ts";
import { backend, proxyConfig } from "./_tls.ts";

function config(bind: string, srvPort: number): string {
  return proxyConfig(`"127.0.0.1:0 ssl ${bind}"`, srvPort);
}

Deno.test("crt-list: certificates chosen by the list's SNI filters, the first is the default", async () => {
  const pki = await makePki();
  const a = await pki.leaf("a.test");
  const b = await pki.leaf("b.test", ["b.test", "www.b.test"]);
  const c = await pki.leaf("c.test", ["c.test", "old.c.test"]);
  const d = await pki.leaf("d.test");
  const list = `${pki.dir}/certs.list`;
  await Deno.writeTextFile(
    list,
    [
      "# the edge's certificates",
      a.pem,
      "",
      `${b.pem} other.test *.wild.test`,
      `  ${c.pem} !old.c.test`,
      "",
    ].join("\n"),
  );
  const be = backend();
  const p = await startProxy(config(`crt-list ${list}`, be.port));
  const q = await startProxy(config(`crt ${d.pem} crt-list ${list}`, be.port));
  try {
    const port = p.port("fe");
    const cases: Array<[string | null, string]> = [
      [null, "a.test"],
      ["a.test", "a.test"],
      ["other.test", "b.test"],
      ["x.wild.test", "b.test"],
      ["b.test", "a.test"], // b's own names are replaced by its filters
      ["c.test", "c.test"],
      ["old.c.test", "a.test"], // removed by !old.c.test
    ];
    for (const [sni, cn] of cases) {
      const out = await sClient(port, sni === null ? ["-noservername"] : ["-servername", sni]);
      assert.equal(servedCn(out), cn, `SNI ${sni}`);
    }
    // A crt before the list on the line is loaded first: the default.
    const qp = q.port("fe");
    assert.equal(servedCn(await sClient(qp, ["-noservername"])), "d.test");
    assert.equal(servedCn(await sClient(qp, ["-servername", "other.test"])), "b.test");
  } finally {
    await p.stop();
    await q.stop();
    await be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("crt-list: per-line options and missing files are errors naming the list's line", async () => {
  const pki = await makePki();
  const a = await pki.leaf("a.test");
  const list = `${pki.dir}/certs.list`;
  await Deno.writeTextFile(
    list,
    [a.pem, `${a.pem} [alpn h2] a.test`, `${pki.dir}/missing.pem`].join("\n"),
  );
  try {
    const r = await checkConfig(config(`crt-list ${list}`, 8080));
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /:7:11: error: frontends\.fe\.bind: crt-list ".*certs\.list" line 2: per-certificate options \("\[alpn h2\] a\.test"\) are not supported/,
    );
    assert.match(
      r.stderr,
      /:7:11: error: .*crt-list ".*certs\.list" line 3: certificate file ".*missing\.pem": cannot read it/,
    );
    const none = await checkConfig(config(`crt-list ${pki.dir}/nope.list`, 8080));
    assert.match(none.stderr, /:7:11: error: .*crt-list ".*nope\.list": cannot read it/);
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});
