// Waiting on conditions without sleeping, for the test helpers.
//
// - Signal: a set of waiters woken whenever something changed. `until(pred)`
//   re-checks a condition on every `notify()` and fails after a deadline,
//   saying what it waited for; `wait(ms)` is the single step (next notify or
//   the deadline, whichever comes first) for loops with their own checks.
// - Events: a list that tests await by length (`waitFor(n)`), e.g. the
//   requests or connections a stub server has seen.
//
// No timer outlives a wait (each is cleared when the wait ends), so Deno.test's
// sanitizers stay on.

/** A set of waiters woken whenever something changed. */
export class Signal {
  #waiters = new Set<() => void>();

  /** Wakes every current waiter. */
  notify(): void {
    const w = [...this.#waiters];
    this.#waiters.clear();
    for (const f of w) f();
  }

  /** Resolves at the next notify() or after `ms`, whichever comes first. */
  async wait(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake!: () => void;
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.#waiters.add(resolve);
      timer = setTimeout(resolve, ms);
    });
    this.#waiters.delete(wake);
    clearTimeout(timer);
  }

  /**
   * Waits until `pred()` returns a value other than undefined (re-checked on
   * every notify) and returns it; throws after `ms` with `what` (a function is
   * called then, so it can report the latest state). A `pred` that throws ends
   * the wait with its error.
   */
  async until<T>(pred: () => T | undefined, ms: number, what: string | (() => string)): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined) return v;
      const left = end - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`,
        );
      }
      await this.wait(left);
    }
  }
}

/** A resolvable list: tests await the n-th record with `waitFor(n)`. */
export class Events<T> {
  readonly items: T[] = [];
  #changed = new Signal();

  push(item: T): void {
    this.items.push(item);
    this.#changed.notify();
  }

  get length(): number {
    return this.items.length;
  }

  /** Resolves when at least `n` records exist; rejects after `timeoutMs` saying `what`. */
  waitFor(n: number, timeoutMs: number, what = "records"): Promise<T[]> {
    return this.#changed.until(
      () => (this.items.length >= n ? this.items : undefined),
      timeoutMs,
      () => `${n} ${what} (have ${this.items.length})`,
    );
  }
}
