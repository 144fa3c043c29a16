// One TCP port routes TLS by the SNI of the ClientHello to servers that
// terminate TLS themselves (`openssl s_server` with their own certificates):
// `tcp-request inspect-delay` + `content accept if { req.ssl_hello_type 1 }`
// wait for the hello, `use_backend ... if { req.ssl_sni -i NAME }` picks the
// backend, anything that is not TLS is rejected (PR in the log). Sluice never
// decrypts: the clients see each backend's own certificate.

import assert from "node:assert/strict";
import { closeQuietly, connect, delay, readAll, te, writeAll } from "../../_helpers/client.ts";
import { freePort } from "../../_helpers/haproxy.ts";
import { logLineOf, parseTcpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { opensslClientHello } from "../../_helpers/tls.ts";

async function run(cmd: string, args: string[], stdin?: Uint8Array) {
  const p = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await p.output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

/** A self-signed P-256 certificate for `cn` in `dir`. */
async function cert(dir: string, cn: string): Promise<{ crt: string; key: string }> {
  const crt = `${dir}/${cn}.pem`, key = `${dir}/${cn}.key`;
  const r = await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    `/CN=${cn}`,
    "-days",
    "2",
    "-keyout",
    key,
    "-out",
    crt,
  ]);
  assert.equal(r.code, 0, r.out);
  return { crt, key };
}

/** `openssl s_server` with `cn`'s certificate on a free port; resolves once it accepts. */
async function tlsServer(dir: string, cn: string) {
  const { crt, key } = await cert(dir, cn);
  const port = freePort();
  const child = new Deno.Command("openssl", {
    args: ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", crt, "-key", key, "-www", "-quiet"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > end) throw new Error(`openssl s_server for ${cn} did not listen`);
      await delay(50);
    }
  }
  return {
    port,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
    },
  };
}

/** The subject of the certificate `openssl s_client` got through `port` for `sni` (null: none). */
async function subjectVia(port: number, sni: string | null): Promise<string> {
  const r = await run("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    ...(sni === null ? ["-noservername"] : ["-servername", sni]),
  ], te.encode("GET / HTTP/1.0\r\n\r\n"));
  const m = /^subject=(.*)$/m.exec(r.out);
  return m === null ? `no certificate: ${r.out}` : m[1]!.trim();
}

Deno.test("sni routing: TLS passthrough to two backends chosen by the ClientHello's SNI", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-sni-" });
  const a = await tlsServer(dir, "a.example");
  const b = await tlsServer(dir, "b.example");
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 2s, client: 10s, server: 10s }
  option: [tcplog]
frontends:
  fe_tls:
    bind: "127.0.0.1:0"
    tcp-request:
      - "inspect-delay 5s"
      - "content accept if { req.ssl_hello_type 1 }"
      - "content reject"
    use_backend:
      - "be_a if { req.ssl_sni -i a.example }"
      - "be_b if { req.ssl_sni -i b.example }"
    default_backend: be_b
  fe_quick:
    bind: "127.0.0.1:0"
    tcp-request: ["inspect-delay 300ms", "content accept if { req.ssl_hello_type 1 }", "content reject"]
    default_backend: be_a
backends:
  be_a:
    servers: [{ name: s_a, address: "127.0.0.1:${a.port}" }]
  be_b:
    servers: [{ name: s_b, address: "127.0.0.1:${b.port}" }]
`);
    const port = proxy.port("fe_tls");
    assert.equal(await subjectVia(port, "a.example"), "CN = a.example");
    assert.equal(await subjectVia(port, "B.EXAMPLE"), "CN = b.example", "-i: case-insensitive");
    assert.equal(await subjectVia(port, "a.example"), "CN = a.example");
    assert.equal(await subjectVia(port, null), "CN = b.example", "no SNI: default_backend");

    // A ClientHello in two segments 300 ms apart: the rule waits for all of it.
    const hello = await captureHello("a.example");
    const c = await connect(port);
    const me = (c.localAddr as Deno.NetAddr).port;
    await writeAll(c, hello.subarray(0, 40));
    await delay(300);
    await writeAll(c, hello.subarray(40));
    // TLS 1.2: the server's certificate comes back in clear, with its name in it.
    const got = await readUntil(c, te.encode("a.example"));
    closeQuietly(c);
    assert.ok(got, "the server of a.example answered the split hello");
    const log = parseTcpLog(await proxy.waitForLog(logLineOf(me), 10_000));
    assert.equal(`${log.backend}/${log.server}`, "be_a/s_a");

    // Not TLS: rejected at once, nothing sent, "PR" in the log.
    const g = await connect(port);
    const gp = (g.localAddr as Deno.NetAddr).port;
    await writeAll(g, te.encode("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
    const r = await readAll(g, 10_000);
    closeQuietly(g);
    assert.equal(r.data.length, 0);
    const rl = parseTcpLog(await proxy.waitForLog(logLineOf(gp), 10_000));
    assert.equal(rl.ts, "PR", rl.line);

    // A client that sends nothing: when inspect-delay expires the rules
    // decide on what is there (nothing: rejected), well before timeout client.
    const q = await connect(proxy.port("fe_quick"));
    const qp = (q.localAddr as Deno.NetAddr).port;
    const qr = await readAll(q, 10_000);
    closeQuietly(q);
    assert.equal(qr.data.length, 0);
    const ql = parseTcpLog(await proxy.waitForLog(logLineOf(qp), 10_000));
    assert.equal(ql.ts, "PR", ql.line);
  } finally {
    await proxy?.stop();
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/** A TLS 1.2 ClientHello for `sni`, as `openssl s_client` sends it (captured on a raw listener). */
function captureHello(sni: string): Promise<Uint8Array> {
  return opensslClientHello(["-servername", sni, "-tls1_2"]);
}

/** Reads until `needle` appears in what came (true) or the connection ends (false). */
async function readUntil(c: Deno.Conn, needle: Uint8Array): Promise<boolean> {
  const buf = new Uint8Array(65536);
  let n = 0;
  const end = Date.now() + 10_000;
  while (n < buf.length && Date.now() < end) {
    const r = await c.read(buf.subarray(n));
    if (r === null) return false;
    n += r;
    const s = new TextDecoder("latin1").decode(buf.subarray(0, n));
    if (s.includes(new TextDecoder().decode(needle))) return true;
  }
  return false;
}
