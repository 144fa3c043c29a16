// The Deno socket adapter: the core-op path and the public-method fallback
// must behave the same (bytes, end of stream, errors after close).

import assert from "node:assert/strict";
import { denoConn, usesOps } from "../../src/listener/deno_conn.ts";

async function pair(): Promise<{ a: Deno.TcpConn; b: Deno.TcpConn; close: () => void }> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port }),
    l.accept(),
  ]);
  l.close();
  return {
    a,
    b: b as Deno.TcpConn,
    close() {
      for (const c of [a, b]) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
    },
  };
}

for (const useOps of [true, false]) {
  const label = useOps ? "core ops" : "public methods";

  Deno.test(`deno conn (${label}): bytes both ways, then 0 at end of stream`, async () => {
    const p = await pair();
    try {
      const conn = denoConn(p.a, useOps);
      assert.equal(usesOps(conn), useOps);
      const out = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");
      let off = 0;
      while (off < out.length) off += await conn.write(out.subarray(off));
      const got = new Uint8Array(64);
      let n = 0;
      while (n < out.length) n += (await p.b.read(got.subarray(n)))!;
      assert.deepEqual(got.subarray(0, n), out);

      await p.b.write(new TextEncoder().encode("pong"));
      await p.b.closeWrite();
      const buf = new Uint8Array(16);
      let len = 0;
      for (;;) {
        const r = await conn.read(buf.subarray(len));
        if (r === 0) break;
        len += r;
      }
      assert.equal(new TextDecoder().decode(buf.subarray(0, len)), "pong");
      assert.equal(await conn.read(buf), 0, "end of stream stays 0");
    } finally {
      p.close();
    }
  });

  Deno.test(`deno conn (${label}): a read in flight rejects when the socket is closed`, async () => {
    const p = await pair();
    try {
      const conn = denoConn(p.a, useOps);
      const pending = conn.read(new Uint8Array(16));
      conn.close();
      await assert.rejects(pending);
    } finally {
      p.close();
    }
  });

  Deno.test(`deno conn (${label}): closeWrite sends FIN, the socket still reads`, async () => {
    const p = await pair();
    try {
      const conn = denoConn(p.a, useOps);
      await conn.closeWrite();
      assert.equal(await p.b.read(new Uint8Array(4)), null, "peer sees end of stream");
      await p.b.write(new Uint8Array([1, 2, 3]));
      const buf = new Uint8Array(4);
      assert.equal(await conn.read(buf), 3);
      assert.deepEqual(buf.subarray(0, 3), new Uint8Array([1, 2, 3]));
    } finally {
      p.close();
    }
  });
}

Deno.test("deno conn: this runtime (the pinned Deno) takes the core-op path", async () => {
  // Losing it after a Deno upgrade would not break anything but would bring
  // back the allocation rate and keep-alive latency tail it removed.
  const p = await pair();
  try {
    assert.ok(usesOps(denoConn(p.a)));
    assert.ok(usesOps(denoConn(p.b)));
  } finally {
    p.close();
  }
});
