// Health checks over real sockets (TCP connect checks), HAProxy semantics:
// rise/fall and the exact state-change log lines, intervals (inter,
// fastinter, downinter), connect timeouts against a blackhole, the balancer
// following the server state, admin actions, and stop() leaving nothing
// behind. Every check runs on one Scheduler driven by one host timer.

import assert from "node:assert/strict";
import { Backend } from "../../src/backend/backend.ts";
import type { Server } from "../../src/backend/server.ts";
import type { Address, ServerConfig } from "../../src/config/types.ts";
import type { Conn, Protocol } from "../../src/listener/protocol.ts";
import { denoConn } from "../../src/listener/deno_conn.ts";
import { protoTcp } from "../../src/listener/proto_tcp.ts";
import { Scheduler } from "../../src/task/scheduler.ts";
import { type Clock, realClock, TICK_ETERNITY } from "../../src/task/ticks.ts";
import { TASK_KILLED } from "../../src/task/types.ts";
import {
  type CheckManager,
  checkStateOf,
  HCHK_STATUS_L4CON,
  HCHK_STATUS_L4OK,
  HCHK_STATUS_L4TOUT,
  type ServerCheckView,
  setDrain,
  setMaint,
  setReady,
  startChecks,
  statsCheckState,
} from "../../src/check/mod.ts";
import { LogRecorder } from "../_helpers/log_recorder.ts";
import { backend, server, timeouts } from "../_helpers/runtime_config.ts";
import { blackholeServer, deadPort } from "../_helpers/servers.ts";

const WAIT_MS = 5_000;

/** Rejects if `p` does not settle within `ms`; never leaks its timer. */
async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/** One completed check as seen by onCheck. */
interface Seen {
  name: string;
  at: number;
  state: string;
  status: number;
  /** Interval chosen for the next check. */
  next: number;
}

