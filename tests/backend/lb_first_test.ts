// Behaviour of `balance first` beyond the conformance suite: servers fill up
// in id order.

import assert from "node:assert/strict";
import { FirstLb } from "../../src/backend/lb_first.ts";
import type { LbRequest, LbServer } from "../../src/backend/lb_types.ts";

const REQ: LbRequest = { src: "127.0.0.1", uri: null, header: () => null };

/** n servers of weight 1 with the given maxconn, ids 0..n-1. */
function servers(n: number, maxconn: number): LbServer[] {
  const out: LbServer[] = [];
  for (let id = 0; id < n; id++) {
    out.push({ id, name: `s${id}`, weight: 1, usable: true, backup: false, cur: 0, maxconn });
  }
  return out;
}

/** Picks and keeps the connection open; null when nothing could take it. */
function take(lb: FirstLb): LbServer | null {
  const s = lb.pick(REQ, null);
  if (s !== null) {
    s.cur++;
    lb.onTake(s);
  }
  return s;
}

Deno.test("first: fills server 1 up to maxconn, then server 2", () => {
  const list = servers(3, 3);
  const lb = new FirstLb(list, false);
  const ids: number[] = [];
  for (let i = 0; i < 9; i++) ids.push(take(lb)!.id);
  assert.deepEqual(ids, [0, 0, 0, 1, 1, 1, 2, 2, 2]);
  assert.equal(take(lb), null);
  assert.equal(lb.allFull, true);
  list[0]!.cur--;
  lb.onRelease(list[0]!);
  assert.equal(take(lb)!.id, 0, "a freed slot on the first server is used first");
});

Deno.test("first: without maxconn the first server takes everything", () => {
  const lb = new FirstLb(servers(3, 0), false);
  for (let i = 0; i < 100; i++) assert.equal(take(lb)!.id, 0);
});

Deno.test("first: order is by id, whatever the order of the list; weight 0 is skipped", () => {
  const list = servers(3, 1);
  const lb = new FirstLb([list[2]!, list[0]!, list[1]!], false);
  list[0]!.weight = 0;
  lb.update();
  assert.deepEqual([take(lb)!.id, take(lb)!.id, take(lb)], [1, 2, null]);
});
