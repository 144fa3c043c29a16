// The task scheduler (HAProxy's task.c): a run queue and a wait queue.
//
// The run queue holds woken tasks and is drained in bounded batches, so that a
// burst of work never starves I/O completions: when more than `batch` tasks
// are runnable, the rest run after the event loop has had a turn. The wait
// queue is a binary min-heap of expiry ticks behind ONE host timer armed for
// the earliest tick, never one timer per stream. Each task has at most one
// entry and knows its index (task.heapIdx). Entries are lazy about later
// expiries: changing a task's expiry is assigning task.expire, and an entry
// that surfaces before it is simply re-queued; an earlier expiry moves the
// entry up at once. Killing a task removes its entry, so that a finished
// stream is not kept alive (with its buffers and transaction) until its old
// timeout would have expired: after a burst of short connections those dead
// streams would fill the old generation and make every full GC slow. An owner
// sets task.expire each time it runs: an expiry left in the past wakes the
// task again at once. This file never touches sockets.

import { type Clock, realClock, TICK_ETERNITY } from "./ticks.ts";
import {
  Task,
  TASK_KILLED,
  TASK_QUEUED,
  TASK_RUNNING,
  TASK_WOKEN_TIMER,
  type TaskOwner,
} from "./types.ts";

/** Tasks run per drain before yielding to the event loop. */
const DEFAULT_BATCH = 256;

export class Scheduler {
  readonly clock: Clock;
  /** Cached clock value, refreshed at each drain and timer expiry. */
  now: number;
  readonly batch: number;
  #runq: Task[];
  #runHead: number;
  #drainScheduled: boolean;
  // Wait queue as a binary heap over two parallel arrays (no entry objects).
  #heapKeys: number[];
  #heapTasks: Task[];
  #timer: unknown;
  #timerAt: number;
  /** Counters for benchmarks and debugging. */
  runs: number;
  /** Called when a task's process() threw; the task is already killed. */
  onCrash: (task: Task, e: unknown) => void;
  #boundDrain: () => void;
  #boundExpire: () => void;

  constructor(clock: Clock = realClock, batch = DEFAULT_BATCH) {
    this.clock = clock;
    this.now = clock.now();
    this.batch = batch;
    this.#runq = [];
    this.#runHead = 0;
    this.#drainScheduled = false;
    this.#heapKeys = [];
    this.#heapTasks = [];
    this.#timer = null;
    this.#timerAt = TICK_ETERNITY;
    this.runs = 0;
    this.onCrash = (_t, e) => console.error("task crashed:", e);
    this.#boundDrain = this.#drain.bind(this);
    this.#boundExpire = this.#expire.bind(this);
  }

  /** Creates a task owned by `owner`; it runs only once woken. */
  newTask(owner: TaskOwner): Task {
    return new Task(owner);
  }

  /** Adds reasons to a task and puts it in the run queue if it is not there. */
  wake(task: Task, reason: number): void {
    if (task.state & TASK_KILLED) return;
    task.wakeReasons |= reason;
    if (task.state & (TASK_QUEUED | TASK_RUNNING)) {
      // A running task that is woken again runs once more after this run.
      if (task.state & TASK_RUNNING) task.state |= TASK_QUEUED;
      return;
    }
    task.state |= TASK_QUEUED;
    this.#runq.push(task);
    this.#scheduleDrain();
  }

  /** Marks a task dead: it never runs again and leaves the wait queue. */
  kill(task: Task): void {
    task.state |= TASK_KILLED;
    task.expire = TICK_ETERNITY;
    if (task.heapIdx >= 0) this.#heapRemove(task.heapIdx);
  }

