// A ClientHello split over two TCP segments (what browsers send when their
// post-quantum key shares make it larger than one segment) still gets the
// certificate of its SNI on a bind with several certificates: the default
// route reads the whole ClientHello before it chooses (docs/tls.md, "Which
// Deno API does what"); the runtime's listener, with its one certificate,
// completes such a handshake too. The client is openssl s_client behind a relay that
// writes its first flight in two pieces, 100 ms apart.

import assert from "node:assert/strict";
import { makePki, sClient, servedCn } from "../../_helpers/tls.ts";
import { backend, proxyConfig, startOnRoute } from "./_tls.ts";

/** Copies `from` to `to` until the end, then half-closes `to`. */
async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16384);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
    }
    await to.closeWrite();
  } catch { /* either side gone */ }
}

/**
 * A relay on a port of its own to `port`: the first read from the client
 * (its ClientHello) goes out as two writes `delayMs` apart, the rest as is.
 */
function splittingRelay(port: number, cut: number, delayMs: number) {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const c = await l.accept();
    const s = await Deno.connect({ hostname: "127.0.0.1", port });
    s.setNoDelay(true);
    const back = pipe(s, c);
    const buf = new Uint8Array(16384);
    const n = await c.read(buf);
    if (n !== null) {
      assert.ok(n > cut, `the ClientHello (${n} bytes) is longer than the first piece`);
      await s.write(buf.slice(0, cut));
      await new Promise((r) => setTimeout(r, delayMs));
      await s.write(buf.slice(cut, n));
      await pipe(c, s);
    }
    await back;
    c.close();
    s.close();
  })();
  return { port: (l.addr as Deno.NetAddr).port, done, close: () => l.close() };
}

for (const route of ["node", "deno"] as const) {
  // The runtime's listener (SLUICE_TLS_LISTENER=deno) serves only binds
  // with one certificate: there the split ClientHello must simply succeed.
  const names = route === "node" ? ["a.test", "b.test"] : ["a.test"];
  Deno.test(`${route} route: a ClientHello in two TCP segments gets the certificate of its SNI (${names.length === 1 ? "one certificate" : "several certificates"})`, async () => {
    const pki = await makePki();
    const leaves = [];
    for (const n of names) leaves.push(await pki.leaf(n));
    const be = backend();
    const p = await startOnRoute(
      route,
      proxyConfig(`"127.0.0.1:0 ssl ${leaves.map((l) => `crt ${l.pem}`).join(" ")}"`, be.port),
    );
    try {
      const port = p.ports.get("fe")![0]!;
      for (const sni of [...names].reverse()) {
        const relay = splittingRelay(port, 40, 100);
        try {
          const out = await sClient(relay.port, ["-servername", sni], "");
          assert.equal(servedCn(out), sni, out);
          await relay.done;
        } finally {
          relay.close();
        }
      }
    } finally {
      await p.stop();
      await be.close();
      await Deno.remove(pki.dir, { recursive: true });
    }
  });
}
