// Traffic counters: a frontend's bytes in/out equal the bytes on the
// client's wire, and keep-alive requests are counted per request at the
// backend and server (HAProxy counts a stream per request).

import assert from "node:assert/strict";
import { HttpConn } from "../backends/_common.ts";
import { td, te } from "../../_helpers/client.ts";
import { BE, csv, delta, FE, num, O1, withProxy } from "./_counters.ts";

/** Sends raw bytes on a new connection and reads to EOF; returns the bytes received. */
async function rawExchange(port: number, req: string): Promise<Uint8Array> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(te.encode(req));
    const parts: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      parts.push(buf.slice(0, n));
    }
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  } finally {
    c.close();
  }
}

Deno.test("stats: bytes in/out of a frontend equal the bytes on the client's wire", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const req = "GET /bytes HTTP/1.1\r\nhost: x\r\nx-pad: " + "p".repeat(300) +
      "\r\nconnection: close\r\n\r\n";
    const got = await rawExchange(fe, req);
    assert.match(td.decode(got), /^HTTP\/1\.1 200/);
    const b = (await csv(st)).rows;
    assert.deepEqual(delta(a, b, [FE], ["bin", "bout", "stot"]), {
      "fe/FRONTEND.bin": req.length,
      "fe/FRONTEND.bout": got.length,
      "fe/FRONTEND.stot": 1,
    });
    assert.equal(num(b, BE, "bin") - num(a, BE, "bin"), req.length);
    assert.equal(num(b, O1, "bout") - num(a, O1, "bout"), got.length);
  });
});

Deno.test("stats: keep-alive requests are counted per request at the backend and server (HAProxy: a stream per request)", async () => {
  await withProxy(async (fe, st) => {
    const a = (await csv(st)).rows;
    const c = await HttpConn.open(fe);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await c.get(`/ka/${i}`)).status, 200);
    } finally {
      await c.close();
    }
    const b = (await csv(st)).rows;
    assert.deepEqual(
      delta(a, b, [FE, BE, O1], ["stot", "hrsp_2xx"]),
      {
        "fe/FRONTEND.stot": 1,
        "fe/FRONTEND.hrsp_2xx": 3,
        "be/BACKEND.stot": 3,
        "be/BACKEND.hrsp_2xx": 3,
        "be/o1.stot": 3,
        "be/o1.hrsp_2xx": 3,
      },
    );
    assert.equal(num(b, FE, "req_tot") - num(a, FE, "req_tot"), 3);
  });
});
