// Health checks: one task per checked server on the process scheduler
// (HAProxy's check.c: process_chk_conn(), set_server_check_status(),
// check_notify_failure/success(), srv_getinter(), start_checks(); and the
// state-change messages of server.c).
//
// A ServerCheck exists for every server of every backend, so that the stats
// page can read a state and run admin actions (maintenance, drain) on any
// server; only servers with `check` get a task. The task is driven by the
// scheduler's single host timer: its expiry is the next check while idle, the
// check deadline while a check runs. I/O completions never decide anything:
// they store an outcome and wake the task, which applies it in process().
//
// Health follows HAProxy: a counter in 0..rise+fall-1, UP while >= rise. A
// server starts UP with health = rise ("up, but will fall down at first
// failure"): one failed check before any success takes it DOWN; once fully up
// it needs `fall` consecutive failures, and once DOWN `rise` consecutive
// successes. This file never opens a socket itself (tcp_check.ts goes through
// the Protocol) and never arms a timer.

import type { Backend } from "../backend/backend.ts";
import { srvIsUsable } from "../backend/lb_types.ts";
import type { Server } from "../backend/server.ts";
import type { Address } from "../config/types.ts";
import type { Conn, Protocol } from "../listener/protocol.ts";
import type { Scheduler } from "../task/scheduler.ts";
import { TICK_ETERNITY, tickIsExpired } from "../task/ticks.ts";
import { type Task, TASK_WOKEN_IO, TASK_WOKEN_MSG } from "../task/types.ts";
import {
  buildHttpCheckRequest,
  compileHttpCheck,
  type HttpCheckSpec,
  runHttpExchange,
} from "./http_check.ts";
import {
  addressText,
  checkAddress,
  closeConn,
  connectErrorOutcome,
  connectForCheck,
  l4okOutcome,
  socketErrorOutcome,
  withCheckProxyHeader,
} from "./tcp_check.ts";
import {
  type CheckOutcome,
  checkStatusDesc,
  checkStatusName,
  checkStatusResult,
  CHK_KIND_HTTP,
  CHK_KIND_TCP,
  CHK_RES_CONDPASS,
  CHK_RES_FAILED,
  CHK_RES_PASSED,
  CHK_ST_CONFIGURED,
  CHK_ST_CONNECTED,
  CHK_ST_ENABLED,
  CHK_ST_INPROGRESS,
  CHK_ST_PAUSED,
  HCHK_STATUS_INI,
  HCHK_STATUS_L4TOUT,
  HCHK_STATUS_L57DATA,
  HCHK_STATUS_L7TOUT,
  type ServerCheckView,
  SRV_ADMF_DRAIN,
  SRV_ADMF_MAINT,
} from "./types.ts";

/** Checks with an interval at least this long set the start-up spread (SRV_CHK_INTER_THRES). */
const SPREAD_INTER_THRES = 1000;
/** Longest info text kept, as HAProxy's HCHK_DESC_LEN - 1. */
const DESC_MAX = 127;

const encoder = new TextEncoder();

/** What the checks write to: the process Logger fits. */
export interface CheckLogger {
  notice(msg: string): void;
  warning(msg: string): void;
  alert(msg: string): void;
}

/** Optional link to the queueing layer (HAProxy's pendconn_redistribute/grab). */
export interface CheckHooks {
  /**
   * `srv` went down (`up` false: move the streams waiting in its queue
   * elsewhere) or came up (`up` true: let it take waiting streams). Returns
   * how many streams moved, for the "N requeued" of the state-change line.
   */
  requeue(srv: Server, up: boolean): number;
}

/** What startChecks() needs of the process (a Process satisfies it). */
export interface CheckCtx {
  readonly sched: Scheduler;
  readonly logger: CheckLogger;
  readonly proto: Protocol;
  readonly backends: readonly Backend[];
  /** Queue integration; without it nothing is requeued and messages say "0 requeued". */
  readonly checkHooks?: CheckHooks;
  /** Called after every completed check, once health and state are updated (stats, tests). */
  readonly onCheck?: (c: ServerCheckView) => void;
}

/** Shared by the checks of one manager. */
interface CheckEnv {
  readonly sched: Scheduler;
  readonly logger: CheckLogger;
  readonly proto: Protocol;
  readonly hooks: CheckHooks | null;
  readonly onCheck: ((c: ServerCheckView) => void) | null;
  /** I/O chains of check runs not settled yet (stop() awaits them). */
  readonly inflight: Set<Promise<void>>;
}

