// Behaviour of `balance random(draws)` beyond the conformance suite: spread,
// weights, and the preference of power-of-N choices for the least loaded.

import assert from "node:assert/strict";
import type { BalanceConfig } from "../../src/config/types.ts";
import { createLoadBalancer } from "../_helpers/balance.ts";
import { RandomLb } from "../../src/backend/lb_random.ts";
import type { LbRequest, LbServer, LoadBalancer } from "../../src/backend/lb_types.ts";

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

/** Count of picks per id over n picks; with `hold`, each pick keeps its connection. */
function counts(lb: LoadBalancer, n: number, size: number, hold = false): number[] {
  const c = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) {
    const s = lb.pick(REQ, null)!;
    c[s.id]!++;
    if (hold) {
      s.cur++;
      lb.onTake(s);
    }
  }
  return c;
}

/** Asserts each count is within ±15% of total * weight / sum of weights. */
function assertWeighted(c: number[], weights: number[], total: number): void {
  const sum = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    const want = (total * weights[i]!) / sum;
    assert.ok(Math.abs(c[i]! - want) <= 0.15 * want, `server ${i}: ${c[i]} picks, want ~${want}`);
  }
}

/** `balance random` with the default 2 draws. */
const RANDOM: BalanceConfig = { algo: "random", args: [], hashType: "map-based" };

Deno.test("random: spreads over all servers", () => {
  const lb = createLoadBalancer(RANDOM, servers([1, 1, 1, 1, 1]), {
    allbackups: false,
  });
  assertWeighted(counts(lb, 5000, 5), [1, 1, 1, 1, 1], 5000);
});

Deno.test("random: respects weights within 15% over 6,000 picks", () => {
  const lb = createLoadBalancer(RANDOM, servers([1, 2, 3]), {
    allbackups: false,
  });
  assertWeighted(counts(lb, 6000, 3), [1, 2, 3], 6000);
});

Deno.test("random: with connections held, load still follows the weights", () => {
  const list = servers([1, 2, 3]);
  const lb = new RandomLb(list, false, 2, 42);
  assertWeighted(counts(lb, 6000, 3, true), [1, 2, 3], 6000);
});

Deno.test("random: power of two choices prefers the less loaded server", () => {
  const list = servers([1, 1]);
  list[0]!.cur = 100;
  const one = counts(new RandomLb(list, false, 1, 7), 4000, 2);
  assert.ok(Math.abs(one[1]! / 4000 - 0.5) < 0.05, `draws=1: ${one}`);
  const two = counts(new RandomLb(list, false, 2, 7), 4000, 2);
  assert.ok(Math.abs(two[1]! / 4000 - 0.75) < 0.05, `draws=2: ${two}`);
  const ten = counts(new RandomLb(list, false, 10, 7), 4000, 2);
  assert.ok(ten[1]! / 4000 > 0.99, `draws=10: ${ten}`);
});

Deno.test("random: a seed makes the sequence reproducible", () => {
  const a = counts(new RandomLb(servers([1, 1, 1]), false, 2, 1234), 50, 3);
  const b = counts(new RandomLb(servers([1, 1, 1]), false, 2, 1234), 50, 3);
  assert.deepEqual(a, b);
});

Deno.test("random: draws must be an integer >= 1", () => {
  assert.throws(() => new RandomLb(servers([1]), false, 0), RangeError);
  assert.throws(() => new RandomLb(servers([1]), false, 1.5), RangeError);
});
