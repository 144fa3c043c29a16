// Idle server connections (HAProxy's srv->idle_conns and `http-reuse`).
//
// When an HTTP transaction ends with both sides willing to keep the server
// connection alive and the stream no longer needs it (the client left, or the
// next request goes to another server), the connection is parked here with
// its read still in flight, so a server that closes or talks out of turn is
// noticed at once and the connection dropped. Another stream may adopt it,
// read included: which of its requests may is the backend's `http-reuse`
// mode (stream.ts); a connection must have carried `minTxns` transactions.
// Parked connections older than the purge delay are closed.

import type { Pools } from "../buf/pool.ts";
import { Channel } from "../channel/channel.ts";
import type { StreamInterface } from "../si/stream_interface.ts";
import { type Clock, realClock } from "../task/ticks.ts";

/** Parked connections older than this are closed rather than reused (HAProxy's pool-purge-delay). */
export const IDLE_PURGE_DELAY = 5000;
/** Most parked connections per server; the oldest is closed beyond that. */
export const IDLE_MAX_PER_SERVER = 64;

export class IdleConn {
  readonly si: StreamInterface;
  /** Holds the buffer the in-flight read targets while parked. */
  readonly in: Channel;
  readonly out: Channel;
  /** Tick when parked. */
  readonly since: number;
  #pool: IdlePool;
  #dead: boolean;

  constructor(si: StreamInterface, pools: Pools, since: number, pool: IdlePool) {
    this.si = si;
    this.in = new Channel(pools);
    this.out = new Channel(pools);
    this.since = since;
    this.#pool = pool;
    this.#dead = false;
  }

  get dead(): boolean {
    return this.#dead;
  }

  // SiOwner: any event on a parked connection means it cannot be reused.
  onIo(_side: number): void {
    this.kill();
  }

  onSettled(_si: StreamInterface): void {
    if (this.#dead && this.si.pending === 0) {
      this.in.releaseBuffer();
      this.out.releaseBuffer();
    }
  }

  /** Closes the connection and forgets it. */
  kill(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#pool.remove(this);
    this.si.close();
    this.onSettled(this.si);
  }
}

/**
 * The parked connections of one server, most recent last. One host timer
 * per pool, armed for the oldest entry, closes those older than the purge
 * delay even when no request comes to take one.
 */
export class IdlePool {
  #list: IdleConn[];
  #clock: Clock;
  #timer: unknown;
  #boundPurge: () => void;

  constructor(clock: Clock = realClock) {
    this.#list = [];
    this.#clock = clock;
    this.#timer = null;
    this.#boundPurge = this.#purge.bind(this);
  }

  get size(): number {
    return this.#list.length;
  }

  push(ic: IdleConn): void {
    this.#list.push(ic);
    if (this.#list.length > IDLE_MAX_PER_SERVER) this.#list[0]!.kill();
    this.#arm();
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
   * transactions, or null; stale ones met on the way are closed.
   */
  take(now: number, minTxns: number): IdleConn | null {
    const list = this.#list;
    for (let i = list.length - 1; i >= 0; i--) {
      const ic = list[i]!;
      if (ic.dead) {
        list.splice(i, 1);
        continue;
      }
      if (ic.si.txns < minTxns) continue;
      if (now - ic.since > IDLE_PURGE_DELAY) {
        ic.kill(); // removes it from the list; the ones before it keep their index
        continue;
      }
      list.splice(i, 1);
      return ic;
    }
    return null;
  }

  remove(ic: IdleConn): void {
    const i = this.#list.indexOf(ic);
    if (i >= 0) this.#list.splice(i, 1);
  }

  /** Closes every parked connection (server going down, process stop). */
  closeAll(): void {
    for (const ic of [...this.#list]) ic.kill();
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }
}
