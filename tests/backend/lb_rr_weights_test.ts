// roundrobin and static-rr: exact weighted shares (weight 0 included), a
// rotation that survives servers flapping DOWN/UP, and run-time weight
// changes applied on the next cycle.
//
// Unit level against the LoadBalancer classes, checked against HAProxy's
// documented semantics (docs/internals/balancing.md).

import assert from "node:assert/strict";
import { cfg, count, lbOf, picks, Req, servers } from "./_lb_common.ts";

for (const algo of ["roundrobin", "static-rr"] as const) {
  Deno.test(`${algo}: weights 1/2/3 (+ a weight 0) give C B A C B C and exact shares in every window of 6`, () => {
    const list = servers([1, 2, 3, 0]);
    const lb = lbOf(cfg(algo), list);
    const seq = picks(lb, 60);
    assert.deepEqual(seq.slice(0, 6), ["s2", "s1", "s0", "s2", "s1", "s2"]);
    for (let w = 0; w + 6 <= seq.length; w++) {
      assert.deepEqual(count(seq.slice(w, w + 6)), { s0: 1, s1: 2, s2: 3 }, `window at ${w}`);
    }
    // The weight-0 server joins at its weight once given one (update()).
    list[3]!.weight = 2;
    lb.update();
    const seq2 = picks(lb, 80);
    for (let w = 0; w + 8 <= seq2.length; w += 8) {
      assert.deepEqual(count(seq2.slice(w, w + 8)), { s0: 1, s1: 2, s2: 3, s3: 2 });
    }
    // ... and leaves again when set back to 0.
    list[3]!.weight = 0;
    lb.update();
    assert.deepEqual(count(picks(lb, 60)), { s0: 10, s1: 20, s2: 30 });
  });

  // BUG: update() restarts the cycle (RoundRobinLb.update() zeroes the scores,
  // StaticRrLb.update() sets the cursor to 0). Each DOWN/UP of any server calls
  // update() (check.ts), so when state changes are as frequent as requests the
  // lowest-id/highest-weight server takes everything. HAProxy keeps the
  // rotation (fwrr positions, lb_map rr_idx survive a recalc).
  Deno.test(`${algo}: a server flapping DOWN/UP between requests does not starve the others`, () => {
    const list = servers([1, 1, 1]);
    const lb = lbOf(cfg(algo), list);
    const got: string[] = [];
    for (let i = 0; i < 60; i++) {
      got.push(lb.pick(new Req(), null)!.name);
      list[2]!.usable = !list[2]!.usable; // s2's checks flap
      lb.update();
    }
    const c = count(got);
    // s2 is up half of the time; s0 and s1 are always up and must share.
    assert.ok((c.s1 ?? 0) >= 15, `s1 starved: ${JSON.stringify(c)}`);
  });
}

Deno.test("roundrobin: a run-time weight change (stats admin: weight + update()) applies on the next cycle", () => {
  const list = servers([1, 1, 1]);
  const lb = lbOf(cfg("roundrobin"), list);
  assert.deepEqual(count(picks(lb, 30)), { s0: 10, s1: 10, s2: 10 });
  list[0]!.weight = 4;
  lb.update();
  assert.deepEqual(count(picks(lb, 60)), { s0: 40, s1: 10, s2: 10 });
  // Without update(), roundrobin still follows a live weight change (documented).
  list[0]!.weight = 1;
  assert.deepEqual(count(picks(lb, 300)).s0! <= 102, true);
});
