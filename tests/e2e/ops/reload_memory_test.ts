// Old configuration generations are released: after 100 reloads with
// keep-alive traffic between them, no old frontend is still reachable once
// its last connection ended (bench/reload_memory.ts tracks each with a
// WeakRef and runs a full GC), and the heap does not grow with the number of
// reloads. The figures are printed; the bench prints more (RSS of main.ts
// reloaded by SIGHUP).

import assert from "node:assert/strict";
import { runDeno } from "../../_helpers/proxy.ts";

Deno.test("reload: 100 reloads leave no old generation alive, the heap stays flat", async () => {
  const script = new URL("../../../bench/reload_memory.ts", import.meta.url).pathname;
  const prev = { ...Deno.env.toObject() };
  Deno.env.set("BENCH_RELOADS", "100");
  Deno.env.set("BENCH_JSON", "1");
  Deno.env.set("BENCH_CHILD", "0");
  let r;
  try {
    r = await runDeno(["run", "-A", "--v8-flags=--expose-gc", script], 60_000);
  } finally {
    for (const k of ["BENCH_RELOADS", "BENCH_JSON", "BENCH_CHILD"]) {
      if (prev[k] === undefined) Deno.env.delete(k);
      else Deno.env.set(k, prev[k]);
    }
  }
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  for (const l of lines.slice(0, -1)) console.log(l);
  const out = JSON.parse(lines[lines.length - 1]!) as {
    points: { reloads: number; heapUsed: number; alive: number }[];
    final: { reloads: number; heapUsed: number; alive: number };
  };
  assert.equal(out.final.reloads, 100);
  assert.equal(out.final.alive, 0, `${out.final.alive} old generations still alive`);
  // Generous bound (a leak of every generation would add several MiB): flat heap.
  const base = out.points[0]!.heapUsed;
  assert.ok(
    out.final.heapUsed < base + 4 * 1048576,
    `heap ${base} → ${out.final.heapUsed} bytes over 100 reloads`,
  );
});
