// Server queues (HAProxy's queue.c).
//
// A stream that finds every usable server at its maxconn waits in the queue of
// one server (the one with the shortest queue that still has room below its
// maxqueue). When a connection to that server ends, the oldest waiting stream
// gets the slot and is woken. Removal of a stream that gave up (queue
// timeout, client abort) is lazy: its entry is skipped when it surfaces.

/** What a queue holds: a stream waiting for a server slot. */
export interface Waiter {
  /** True while the waiter still wants a slot (cleared when it leaves). */
  queued: boolean;
  /** Called when a slot of `srv` is handed to the waiter. */
  dequeued(srv: unknown): void;
  /** The server it waits for went down: go back to choosing a server. */
  requeue(): void;
}

/** Fills consumed slots, so that the array keeps no ended stream reachable. */
const GONE: Waiter = { queued: false, dequeued(): void {}, requeue(): void {} };

export class PendQueue {
  #items: Waiter[];
  #head: number;
  /** Live waiters (entries not yet given a slot and not abandoned). */
  length: number;
  /** Highest length seen (stats). */
  max: number;

  constructor() {
    this.#items = [];
    this.#head = 0;
    this.length = 0;
    this.max = 0;
  }

  /** Appends a waiter; returns its position (1-based) for the log. */
  push(w: Waiter): number {
    w.queued = true;
    this.#items.push(w);
    this.length++;
    if (this.length > this.max) this.max = this.length;
    return this.length;
  }

  /** A waiter gave up: it is skipped when it reaches the head. */
  abandon(w: Waiter): void {
    if (!w.queued) return;
    w.queued = false;
    this.length--;
  }

  /** Removes and returns the oldest live waiter, or null. */
  shift(): Waiter | null {
    while (this.#head < this.#items.length) {
      const w = this.#items[this.#head]!;
      // A long queue is a long-lived array: a slot left pointing at a
      // served stream would keep it (and make the young GC promote it).
      this.#items[this.#head] = GONE;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items.splice(0, this.#head);
        this.#head = 0;
      }
      if (!w.queued) continue;
      w.queued = false;
      this.length--;
      return w;
    }
    this.#items.length = 0;
    this.#head = 0;
    return null;
  }
}
