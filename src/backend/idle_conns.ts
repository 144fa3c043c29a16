// Idle server connections (HAProxy's srv->idle_conns and `http-reuse`).
//
// A server connection left clean by a finished HTTP transaction is parked
// here with its read still in flight, so a server that closes or talks out of
// turn is noticed at once and the connection dropped. Another stream may
// adopt it, read included: which of its requests may is the backend's
// `http-reuse` mode (conn_reuse.ts); a connection must have carried `minTxns`
// transactions. Parked connections older than the purge delay are closed, by
// a timer, even when no request comes to take one.
//
// How many may be parked: HAProxy's default has no count per server
// (`pool-max-conn -1`) but stops keeping idle connections when they would
// take more than a quarter of the process's descriptors
// (`tune.pool-high-fd-ratio 25`); a proxy sizes its descriptors for about
// two per connection, so the process-wide budget here is half of global
// maxconn (IdleBudget). A cap per server much lower than that makes a burst
// of more concurrent requests than the cap close connections on their way
// back and reopen them for the next burst.
//
// The holders (IdleConn) are recycled per server: parking the connection of
// a keep-alive client between two of its requests allocates nothing. This
// file never decides whether a connection may be parked or taken; it keeps
// the list, the bounds and the purge.

import type { Pools } from "../buf/pool.ts";
import { Channel } from "../channel/channel.ts";
import type { StreamInterface } from "../si/stream_interface.ts";
import { type Clock, realClock } from "../task/ticks.ts";

/** Parked connections older than this are closed rather than reused (HAProxy's pool-purge-delay). */
export const IDLE_PURGE_DELAY = 5000;
/**
 * Free holders kept per server for the next parking: as many as its
 * parked connections swing by (an HTTP/2 client's 100 concurrent streams
 * take and park up to 100; with 64 kept, holders were made and dropped
 * by the dozen per second).
 */
const FREE_HOLDERS_MAX = 256;

/** How many connections the process may keep parked, all servers together. */
export class IdleBudget {
  readonly max: number;
  /** Connections parked now. */
  parked: number;

  constructor(max: number) {
    this.max = max;
    this.parked = 0;
  }

  /** The budget of a process with `maxconn` connections: half of it (see the file header). */
  static forMaxconn(maxconn: number): IdleBudget {
    return new IdleBudget(Math.max(64, maxconn >> 1));
  }
}

/** An IdleConn holding nothing (in its pool's free list, or new). */
const IC_FREE = 0;
/** Parked: in its pool's list, its read in flight into `in`. */
const IC_PARKED = 1;
/** Closed while parked; waiting for its read to settle before it is recycled. */
const IC_DEAD = 2;

export class IdleConn {
  /** The parked connection's interface; null when the holder is free. */
  si: StreamInterface | null;
  /** Holds the buffer the in-flight read targets while parked. */
  readonly in: Channel;
  readonly out: Channel;
  /** Tick when parked. */
  since: number;
  readonly pool: IdlePool;
  #state: number;

  constructor(pools: Pools, pool: IdlePool) {
    this.si = null;
    this.in = new Channel(pools);
    this.out = new Channel(pools);
    this.since = 0;
    this.pool = pool;
    this.#state = IC_FREE;
  }

  /** True while parked in its pool (neither taken, closed, nor free). */
  get parked(): boolean {
    return this.#state === IC_PARKED;
  }

  get dead(): boolean {
    return this.#state === IC_DEAD;
  }

  /** Fills a free holder (the caller moved the read's buffer into `in` and rebound `si`). */
  hold(si: StreamInterface, since: number): void {
    this.si = si;
    this.since = since;
    this.#state = IC_PARKED;
  }

  // SiOwner: any event on a parked connection means it cannot be reused.
  onIo(_side: number): void {
    this.kill();
  }

  onSettled(_si: StreamInterface): void {
    if (this.#state === IC_DEAD && this.si !== null && this.si.pending === 0) {
      this.in.releaseBuffer();
      this.out.releaseBuffer();
      this.pool.recycle(this);
    }
  }

