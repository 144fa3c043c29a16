// Host-to-backend routing through a map of 100,000 entries:
// `use_backend %[req.hdr(host),lower,map_dom(FILE,be_default)]`. Every
// sampled host reaches the backend its map line names (the stub answers
// with `x-backend: TAG`), subdomains of a mapped domain too (map_dom), and
// hosts the map does not know reach the default named in the converter.
// Also: a map with a bad line is refused at load with the config line and
// the map file's line, and `map_ip`, `map_beg`, `map_str` without default.

import assert from "node:assert/strict";
import { runCli, startProxy } from "../../_helpers/proxy.ts";
import {
  HTTP_DEFAULTS,
  httpStub,
  oneBackend,
  reqHeader,
  type StubRequest,
  withClient,
} from "../http/_http.ts";

const BACKENDS = 4;
const ENTRIES = 100_000;

/** Deterministic pseudo-random sequence (the sampled hosts are the same each run). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
}

function backendOf(i: number): string {
  return `be${(i * 7 + (i >> 3)) % BACKENDS}`;
}

Deno.test("a map of 100,000 hosts routes each sampled host to its backend", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_map_" });
  const lines = ["# host → backend", ""];
  for (let i = 0; i < ENTRIES; i++) lines.push(`host${i}.example.com ${backendOf(i)}`);
  await Deno.writeTextFile(`${dir}/hosts.map`, lines.join("\n") + "\n");
  const stubs = [...Array(BACKENDS).keys()].map((i) => httpStub(`be${i}`));
  const dflt = httpStub("be_default");
  let backends = "";
  for (let i = 0; i < BACKENDS; i++) {
    backends += `  be${i}: { servers: [ { name: s, address: "127.0.0.1:${stubs[i]!.port}" } ] }\n`;
  }
  backends += `  be_default: { servers: [ { name: s, address: "127.0.0.1:${dflt.port}" } ] }\n`;
  const proxy = await startProxy(
    HTTP_DEFAULTS + `
frontends:
  fe:
    bind: "127.0.0.1:0"
    use_backend:
      - "%[req.hdr(host),lower,map_dom(${dir}/hosts.map,be_default)]"
    default_backend: be0
backends:
${backends}`,
    { readyTimeoutMs: 60_000 },
  );
  try {
    await withClient(proxy.port("fe"), async (c) => {
      const rnd = lcg(42);
      const ask = async (host: string): Promise<string> => {
        await c.send(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        const r = await c.readResponse();
        assert.equal(r.status, 200);
        return r.get("x-backend") ?? "";
      };
      for (let k = 0; k < 300; k++) {
        const i = rnd() % ENTRIES;
        assert.equal(await ask(`host${i}.example.com`), backendOf(i), `host${i}`);
      }
      // Case folded by `lower`; a subdomain matches by map_dom's component rule.
      assert.equal(await ask("HOST77.Example.COM"), backendOf(77));
      assert.equal(await ask("www.host123.example.com:8080"), backendOf(123));
      // Unknown hosts: the converter's default.
      assert.equal(await ask("nohost.example.com"), "be_default");
      assert.equal(await ask("host1.example.org"), "be_default");
    });
  } finally {
    await proxy.stop();
    for (const s of stubs) await s.close();
    await dflt.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("map_ip, map_beg and map_str pick HAProxy's entry; no default gives no sample", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_map_" });
  await Deno.writeTextFile(
    `${dir}/nets.map`,
    "# networks\n127.0.0.0/8 loopback8\n127.0.0.1 host32\n10.0.0.0/8 ten\n",
  );
  await Deno.writeTextFile(`${dir}/paths.map`, "/api v1\n/api/v2 v2\n  # indented comment\n");
  await Deno.writeTextFile(`${dir}/exact.map`, "a first\na second\nb  spaced value  \n");
  const be = httpStub("be");
  const proxy = await startProxy(
    oneBackend(
      be.port,
      `
    http-request:
      - 'set-header X-Net %[src,map_ip(${dir}/nets.map)]'
      - 'set-header X-Ver %[path,map_beg(${dir}/paths.map,none)]'
      - 'set-header X-Exact "[%[req.hdr(x-k),map(${dir}/exact.map)]]"'`,
    ),
  );
  try {
    await withClient(proxy.port("fe"), async (c) => {
      const ask = async (path: string, k: string) => {
        await c.send(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-K: ${k}\r\n\r\n`);
        assert.equal((await c.readResponse()).status, 200);
        return be.requests[be.requests.length - 1]!;
      };
      const h = (r: StubRequest, n: string) => reqHeader(r, n);
      let r = await ask("/api/v2/x", "a");
      assert.deepEqual(h(r, "x-net"), ["host32"]); // longest prefix
      assert.deepEqual(h(r, "x-ver"), ["v2"]); // longest prefix
      assert.deepEqual(h(r, "x-exact"), ["[first]"]); // first line wins
      r = await ask("/apix", "b");
      assert.deepEqual(h(r, "x-ver"), ["v1"]);
      assert.deepEqual(h(r, "x-exact"), ["[spaced value]"]);
      r = await ask("/other", "zz");
      assert.deepEqual(h(r, "x-ver"), ["none"]);
      assert.deepEqual(h(r, "x-exact"), ["[]"]); // no default: no sample
    });
  } finally {
    await proxy.stop();
    await be.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad map line is refused at load: config line and map file line named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_map_" });
  await Deno.writeTextFile(`${dir}/nets.map`, "10.0.0.0/8 ok\n\n# c\nnot-an-ip bad\n");
  const file = `${dir}/cfg.yaml`;
  await Deno.writeTextFile(
    file,
    oneBackend(
      1,
      `
    http-request:
      - 'set-header X-Net %[src,map_ip(nets.map)]'
      - 'set-header X-Missing %[src,map(missing.map)]'`,
    ),
  );
  try {
    const r = await runCli(["-c", "-f", file]);
    assert.notEqual(r.code, 0);
    const out = r.stderr + r.stdout;
    assert.match(
      out,
      /cfg\.yaml:12:\d+.*map file 'nets\.map' line 4: invalid IP address or network 'not-an-ip'/,
    );
    assert.match(out, /cfg\.yaml:13:\d+.*cannot read map file '.*missing\.map'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("maps work in ACLs, set-var, %[...] values and log-format alike", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_map_" });
  await Deno.writeTextFile(`${dir}/tier.map`, "example.com gold\nexample.org silver\n");
  await Deno.writeTextFile(`${dir}/blocked.acl`, "# blocked paths\n/admin\n/private\n");
  await Deno.writeTextFile(`${dir}/nets.map`, "10.0.0.0/8 near\n");
  const be = httpStub("be");
  const proxy = await startProxy(
    oneBackend(
      be.port,
      `
    log-format: 'tier=%[var(txn.tier)] geo=%[src,map_ip(${dir}/nets.map,far)] %{+Q}[var(txn.host)]'
    acl:
      gold: "req.hdr(host),lower,map_dom(${dir}/tier.map) -m str gold"
      blocked: "path_beg -f ${dir}/blocked.acl"
    http-request:
      - 'set-var(txn.host) req.hdr(host),lower'
      - 'set-var(txn.tier) req.hdr(host),lower,map_dom(${dir}/tier.map,bronze)'
      - 'deny if blocked'
      - 'set-header X-Gold yes if gold'
      - 'set-header X-Tier %[var(txn.tier)]'`,
    ),
  );
  try {
    await withClient(proxy.port("fe"), async (c) => {
      for (
        const [host, path, status] of [
          ["WWW.Example.COM", "/x", 200],
          ["shop.example.org", "/y", 200],
          ["other.net", "/z", 200],
          ["example.com", "/admin/panel", 403],
        ] as const
      ) {
        await c.send(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        assert.equal((await c.readResponse()).status, status, `${host}${path}`);
      }
    });
    const got = be.requests;
    assert.deepEqual(got.map((r) => reqHeader(r, "x-tier")[0]), ["gold", "silver", "bronze"]);
    assert.deepEqual(got.map((r) => reqHeader(r, "x-gold").length), [1, 0, 0]);
    const lines = await proxy.waitForLogs(/^tier=/, 4);
    assert.deepEqual(lines, [
      'tier=gold geo=far "www.example.com"',
      'tier=silver geo=far "shop.example.org"',
      'tier=bronze geo=far "other.net"',
      'tier=gold geo=far "example.com"',
    ]);
  } finally {
    await proxy.stop();
    await be.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log-format refuses %[...] fields that read a message head", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/l.yaml`;
  await Deno.writeTextFile(
    file,
    oneBackend(
      1,
      `
    log-format: "%[req.hdr(host)]"`,
    ),
  );
  try {
    const r = await runCli(["-c", "-f", file]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /l\.yaml:11:\d+: .*reads a message head.*set-var\(txn\.NAME\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
