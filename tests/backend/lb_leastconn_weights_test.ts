// leastconn: held connections follow the weights, and equal loads rotate
// over every server, also after one goes DOWN and UP.
//
// Unit level against the LoadBalancer classes, checked against HAProxy's
// documented semantics (docs/internals/balancing.md).

import assert from "node:assert/strict";
import { cfg, count, lbOf, picks, Req, servers } from "./_lb_common.ts";

Deno.test("leastconn: held connections follow the weights exactly ((cur + 1) / weight)", () => {
  const list = servers([1, 2, 3]);
  const lb = lbOf(cfg("leastconn"), list);
  for (let i = 0; i < 600; i++) lb.pick(new Req(), null)!.cur++;
  assert.deepEqual(list.map((s) => s.cur), [100, 200, 300]);
  // Releasing connections on one server makes it the next choice until even.
  list[2]!.cur -= 30;
  for (let i = 0; i < 30; i++) {
    const s = lb.pick(new Req(), null)!;
    assert.equal(s.name, "s2");
    s.cur++;
  }
});

Deno.test("leastconn: equal loads rotate over every server, also after one goes DOWN and UP", () => {
  const list = servers([1, 1, 1, 1]);
  const lb = lbOf(cfg("leastconn"), list);
  assert.deepEqual(picks(lb, 8), ["s0", "s1", "s2", "s3", "s0", "s1", "s2", "s3"]);
  list[1]!.usable = false;
  lb.update();
  assert.deepEqual(count(picks(lb, 9)), { s0: 3, s2: 3, s3: 3 });
  list[1]!.usable = true;
  lb.update();
  assert.deepEqual(count(picks(lb, 12)), { s0: 3, s1: 3, s2: 3, s3: 3 });
});
