// pendingServerTls(): the server-side handshake over a connection already
// accepted in cleartext (the route after a PROXY protocol header): a real
// TLS client gets the certificate of its SNI, ALPN and the connection's TLS
// facts are known, and bytes flow both ways; garbage makes complete() reject.

import assert from "node:assert/strict";
import { denoConn } from "../../src/listener/deno_conn.ts";
import { pendingServerTls, tlsBindParams } from "../../src/listener/proto_tls.ts";
import { loadCerts } from "../../src/listener/tls_certs.ts";
import { makePki } from "../_helpers/tls.ts";

Deno.test("pendingServerTls: handshake over an accepted Deno socket, then data both ways", async () => {
  const pki = await makePki();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const a = await pki.leaf("a.test");
    const b = await pki.leaf("b.test");
    const { store } = loadCerts([a.pem, b.pem]);
    const params = tlsBindParams(
      store!,
      {
        crt: [],
        alpn: ["http/1.1"],
        minVer: "TLSv1.2",
        verify: "none",
        caFile: null,
      },
      [],
      true,
    );
    const port = (l.addr as Deno.NetAddr).port;
    const ca = await Deno.readTextFile(pki.caCrt);
    const client = (async () => {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
      const c = await Deno.startTls(tcp, {
        hostname: "b.test",
        caCerts: [ca],
        alpnProtocols: ["http/1.1"],
      });
      await c.write(new TextEncoder().encode("ping"));
      const buf = new Uint8Array(16);
      const n = await c.read(buf);
      c.close();
      return new TextDecoder().decode(buf.subarray(0, n ?? 0));
    })();
    const accepted = await l.accept();
    const conn = await pendingServerTls(denoConn(accepted), params).complete();
    assert.equal(conn.tls?.sni, "b.test");
    assert.equal(conn.tls?.alpn, "http/1.1");
    assert.match(conn.tls?.protocol ?? "", /^TLSv1\.[23]$/);
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    assert.equal(new TextDecoder().decode(buf.subarray(0, n)), "ping");
    await conn.write(new TextEncoder().encode("pong"));
    assert.equal(await client, "pong");
    conn.close();

    // Garbage: complete() rejects with a reason.
    const junk = await Deno.connect({ hostname: "127.0.0.1", port });
    const acc2 = await l.accept();
    await junk.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    await assert.rejects(pendingServerTls(denoConn(acc2), params).complete());
    junk.close();
  } finally {
    l.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("node TLS conn: a buffer reused as soon as write() resolves still sends what it held", async () => {
  const pki = await makePki();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const a = await pki.leaf("a.test");
    const { store } = loadCerts([a.pem]);
    const params = tlsBindParams(
      store!,
      { crt: [], alpn: [], minVer: "TLSv1.2", verify: "none", caFile: null },
      [],
      true,
    );
    const port = (l.addr as Deno.NetAddr).port;
    const ca = await Deno.readTextFile(pki.caCrt);
    // 64 writes of 64 KiB from one buffer, each overwritten with the next
    // pattern as soon as its write resolves; the client reads them slowly
    // at first, so node has to queue some of them.
    const CHUNK = 65536, COUNT = 64;
    const client = (async () => {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
      const c = await Deno.startTls(tcp, { hostname: "a.test", caCerts: [ca] });
      await c.handshake();
      await new Promise((r) => setTimeout(r, 200));
      const got = new Uint8Array(CHUNK * COUNT);
      let off = 0;
      while (off < got.length) {
        const n = await c.read(got.subarray(off));
        if (n === null) break;
        off += n;
      }
      c.close();
      return got.subarray(0, off);
    })();
    const conn = await pendingServerTls(denoConn(await l.accept()), params).complete();
    const buf = new Uint8Array(CHUNK);
    for (let i = 0; i < COUNT; i++) {
      buf.fill(i + 1);
      for (let off = 0; off < CHUNK;) off += await conn.write(buf.subarray(off));
    }
    buf.fill(0);
    const got = await client;
    conn.close();
    assert.equal(got.length, CHUNK * COUNT);
    for (let i = 0; i < COUNT; i++) {
      const part = got.subarray(i * CHUNK, (i + 1) * CHUNK);
      assert.ok(part.every((b) => b === i + 1), `chunk ${i} holds its own pattern`);
    }
  } finally {
    l.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});