const STATES = new WeakMap<Server, ServerCheck>();

/** The check state of `server`, or null when no manager was started for it. */
export function checkStateOf(server: Server): ServerCheckView | null {
  return STATES.get(server) ?? null;
}

/**
 * A server's check state in the shape of the stats snapshot's CheckState
 * (src/stats/snapshot.ts), so that `statsCheckState` can be passed as its
 * CheckStateProvider. Null when no manager was started for the server.
 */
export function statsCheckState(server: Server): StatsCheckState | null {
  const c = STATES.get(server);
  if (c === undefined) return null;
  const out: StatsCheckState = {
    status: c.stateText(),
    lastCheck: checkStatusName(c.status),
    checkDuration: c.duration,
    lastChange: c.lastChange,
    downtime: c.downtime(),
    checkFails: c.checksFailed,
    checkDowns: c.downTransitions,
    health: c.health,
    desc: c.desc,
    checked: c.enabled,
  };
  if (c.code > 0) out.checkCode = c.code;
  return out;
}

/** See statsCheckState(); field for field the stats snapshot's CheckState. */
export interface StatsCheckState {
  /** stateText(): "UP", "UP 1/3", "DOWN", "DOWN 1/2", "DRAIN", "MAINT", "no check". */
  status: string;
  /** Short name of the last status: "L4OK", "L7STS", ... ("INI" before the first check). */
  lastCheck: string;
  checkDuration: number;
  lastChange: number;
  downtime: number;
  /** HTTP code of the last layer 7 check; absent when there is none. */
  checkCode?: number;
  checkFails: number;
  checkDowns: number;
  health: number;
  desc: string;
  checked: boolean;
}

/** Admin action: puts `server` in (on) or out of (off) maintenance. False if unknown. */
export function setMaint(server: Server, on: boolean): boolean {
  const c = STATES.get(server);
  if (c === undefined) return false;
  c.setMaint(on);
  return true;
}

/** Admin action: drains `server` (effective weight 0) or ends the drain. False if unknown. */
export function setDrain(server: Server, on: boolean): boolean {
  const c = STATES.get(server);
  if (c === undefined) return false;
  c.setDrain(on);
  return true;
}

/**
 * Admin action: sets the weight (HAProxy's `set weight`). A drained server
 * keeps weight 0 and gets `w` back when the drain ends. The caller updates
 * the balancer.
 */
export function setWeight(server: Server, w: number): boolean {
  const c = STATES.get(server);
  if (c === undefined) server.weight = w;
  else c.setWeight(w);
  return true;
}

/** Admin action: ends maintenance and drain (HAProxy's "set server state ready"). */
export function setReady(server: Server): boolean {
  const c = STATES.get(server);
  if (c === undefined) return false;
  c.setMaint(false);
  c.setDrain(false);
  return true;
}

/**
 * Runtime API `set server health`: forces `server` up, stopping (NOLB) or
 * down (see ServerCheck.forceHealth). False if no manager owns it.
 */
export function forceHealth(server: Server, state: "up" | "stopping" | "down"): boolean {
  const c = STATES.get(server);
  if (c === undefined) return false;
  c.forceHealth(state);
  return true;
}

/**
 * Runtime API `enable|disable health`: resumes or suspends the checks of
 * `server`. False when it has no check task (no `check`, or no manager).
 */
export function setChecksEnabled(server: Server, on: boolean): boolean {
  return STATES.get(server)?.setChecksEnabled(on) ?? false;
}

/** `server.address` changed at run time: its checks follow. */
export function serverReaddressed(server: Server): void {
  STATES.get(server)?.readdress();
}

/**
 * Escapes an info text as HAProxy's chunk_asciiencode(): printable ASCII
 * kept, `"` and `\` backslash-escaped, every other byte as \xHH.
 */
function asciiEncode(s: string): string {
  let out = "";
  for (const b of encoder.encode(s)) {
    if (b >= 0x20 && b < 0x7f) {
      out += b === 0x22 || b === 0x5c ? "\\" + String.fromCharCode(b) : String.fromCharCode(b);
    } else out += "\\x" + b.toString(16).padStart(2, "0");
  }
  return out;
}

