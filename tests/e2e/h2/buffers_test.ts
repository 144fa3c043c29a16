// Every pooled buffer an HTTP/2 connection or stream takes comes back:
// after normal streams, client resets, an aborted connection, a flood cut
// by GOAWAY and an early response during an upload, the pools' used
// buffers (sluice_process_pool_used_buffers) return to what an idle proxy
// holds.

import assert from "node:assert/strict";
import { FF_END_HEADERS, FT_HEADERS } from "../../../src/h2/frame.ts";
import { pollUntil } from "../../_helpers/proxy.ts";
import { getHeaders, H2RawClient } from "../../_helpers/h2_client.ts";
import { h2Proxy, startOrigin } from "./_h2.ts";

async function usedBuffers(port: number): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  let n = 0;
  for (const m of text.matchAll(/^sluice_process_pool_used_buffers\{[^}]*\} (\d+)$/gm)) {
    n += Number(m[1]);
  }
  return n;
}

Deno.test("h2 buffers: every pooled buffer comes back once the connections are gone", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin, "", "", `    stats: { uri: /stats, prometheus: /metrics }`);
  try {
    const plain = p.port("plain");
    const base = await usedBuffers(plain);
    const fe = p.port("fe");
    // Normal streams, some with bodies both ways.
    const a = await H2RawClient.connect(fe);
    for (let sid = 1; sid < 20; sid += 2) {
      await a.sendHeaders(sid, getHeaders(sid % 4 === 1 ? "/big/200000" : "/x"));
    }
    for (let sid = 1; sid < 20; sid += 2) assert.equal((await a.response(sid)).status, 200);
    await a.sendFrame(
      FT_HEADERS,
      FF_END_HEADERS,
      21,
      a.block([[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/up"]]),
    );
    await a.sendData(21, new Uint8Array(15000));
    await a.sendData(21, new Uint8Array(15000), true);
    assert.equal((await a.response(21)).status, 200);
    // Streams reset by the client while their responses are on the way.
    for (let sid = 23; sid < 40; sid += 2) {
      await a.sendHeaders(sid, getHeaders("/big/3000000"));
      await a.sendRst(sid, 8);
    }
    a.close();
    // A connection dropped with streams in flight and a partial upload.
    const b = await H2RawClient.connect(fe);
    await b.sendHeaders(1, getHeaders("/slow/300"));
    await b.sendHeaders(3, getHeaders("/big/5000000"));
    await b.sendFrame(
      FT_HEADERS,
      FF_END_HEADERS,
      5,
      b.block([[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/up"]]),
    );
    await b.sendData(5, new Uint8Array(16000));
    await new Promise((r) => setTimeout(r, 100));
    b.close();
    // A flood cut by GOAWAY.
    const c = await H2RawClient.connect(fe);
    for (let i = 0; i < 200; i++) await c.sendPing().catch(() => {});
    await c.waitClosed().catch(() => {});
    c.close();
    const left = await pollUntil(
      async () => {
        const n = await usedBuffers(plain);
        return n <= base ? n : undefined;
      },
      20_000,
      `used buffers back to ${base}`,
      100,
    );
    assert.ok(left <= base);
  } finally {
    await p.stop();
    await origin.close();
  }
});
