// SIGQUIT in HTTP mode: idle keep-alive connections are closed at once, a
// request in progress gets its response (with Connection: close), then the
// process exits 0 — what an HAProxy user expects of a graceful reload.
import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, get } from "./_http.ts";

/** A keep-alive origin that answers /slow after 400 ms (without blocking the test's event loop). */
function slowOrigin(): { port: number; close: () => Promise<void> } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const done = (async () => {
    for await (const c of l) {
      conns.add(c);
      (async () => {
        const buf = new Uint8Array(8192);
        let have = "";
        try {
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            have += new TextDecoder().decode(buf.subarray(0, n));
            let end: number;
            while ((end = have.indexOf("\r\n\r\n")) >= 0) {
              const head = have.slice(0, end);
              have = have.slice(end + 4);
              if (head.startsWith("GET /slow")) await new Promise((r) => setTimeout(r, 400));
              await c.write(
                new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
              );
            }
          }
        } catch { /* closed */ }
        conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      })();
    }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    close: async () => {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await done;
    },
  };
}

Deno.test("http soft stop: idle keep-alive closed at once, busy one answered with close, exit 0", async () => {
  const slow = slowOrigin();
  const proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 30s, server: 5s, http-keep-alive: 30s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${slow.port}" } ] }
`);
  const idle = await connectHttp(proxy.port("fe"));
  const busy = await connectHttp(proxy.port("fe"));
  try {
    assert.equal((await idle.request(get("/"))).status, 200);
    assert.equal((await busy.request(get("/"))).status, 200);
    // busy starts a slow request, then the soft stop arrives while it runs.
    const pending = busy.request(get("/slow"));
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    proxy.kill("SIGQUIT");
    // The idle connection is closed by the proxy well before its 30 s keep-alive timeout.
    const end = await idle.readUntilClosed(3000);
    assert.equal(end.extra.length, 0, "nothing but the close");
    assert.ok(Date.now() - t0 < 2000, `closed after ${Date.now() - t0} ms`);
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.get("connection"), "close");
    const status = await proxy.waitExit(5000);
    assert.equal(status.code, 0);
  } finally {
    idle.close();
    busy.close();
    await proxy.stop();
    await slow.close();
  }
});