/** One server's check: state, counters, and (when `check` is set) its task. */
export class ServerCheck implements ServerCheckView {
  readonly server: Server;
  readonly backend: Backend;
  readonly enabled: boolean;
  readonly kind: number;
  readonly rise: number;
  readonly fall: number;
  /** Intervals in ms (fastinter/downinter already default to inter in the config). */
  readonly inter: number;
  readonly fastinter: number;
  readonly downinter: number;
  health: number;
  up: boolean;
  admin: number;
  status: number;
  code: number;
  desc: string;
  duration: number;
  lastCheck: number;
  lastChange: number;
  downTransitions: number;
  checksPassed: number;
  checksFailed: number;
  /** CHK_ST_* bits. */
  flags: number;
  /** The check task; null for a server without `check`. */
  readonly task: Task | null;
  readonly #env: CheckEnv;
  #addr: Address;
  readonly #http: HttpCheckSpec | null;
  #request: Uint8Array | null;
  /** Forced "stopping" by the runtime API (HAProxy's NOLB): up, no new balanced traffic. */
  #nolb: boolean;
  readonly #logChecks: boolean;
  /** Downtime accumulated over finished DOWN periods, in ms. */
  #downTotal: number;
  /** Weight to restore when a drain ends. */
  #savedWeight: number;
  /** Identifies the current run; a completion carrying another value is stale. */
  #seq: number;
  /** performance.now() at the start of the current run. */
  #start: number;
  #conn: Conn | null;
  #abort: AbortController | null;
  /** Outcome stored by the I/O side, applied by the next process(). */
  #outcome: CheckOutcome | null;

