// Buffers a stalled flow pins: the next read of a connection whose peer went
// quiet holds a small (1 KiB) buffer, not the bulk (64 KiB) or big (16 KiB)
// one its last burst used. Read from the stats JSON's pool counters.
import assert from "node:assert/strict";
import { closeQuietly, connect, te, writeAll } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { fetchOnce, httpStub } from "./_http.ts";

interface PoolCounters {
  used: number;
  allocated: number;
}

async function pools(
  proxy: ProxyProcess,
): Promise<{ big: PoolCounters; small: PoolCounters; bulk: PoolCounters }> {
  const r = await fetchOnce(
    proxy.port("fe_stats"),
    "GET /stats;json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const p = JSON.parse(r.text).process;
  return { big: p.pool, small: p.smallPool, bulk: p.bulkPool };
}

Deno.test("a stalled upload waits with small buffers, not the bulk one its body went through", async () => {
  const stub = httpStub("s1"); // reads the whole body before answering: it waits too
  const proxy = await startProxy(`
global: { log: none }
defaults:
  mode: http
  timeout: { connect: 1s, client: 10s, server: 10s }
frontends:
  fe_stats: { bind: "127.0.0.1:0", stats: { uri: /stats } }
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:${stub.port}" } ]
`);
  const c = await connect(proxy.port("fe"));
  try {
    // 40 KiB of a 1 MiB body at once: it goes through the big and bulk
    // buffers on its way to the server, then the client sends nothing more.
    const head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n";
    const body = new Uint8Array(40 * 1024).fill(0x61);
    await writeAll(c, new Uint8Array([...te.encode(head), ...body]));
    const deadline = Date.now() + 3000;
    let p = await pools(proxy);
    // Until the 40 KiB have left the proxy, its buffers are busy.
    while ((p.bulk.used > 0 || p.big.used > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      p = await pools(proxy);
    }
    assert.ok(p.bulk.allocated > 0, "the body went through a bulk buffer");
    assert.equal(p.bulk.used, 0, "no bulk buffer pinned by the stalled upload");
    assert.equal(p.big.used, 0, "no big buffer pinned by the stalled upload");
    // The client's read in flight and the server's (waiting for a response).
    assert.ok(p.small.used >= 2, `small buffers used: ${p.small.used}`);
  } finally {
    closeQuietly(c);
    await proxy.stop();
    await stub.close();
  }
});
