import assert from "node:assert/strict";
import { Scheduler } from "../../src/task/scheduler.ts";
import type { Clock } from "../../src/task/ticks.ts";
import {
  type Task,
  TASK_WOKEN_IO,
  TASK_WOKEN_TIMER,
  type TaskOwner,
} from "../../src/task/types.ts";

/** A clock the test moves by hand; records armed host timers. */
class FakeClock implements Clock {
  t = 1000;
  timers = new Map<number, { fn: () => void; at: number }>();
  seq = 0;
  armed = 0;
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): unknown {
    this.armed++;
    const id = ++this.seq;
    this.timers.set(id, { fn, at: this.t + ms });
    return id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, tm] of [...this.timers]) {
      if (tm.at <= this.t) {
        this.timers.delete(id);
        tm.fn();
      }
    }
  }
}

class Recorder implements TaskOwner {
  runs: number[] = [];
  constructor(readonly name: string, readonly log: string[]) {}
  process(task: Task): void {
    // Like every owner, it sets its next expiry when it runs (none here).
    task.expire = 0;
    this.runs.push(task.runReasons);
    this.log.push(this.name);
  }
}

Deno.test("wake() runs a task once per wake burst with accumulated reasons", () => {
  const s = new Scheduler(new FakeClock());
  const log: string[] = [];
  const r = new Recorder("a", log);
  const t = s.newTask(r);
  s.wake(t, TASK_WOKEN_IO);
  s.wake(t, TASK_WOKEN_TIMER);
  s.runPending();
  assert.deepEqual(r.runs, [TASK_WOKEN_IO | TASK_WOKEN_TIMER]);
});

Deno.test("tasks run in wake order, in bounded batches", () => {
  const s = new Scheduler(new FakeClock(), 2);
  const log: string[] = [];
  const tasks = ["a", "b", "c"].map((n) => s.newTask(new Recorder(n, log)));
  for (const t of tasks) s.wake(t, TASK_WOKEN_IO);
  assert.equal(s.runQueueLength(), 3);
  s.runPending();
  assert.deepEqual(log, ["a", "b", "c"]);
});

Deno.test("an expired task is woken with TIMER through one host timer", () => {
  const clock = new FakeClock();
  const s = new Scheduler(clock);
  const log: string[] = [];
  const owners = [new Recorder("late", log), new Recorder("early", log)];
  const [late, early] = owners.map((o) => s.newTask(o));
  late!.expire = clock.t + 500;
  early!.expire = clock.t + 100;
  s.queue(late!);
  s.queue(early!);
  assert.equal(clock.timers.size, 1, "one host timer, never one per task");
  clock.advance(100);
  s.runPending();
  assert.deepEqual(log, ["early"]);
  assert.equal(owners[1]!.runs[0], TASK_WOKEN_TIMER);
  clock.advance(400);
  s.runPending();
  assert.deepEqual(log, ["early", "late"]);
});

Deno.test("refreshing an expiry is assigning a number: the old entry is skipped", () => {
  const clock = new FakeClock();
  const s = new Scheduler(clock);
  const log: string[] = [];
  const t = s.newTask(new Recorder("t", log));
  t.expire = clock.t + 100;
  s.queue(t);
  t.expire = clock.t + 300; // pushed back without touching the queue
  clock.advance(100);
  s.runPending();
  assert.deepEqual(log, [], "must not fire at the old expiry");
  clock.advance(200);
  s.runPending();
  assert.deepEqual(log, ["t"]);
});

Deno.test("a killed task never runs", () => {
  const clock = new FakeClock();
  const s = new Scheduler(clock);
  const log: string[] = [];
  const t = s.newTask(new Recorder("t", log));
  t.expire = clock.t + 10;
  s.queue(t);
  s.wake(t, TASK_WOKEN_IO);
  s.kill(t);
  clock.advance(50);
  s.runPending();
  assert.deepEqual(log, []);
});

Deno.test("the real clock drains the run queue asynchronously", async () => {
  const s = new Scheduler();
  const log: string[] = [];
  const t = s.newTask(new Recorder("x", log));
  s.wake(t, TASK_WOKEN_IO);
  assert.deepEqual(log, []);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(log, ["x"]);
  s.stop();
});

Deno.test("a task that throws is killed and reported; the other tasks still run", () => {
  const s = new Scheduler(new FakeClock());
  const log: string[] = [];
  const crashes: unknown[] = [];
  s.onCrash = (_t, e) => crashes.push(e);
  const bad = s.newTask({
    process(): void {
      throw new TypeError("bug in one stream");
    },
  });
  const good = s.newTask(new Recorder("good", log));
  s.wake(bad, TASK_WOKEN_IO);
  s.wake(good, TASK_WOKEN_IO);
  s.runPending();
  assert.deepEqual(log, ["good"]);
  assert.equal(crashes.length, 1);
  assert.match(String(crashes[0]), /bug in one stream/);
  // The crashed task never runs again.
  s.wake(bad, TASK_WOKEN_IO);
  s.runPending();
  assert.equal(crashes.length, 1);
});

Deno.test("killing tasks removes their timer entries: nothing keeps a dead owner alive", () => {
  const clock = new FakeClock();
  const s = new Scheduler(clock);
  const tasks: Task[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = s.newTask({ process(): void {} });
    t.expire = clock.t + 60_000 + i;
    s.queue(t);
    tasks.push(t);
  }
  assert.equal(s.waitQueueLength(), 1000);
  // Short connections ending long before their timeout.
  for (let i = 0; i < 1000; i += 2) s.kill(tasks[i]!);
  assert.equal(s.waitQueueLength(), 500);
  for (let i = 1; i < 1000; i += 2) s.kill(tasks[i]!);
  assert.equal(s.waitQueueLength(), 0);
});

Deno.test("timer wake-ups stay exact under random expiries, refreshes and kills", () => {
  const clock = new FakeClock();
  const s = new Scheduler(clock);
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const woken: number[] = [];
  const tasks: Task[] = [];
  const exp: number[] = [];
  const dead: boolean[] = [];
  for (let i = 0; i < 300; i++) {
    const id = i;
    const t = s.newTask({
      process(task: Task): void {
        woken.push(id);
        task.expire = 0; // no further expiry
      },
    });
    tasks.push(t);
    exp.push(clock.t + 1 + rnd(1000));
    dead.push(false);
    t.expire = exp[i]!;
    s.queue(t);
  }
  // Move some expiries earlier, some later (lazily), kill some.
  for (let k = 0; k < 300; k++) {
    const i = rnd(300);
    const op = rnd(3);
    if (dead[i]) continue;
    if (op === 0) {
      s.kill(tasks[i]!);
      dead[i] = true;
    } else {
      exp[i] = clock.t + 1 + rnd(1000);
      tasks[i]!.expire = exp[i]!;
      s.queue(tasks[i]!);
    }
  }
  // Step through time: at each step exactly the live tasks whose expiry passed run.
  const start = clock.t;
  for (let step = 50; step <= 1100; step += 50) {
    woken.length = 0;
    clock.advance(start + step - clock.t);
    s.runPending();
    const want = [];
    for (let i = 0; i < 300; i++) {
      if (!dead[i] && exp[i]! <= start + step && exp[i]! > start + step - 50) want.push(i);
    }
    assert.deepEqual(woken.sort((a, b) => a - b), want, `step ${step}`);
  }
  assert.equal(s.waitQueueLength(), 0);
});
