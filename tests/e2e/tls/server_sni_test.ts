// `sni` on an ssl server as a sample expression (HAProxy's `server ... ssl
// sni req.hdr(host)`), with real sockets: a TLS backend that answers each
// request with the SNI of the connection it came on and that connection's
// number. A keep-alive client switching Host gets a connection per name and
// never one opened for another name; `ssl_fc_sni` passes the client's name
// through in TCP mode; a literal still works; a bad expression is a
// configuration error at its position; health checks send `check-sni`, or no
// SNI at all, as HAProxy's.

import assert from "node:assert/strict";
import tls from "node:tls";
import { checkConfig, startProxy } from "../../_helpers/proxy.ts";
import { makePki, type Pki, sClient } from "../../_helpers/tls.ts";
import { proxyConfig } from "./_tls.ts";

/** A TLS server answering "<sni> <connection number>" to every request, keep-alive. */
async function sniEcho(
  pem: string,
): Promise<{ port: number; handshakes: (string | null)[]; close(): void }> {
  const handshakes: (string | null)[] = [];
  let conns = 0;
  const srv = tls.createServer({ cert: pem, key: pem }, (s) => {
    const id = ++conns;
    const sni = (s as unknown as { servername?: string | false }).servername || null;
    handshakes.push(sni);
    let buf = "";
    s.on("error", () => {});
    s.on("data", (d: Uint8Array) => {
      buf += new TextDecoder().decode(d);
      let i;
      while ((i = buf.indexOf("\r\n\r\n")) >= 0) {
        const close = /\r\nconnection: close/i.test(buf.slice(0, i));
        buf = buf.slice(i + 4);
        const body = `${sni ?? "-"} ${id}`;
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        if (close) s.end();
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const addr = srv.address();
  return {
    port: typeof addr === "object" && addr !== null ? addr.port : 0,
    handshakes,
    close: () => srv.close(),
  };
}

/** Sends the requests one after another on one connection; returns the bodies. */
async function keepAlive(port: number, hosts: string[]): Promise<string[]> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const out: string[] = [];
  const buf = new Uint8Array(4096);
  try {
    for (const h of hosts) {
      await c.write(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${h}\r\n\r\n`));
      let text = "";
      for (;;) {
        const n = await c.read(buf);
        if (n === null) throw new Error(`closed; got ${JSON.stringify(text)}`);
        text += new TextDecoder().decode(buf.subarray(0, n));
        const end = text.indexOf("\r\n\r\n");
        const cl = /Content-Length: (\d+)/i.exec(text.slice(0, end));
        if (end >= 0 && cl !== null && text.length >= end + 4 + Number(cl[1])) {
          out.push(text.slice(end + 4));
          break;
        }
      }
    }
  } finally {
    c.close();
  }
  return out;
}

async function pkiWithBackend(): Promise<{ pki: Pki; pem: string }> {
  const pki = await makePki();
  const leaf = await pki.leaf("a.test", ["a.test", "b.test", "chk.test"]);
  return { pki, pem: await Deno.readTextFile(leaf.pem) };
}

function httpConfig(port: number, server: string): string {
  return proxyConfig('"127.0.0.1:0"', port, { server: `ssl: true, ${server}` });
}

Deno.test("sni req.hdr(host): each name gets its own server connection, reused only by that name", async () => {
  const { pki, pem } = await pkiWithBackend();
  const be = await sniEcho(pem);
  const p = await startProxy(httpConfig(be.port, `ca-file: ${pki.caCrt}, sni: "req.hdr(host)"`));
  try {
    const got = await keepAlive(p.port("fe"), [
      "a.test",
      "a.test",
      "b.test",
      "a.test",
      "b.test:8443",
    ]);
    const [a1, a2, b1, a3, b2] = got.map((x) => x.split(" "));
    assert.deepEqual([a1![0], a2![0], b1![0], a3![0], b2![0]], [
      "a.test",
      "a.test",
      "b.test",
      "a.test",
      "b.test",
    ]);
    // Keep-alive: the second a.test request rides the first connection; the
    // b.test one does not, and each name comes back to its own connection
    // (the other one waited parked in the server's idle pool).
    assert.equal(a2![1], a1![1]);
    assert.notEqual(b1![1], a1![1]);
    assert.equal(a3![1], a1![1]);
    assert.equal(b2![1], b1![1]);
    assert.deepEqual(be.handshakes, ["a.test", "b.test"]);
  } finally {
    await p.stop();
    be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("sni req.hdr(host) under http-reuse never: a client's own connection serves only its name", async () => {
  const { pki, pem } = await pkiWithBackend();
  const be = await sniEcho(pem);
  const yaml = httpConfig(be.port, `ca-file: ${pki.caCrt}, sni: "req.hdr(host)"`)
    .replace("  be:\n", "  be:\n    http-reuse: never\n");
  const p = await startProxy(yaml);
  try {
    const got = await keepAlive(p.port("fe"), ["a.test", "a.test", "b.test", "b.test", "a.test"]);
    assert.deepEqual(got, ["a.test 1", "a.test 1", "b.test 2", "b.test 2", "a.test 3"]);
  } finally {
    await p.stop();
    be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("sni ssl_fc_sni in TCP mode passes the client's name; a literal and str() still work", async () => {
  const { pki, pem } = await pkiWithBackend();
  const be = await sniEcho(pem);
  const front = await pki.leaf("front.test", ["front.test", "a.test", "b.test"]);
  const yaml = [
    "global: { log: stdout }",
    "defaults:",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "frontends:",
    "  fe_tcp:",
    "    mode: tcp",
    `    bind: "127.0.0.1:0 ssl crt ${front.pem}"`,
    "    default_backend: be_tcp",
    "  fe_lit:",
    "    mode: http",
    '    bind: "127.0.0.1:0"',
    "    default_backend: be_lit",
    "  fe_str:",
    "    mode: http",
    '    bind: "127.0.0.1:0"',
    "    default_backend: be_str",
    "backends:",
    "  be_tcp:",
    "    mode: tcp",
    "    servers:",
    `      - { name: s1, address: "127.0.0.1:${be.port}", ssl: true, ca-file: ${pki.caCrt}, sni: ssl_fc_sni }`,
    "  be_lit:",
    "    mode: http",
    "    servers:",
    `      - { name: s1, address: "127.0.0.1:${be.port}", ssl: true, ca-file: ${pki.caCrt}, sni: a.test }`,
    "  be_str:",
    "    mode: http",
    "    servers:",
    `      - { name: s1, address: "127.0.0.1:${be.port}", ssl: true, ca-file: ${pki.caCrt}, sni: "str(b.test)" }`,
    "",
  ].join("\n");
  const p = await startProxy(yaml);
  try {
    const out = await sClient(
      p.port("fe_tcp"),
      ["-servername", "b.test", "-quiet", "-CAfile", pki.caCrt],
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.match(out, /\r?\n\r?\nb\.test \d+/);
    assert.deepEqual(
      await keepAlive(p.port("fe_lit"), ["zzz"]).then((r) => r[0]!.split(" ")[0]),
      "a.test",
    );
    assert.deepEqual(
      await keepAlive(p.port("fe_str"), ["zzz"]).then((r) => r[0]!.split(" ")[0]),
      "b.test",
    );
  } finally {
    await p.stop();
    be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("a bad sni expression is a configuration error at its position", async () => {
  const yaml = [
    "frontends:",
    "  fe:",
    "    mode: http",
    '    bind: "127.0.0.1:0"',
    "    default_backend: be",
    "backends:",
    "  be:",
    "    mode: http",
    "    servers:",
    '      - { name: s1, address: "127.0.0.1:1", ssl: true, verify: none, sni: "req.hdrx(host)" }',
    "      - name: s2",
    '        address: "127.0.0.1:1"',
    "        ssl: true",
    "        verify: none",
    '        sni: "res.hdr(host)"',
    "",
  ].join("\n");
  const r = await checkConfig(yaml);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /:10:\d+: .*sni "req\.hdrx\(host\)": unknown fetch method 'req\.hdrx'/);
  assert.match(r.stderr, /:15:\d+: .*sni "res\.hdr\(host\)": .*reads the response/);
});

Deno.test("TLS health checks send check-sni, or no SNI at all (not the server's sni)", async () => {
  const { pki, pem } = await pkiWithBackend();
  const be = await sniEcho(pem);
  const other = await makePki("other");
  const yaml = [
    "global: { log: stdout }",
    "defaults:",
    "  mode: http",
    "  timeout: { connect: 5s, client: 30s, server: 30s, check: 2s }",
    "frontends:",
    "  fe:",
    '    bind: "127.0.0.1:0"',
    "    default_backend: be_chk",
    "backends:",
    "  be_chk:",
    "    servers:",
    `      - { name: s1, address: "127.0.0.1:${be.port}", ssl: true, ca-file: ${pki.caCrt}, sni: a.test, check-sni: chk.test, check: true, inter: 100ms, fall: 1 }`,
    "  be_none:",
    "    servers:",
    `      - { name: s2, address: "127.0.0.1:${be.port}", ssl: true, ca-file: ${pki.caCrt}, sni: "req.hdr(host)", check: true, inter: 100ms, fall: 1 }`,
    "  be_bad:",
    "    servers:",
    `      - { name: s3, address: "127.0.0.1:${be.port}", ssl: true, ca-file: ${other.caCrt}, check: true, inter: 100ms, fall: 1 }`,
    "",
  ].join("\n");
  const p = await startProxy(yaml);
  try {
    // A check that cannot verify the chain fails: the assertions below can see one.
    await p.waitForStderr(/be_bad\/s3 is DOWN/, 10_000);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && be.handshakes.filter((h) => h === null).length < 2) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(be.handshakes.includes("chk.test"), JSON.stringify(be.handshakes));
    assert.ok(be.handshakes.includes(null), JSON.stringify(be.handshakes));
    assert.ok(!be.handshakes.includes("a.test"), JSON.stringify(be.handshakes));
    // Both checks pass (verified chain; no name to verify without SNI): no server went DOWN.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!p.stderr.some((l) => /(s1|s2) is DOWN/.test(l)), p.stderr.join("\n"));
  } finally {
    await p.stop();
    be.close();
    await Deno.remove(pki.dir, { recursive: true });
    await Deno.remove(other.dir, { recursive: true });
  }
});
