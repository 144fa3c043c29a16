// Behaviour of `balance roundrobin` (smooth weighted round robin) beyond the
// conformance suite: exact ratios, smoothness, run-time weight changes.

import assert from "node:assert/strict";
import { RoundRobinLb } from "../../src/backend/lb_roundrobin.ts";
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

/** Ids of `n` successive picks. */
function picks(lb: RoundRobinLb, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(lb.pick(REQ, null)!.id);
  return out;
}

/** Count of each id in `seq`. */
function counts(seq: number[], n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const id of seq) c[id]!++;
  return c;
}

Deno.test("roundrobin: weights 1:2:3 give exactly 100:200:300 over 600 picks", () => {
  const lb = new RoundRobinLb(servers([1, 2, 3]), false);
  assert.deepEqual(counts(picks(lb, 600), 3), [100, 200, 300]);
});

Deno.test("roundrobin: the sequence is smooth in every prefix", () => {
  const weights = [1, 2, 3];
  const total = 6;
  const lb = new RoundRobinLb(servers(weights), false);
  const seq = picks(lb, 600);
  const c = [0, 0, 0];
  let run = 0;
  for (let k = 1; k <= seq.length; k++) {
    const id = seq[k - 1]!;
    c[id]!++;
    for (let i = 0; i < 3; i++) {
      assert.ok(
        c[i]! <= Math.ceil((weights[i]! / total) * k) + 1,
        `server ${i} chosen ${c[i]} times in the first ${k} picks`,
      );
    }
    run = k > 1 && seq[k - 2] === id ? run + 1 : 1;
    assert.ok(run <= 2, `burst of ${run} picks of server ${id} at ${k}`);
  }
});

Deno.test("roundrobin: equal weights cycle through the servers in id order", () => {
  const lb = new RoundRobinLb(servers([1, 1, 1]), false);
  assert.deepEqual(picks(lb, 6), [0, 1, 2, 0, 1, 2]);
});

Deno.test("roundrobin: a weight change takes effect at once after update()", () => {
  const list = servers([1, 1]);
  const lb = new RoundRobinLb(list, false);
  assert.deepEqual(counts(picks(lb, 100), 2), [50, 50]);
  list[1]!.weight = 3;
  lb.update();
  const next = picks(lb, 4);
  assert.deepEqual(counts(next, 2), [1, 3], `first cycle after the change: ${next}`);
  assert.deepEqual(counts(picks(lb, 400), 2), [100, 300]);
});

Deno.test("roundrobin: a full server is skipped and the others keep their ratio", () => {
  const list = servers([1, 2, 3]);
  const lb = new RoundRobinLb(list, false);
  list[2]!.maxconn = 5;
  list[2]!.cur = 5;
  assert.deepEqual(counts(picks(lb, 300), 3), [100, 200, 0]);
  list[2]!.cur = 0;
  assert.deepEqual(counts(picks(lb, 600), 3), [100, 200, 300]);
});

Deno.test("roundrobin: large weights with a common divisor still give exact ratios", () => {
  const lb = new RoundRobinLb(servers([100, 200, 256]), false);
  assert.deepEqual(counts(picks(lb, 556), 3), [100, 200, 256]);
});
