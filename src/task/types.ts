// Task types and flags (HAProxy's task-t.h).
//
// A task is the unit the scheduler runs: an owner that knows how to process
// itself, a set of wake reasons, and an expiry tick. Streams, health checks and
// listeners' resume timers are tasks.

/** Woken for the first time, just after creation. */
export const TASK_WOKEN_INIT = 0x01;
/** Woken because its expiry tick passed. */
export const TASK_WOKEN_TIMER = 0x02;
/** Woken by an I/O event (a read or write completed). */
export const TASK_WOKEN_IO = 0x04;
/** Woken because a resource it waited for (buffer, server slot) is free. */
export const TASK_WOKEN_RES = 0x08;
/** Woken by a message from another subsystem (stop, admin action). */
export const TASK_WOKEN_MSG = 0x10;

/** The task sits in the run queue. */
export const TASK_QUEUED = 0x01;
/** The task is being run right now. */
export const TASK_RUNNING = 0x02;
/** The task was freed; its queue entries are stale. */
export const TASK_KILLED = 0x04;

/** What a task runs: the owner's process method, called with the task. */
export interface TaskOwner {
  process(task: Task): void;
}

/** Names of wake reasons, for debugging and logs. */
export function taskWakeToString(w: number): string {
  const out: string[] = [];
  if (w & TASK_WOKEN_INIT) out.push("INIT");
  if (w & TASK_WOKEN_TIMER) out.push("TIMER");
  if (w & TASK_WOKEN_IO) out.push("IO");
  if (w & TASK_WOKEN_RES) out.push("RES");
  if (w & TASK_WOKEN_MSG) out.push("MSG");
  return out.join("|") || "0";
}

/** A schedulable unit. Fields are public on purpose: the scheduler and owners share them. */
export class Task {
  /** Object whose process() runs the task. */
  owner: TaskOwner;
  /** TASK_QUEUED / TASK_RUNNING / TASK_KILLED bits. */
  state: number;
  /** Accumulated TASK_WOKEN_* reasons since the last run; cleared when run. */
  wakeReasons: number;
  /** Reasons of the current run (what woke it), readable by the owner. */
  runReasons: number;
  /** Expiry tick, TICK_ETERNITY when none. Refreshing a timeout is assigning it. */
  expire: number;
  /** Index of the task's entry in the wait queue's heap, -1 when it has none. */
  heapIdx: number;

  constructor(owner: TaskOwner) {
    this.owner = owner;
    this.state = 0;
    this.wakeReasons = 0;
    this.runReasons = 0;
    this.expire = 0;
    this.heapIdx = -1;
  }
}

// Note about invariants: a task is in the run queue at most once
// (TASK_QUEUED) and has at most one wait-queue entry (heapIdx), whose key may
// be earlier than its expiry (it is re-queued when it surfaces); a killed task
// is never run and has no wait-queue entry, so nothing keeps its owner alive.
