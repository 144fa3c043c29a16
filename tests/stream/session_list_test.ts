import assert from "node:assert/strict";
import { SessionList, type SessionNode } from "../../src/stream/session_list.ts";

class Sess implements SessionNode {
  sessPrev: SessionNode | null = null;
  sessNext: SessionNode | null = null;
  stopped = 0;
  constructor(readonly id: number) {}
  softStop(): void {
    this.stopped++;
  }
}

const ids = (l: SessionList) => l.toArray().map((n) => (n as Sess).id);

Deno.test("session list: add, remove from head, middle and tail, walk", () => {
  const l = new SessionList();
  const s = [0, 1, 2, 3, 4].map((i) => new Sess(i));
  for (const n of s) l.add(n);
  assert.equal(l.size, 5);
  assert.deepEqual(ids(l), [4, 3, 2, 1, 0]);
  assert.equal(l.delete(s[4]!), true); // head
  assert.equal(l.delete(s[2]!), true); // middle
  assert.equal(l.delete(s[0]!), true); // tail
  assert.deepEqual(ids(l), [3, 1]);
  assert.equal(l.size, 2);
  // A second removal is refused and changes nothing.
  assert.equal(l.delete(s[2]!), false);
  assert.equal(l.size, 2);
  // A removed session keeps no link to the others (no dead object retains live ones).
  for (const i of [0, 2, 4]) {
    assert.equal(s[i]!.sessPrev, null);
    assert.equal(s[i]!.sessNext, null);
  }
  for (const n of l.toArray()) n.softStop();
  assert.deepEqual(s.map((n) => n.stopped), [0, 1, 0, 1, 0]);
});

Deno.test("session list: removing while walking a snapshot, and re-adding", () => {
  const l = new SessionList();
  const s = Array.from({ length: 100 }, (_, i) => new Sess(i));
  for (const n of s) l.add(n);
  // What a soft stop does: each session may end (and leave the list) when told.
  for (const n of l.toArray()) if ((n as Sess).id % 3 === 0) l.delete(n);
  assert.equal(l.size, 66);
  assert.ok(ids(l).every((i) => i % 3 !== 0));
  for (const n of l.toArray()) l.delete(n);
  assert.equal(l.size, 0);
  assert.deepEqual(ids(l), []);
  l.add(s[7]!);
  assert.deepEqual(ids(l), [7]);
});
