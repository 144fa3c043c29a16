// deno.json runs the proxy with V8 flags (docs/operations.md, "V8
// settings"): `deno task start` and the binary `deno task compile` builds
// must carry the same ones, or the single binary users deploy would run
// with other inlining budgets than the process the tests and benches
// measure.

import assert from "node:assert/strict";

const cfg = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));

function v8Flags(task: string): string[] {
  return String(cfg.tasks[task]).split(/\s+/).filter((w) => w.startsWith("--v8-flags="));
}

Deno.test("deno.json: the start and compile tasks carry the same V8 flags", () => {
  const start = v8Flags("start");
  assert.ok(start.length > 0, "the start task sets --v8-flags");
  assert.deepEqual(v8Flags("compile"), start);
});
