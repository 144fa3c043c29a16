// random(N): the least loaded of N draws wins, and power of two choices
// keeps held connections close together.
//
// Unit level against the LoadBalancer classes, checked against HAProxy's
// documented semantics (docs/internals/balancing.md).

import assert from "node:assert/strict";
import { RandomLb } from "../../src/backend/lb_random.ts";
import { picks, Req, servers } from "./_lb_common.ts";

Deno.test("random(N): the least loaded of N draws wins (P(idle) = 1 - (2/3)^N)", () => {
  for (const draws of [1, 2, 3]) {
    const list = servers([1, 1, 1]);
    list[1]!.cur = 10;
    list[2]!.cur = 10;
    const lb = new RandomLb(list, false, draws, 12345);
    const n = 9000;
    const idle = picks(lb, n).filter((x) => x === "s0").length / n;
    const want = 1 - (2 / 3) ** draws;
    assert.ok(Math.abs(idle - want) < 0.03, `draws ${draws}: ${idle} vs ${want}`);
  }
});

Deno.test("random(2): power of two choices keeps held connections close together", () => {
  const list = servers([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const lb = new RandomLb(list, false, 2, 7);
  for (let i = 0; i < 3000; i++) lb.pick(new Req(), null)!.cur++;
  const cur = list.map((s) => s.cur);
  assert.ok(Math.max(...cur) - Math.min(...cur) <= 6, `spread ${cur.join(",")}`);
  // With weights, cur / weight evens out.
  const w = servers([1, 3]);
  const lbw = new RandomLb(w, false, 2, 9);
  for (let i = 0; i < 4000; i++) lbw.pick(new Req(), null)!.cur++;
  assert.ok(Math.abs(w[1]!.cur / 3 - w[0]!.cur) <= 20, `cur ${w[0]!.cur} / ${w[1]!.cur}`);
});
