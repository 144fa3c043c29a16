// `unix@/path` binds and servers: a TCP-mode frontend listening on a unix
// socket forwards to a server reached over another unix socket, bytes intact.
import assert from "node:assert/strict";
import { startProxy } from "../../_helpers/proxy.ts";
import { closeWrite, readAll, td, te, writeAll } from "../../_helpers/client.ts";

Deno.test("tcp over unix sockets: unix@ bind and unix@ server", async () => {
  const dir = await Deno.makeTempDir();
  const front = `${dir}/front.sock`, back = `${dir}/back.sock`;
  // The server: a unix-socket echo.
  const l = Deno.listen({ transport: "unix", path: back });
  const served = (async () => {
    for await (const c of l) {
      const buf = new Uint8Array(4096);
      for (;;) {
        const n = await c.read(buf).catch(() => null);
        if (n === null) break;
        await c.write(buf.subarray(0, n));
      }
      await c.closeWrite().catch(() => {});
      c.close();
    }
  })();
  const proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe: { bind: "unix@${front}", default_backend: be }
backends:
  be: { servers: [ { name: s1, address: "unix@${back}" } ] }
`);
  try {
    await proxy.waitForStderr(
      new RegExp(`listening fe unix@${front.replace(/[.]/g, "\\.")}`),
      3000,
    );
    const c = await Deno.connect({ transport: "unix", path: front });
    try {
      const reading = readAll(c, 5000);
      await writeAll(c, te.encode("over unix sockets"));
      await closeWrite(c);
      assert.equal(td.decode((await reading).data), "over unix sockets");
    } finally {
      c.close();
    }
    const line = await proxy.waitForLog(/ fe be\/s1 /, 3000);
    assert.match(line, / 17 -- /);
  } finally {
    await proxy.stop();
    l.close();
    await served;
    await Deno.remove(dir, { recursive: true });
  }
});
