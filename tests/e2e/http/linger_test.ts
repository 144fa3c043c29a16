// Lingering close: a client still uploading a body the proxy refused gets
// the whole error reply, not a reset that destroys it.
import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";

Deno.test("a refused upload still reads its 403 while it keeps sending", async () => {
  const proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-request: ["deny if { path /blocked }"]
    default_backend: be
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:9" } ] }
`);
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port("fe") });
  try {
    const te = new TextEncoder();
    await c.write(
      te.encode("POST /blocked HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"),
    );
    // Keep uploading while reading: up to 8 MiB or until the proxy stops taking bytes.
    const chunk = new Uint8Array(65536).fill(0x78);
    let stop = false;
    const writer = (async () => {
      for (let sent = 0; !stop && sent < 8 << 20; sent += chunk.length) {
        try {
          await c.write(chunk);
        } catch {
          return; // the proxy closed: expected once the reply is out
        }
      }
    })();
    const got: number[] = [];
    const buf = new Uint8Array(4096);
    const deadline = Date.now() + 5000;
    for (;;) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) break;
      for (let i = 0; i < n; i++) got.push(buf[i]!);
      if (Date.now() > deadline) break;
    }
    stop = true;
    await writer;
    const text = new TextDecoder().decode(new Uint8Array(got));
    assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/);
    const len = Number(/content-length: (\d+)/i.exec(text)?.[1]);
    assert.equal(text.length - text.indexOf("\r\n\r\n") - 4, len, "the whole reply body arrived");
    await proxy.waitForLog(/ 403 \d+ - - PR-- /, 3000);
  } finally {
    try {
      c.close();
    } catch { /* closed */ }
    await proxy.stop();
  }
});