  constructor(server: Server, backend: Backend, env: CheckEnv, http: HttpCheckSpec | null) {
    const cfg = server.cfg;
    this.server = server;
    this.backend = backend;
    this.enabled = cfg.check;
    this.kind = http !== null ? CHK_KIND_HTTP : CHK_KIND_TCP;
    this.rise = cfg.rise;
    this.fall = cfg.fall;
    this.inter = cfg.inter;
    this.fastinter = cfg.fastinter > 0 ? cfg.fastinter : cfg.inter;
    this.downinter = cfg.downinter > 0 ? cfg.downinter : cfg.inter;
    this.health = cfg.rise; // up, but will fall down at first failure
    this.admin = cfg.disabled ? SRV_ADMF_MAINT : 0;
    this.up = !cfg.disabled;
    this.status = HCHK_STATUS_INI;
    this.code = 0;
    this.desc = "";
    this.duration = -1;
    this.lastCheck = 0;
    this.lastChange = Date.now();
    this.downTransitions = 0;
    this.checksPassed = 0;
    this.checksFailed = 0;
    this.flags = cfg.check ? CHK_ST_CONFIGURED | CHK_ST_ENABLED : 0;
    if (cfg.disabled) this.flags |= CHK_ST_PAUSED;
    this.task = cfg.check ? env.sched.newTask(this) : null;
    this.#env = env;
    this.#addr = checkAddress(server);
    this.#http = cfg.check ? http : null;
    this.#request = this.#http === null ? null : withCheckProxyHeader(
      server,
      buildHttpCheckRequest(
        this.#http,
        server.address.kind === "unix" ? "localhost" : addressText(server.address),
      ),
    );
    this.#logChecks = backend.cfg.options.has("log-health-checks");
    this.#nolb = false;
    this.#downTotal = 0;
    this.#savedWeight = server.weight;
    this.#seq = 0;
    this.#start = 0;
    this.#conn = null;
    this.#abort = null;
    this.#outcome = null;
    this.#applyUsable();
  }

  // ---- View ----

  downtime(nowEpoch: number = Date.now()): number {
    return this.#downTotal + (this.up ? 0 : Math.max(0, nowEpoch - this.lastChange));
  }

  stateText(): string {
    if (this.admin & SRV_ADMF_MAINT) return "MAINT";
    const full = this.rise + this.fall - 1;
    if (this.up) {
      const going = this.enabled && this.health < full;
      const frac = `${this.health - this.rise + 1}/${this.fall}`;
      if (this.admin & SRV_ADMF_DRAIN) return going ? `DRAIN ${frac}` : "DRAIN";
      if (this.#nolb) return going ? `NOLB ${frac}` : "NOLB";
      if (going) return `UP ${frac}`;
      return this.enabled ? "UP" : "no check";
    }
    if (!this.enabled || this.health === 0) return "DOWN";
    return `DOWN ${this.health}/${this.rise}`;
  }

  /** HAProxy's srv_getinter(): inter when fully up, downinter when fully down, else fastinter. */
  interval(): number {
    if (this.health === this.rise + this.fall - 1) return this.inter;
    if (!this.up && this.health === 0) return this.downinter;
    return this.fastinter;
  }

  // ---- Task ----

  /**
   * Runs on the scheduler. While a check is in flight: applies the outcome
   * the I/O side stored, or turns an expired deadline into L4TOUT (not
   * connected yet) or L7TOUT. While idle: starts a check when the expiry
   * passed; when woken early, only brings the expiry forward if the current
   * interval got shorter. Always leaves task.expire set.
   */
  process(task: Task): void {
    const now = this.#env.sched.now;
    if (this.flags & CHK_ST_INPROGRESS) {
      if (this.#outcome === null) {
        if (!tickIsExpired(task.expire, now)) return; // woken early, deadline unchanged
        const status = this.flags & CHK_ST_CONNECTED ? HCHK_STATUS_L7TOUT : HCHK_STATUS_L4TOUT;
        this.#outcome = { status, code: 0, desc: "" };
      }
      this.#finish(now, task);
      return;
    }
    if ((this.flags & (CHK_ST_ENABLED | CHK_ST_PAUSED)) !== CHK_ST_ENABLED) {
      task.expire = TICK_ETERNITY;
      return;
    }
    if (task.expire !== TICK_ETERNITY && !tickIsExpired(task.expire, now)) {
      const exp = now + this.interval();
      if (exp < task.expire) task.expire = exp;
      return;
    }
    this.#startCheck(now, task);
  }

  /**
   * Starts one run: connect deadline is `inter`, or min(inter, timeout
   * connect) when `timeout check` is set (HAProxy's rule); once connected,
   * an HTTP check gets `timeout check` for the rest when it is set.
   */
  #startCheck(now: number, task: Task): void {
    this.flags = (this.flags | CHK_ST_INPROGRESS) & ~CHK_ST_CONNECTED;
    this.#outcome = null;
    this.#start = performance.now();
    const seq = ++this.#seq;
    const t = this.backend.cfg.timeouts;
    let exp = now + this.inter;
    if (t.check > 0 && t.connect > 0 && now + t.connect < exp) exp = now + t.connect;
    task.expire = exp;
    const ac = new AbortController();
    this.#abort = ac;
    let p: Promise<void>;
    try {
      p = connectForCheck(this.#env.proto, this.#addr, ac.signal).then(
        (c) => this.#connected(c, seq),
        (e) => this.#report(seq, connectErrorOutcome(e)),
      );
    } catch (e) {
      p = Promise.resolve();
      this.#report(seq, connectErrorOutcome(e));
    }
    const inflight = this.#env.inflight;
    inflight.add(p);
    p.then(() => inflight.delete(p));
  }

  /** The connection of run `seq` is established: L4OK, or the HTTP exchange. */
  async #connected(c: Conn, seq: number): Promise<void> {
    if (seq !== this.#seq) {
      closeConn(c); // late: the run timed out or was aborted
      return;
    }
    this.#conn = c;
    if (this.#http === null) {
      this.#report(seq, l4okOutcome());
      return;
    }
    this.flags |= CHK_ST_CONNECTED;
    const tc = this.backend.cfg.timeouts.check;
    const task = this.task!;
    if (tc > 0) {
      const sched = this.#env.sched;
      task.expire = sched.clock.now() + tc;
      sched.queue(task);
    }
    let o: CheckOutcome;
    try {
      o = await runHttpExchange(c, this.#request!, this.#http);
    } catch (e) {
      o = socketErrorOutcome(e); // runHttpExchange does not throw; a bug must not escape
    }
    this.#report(seq, o);
  }

  /** Stores the outcome of run `seq` (if still current) and wakes the task. */
  #report(seq: number, o: CheckOutcome): void {
    if (seq !== this.#seq || this.task === null) return;
    this.#outcome = o;
    this.#env.sched.wake(this.task, TASK_WOKEN_IO);
  }

  /** Ends the I/O of the current run: later completions are stale and only close. */
  #abortIo(): void {
    this.#seq++;
    if (this.#abort !== null) {
      this.#abort.abort();
      this.#abort = null;
    }
    if (this.#conn !== null) {
      closeConn(this.#conn);
      this.#conn = null;
    }
  }

  /** Applies the outcome of the run, changes state if due, schedules the next run. */
  #finish(now: number, task: Task): void {
    const o = this.#outcome!;
    this.#outcome = null;
    this.#abortIo();
    this.flags &= ~(CHK_ST_INPROGRESS | CHK_ST_CONNECTED);
    this.#setStatus(o, Math.max(0, Math.floor(performance.now() - this.#start)));
    const res = checkStatusResult(this.status);
    if (res === CHK_RES_FAILED) {
      if (this.health === 0 && this.up) this.#setStopped();
    } else if (res === CHK_RES_PASSED || res === CHK_RES_CONDPASS) {
      if (this.health >= this.rise && !this.up && !(this.admin & SRV_ADMF_MAINT)) {
        this.#setRunning();
      }
      // A passing check ends a forced "stopping" (HAProxy's srv_set_running()).
      if (res === CHK_RES_PASSED && this.#nolb) this.#setNolb(false);
    }
    task.expire = now + this.interval();
    this.#env.onCheck?.(this);
  }

  /**
   * HAProxy's set_server_check_status(): records the result, moves health
   * one step (a failure below `rise` drops to 0, a success reaching `rise`
   * jumps to rise+fall-1), and with `option log-health-checks` logs the
   * check when the status or the health changed.
   */
  #setStatus(o: CheckOutcome, duration: number): void {
    let report = o.status !== this.status;
    this.status = o.status;
    this.code = o.code;
    this.desc = o.desc.length > DESC_MAX ? o.desc.slice(0, DESC_MAX) : o.desc;
    this.duration = duration;
    this.lastCheck = Date.now();
    const res = checkStatusResult(o.status);
    const full = this.rise + this.fall - 1;
    if (res === CHK_RES_FAILED) {
      this.checksFailed++;
      if (this.health > 0) {
        report = true;
        this.health--;
        if (this.health < this.rise) this.health = 0;
      }
    } else if (res === CHK_RES_PASSED || res === CHK_RES_CONDPASS) {
      this.checksPassed++;
      if (this.health < full) {
        report = true;
        this.health++;
        if (this.health >= this.rise) this.health = full;
      }
    }
    if (!this.#logChecks || !report) return;
    const s = this.server;
    const upNow = this.health >= this.rise;
    this.#env.logger.warning(
      `Health check for ${s.backup ? "backup " : ""}server ${this.backend.name}/${s.name} ` +
        `${res >= CHK_RES_PASSED ? "succeeded" : "failed"}${this.#checkInfo()}, status: ` +
        `${upNow ? this.health - this.rise + 1 : this.health}/${upNow ? this.fall : this.rise} ` +
        `${upNow ? (s.weight > 0 ? "UP" : "DRAIN") : "DOWN"}.`,
    );
  }

  /** ", reason: ..., code: ..., info: "...", check duration: Nms" (HAProxy's check_append_info()). */
  #checkInfo(): string {
    let out = `, reason: ${checkStatusDesc(this.status)}`;
    if (this.status >= HCHK_STATUS_L57DATA) out += `, code: ${this.code}`;
    if (this.desc !== "") out += `, info: "${asciiEncode(this.desc)}"`;
    if (this.duration >= 0) out += `, check duration: ${this.duration}ms`;
    return out;
  }

  // ---- State changes ----

  #applyUsable(): void {
    this.server.usable = this.up && !(this.admin & SRV_ADMF_MAINT);
  }

  /** Active and backup servers of the backend that may take traffic now. */
  #counts(): { act: number; bck: number } {
    let act = 0, bck = 0;
    for (const s of this.backend.servers) {
      if (!srvIsUsable(s)) continue;
      if (s.backup) bck++;
      else act++;
    }
    return { act, bck };
  }

  #name(): string {
    return `${this.server.backup ? "Backup " : ""}Server ${this.backend.name}/${this.server.name}`;
  }

  /** ". N active and M backup servers left. ..." (HAProxy's srv_append_more(), going down). */
  #leftText(xferred: number): string {
    const { act, bck } = this.#counts();
    const q = this.server.queue.length;
    return `. ${act} active and ${bck} backup servers left.` +
      `${bck > 0 && act === 0 ? " Running on backup." : ""}` +
      ` ${this.server.cur} sessions active, ${xferred} requeued, ${q} remaining in queue.`;
  }

  /** ". N active and M backup servers online. ..." (coming up). */
  #onlineText(xferred: number): string {
    const { act, bck } = this.#counts();
    const q = this.server.queue.length;
    return `. ${act} active and ${bck} backup servers online.` +
      `${bck > 0 && act === 0 ? " Running on backup." : ""}` +
      ` ${xferred} sessions requeued, ${q} total in queue.`;
  }

  /** Alerts when the backend just lost its last usable server. */
  #alertIfEmpty(before: number): void {
    const { act, bck } = this.#counts();
    if (before > 0 && act === 0 && bck === 0) {
      this.#env.logger.alert(`backend ${this.backend.name} has no server available!`);
    }
  }

  /** Marks the server DOWN because of its checks (HAProxy's srv_set_stopped()). */
  #setStopped(): void {
    const b = this.#counts();
    this.up = false;
    this.lastChange = Date.now();
    this.downTransitions++;
    this.#applyUsable();
    this.backend.lb.update();
    // Its parked keep-alive connections go too (HAProxy's srv_cleanup_connections).
    this.server.idle.closeAll();
    const xferred = this.#env.hooks?.requeue(this.server, false) ?? 0;
    // With log-health-checks the check line already told why (check_notify_cause()).
    const why = this.#logChecks ? "" : this.#checkInfo();
    this.#env.logger.warning(`${this.#name()} is DOWN${why}${this.#leftText(xferred)}`);
    this.#alertIfEmpty(b.act + b.bck);
  }

  /** Marks the server UP because of its checks (HAProxy's srv_set_running()). */
  #setRunning(): void {
    const now = Date.now();
    this.#downTotal += Math.max(0, now - this.lastChange);
    this.up = true;
    this.lastChange = now;
    this.#applyUsable();
    this.backend.lb.update();
    const xferred = this.#env.hooks?.requeue(this.server, true) ?? 0;
    const why = this.#logChecks ? "" : this.#checkInfo();
    this.#env.logger.warning(`${this.#name()} is UP${why}${this.#onlineText(xferred)}`);
  }

  /**
   * Enters (on) or leaves (off) forced maintenance. Entering pauses the
   * checks (a running one is abandoned) and takes the server out of the
   * balancer; leaving restores health to `rise` (up, but down at the first
   * failure), puts the server back and checks it at once.
   */
  setMaint(on: boolean): void {
    const sched = this.#env.sched;
    const log = this.#env.logger;
    if (on) {
      if (this.admin & SRV_ADMF_MAINT) return;
      const b = this.#counts();
      const wasUp = this.up;
      this.admin |= SRV_ADMF_MAINT;
      this.flags = (this.flags | CHK_ST_PAUSED) & ~(CHK_ST_INPROGRESS | CHK_ST_CONNECTED);
      this.#outcome = null;
      this.#abortIo();
      if (this.task !== null) this.task.expire = TICK_ETERNITY;
      if (wasUp) {
        this.up = false;
        this.lastChange = Date.now();
        this.downTransitions++;
      }
      this.#applyUsable();
      this.backend.lb.update();
      this.server.idle.closeAll();
      if (wasUp) {
        const xferred = this.#env.hooks?.requeue(this.server, false) ?? 0;
        log.warning(`${this.#name()} is going DOWN for maintenance${this.#leftText(xferred)}`);
      } else log.warning(`${this.#name()} was DOWN and now enters maintenance.`);
      this.#alertIfEmpty(b.act + b.bck);
      return;
    }
    if (!(this.admin & SRV_ADMF_MAINT)) return;
    this.admin &= ~SRV_ADMF_MAINT;
    this.flags &= ~CHK_ST_PAUSED;
    if (this.enabled) this.health = this.rise;
    if (!this.up) {
      const now = Date.now();
      this.#downTotal += Math.max(0, now - this.lastChange);
      this.lastChange = now;
      this.up = true;
    }
    this.#applyUsable();
    this.backend.lb.update();
    this.#env.hooks?.requeue(this.server, true);
    log.warning(`${this.#name()} is UP (leaving forced maintenance).`);
    if (this.task !== null && (this.flags & CHK_ST_ENABLED)) {
      this.task.expire = sched.clock.now();
      sched.wake(this.task, TASK_WOKEN_MSG);
    }
  }

  /**
   * Starts (on) or ends (off) a drain: the effective weight is 0 so the
   * balancer sends no new traffic, the server stays usable (persistence) and
   * checked; ending it restores the weight it had.
   */
  setDrain(on: boolean): void {
    const log = this.#env.logger;
    if (on) {
      if (this.admin & SRV_ADMF_DRAIN) return;
      if (!this.#nolb) this.#savedWeight = this.server.weight;
      this.admin |= SRV_ADMF_DRAIN;
      this.server.weight = 0;
      this.backend.lb.update();
      log.warning(`${this.#name()} enters drain state${this.#leftText(0)}`);
      return;
    }
    if (!(this.admin & SRV_ADMF_DRAIN)) return;
    this.admin &= ~SRV_ADMF_DRAIN;
    if (!this.#nolb) this.server.weight = this.#savedWeight;
    this.backend.lb.update();
    log.warning(`${this.#name()} is ${this.server.usable ? "UP" : "DOWN"} (leaving drain).`);
  }

  /** The weight to use, now or when the drain (or forced stopping) ends. */
  setWeight(w: number): void {
    if ((this.admin & SRV_ADMF_DRAIN) || this.#nolb) this.#savedWeight = w;
    else this.server.weight = w;
  }

  /** Stops for good: kills the task and abandons a running check. */
  halt(): void {
    this.flags &= ~(CHK_ST_ENABLED | CHK_ST_INPROGRESS | CHK_ST_CONNECTED);
    this.#outcome = null;
    this.#abortIo();
    if (this.task !== null) this.#env.sched.kill(this.task);
  }

  /** The weight the server has when neither drained nor stopping (HAProxy's uweight). */
  userWeight(): number {
    return (this.admin & SRV_ADMF_DRAIN) || this.#nolb ? this.#savedWeight : this.server.weight;
  }

  /** True while a runtime `set server health stopping` holds (HAProxy's NOLB). */
  get stopping(): boolean {
    return this.#nolb;
  }

  /** Enters or leaves the forced stopping state: effective weight 0, still up. */
  #setNolb(on: boolean): void {
    if (on === this.#nolb) return;
    if (on && !(this.admin & SRV_ADMF_DRAIN)) this.#savedWeight = this.server.weight;
    this.#nolb = on;
    if (!(this.admin & SRV_ADMF_DRAIN)) this.server.weight = on ? 0 : this.#savedWeight;
    this.backend.lb.update();
  }

  /**
   * Forces the operational state as the runtime API's `set server health`
   * does: "up" (health full, UP), "stopping" (up, no new balanced traffic,
   * NOLB) or "down" (health 0, DOWN). Logged like a check-driven change. A
   * server in maintenance only gets its health changed; the next checks, if
   * any, may change the state again.
   */
  forceHealth(state: "up" | "stopping" | "down"): void {
    const full = this.rise + this.fall - 1;
    if (state === "down") {
      this.health = 0;
      this.#setNolb(false);
      if (this.up && !(this.admin & SRV_ADMF_MAINT)) this.#setStopped();
      return;
    }
    this.health = full;
    if (!this.up && !(this.admin & SRV_ADMF_MAINT)) this.#setRunning();
    this.#setNolb(state === "stopping");
  }

  /** Active health checks run (true) or are suspended (false): `enable|disable health`. */
  get checksEnabled(): boolean {
    return (this.flags & CHK_ST_ENABLED) !== 0;
  }

  /**
   * Suspends (off) or resumes (on) the checks of a server that has `check`,
   * keeping its current state (HAProxy's `disable health`). False when the
   * server has no check configured.
   */
  setChecksEnabled(on: boolean): boolean {
    const task = this.task;
    if (task === null) return false;
    const sched = this.#env.sched;
    if (!on) {
      this.flags &= ~(CHK_ST_ENABLED | CHK_ST_INPROGRESS | CHK_ST_CONNECTED);
      this.#outcome = null;
      this.#abortIo();
      task.expire = TICK_ETERNITY;
      return true;
    }
    if (this.flags & CHK_ST_ENABLED) return true;
    this.flags |= CHK_ST_ENABLED;
    task.expire = sched.clock.now();
    sched.wake(task, TASK_WOKEN_MSG);
    return true;
  }

  /** The server's address changed (`set server addr`): checks go to the new one. */
  readdress(): void {
    this.#addr = checkAddress(this.server);
    if (this.#http !== null) {
      const a = this.server.address;
      this.#request = buildHttpCheckRequest(
        this.#http,
        a.kind === "unix" ? "localhost" : addressText(a),
      );
    }
  }
}

/** The checks of a process: created by startChecks(), ended by stop(). */
export class CheckManager {
  /** One entry per server of every backend, in backend then server order (added ones last). */
  readonly checks: ServerCheck[];
  readonly #env: CheckEnv;
  #stopped: boolean;

  constructor(ctx: CheckCtx) {
    const env: CheckEnv = {
      sched: ctx.sched,
      logger: ctx.logger,
      proto: ctx.proto,
      hooks: ctx.checkHooks ?? null,
      onCheck: ctx.onCheck ?? null,
      inflight: new Set(),
    };
    // Compile every HTTP check first: a bad line throws before any task exists.
    const specs = ctx.backends.map((be) => compileHttpCheck(be.cfg));
    const checks: ServerCheck[] = [];
    ctx.backends.forEach((be, i) => {
      const checked = be.servers.some((s) => s.cfg.check);
      if (checked && specs[i] === null && be.cfg.httpCheck.length > 0) {
        ctx.logger.warning(
          `backend ${be.name}: http-check rules are ignored without option httpchk.`,
        );
      }
      for (const s of be.servers) {
        const c = new ServerCheck(s, be, env, specs[i] ?? null);
        STATES.set(s, c);
        checks.push(c);
      }
    });
    this.checks = checks;
    this.#env = env;
    this.#stopped = false;
  }

  /**
   * Schedules the first run of every check, spread as HAProxy's
   * start_checks() does: the i-th of n checks starts after i/n of the
   * smallest interval of at least 1 s (or of its own interval if longer), so
   * they do not all fire together. The first one runs at once.
   */
  start(): void {
    const active = this.checks.filter((c) => c.task !== null);
    let mininter = 0;
    for (const c of active) {
      const i = c.interval();
      if (i >= SPREAD_INTER_THRES && (mininter === 0 || i < mininter)) mininter = i;
    }
    const sched = this.#env.sched;
    const now = sched.clock.now();
    active.forEach((c, pos) => {
      const task = c.task!;
      if (c.flags & CHK_ST_PAUSED) {
        task.expire = TICK_ETERNITY;
        return;
      }
      const m = Math.max(mininter, c.interval());
      task.expire = now + Math.floor((m * pos) / active.length);
      sched.queue(task);
    });
  }

  /**
   * Creates the check state of a server added at run time (`add server`) to
   * `be`, and starts its check at once when it has `check` and is not in
   * maintenance. Throws a CheckConfigError on a bad http-check of the backend
   * (which the start already compiled, so never in practice).
   */
  addServer(be: Backend, server: Server): ServerCheck {
    const c = new ServerCheck(server, be, this.#env, compileHttpCheck(be.cfg));
    STATES.set(server, c);
    this.checks.push(c);
    if (c.task !== null && !(c.flags & CHK_ST_PAUSED) && !this.#stopped) {
      c.task.expire = this.#env.sched.clock.now();
      this.#env.sched.queue(c.task);
    }
    return c;
  }

  /** Forgets a server removed at run time (`del server`): its check stops. */
  removeServer(server: Server): void {
    const c = STATES.get(server);
    if (c === undefined) return;
    c.halt();
    STATES.delete(server);
    const i = this.checks.indexOf(c);
    if (i >= 0) this.checks.splice(i, 1);
  }

  /** The check state of `server` if this manager owns it. */
  stateOf(server: Server): ServerCheck | null {
    const c = STATES.get(server);
    return c !== undefined && this.checks.includes(c) ? c : null;
  }

  setMaint(server: Server, on: boolean): boolean {
    return this.stateOf(server) !== null && setMaint(server, on);
  }

  setDrain(server: Server, on: boolean): boolean {
    return this.stateOf(server) !== null && setDrain(server, on);
  }

  setReady(server: Server): boolean {
    return this.stateOf(server) !== null && setReady(server);
  }

  /**
   * Stops every check: tasks are killed, running checks abandoned (their
   * connections closed, their connect signalled). The promise resolves once
   * no check I/O is pending; a connect to a host that drops SYNs stays
   * pending until the system gives up on it (or the protocol honours the
   * abort signal). Calling it again is harmless.
   */
  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      for (const c of this.checks) c.halt();
    }
    return Promise.all([...this.#env.inflight]).then(() => {});
  }
}

/**
 * Creates the check state of every server of `ctx.backends` and starts a
 * task for each server with `check`. Throws a CheckConfigError on a bad
 * `http-check` line (before anything started).
 */
export function startChecks(ctx: CheckCtx): CheckManager {
  const m = new CheckManager(ctx);
  m.start();
  return m;
}