  /** Closes the connection and forgets it. */
  kill(): void {
    if (this.#state !== IC_PARKED) return;
    this.#state = IC_DEAD;
    this.pool.remove(this);
    // Settles now (onSettled) when no read is in flight, else when it ends.
    this.si!.close();
  }

  /** Empties the holder (taken, or closed and settled). */
  clear(): void {
    this.si = null;
    this.#state = IC_FREE;
  }
}

/**
 * The parked connections of one server, most recent last. One host timer
 * per pool, armed for the oldest entry, closes those older than the purge
 * delay even when no request comes to take one.
 */
export class IdlePool {
  #list: IdleConn[];
  /** Free holders, reused by the next park. */
  #free: IdleConn[];
  #budget: IdleBudget;
  #clock: Clock;
  #timer: unknown;
  #boundPurge: () => void;

  constructor(budget: IdleBudget, clock: Clock = realClock) {
    this.#list = [];
    this.#free = [];
    this.#budget = budget;
    this.#clock = clock;
    this.#timer = null;
    this.#boundPurge = this.#purge.bind(this);
  }

  get size(): number {
    return this.#list.length;
  }

  /** A free holder for a connection about to be parked (recycled when possible). */
  holder(pools: Pools): IdleConn {
    return this.#free.pop() ?? new IdleConn(pools, this);
  }

  /** Takes back a holder that was taken or whose connection was closed. */
  recycle(ic: IdleConn): void {
    ic.clear();
    if (this.#free.length < FREE_HOLDERS_MAX) this.#free.push(ic);
  }

  /**
   * True when one more connection may be parked here: within the process's
   * budget, or by closing this server's oldest parked one.
   */
  hasRoom(): boolean {
    if (this.#budget.parked < this.#budget.max) return true;
    if (this.#list.length === 0) return false;
    this.#list[0]!.kill();
    return true;
  }

  /** Parks `ic` (filled by IdleConn.hold(); hasRoom() said yes). */
  push(ic: IdleConn): void {
    this.#list.push(ic);
    this.#budget.parked++;
    this.#arm();
  }

  /**
   * Takes entry `i` out of the list. Not splice(): it returns a new array of
   * the removed entries, and take() drops one per reused connection.
   */
  #drop(i: number): void {
    const list = this.#list;
    if (i < list.length - 1) list.copyWithin(i, i + 1);
    list.pop();
    this.#budget.parked--;
  }

  /** Arms the purge timer for the oldest entry, if not armed. */
  #arm(): void {
    if (this.#timer !== null || this.#list.length === 0) return;
    const due = this.#list[0]!.since + IDLE_PURGE_DELAY - this.#clock.now();
    const t = this.#timer = this.#clock.setTimer(this.#boundPurge, Math.max(0, due) + 1);
    // A pending purge must not keep a stopping process alive.
    if (typeof t === "number") Deno.unrefTimer(t);
  }

  #purge(): void {
    this.#timer = null;
    const list = this.#list, now = this.#clock.now();
    while (list.length > 0 && now - list[0]!.since > IDLE_PURGE_DELAY) list[0]!.kill();
    this.#arm();
  }

  /**
   * The most recently parked live connection that carried at least `minTxns`
   * transactions and was opened with `key` (StreamInterface.connKey: the
   * SNI of an `sni` expression, else null), or null; stale ones met on the
   * way are closed. The caller moves the read's buffer out of `in`, then
   * recycles the holder.
   */
  take(now: number, minTxns: number, key: string | null = null): IdleConn | null {
    const list = this.#list;
    for (let i = list.length - 1; i >= 0; i--) {
      const ic = list[i]!;
      if (!ic.parked) {
        this.#drop(i);
        continue;
      }
      if (ic.si!.txns < minTxns || ic.si!.connKey !== key) continue;
      if (now - ic.since > IDLE_PURGE_DELAY) {
        ic.kill(); // removes it from the list; the ones before it keep their index
        continue;
      }
      this.#drop(i);
      return ic;
    }
    return null;
  }

  remove(ic: IdleConn): void {
    const i = this.#list.indexOf(ic);
    if (i >= 0) this.#drop(i);
  }

  /** Closes every parked connection (server going down, process stop). */
  closeAll(): void {
    for (const ic of [...this.#list]) ic.kill();
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }
}
