// Micro benches of the task scheduler (src/task/scheduler.ts).
//
// What they answer: what one I/O wake costs a stream (wake + run), whether
// wakes that pile up before a run coalesce cheaply, what a full run-queue
// batch costs per task, and what the wait queue costs per timer: refreshing a
// timeout (assigning task.expire, the common case), and queueing then expiring
// a crowd of timers through the one host timer. The clock is a fake one
// injected into the scheduler, so no real timer ever fires and time only moves
// when a bench moves it. Run with `deno bench --allow-all bench/`.

import { Scheduler } from "../src/task/scheduler.ts";
import { type Clock, TICK_ETERNITY } from "../src/task/ticks.ts";
import { type Task, TASK_WOKEN_IO, type TaskOwner } from "../src/task/types.ts";

/** A clock that moves only when told to and keeps the one armed timer for fire(). */
class FakeClock implements Clock {
  t: number;
  #fn: (() => void) | null;
  constructor() {
    this.t = 1;
    this.#fn = null;
  }
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, _ms: number): unknown {
    this.#fn = fn;
    return fn;
  }
  clearTimer(_handle: unknown): void {
    this.#fn = null;
  }
  /** Runs the armed host timer, if any (the scheduler re-arms it as needed). */
  fire(): void {
    const fn = this.#fn;
    this.#fn = null;
    if (fn !== null) fn();
  }
}

/** Owner that does nothing and sets no expiry: measures the scheduler alone. */
class NopOwner implements TaskOwner {
  runs = 0;
  process(_task: Task): void {
    this.runs++;
  }
}

/** Owner that clears its expiry when run, like a stream that handled its timeout. */
class ExpireOwner implements TaskOwner {
  runs = 0;
  process(task: Task): void {
    this.runs++;
    task.expire = TICK_ETERNITY;
  }
}

/** Owner that re-arms a timeout `ms` ahead on each run, like a stream that moved data. */
class RefreshOwner implements TaskOwner {
  runs = 0;
  constructor(readonly sched: Scheduler, readonly ms: number) {}
  process(task: Task): void {
    this.runs++;
    task.expire = this.sched.now + this.ms;
  }
}

const BATCH = 256;
const TIMERS = 1000;

// --- run queue -------------------------------------------------------------

{
  const clock = new FakeClock();
  const sched = new Scheduler(clock);
  const task = sched.newTask(new NopOwner());
  Deno.bench({
    name: "wake one task + runPending",
    group: "run queue",
    baseline: true,
    fn() {
      sched.wake(task, TASK_WOKEN_IO);
      sched.runPending();
    },
  });
}

{
  const clock = new FakeClock();
  const sched = new Scheduler(clock);
  const task = sched.newTask(new NopOwner());
  Deno.bench({
    name: "wake one task 3× (coalesced) + runPending",
    group: "run queue",
    fn() {
      sched.wake(task, TASK_WOKEN_IO);
      sched.wake(task, TASK_WOKEN_IO);
      sched.wake(task, TASK_WOKEN_IO);
      sched.runPending();
    },
  });
}

{
  const clock = new FakeClock();
  const sched = new Scheduler(clock);
  const owner = new RefreshOwner(sched, 60_000);
  const task = sched.newTask(owner);
  Deno.bench({
    name: "wake one task + runPending, owner refreshes a 60 s timeout",
    group: "run queue",
    fn() {
      clock.t++;
      sched.wake(task, TASK_WOKEN_IO);
      sched.runPending();
    },
  });
}

{
  const clock = new FakeClock();
  const sched = new Scheduler(clock, BATCH);
  const owner = new NopOwner();
  const tasks: Task[] = [];
  for (let i = 0; i < BATCH; i++) tasks.push(sched.newTask(owner));
  Deno.bench({
    name: `wake ${BATCH} tasks + runPending (one batch)`,
    group: "run queue batch",
    n: 2000,
    fn() {
      for (let i = 0; i < BATCH; i++) sched.wake(tasks[i]!, TASK_WOKEN_IO);
      sched.runPending();
    },
  });
}

// --- wait queue ------------------------------------------------------------

{
  const clock = new FakeClock();
  const sched = new Scheduler(clock);
  const task = sched.newTask(new NopOwner());
  task.expire = clock.t + 60_000;
  sched.queue(task);
  Deno.bench({
    name: "refresh a timeout: assign expire later + queue() (lazy, no heap work)",
    group: "timer refresh",
    fn() {
      clock.t++;
      task.expire = clock.t + 60_000;
      sched.queue(task);
    },
  });
}

{
  const clock = new FakeClock();
  const sched = new Scheduler(clock);
  const owner = new ExpireOwner();
  const tasks: Task[] = [];
  for (let i = 0; i < TIMERS; i++) tasks.push(sched.newTask(owner));
  Deno.bench({
    name: `queue ${TIMERS} timers + expire all (fire host timer + runPending)`,
    group: "1000 timers",
    n: 1000,
    fn() {
      const base = clock.t;
      for (let i = 0; i < TIMERS; i++) {
        const t = tasks[i]!;
        t.expire = base + 1 + (i * 7919) % 97; // spread, not sorted
        sched.queue(t);
      }
      clock.t = base + 100;
      clock.fire();
      sched.runPending();
    },
  });
}

{
  // 1000 streams each refresh their timeout once, then time passes before
  // any expiry: the lazy wait queue must only re-queue the surfaced entries.
  const clock = new FakeClock();
  const sched = new Scheduler(clock);
  const owner = new ExpireOwner();
  const tasks: Task[] = [];
  for (let i = 0; i < TIMERS; i++) {
    const t = sched.newTask(owner);
    t.expire = clock.t + 50;
    sched.queue(t);
    tasks.push(t);
  }
  Deno.bench({
    name: `${TIMERS} timeouts refreshed, host timer fires early (stale entries re-queued)`,
    group: "1000 timers",
    n: 1000,
    fn() {
      const base = clock.t;
      for (let i = 0; i < TIMERS; i++) {
        const t = tasks[i]!;
        t.expire = base + 1000;
        sched.queue(t);
      }
      clock.t = base + 60;
      clock.fire();
      sched.runPending();
      clock.t = base + 1001;
      clock.fire();
      sched.runPending();
      // Re-arm for the next iteration like freshly started streams.
      for (let i = 0; i < TIMERS; i++) {
        const t = tasks[i]!;
        t.expire = clock.t + 50;
        sched.queue(t);
      }
    },
  });
}