/** Records every completed check; tests await a condition on the record. */
class Watch {
  readonly seen: Seen[] = [];
  hook: ((s: Seen, c: ServerCheckView) => void) | null = null;
  #waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];
  readonly onCheck = (c: ServerCheckView): void => {
    const s: Seen = {
      name: c.server.name,
      at: performance.now(),
      state: c.stateText(),
      status: c.status,
      next: c.interval(),
    };
    this.seen.push(s);
    this.hook?.(s, c);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  };
  of(name: string): Seen[] {
    return this.seen.filter((s) => s.name === name);
  }
  until(pred: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (pred()) return Promise.resolve();
    return deadline(
      new Promise<void>((resolve) => this.#waiters.push({ pred, resolve })),
      ms,
      `${what}; checks seen: ${JSON.stringify(this.seen.map((s) => [s.name, s.state]))}`,
    );
  }
}

/** A TCP port that can stop and resume listening; accepts, waits for EOF, closes. */
class Target {
  port: number;
  #l: Deno.TcpListener | null = null;
  #loops = new Set<Promise<void>>();
  constructor() {
    this.port = 0;
    this.listen();
  }
  listen(): void {
    const l = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.port = (l.addr as Deno.NetAddr).port;
    this.#l = l;
    const loop = this.#accept(l);
    this.#loops.add(loop);
    loop.then(() => this.#loops.delete(loop));
  }
  async #accept(l: Deno.TcpListener): Promise<void> {
    const handlers: Promise<void>[] = [];
    for (;;) {
      let c: Deno.TcpConn;
      try {
        c = await l.accept();
      } catch {
        break;
      }
      handlers.push((async () => {
        const buf = new Uint8Array(64);
        try {
          while ((await c.read(buf)) !== null) { /* discard */ }
        } catch { /* reset */ }
        try {
          c.close();
        } catch { /* closed */ }
      })());
    }
    await Promise.all(handlers);
  }
  /** Stops listening now (connects are refused from here on). */
  down(): void {
    try {
      this.#l?.close();
    } catch { /* closed */ }
    this.#l = null;
  }
  async close(): Promise<void> {
    this.down();
    await Promise.all([...this.#loops]);
  }
}

interface Rig {
  be: Backend;
  sched: Scheduler;
  log: LogRecorder;
  watch: Watch;
  mgr: CheckManager;
  srv(name: string): Server;
  check(name: string): ServerCheckView;
}

/** Builds a backend from `servers`, starts its checks, and always cleans up. */
async function withChecks(
  servers: ServerConfig[],
  body: (r: Rig) => Promise<void>,
  opts: {
    be?: Parameters<typeof backend>[2];
    proto?: Protocol;
    clock?: Clock;
    cleanup?: () => Promise<void>;
  } = {},
): Promise<void> {
  const be = new Backend(0, backend("be", servers, opts.be ?? {}));
  const sched = new Scheduler(opts.clock ?? realClock);
  const log = new LogRecorder();
  const watch = new Watch();
  const mgr = startChecks({
    sched,
    logger: log,
    proto: opts.proto ?? protoTcp,
    backends: [be],
    onCheck: watch.onCheck,
  });
  const srv = (name: string) => be.servers.find((s) => s.name === name)!;
  try {
    await body({ be, sched, log, watch, mgr, srv, check: (n) => checkStateOf(srv(n))! });
  } finally {
    const stopped = mgr.stop();
    sched.stop();
    await opts.cleanup?.();
    await stopped;
  }
}

const REQ = { src: "127.0.0.1", uri: null, header: () => null };

/** Names of `n` successive picks. */
function picks(be: Backend, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(be.assign(REQ, null)?.name ?? "-");
  return out;
}

Deno.test("tcp check: DOWN after `fall` failures when the port stops listening, UP after `rise` successes", async () => {
  const target = new Target();
  const other = new Target();
  await withChecks(
    [
      server("s1", target.port, {
        check: true,
        inter: 40,
        fastinter: 40,
        downinter: 40,
        rise: 2,
        fall: 3,
      }),
      server("s2", other.port),
    ],
    async ({ be, log, watch, srv, check }) => {
      const c = check("s1");
      // HAProxy starts a checked server UP with health = rise ("going down").
      assert.equal(c.stateText(), "UP 1/3");
      assert.equal(check("s2").stateText(), "no check");
      await watch.until(() => c.stateText() === "UP", "s1 fully UP");
      assert.equal(c.status, HCHK_STATUS_L4OK);

      target.down();
      const down = await log.waitFor(/Server be\/s1 is DOWN/);
      assert.match(
        down,
        /^WARNING Server be\/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 1 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.$/,
      );
      const states = watch.of("s1").map((s) => s.state);
      const lastUp = states.lastIndexOf("UP");
      assert.deepEqual(states.slice(lastUp + 1), ["UP 2/3", "UP 1/3", "DOWN"]);
      assert.equal(c.status, HCHK_STATUS_L4CON);
      assert.equal(c.checksFailed, 3);
      assert.equal(c.downTransitions, 1);
      assert.equal(srv("s1").usable, false);
      assert.deepEqual(picks(be, 4), ["s2", "s2", "s2", "s2"]);
      assert.ok(!log.lines.some((l) => l.startsWith("ALERT")), "s2 is left: no alert");

      target.listen();
      const up = await log.waitFor(/Server be\/s1 is UP/);
      assert.match(
        up,
        /^WARNING Server be\/s1 is UP, reason: Layer4 check passed, check duration: \d+ms\. 2 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue\.$/,
      );
      const after = watch.of("s1").map((s) => s.state);
      const lastDown = after.lastIndexOf("DOWN");
      assert.deepEqual(after.slice(lastDown + 1), ["DOWN 1/2", "UP"]);
      assert.equal(srv("s1").usable, true);
      assert.ok(c.downtime() > 0, "downtime was accounted");
      assert.deepEqual(new Set(picks(be, 4)), new Set(["s1", "s2"]));
    },
    { cleanup: async () => await Promise.all([target.close(), other.close()]).then(() => {}) },
  );
});

Deno.test("tcp check: a server starts UP but its first failed check takes it DOWN; the last one raises an alert", async () => {
  await withChecks(
    [server("s1", deadPort(), { check: true, inter: 1000, fastinter: 1000, downinter: 1000 })],
    async ({ log, check }) => {
      const alert = await log.waitFor(/^ALERT/);
      assert.equal(alert, "ALERT backend be has no server available!");
      const down = log.lines.indexOf(log.lines.find((l) => l.includes("is DOWN"))!);
      assert.ok(down >= 0 && down < log.lines.indexOf(alert), "DOWN is logged before the alert");
      assert.match(log.lines[down]!, /0 active and 0 backup servers left\./);
      const c = check("s1");
      assert.equal(c.checksFailed, 1);
      assert.equal(c.stateText(), "DOWN");
    },
  );
});

Deno.test("tcp check: a DOWN server is out of the balancer (lb.update() is called) and backups take over", async () => {
  const backup = new Target();
  let updates = 0;
  await withChecks(
    [
      server("s1", deadPort(), { check: true, inter: 1000, rise: 1, fall: 1 }),
      server("b1", backup.port, { backup: true }),
    ],
    async ({ be, log }) => {
      const lb = be.lb;
      const update = lb.update.bind(lb);
      lb.update = () => {
        updates++;
        update();
      };
      assert.deepEqual(picks(be, 2), ["s1", "s1"]);
      const down = await log.waitFor(/Server be\/s1 is DOWN/);
      assert.match(
        down,
        /\. 0 active and 1 backup servers left\. Running on backup\. 0 sessions active, 0 requeued, 0 remaining in queue\.$/,
      );
      assert.ok(updates >= 1, "lb.update() was called");
      assert.deepEqual(picks(be, 3), ["b1", "b1", "b1"]);
      assert.ok(!log.lines.some((l) => l.startsWith("ALERT")), "a backup is left: no alert");
    },
    { cleanup: () => backup.close() },
  );
});

Deno.test("tcp check: inter while stable, fastinter while changing, downinter while DOWN", async () => {
  const target = new Target();
  const INTER = 500, FAST = 40, DOWN = 200;
  await withChecks(
    [
      server("s1", target.port, {
        check: true,
        inter: INTER,
        fastinter: FAST,
        downinter: DOWN,
        rise: 2,
        fall: 2,
      }),
    ],
    async ({ watch }) => {
      // Phases driven from the check results themselves: 2 successes, 3
      // failures, 2 successes.
      let n = 0;
      watch.hook = () => {
        n++;
        if (n === 2) target.down();
        if (n === 5) target.listen();
      };
      await watch.until(() => n >= 7, "7 checks");
      watch.hook = null;
      const seen = watch.of("s1").slice(0, 7);
      assert.deepEqual(seen.map((s) => s.state), [
        "UP",
        "UP",
        "UP 1/2",
        "DOWN",
        "DOWN",
        "DOWN 1/2",
        "UP",
      ]);
      assert.deepEqual(seen.map((s) => s.next), [INTER, INTER, FAST, DOWN, DOWN, FAST, INTER]);
      for (let i = 1; i < seen.length; i++) {
        const gap = seen[i]!.at - seen[i - 1]!.at;
        const want = seen[i - 1]!.next;
        assert.ok(
          gap >= want - 2 && gap <= want + 120,
          `check ${i + 1} came ${gap.toFixed(1)} ms after the previous one, expected ~${want} ms`,
        );
      }
    },
    { cleanup: () => target.close() },
  );
});

Deno.test("tcp check: a blackholed server fails with Layer4 timeout after the connect timeout", async () => {
  const bh = await blackholeServer();
  await withChecks(
    [server("s1", bh.port, { check: true, inter: 1000, fastinter: 1000, downinter: 1000 })],
    async ({ log, check }) => {
      const down = await log.waitFor(/Server be\/s1 is DOWN/);
      const m =
        /^WARNING Server be\/s1 is DOWN, reason: Layer4 timeout, check duration: (\d+)ms\. 0 active/
          .exec(down);
      assert.ok(m !== null, down);
      const ms = Number(m[1]);
      // min(inter, timeout connect) applies because timeout check is set.
      assert.ok(ms >= 145 && ms < 900, `check duration ${ms} ms, expected ~150 ms`);
      assert.equal(check("s1").status, HCHK_STATUS_L4TOUT);
    },
    {
      be: { timeouts: timeouts({ connect: 150, check: 150 }) },
      // The connect still hangs in the kernel: closing the blackhole makes its
      // next SYN get a reset, so stop() can settle.
      cleanup: () => bh.close(),
    },
  );
});

Deno.test("tcp check: the connect gets an abort signal, so a protocol that honours it frees a hanging connect", async () => {
  const bh = await blackholeServer();
  let aborted = 0;
  const proto: Protocol = {
    name: "tcp-signal",
    bind: protoTcp.bind,
    // A second parameter is what a signal-aware protocol would declare.
    async connect(addr: Address, signal?: AbortSignal): Promise<Conn> {
      assert.ok(addr.kind === "tcp" && signal !== undefined);
      signal.addEventListener("abort", () => aborted++);
      return denoConn(await Deno.connect({ hostname: addr.host, port: addr.port, signal }));
    },
  };
  try {
    await withChecks(
      [server("s1", bh.port, { check: true, inter: 120, fastinter: 120, downinter: 5000 })],
      async ({ log }) => {
        await log.waitFor(/reason: Layer4 timeout/);
        assert.ok(aborted >= 1);
      },
      { proto }, // no cleanup needed: stop() settles without closing the blackhole
    );
  } finally {
    await bh.close();
  }
});

Deno.test("tcp check: one host timer drives every check, first checks are spread, stop() kills every task", async () => {
  const target = new Target();
  let live = 0, maxLive = 0;
  const clock: Clock = {
    now: realClock.now,
    setTimer(fn, ms) {
      live++;
      maxLive = Math.max(maxLive, live);
      return setTimeout(() => {
        live--;
        fn();
      }, ms);
    },
    clearTimer(h) {
      live--;
      clearTimeout(h as ReturnType<typeof setTimeout>);
    },
  };
  const N = 20;
  const servers = Array.from(
    { length: N },
    (_, i) => server(`s${i}`, target.port, { check: true, inter: 40, fastinter: 40 }),
  );
  await withChecks(
    servers,
    async ({ watch, mgr, sched }) => {
      await watch.until(
        () => servers.every((s) => watch.of(s.name).length >= 3),
        "3 checks of every server",
      );
      assert.equal(maxLive, 1, "never more than one host timer");
      // First runs are spread over the interval by position (HAProxy's start_checks()).
      const firsts = servers.map((s) => watch.of(s.name)[0]!.at);
      const spread = Math.max(...firsts) - Math.min(...firsts);
      assert.ok(spread >= 20, `first checks spread over ${spread.toFixed(1)} ms only`);

      await mgr.stop();
      for (const c of mgr.checks) assert.ok(c.task !== null && (c.task.state & TASK_KILLED));
      assert.equal(sched.runQueueLength(), 0);
      const count = watch.seen.length;
      sched.runPending();
      assert.equal(watch.seen.length, count, "no check after stop()");
    },
    { clock, cleanup: () => target.close() },
  );
});

Deno.test("tcp check: maintenance, drain and ready, from the stats page's admin actions", async () => {
  const target = new Target();
  const other = new Target();
  await withChecks(
    [
      server("s1", target.port, { check: true, inter: 30, fastinter: 30, downinter: 30 }),
      server("s2", other.port),
      server("s3", target.port, { check: true, disabled: true, inter: 30 }),
    ],
    async ({ be, log, watch, mgr, srv, check }) => {
      const c1 = check("s1");
      await watch.until(() => c1.stateText() === "UP", "s1 fully UP");
      assert.equal(check("s3").stateText(), "MAINT", "disabled starts in maintenance");
      assert.equal(srv("s3").usable, false);

      // Maintenance: out of the balancer, checks paused.
      assert.ok(setMaint(srv("s1"), true));
      assert.equal(
        await log.waitFor(/s1 is going DOWN/),
        "WARNING Server be/s1 is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
      );
      assert.equal(c1.stateText(), "MAINT");
      assert.equal(srv("s1").usable, false);
      assert.equal(c1.downTransitions, 1);
      assert.equal(mgr.stateOf(srv("s1"))!.task!.expire, TICK_ETERNITY, "no check scheduled");
      assert.deepEqual(picks(be, 3), ["s2", "s2", "s2"]);

      // Ready: back at once, checked at once.
      const before = watch.of("s1").length;
      assert.ok(setReady(srv("s1")));
      assert.equal(
        await log.waitFor(/s1 is UP \(leaving/),
        "WARNING Server be/s1 is UP (leaving forced maintenance).",
      );
      assert.equal(srv("s1").usable, true);
      await watch.until(() => watch.of("s1").length > before, "a check right after ready");
      assert.equal(c1.stateText(), "UP");

      // Drain: weight 0, still usable and checked, no new balanced traffic.
      assert.ok(setDrain(srv("s1"), true));
      assert.match(
        await log.waitFor(/s1 enters drain/),
        /^WARNING Server be\/s1 enters drain state\. 1 active and 0 backup servers left\./,
      );
      assert.equal(srv("s1").weight, 0);
      assert.equal(srv("s1").usable, true);
      assert.equal(c1.stateText(), "DRAIN");
      assert.deepEqual(picks(be, 3), ["s2", "s2", "s2"]);
      const drained = watch.of("s1").length;
      await watch.until(() => watch.of("s1").length > drained, "a check while drained");
      assert.ok(setDrain(srv("s1"), false));
      assert.equal(
        await log.waitFor(/leaving drain/),
        "WARNING Server be/s1 is UP (leaving drain).",
      );
      assert.equal(srv("s1").weight, 1);
      assert.deepEqual(new Set(picks(be, 4)), new Set(["s1", "s2"]));

      // The disabled server was never checked; ready brings it in.
      assert.equal(check("s3").checksPassed + check("s3").checksFailed, 0);
      assert.ok(setReady(srv("s3")));
      await watch.until(() => watch.of("s3").length >= 1, "s3 checked once ready");
      assert.equal(srv("s3").usable, true);

      // Maintenance on the last usable servers raises the alert.
      setMaint(srv("s1"), true);
      setMaint(srv("s3"), true);
      setMaint(srv("s2"), true);
      assert.equal(await log.waitFor(/^ALERT/), "ALERT backend be has no server available!");
      assert.equal(check("s2").stateText(), "MAINT");
      setMaint(srv("s2"), false);
      assert.equal(check("s2").stateText(), "no check");
    },
    { cleanup: async () => await Promise.all([target.close(), other.close()]).then(() => {}) },
  );
});

Deno.test("tcp check: option log-health-checks logs each check and shortens the state line", async () => {
  await withChecks(
    [server("s1", deadPort(), { check: true, inter: 1000, rise: 2, fall: 3 })],
    async ({ log }) => {
      const chk = await log.waitFor(/Health check for server/);
      assert.match(
        chk,
        /^WARNING Health check for server be\/s1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms, status: 0\/2 DOWN\.$/,
      );
      assert.equal(
        await log.waitFor(/is DOWN/),
        "WARNING Server be/s1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
      );
    },
    { be: { options: new Set(["log-health-checks"]) } },
  );
});

Deno.test("tcp check: addr and port of the server line are where the check connects", async () => {
  const target = new Target();
  await withChecks(
    [server("s1", deadPort(), { check: true, inter: 1000, checkPort: target.port })],
    async ({ watch, check }) => {
      await watch.until(() => watch.of("s1").length >= 1, "one check");
      assert.equal(check("s1").status, HCHK_STATUS_L4OK);
      assert.equal(check("s1").stateText(), "UP");
    },
    { cleanup: () => target.close() },
  );
});

Deno.test("statsCheckState: the stats snapshot's view of a checked and an unchecked server", async () => {
  await withChecks(
    [server("s1", deadPort(), { check: true, inter: 1000 }), server("s2", deadPort())],
    async ({ log, srv }) => {
      await log.waitFor(/s1 is DOWN/);
      const s1 = statsCheckState(srv("s1"))!;
      assert.equal(s1.status, "DOWN");
      assert.equal(s1.lastCheck, "L4CON");
      assert.equal(s1.desc, "Connection refused");
      assert.equal(s1.checkFails, 1);
      assert.equal(s1.checkDowns, 1);
      assert.equal(s1.health, 0);
      assert.equal(s1.checked, true);
      assert.ok(s1.checkDuration >= 0);
      assert.ok(!("checkCode" in s1), "no code for a layer 4 check");
      const s2 = statsCheckState(srv("s2"))!;
      assert.equal(s2.status, "no check");
      assert.equal(s2.lastCheck, "INI");
      assert.equal(s2.checked, false);
    },
  );
});
