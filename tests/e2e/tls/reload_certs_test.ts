// Certificates are read again on reload (HAProxy reads every file when it
// reloads): a bind the reload keeps (same address and options) serves the
// certificate now at its `crt` path from its next handshake on, without
// closing its socket; a connection established before goes on, and one
// accepted before whose handshake had not begun finishes with the old
// certificate. A broken file at the path fails the reload with a
// file:line:col error, and the old certificate keeps being served.

import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { makePki, sClient, servedCn } from "../../_helpers/tls.ts";
import { reloadWith } from "../ops/_reload.ts";
import { backend, proxyConfig } from "./_tls.ts";

function config(crt: string, srvPort: number): string {
  // The second bind does its handshake after a PROXY header (a cleartext socket).
  return proxyConfig(
    `["127.0.0.1:0 ssl crt ${crt} alpn http/1.1", "127.0.0.1:0 accept-proxy ssl crt ${crt}"]`,
    srvPort,
  );
}

/** Whether a handshake after a PROXY header verifies `name` (the served certificate's). */
async function proxiedHandshake(port: number, name: string, ca: string): Promise<boolean> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(new TextEncoder().encode("PROXY TCP4 10.0.0.1 10.0.0.2 1234 443\r\n"));
  try {
    const t = await Deno.startTls(c, { hostname: name, caCerts: [ca] });
    await t.handshake();
    t.close();
    return true;
  } catch {
    try {
      c.close();
    } catch { /* closed by the failed handshake */ }
    return false;
  }
}

/** One request over an established TLS connection; returns the response text. */
async function get(c: Deno.Conn, path: string): Promise<string> {
  await c.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.includes(`ok ${path}`)) {
    const n = await c.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

Deno.test("reload: a kept TLS bind serves the renewed certificate at the same path; a broken one fails the reload", async () => {
  const pki = await makePki();
  const a = await pki.leaf("a.test", ["a.test"], { file: "site.pem" });
  const b = await pki.leaf("b.test", ["b.test"], { file: "b.pem" });
  const site = a.pem;
  const certA = await Deno.readTextFile(site);
  const certB = await Deno.readTextFile(b.pem);
  const be = backend();
  const yaml = config(site, be.port);
  const p = await startProxy(yaml);
  try {
    const port = p.port("fe");
    assert.equal(servedCn(await sClient(port, ["-servername", "a.test"])), "a.test");
    const ca = await Deno.readTextFile(pki.caCrt);
    const proxied = p.ports.get("fe")![1]!;
    assert.equal(await proxiedHandshake(proxied, "a.test", ca), true);
    assert.equal(await proxiedHandshake(proxied, "b.test", ca), false);
    // A connection established on A, and one accepted whose handshake has not begun.
    const live = await Deno.startTls(await Deno.connect({ hostname: "127.0.0.1", port }), {
      hostname: "a.test",
      caCerts: [await Deno.readTextFile(pki.caCrt)],
    });
    assert.match(await get(live, "/before"), /200 OK/);
    const pending = await Deno.connect({ hostname: "127.0.0.1", port });
    await new Promise((r) => setTimeout(r, 300)); // accepted by the listener

    // The renewed certificate replaces the file; same configuration.
    await Deno.writeTextFile(site, certB);
    const ok = await reloadWith(p, yaml);
    assert.ok(ok.ok, ok.lines.join("\n"));
    assert.equal(p.port("fe"), port);
    assert.equal(servedCn(await sClient(port, ["-servername", "b.test"])), "b.test");
    assert.equal(servedCn(await sClient(port, ["-noservername"])), "b.test");
    assert.equal(await proxiedHandshake(proxied, "b.test", ca), true);
    // The listener was not closed: the established connection goes on...
    assert.match(await get(live, "/after"), /200 OK/);
    live.close();
    // ...and the handshake accepted before the reload is made with A.
    const old = await Deno.startTls(pending, {
      hostname: "a.test",
      caCerts: [await Deno.readTextFile(pki.caCrt)],
    });
    assert.match(await get(old, "/pending"), /200 OK/);
    old.close();

    // A broken file at the path: the reload fails at the bind line, B stays.
    await Deno.writeTextFile(site, "-----BEGIN CERTIFICATE-----\nnot base64\n");
    const bad = await reloadWith(p, yaml);
    assert.equal(bad.ok, false);
    assert.ok(
      bad.lines.some((l) =>
        /:7:12: error: frontends\.fe\.bind\[0\]: certificate file ".*site\.pem": no PEM certificate in it/
          .test(l)
      ),
      bad.lines.join("\n"),
    );
    assert.match(bad.lines[bad.lines.length - 1]!, /still running on the previous configuration/);
    assert.equal(servedCn(await sClient(port, ["-servername", "a.test"])), "b.test");

    // Back to A: served again by the next reload.
    await Deno.writeTextFile(site, certA);
    assert.ok((await reloadWith(p, yaml)).ok);
    assert.equal(servedCn(await sClient(port, ["-servername", "a.test"])), "a.test");
  } finally {
    await p.stop();
    await be.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});
