// When the proxy runs a full collection after a burst (src/proxy/idle_gc.ts):
// only once the last session ended, after many, after a quiet moment, and at
// most once per interval; and the runtime does give the collector.

import assert from "node:assert/strict";
import {
  fullGcFunction,
  IDLE_GC_DELAY_MS,
  IDLE_GC_MIN_INTERVAL_MS,
  IDLE_GC_MIN_SESSIONS,
  IdleGc,
} from "../../src/proxy/idle_gc.ts";

function endMany(g: IdleGc, n: number, now: number): number {
  let due = 0;
  for (let i = 0; i < n - 1; i++) assert.equal(g.sessionEnded(5, now), 0, "sessions still live");
  due = g.sessionEnded(0, now);
  return due;
}

Deno.test("idle gc: due once the last of many sessions ended; not for a few, not while busy", () => {
  const g = new IdleGc();
  assert.equal(g.sessionEnded(0, 0), 0, "one session is no burst");
  const due = endMany(g, IDLE_GC_MIN_SESSIONS, 1000);
  assert.equal(due, 1000 + IDLE_GC_DELAY_MS);
  assert.equal(g.run(1, due), false, "a session came meanwhile: not now");
  assert.equal(g.run(0, due), true);
  assert.equal(g.run(0, due + 1), false, "counted as run");
});

Deno.test("idle gc: at most one per interval", () => {
  const g = new IdleGc();
  const first = endMany(g, IDLE_GC_MIN_SESSIONS, 0);
  assert.equal(g.run(0, first), true);
  const again = endMany(g, IDLE_GC_MIN_SESSIONS, first + 10);
  assert.equal(again, first + IDLE_GC_MIN_INTERVAL_MS, "waits for the interval");
  assert.equal(g.run(0, first + 100), false);
  assert.equal(g.run(0, again), true);
});

Deno.test("idle gc: the runtime gives V8's full collection, and it frees the heap", () => {
  const gc = fullGcFunction();
  assert.equal(typeof gc, "function");
  let junk: unknown[] | null = [];
  for (let i = 0; i < 500_000; i++) junk.push({ i });
  const before = Deno.memoryUsage().heapUsed;
  junk = null;
  gc!();
  assert.ok(Deno.memoryUsage().heapUsed < before - 10 * 1024 * 1024, "10 MiB freed at least");
});
