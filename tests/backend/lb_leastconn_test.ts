// Behaviour of `balance leastconn` beyond the conformance suite: the idle
// server is preferred, ties rotate, weights scale the load.

import assert from "node:assert/strict";
import { LeastConnLb } from "../../src/backend/lb_leastconn.ts";
import type { LbRequest, LbServer } from "../../src/backend/lb_types.ts";

const REQ: LbRequest = { src: "127.0.0.1", uri: null, header: () => null };

/** Servers with the given weights, ids 0..n-1. */
function servers(weights: number[]): LbServer[] {
  return weights.map((weight, id) => ({
    id,
    name: `s${id}`,
    weight,
    usable: true,
    backup: false,
    cur: 0,
    maxconn: 0,
  }));
}

/** Picks and keeps the connection open (cur + 1, onTake). */
function take(lb: LeastConnLb): LbServer {
  const s = lb.pick(REQ, null)!;
  s.cur++;
  lb.onTake(s);
  return s;
}

Deno.test("leastconn: prefers the idle server when another has many connections", () => {
  const list = servers([1, 1]);
  const lb = new LeastConnLb(list, false);
  list[0]!.cur = 10;
  for (let i = 0; i < 10; i++) assert.equal(take(lb).id, 1, `pick ${i}`);
  // Now 10/10: both are used in turn.
  const next = [take(lb).id, take(lb).id].sort();
  assert.deepEqual(next, [0, 1]);
});

Deno.test("leastconn: ties are broken round robin", () => {
  const lb = new LeastConnLb(servers([1, 1, 1]), false);
  const ids: number[] = [];
  for (let i = 0; i < 6; i++) ids.push(lb.pick(REQ, null)!.id);
  assert.deepEqual(ids, [0, 1, 2, 0, 1, 2]);
});

Deno.test("leastconn: a released connection makes its server the next choice", () => {
  const list = servers([1, 1, 1]);
  const lb = new LeastConnLb(list, false);
  for (let i = 0; i < 9; i++) take(lb);
  assert.deepEqual(list.map((s) => s.cur), [3, 3, 3]);
  list[1]!.cur--;
  lb.onRelease(list[1]!);
  assert.equal(take(lb).id, 1);
});

Deno.test("leastconn: connections follow the weights (cur / weight)", () => {
  const list = servers([1, 2, 3]);
  const lb = new LeastConnLb(list, false);
  for (let i = 0; i < 600; i++) take(lb);
  const cur = list.map((s) => s.cur);
  assert.ok(Math.abs(cur[0]! - 100) <= 1 && Math.abs(cur[1]! - 200) <= 1, `${cur}`);
  assert.ok(Math.abs(cur[2]! - 300) <= 1, `${cur}`);
});
