import assert from "node:assert/strict";
import { adoptConn } from "../../src/backend/conn_reuse.ts";
import { IDLE_PURGE_DELAY, IdleBudget, IdlePool } from "../../src/backend/idle_conns.ts";
import { createPools } from "../../src/buf/pool.ts";
import { Channel } from "../../src/channel/channel.ts";
import type { Conn } from "../../src/listener/protocol.ts";
import { type SiOwner, StreamInterface } from "../../src/si/stream_interface.ts";
import type { Clock } from "../../src/task/ticks.ts";

/** A clock the test moves by hand (timer handles are objects: never unref'd). */
class FakeClock implements Clock {
  t = 1000;
  timers = new Set<{ fn: () => void; at: number }>();
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const h = { fn, at: this.t + ms };
    this.timers.add(h);
    return h;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as { fn: () => void; at: number });
  }
  advance(ms: number): void {
    this.t += ms;
    for (const h of [...this.timers]) {
      if (h.at <= this.t) {
        this.timers.delete(h);
        h.fn();
      }
    }
  }
}

/** A connection whose read stays in flight until it is closed. */
class FakeConn implements Conn {
  closed = false;
  #reject: ((e: Error) => void) | null = null;
  read(_view: Uint8Array): Promise<number> {
    return new Promise((_, reject) => (this.#reject = reject));
  }
  write(view: Uint8Array): Promise<number> {
    return Promise.resolve(view.length);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
    this.#reject?.(new Error("closed"));
  }
}

const NOBODY: SiOwner = { onIo() {}, onSettled() {} };
const pools = createPools(4096);

/** Parks one established connection, its read in flight, in `pool`. */
function park(pool: IdlePool, now: number): { conn: FakeConn; si: StreamInterface } | null {
  if (!pool.hasRoom()) return null;
  const conn = new FakeConn();
  const ic = pool.holder(pools);
  const si = new StreamInterface(1, ic.in, ic.out, NOBODY);
  si.attach(conn, now);
  si.update(now); // the read goes in flight, into ic.in's buffer
  si.rebind(ic.in, ic.out, ic);
  ic.hold(si, now);
  pool.push(ic);
  return { conn, si };
}

Deno.test("idle pool: the process-wide budget closes a server's oldest parked connection, or refuses one", async () => {
  const budget = new IdleBudget(3);
  const clock = new FakeClock();
  const a = new IdlePool(budget, clock), b = new IdlePool(budget, clock);
  const a1 = park(a, clock.t)!, a2 = park(a, clock.t)!, b1 = park(b, clock.t)!;
  assert.equal(budget.parked, 3);
  // Full: parking on `a` closes a's oldest (a1) to make room.
  const a3 = park(a, clock.t)!;
  assert.ok(a1.conn.closed);
  assert.ok(!a2.conn.closed && !a3.conn.closed && !b1.conn.closed);
  assert.equal(budget.parked, 3);
  assert.equal(a.size, 2);
  // `b` holds one: it gives it up for a newer one, but an empty server
  // cannot take room from another's connections.
  const c = new IdlePool(budget, clock);
  assert.equal(park(c, clock.t), null);
  // Taking one frees its place in the budget.
  const taken = a.take(clock.t, 0)!;
  assert.equal(taken.si, a3.si, "the most recently parked first");
  assert.equal(budget.parked, 2);
  assert.ok(park(c, clock.t) !== null);
  // Adopted: the read in flight and its buffer move to the new owner's channel.
  const res = new Channel(pools), req = new Channel(pools);
  const buf = taken.in.buf;
  assert.equal(adoptConn(taken, res, req, NOBODY), a3.si);
  assert.equal(res.buf, buf);
  assert.ok(res.reading);
  assert.equal(taken.si, null, "the holder is free again");
  a3.si.close();
  a.closeAll();
  b.closeAll();
  c.closeAll();
  assert.equal(budget.parked, 0);
  await new Promise((r) => setTimeout(r, 0));
});

Deno.test("idle pool: connections parked longer than the purge delay are closed by the timer", async () => {
  const budget = new IdleBudget(100);
  const clock = new FakeClock();
  const pool = new IdlePool(budget, clock);
  const used0 = pools.small.stats().used;
  const old = park(pool, clock.t)!;
  clock.advance(IDLE_PURGE_DELAY / 2);
  const recent = park(pool, clock.t)!;
  assert.equal(pools.small.stats().used, used0 + 2, "each parked read holds a small buffer");
  clock.advance(IDLE_PURGE_DELAY / 2 + 10);
  assert.ok(old.conn.closed, "the old one is purged");
  assert.ok(!recent.conn.closed);
  assert.equal(pool.size, 1);
  assert.equal(budget.parked, 1);
  // Its read rejects: the holder releases the buffer and goes back to the free list.
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(pools.small.stats().used, used0 + 1);
  // The next parking reuses that holder.
  const again = park(pool, clock.t)!;
  assert.equal(pool.size, 2);
  pool.closeAll();
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(again.conn.closed && recent.conn.closed);
  assert.equal(pools.small.stats().used, used0);
  assert.equal(budget.parked, 0);
});
