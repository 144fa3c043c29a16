// Command-line handling: -c checks without binding and exits 0 with
// warnings, -q hides them, and bad arguments (a directory as -f, a stray
// argument, an unknown flag) are refused.
//
// Everything goes through `main.ts` in a child process; every process and
// socket a test opens is closed in `finally`.

import assert from "node:assert/strict";
import { checkConfig, runCli } from "../../_helpers/proxy.ts";

Deno.test("process: -c exits 0 with warnings, -q hides them, and -c never binds", async () => {
  // the port is held by a plain listener: -c must not try to bind it
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (holder.addr as Deno.NetAddr).port;
    const yaml = `frontends:\n  fe: { bind: "127.0.0.1:${port}" }\n`; // no timeouts: warnings
    const r = await checkConfig(yaml);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: frontends\.fe\.timeout: missing timeouts/);
    const file = await Deno.makeTempFile({ prefix: "sluice-pe-", suffix: ".yaml" });
    try {
      await Deno.writeTextFile(file, yaml);
      const q = await runCli(["-c", "-q", "-f", file]);
      assert.equal(q.code, 0, q.stderr);
      assert.equal(q.stderr, "");
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  } finally {
    holder.close();
  }
});

Deno.test("process: a directory as -f, a stray argument, and an unknown flag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-pe-" });
  try {
    const r = await runCli(["-c", "-f", dir]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`${dir}: error: cannot read the configuration file`), r.stderr);
  } finally {
    await Deno.remove(dir).catch(() => {});
  }
  const stray = await runCli(["-c", "-f", "x.yaml", "extra"]);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /extra/);
  const unknown = await runCli(["-c", "--reload", "-f", "x.yaml"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /reload/);
});
