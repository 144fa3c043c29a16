// Reloader.reload(), the function the runtime API's `reload` calls: its
// answer ({ ok, messages }) on a good file, a broken one, and one with a
// setting that needs a restart. In-process: the proxy runs in this test.

import assert from "node:assert/strict";
import { loadConfigFile } from "../../src/proxy/load.ts";
import { start } from "../../src/proxy/process.ts";
import { Reloader } from "../../src/proxy/reload.ts";

function yaml(tag: string, extra = ""): string {
  return `
global: { log: none${extra} }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    http-request: ["return status 200 content-type text/plain string ${tag}"]
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:9" } ] }
`;
}

Deno.test({
  name:
    "Reloader.reload() answers { ok, messages }: applied, refused with every error, kept settings named",
  // The proxy's accept loop and timers belong to the process, stopped at the end.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const file = await Deno.makeTempFile({ prefix: "sluice-reload-", suffix: ".yaml" });
    await Deno.writeTextFile(file, yaml("A"));
    const loaded = await loadConfigFile(file);
    assert.ok(loaded.config !== null);
    const proc = start(loaded.config, { quiet: true, debug: false }, loaded.compiled);
    try {
      const reloader = new Reloader(proc, file);
      const port = (proc.listeners[0]!.sock!.local as { port: number }).port;
      const body = async () => await (await fetch(`http://127.0.0.1:${port}/`)).text();
      assert.equal(await body(), "A");

      await Deno.writeTextFile(file, yaml("B"));
      let r = await reloader.reload();
      assert.equal(r.ok, true, r.messages.join("\n"));
      assert.match(r.messages[r.messages.length - 1]!, /^reload #1 done: /);
      assert.equal(await body(), "B");
      const l0 = proc.listeners[0]!.sock!.local as { port: number };
      assert.equal(l0.port, port, "the listener was replaced");

      await Deno.writeTextFile(file, yaml("C").replace("mode: http", "mode: htp"));
      r = await reloader.reload();
      assert.equal(r.ok, false);
      assert.ok(
        r.messages.some((m) => m.startsWith(`${file}:`) && /:\d+:\d+: error: .*htp/.test(m)),
        r.messages.join("\n"),
      );
      assert.match(r.messages[r.messages.length - 1]!, /still running on the previous/);
      assert.equal(await body(), "B");

      await Deno.writeTextFile(file, yaml("D", ", maxhdr: 50"));
      r = await reloader.reload();
      assert.equal(r.ok, true, r.messages.join("\n"));
      assert.ok(r.messages.some((m) => /global\.maxhdr changed/.test(m)), r.messages.join("\n"));
      assert.equal(proc.cfg.global.maxhdr, loaded.config.global.maxhdr, "maxhdr changed live");
      assert.equal(await body(), "D");
    } finally {
      proc.hardStop();
      await Deno.remove(file).catch(() => {});
    }
  },
});
