// Consistent hashing when the server set changes: a server going DOWN moves
// only its keys and UP brings exactly them back; draining or re-weighting
// one server moves keys only to or from that server.
//
// Unit level against the LoadBalancer classes, checked against HAProxy's
// documented semantics (docs/internals/balancing.md).

import assert from "node:assert/strict";
import { cfg, lbOf, mapSources, servers } from "./_lb_common.ts";

/** Keys that changed server, as `key:from->to`, limited to those not involving `who`. */
function movedOthers(before: number[], after: number[], who: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < before.length; i++) {
    if (before[i] !== after[i] && before[i] !== who && after[i] !== who) {
      out.push(`${i}:${before[i]}->${after[i]}`);
    }
  }
  return out;
}

Deno.test("consistent: a server going DOWN moves only its keys; UP brings exactly them back (weights 2/4/3/1)", () => {
  const list = servers([2, 4, 3, 1]);
  const lb = lbOf(cfg("source", [], "consistent"), list);
  const before = mapSources(lb, 8000);
  for (const s of list) {
    s.usable = false;
    lb.update();
    const after = mapSources(lb, 8000);
    assert.deepEqual(movedOthers(before, after, s.id), [], `${s.name} down`);
    assert.ok(!after.includes(s.id));
    s.usable = true;
    lb.update();
    assert.deepEqual(mapSources(lb, 8000), before, `${s.name} back`);
  }
});

// BUG: the ring's per-unit factor divides by the gcd of the *current* weights
// (lb_hash.ts #buildRing, weightGcd(this.#servers)). Draining a server (weight
// 0, what the stats admin `drain` does) or changing one server's weight can
// change that gcd, which rescales the point count of every other server, so
// keys move between servers that did not change. HAProxy's chash gives each
// server a number of points proportional to its own weight only.
Deno.test("consistent: draining a server (weight 0) moves only its keys", () => {
  const list = servers([2, 4, 3]);
  const lb = lbOf(cfg("source", [], "consistent"), list);
  const before = mapSources(lb, 8000);
  list[2]!.weight = 0; // setDrain(): weight 0, then lb.update()
  lb.update();
  const after = mapSources(lb, 8000);
  const others = movedOthers(before, after, 2);
  assert.equal(others.length, 0, `${others.length} keys moved between s0 and s1`);
  list[2]!.weight = 3; // drain ends
  lb.update();
  assert.deepEqual(mapSources(lb, 8000), before);
});

Deno.test("consistent: changing one server's weight moves keys only to or from that server", () => {
  const list = servers([2, 2, 2, 2]);
  const lb = lbOf(cfg("source", [], "consistent"), list);
  const before = mapSources(lb, 8000);
  list[3]!.weight = 3; // stats admin: weight 3, then lb.update()
  lb.update();
  const after = mapSources(lb, 8000);
  const others = movedOthers(before, after, 3);
  assert.equal(others.length, 0, `${others.length} keys moved between unchanged servers`);
});
