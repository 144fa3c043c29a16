import assert from "node:assert/strict";
import { PendQueue, type Waiter } from "../../src/backend/queue.ts";

class W implements Waiter {
  queued = false;
  got: unknown = null;
  constructor(readonly id: number) {}
  dequeued(srv: unknown): void {
    this.got = srv;
  }
  requeue(): void {}
}

Deno.test("server queue: FIFO order, abandoned waiters skipped, positions and max", () => {
  const q = new PendQueue();
  const w = [0, 1, 2, 3].map((i) => new W(i));
  assert.deepEqual(w.map((x) => q.push(x)), [1, 2, 3, 4]);
  assert.equal(q.max, 4);
  q.abandon(w[1]!);
  assert.equal(q.length, 3);
  assert.equal(w[1]!.queued, false);
  assert.equal(q.shift(), w[0]);
  assert.equal(q.shift(), w[2]); // w[1] gave up: skipped
  assert.equal(q.length, 1);
  assert.equal(q.push(new W(9)), 2);
  assert.equal(q.shift(), w[3]);
  assert.equal((q.shift() as W).id, 9);
  assert.equal(q.shift(), null);
  assert.equal(q.length, 0);
});

Deno.test("server queue: a long-lived busy queue keeps its order over thousands of waiters", () => {
  const q = new PendQueue();
  let next = 0, served = 0;
  // Always a few waiting, never empty: the array is compacted as it goes.
  for (let i = 0; i < 5; i++) q.push(new W(next++));
  for (let round = 0; round < 5000; round++) {
    const w = q.shift() as W;
    assert.equal(w.id, served++);
    q.push(new W(next++));
  }
  assert.equal(q.length, 5);
});
