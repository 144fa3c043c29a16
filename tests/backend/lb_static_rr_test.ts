// Behaviour of `balance static-rr` beyond the conformance suite: exact ratios
// from the smooth map, and weights frozen until update().

import assert from "node:assert/strict";
import { buildSmoothMap, StaticRrLb } from "../../src/backend/lb_static_rr.ts";
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

/** Count of each id over `n` picks. */
function counts(lb: StaticRrLb, n: number, size: number): number[] {
  const c = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) c[lb.pick(REQ, null)!.id]!++;
  return c;
}

Deno.test("static-rr: weights 1:2:3 give exactly 100:200:300 over 600 picks", () => {
  const lb = new StaticRrLb(servers([1, 2, 3]), false);
  assert.deepEqual(counts(lb, 600, 3), [100, 200, 300]);
});

Deno.test("static-rr: the map is smooth and reduced by the gcd of the weights", () => {
  const map: LbServer[] = [];
  assert.equal(buildSmoothMap(servers([10, 20, 30]), map), 6);
  assert.deepEqual(map.map((s) => s.id), [2, 1, 0, 2, 1, 2]);
  assert.equal(buildSmoothMap([], map), 0);
  assert.equal(map.length, 0);
});

Deno.test("static-rr: weights are frozen until update()", () => {
  const list = servers([1, 2, 3]);
  const lb = new StaticRrLb(list, false);
  list[2]!.weight = 1;
  assert.deepEqual(counts(lb, 600, 3), [100, 200, 300], "unchanged before update()");
  lb.update();
  assert.deepEqual(counts(lb, 400, 3), [100, 200, 100], "new ratio after update()");
});

Deno.test("static-rr: a full server is skipped without disturbing the others' order", () => {
  const list = servers([1, 1, 1]);
  const lb = new StaticRrLb(list, false);
  list[1]!.maxconn = 1;
  list[1]!.cur = 1;
  const ids: number[] = [];
  for (let i = 0; i < 6; i++) ids.push(lb.pick(REQ, null)!.id);
  assert.deepEqual(ids, [0, 2, 0, 2, 0, 2]);
});
