// The transaction pool reuses transactions but never keeps more than
// TXN_POOL_MAX: after a burst of connections the rest must be garbage.

import assert from "node:assert/strict";
import { HttpTxnPool, TXN_POOL_MAX } from "../../src/http/txn.ts";

Deno.test("txn pool: a released transaction is reused, reset for its new connection", () => {
  const pool = new HttpTxnPool(101);
  const t = pool.alloc(1);
  t.count = 7;
  t.status = 200;
  pool.release(t);
  assert.equal(pool.size, 1);
  const u = pool.alloc(50);
  assert.equal(u, t);
  assert.equal(u.count, 0);
  assert.equal(u.status, -1);
  assert.equal(u.tWaitStart, 50);
  assert.equal(pool.size, 0);
});

Deno.test("txn pool: after a burst, at most TXN_POOL_MAX transactions are kept", () => {
  const pool = new HttpTxnPool(101);
  const burst = Array.from({ length: TXN_POOL_MAX + 300 }, (_, i) => pool.alloc(i + 1));
  for (const t of burst) pool.release(t);
  assert.equal(pool.size, TXN_POOL_MAX);
  const again = new Set(Array.from({ length: TXN_POOL_MAX }, () => pool.alloc(1)));
  assert.equal(again.size, TXN_POOL_MAX);
  for (const t of again) assert.ok(burst.includes(t), "reused, not new");
  assert.equal(pool.size, 0);
  assert.ok(!burst.includes(pool.alloc(1)), "the pool is empty: a fresh transaction");
});