  /**
   * Makes the wait queue aware of task.expire. Called after a task ran or
   * whenever an owner moved an expiry earlier outside of a run.
   */
  queue(task: Task): void {
    const exp = task.expire;
    if (exp === TICK_ETERNITY || (task.state & TASK_KILLED)) return;
    const i = task.heapIdx;
    if (i >= 0) {
      // An entry at or before exp will surface in time and be re-queued then.
      if (this.#heapKeys[i]! <= exp) return;
      this.#heapKeys[i] = exp;
      this.#siftUp(i);
    } else {
      this.#heapPush(exp, task);
    }
    if (this.#timerAt === TICK_ETERNITY || exp < this.#timerAt) this.#armTimer(exp);
  }

  /** Number of tasks waiting to run (for tests and stats). */
  runQueueLength(): number {
    return this.#runq.length - this.#runHead;
  }

  /** Number of wait-queue entries (for tests): one per live task with an expiry. */
  waitQueueLength(): number {
    return this.#heapKeys.length;
  }

  /** Runs everything runnable now, synchronously (tests and shutdown). */
  runPending(): void {
    while (this.runQueueLength() > 0) this.#runBatch();
  }

  /** Stops the host timer (process exit). */
  stop(): void {
    if (this.#timer !== null) this.clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = TICK_ETERNITY;
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    queueMicrotask(this.#boundDrain);
  }

  #drain(): void {
    this.#drainScheduled = false;
    this.#runBatch();
    if (this.runQueueLength() > 0) {
      // Yield to the event loop so I/O completions are not starved.
      this.#drainScheduled = true;
      setTimeout(this.#boundDrain, 0);
    }
  }

  #runBatch(): void {
    this.now = this.clock.now();
    let n = this.batch;
    while (n-- > 0 && this.#runHead < this.#runq.length) {
      const task = this.#runq[this.#runHead]!;
      this.#runHead++;
      if (task.state & TASK_KILLED) continue;
      task.state = (task.state & ~TASK_QUEUED) | TASK_RUNNING;
      task.runReasons = task.wakeReasons;
      task.wakeReasons = 0;
      this.runs++;
      try {
        task.owner.process(task);
      } catch (e) {
        // A bug in one task must not stop the others (nor the process): the
        // owner is told, and the task is killed unless the owner recovers it.
        task.state &= ~TASK_RUNNING;
        this.kill(task);
        this.onCrash(task, e);
        continue;
      } finally {
        task.state &= ~TASK_RUNNING;
      }
      if (task.state & TASK_KILLED) continue;
      if (task.state & TASK_QUEUED) this.#runq.push(task); // woken during its run
      else this.queue(task);
    }
    if (this.#runHead === this.#runq.length) {
      this.#runq.length = 0;
      this.#runHead = 0;
    } else if (this.#runHead > 1024) {
      this.#runq.splice(0, this.#runHead);
      this.#runHead = 0;
    }
  }

  #armTimer(at: number): void {
    if (this.#timer !== null) this.clock.clearTimer(this.#timer);
    this.#timerAt = at;
    const delay = Math.max(0, at - this.clock.now());
    this.#timer = this.clock.setTimer(this.#boundExpire, delay);
  }

  /** Host timer fired: wake every task whose expiry passed, re-arm for the next. */
  #expire(): void {
    this.#timer = null;
    this.#timerAt = TICK_ETERNITY;
    const now = this.now = this.clock.now();
    const keys = this.#heapKeys;
    while (keys.length > 0 && keys[0]! <= now) {
      const task = this.#heapTasks[0]!;
      if (task.expire !== TICK_ETERNITY && task.expire > now) {
        // Its expiry moved later meanwhile: re-key the entry in place.
        keys[0] = task.expire;
        this.#siftDown(0);
        continue;
      }
      this.#heapRemove(0);
      if (task.expire !== TICK_ETERNITY) this.wake(task, TASK_WOKEN_TIMER);
    }
    if (keys.length > 0) this.#armTimer(keys[0]!);
  }

  #heapPush(key: number, task: Task): void {
    const i = this.#heapKeys.length;
    this.#heapKeys.push(key);
    this.#heapTasks.push(task);
    this.#siftUp(i); // sets task.heapIdx
  }

  /** Removes the entry at index i (its task gets heapIdx -1). */
  #heapRemove(i: number): void {
    const keys = this.#heapKeys, tasks = this.#heapTasks;
    tasks[i]!.heapIdx = -1;
    const lastKey = keys.pop()!;
    const lastTask = tasks.pop()!;
    if (i === keys.length) return; // it was the last entry
    this.#put(i, lastKey, lastTask);
    if (i > 0 && keys[(i - 1) >> 1]! > lastKey) this.#siftUp(i);
    else this.#siftDown(i);
  }

  #siftUp(i: number): void {
    const keys = this.#heapKeys, tasks = this.#heapTasks;
    const key = keys[i]!, task = tasks[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= key) break;
      this.#put(i, keys[p]!, tasks[p]!);
      i = p;
    }
    this.#put(i, key, task);
  }

  #siftDown(i: number): void {
    const keys = this.#heapKeys, tasks = this.#heapTasks;
    const n = keys.length;
    const key = keys[i]!, task = tasks[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
      if (keys[c]! >= key) break;
      this.#put(i, keys[c]!, tasks[c]!);
      i = c;
    }
    this.#put(i, key, task);
  }

  /** Stores an entry at index i and tells its task where it is. */
  #put(i: number, key: number, task: Task): void {
    this.#heapKeys[i] = key;
    this.#heapTasks[i] = task;
    task.heapIdx = i;
  }
}
