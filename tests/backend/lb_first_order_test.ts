// first: servers are filled in id order up to their maxconn, and a freed
// slot of a lower id is refilled first.
//
// Unit level against the LoadBalancer classes, checked against HAProxy's
// documented semantics (docs/internals/balancing.md).

import assert from "node:assert/strict";
import { cfg, lbOf, Req, servers } from "./_lb_common.ts";

Deno.test("first: fills servers in id order up to maxconn, a freed slot of a lower id is refilled first", () => {
  const list = servers([1, 1, 1]);
  for (const s of list) s.maxconn = 2;
  // Declared out of id order: order is by id.
  const lb = lbOf(cfg("first"), [list[2]!, list[0]!, list[1]!]);
  const order: string[] = [];
  for (let i = 0; i < 6; i++) {
    const s = lb.pick(new Req(), null)!;
    order.push(s.name);
    s.cur++;
  }
  assert.deepEqual(order, ["s0", "s0", "s1", "s1", "s2", "s2"]);
  assert.equal(lb.pick(new Req(), null), null);
  assert.equal(lb.allFull, true);
  list[0]!.cur--;
  assert.equal(lb.pick(new Req(), null)!.name, "s0");
  list[1]!.cur--;
  list[0]!.cur++;
  assert.equal(lb.pick(new Req(), null)!.name, "s1");
});
