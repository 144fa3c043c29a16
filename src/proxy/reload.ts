// In-process reload (DESIGN.md §9; HAProxy reloads by starting a new process,
// Sluice replaces its objects in place and loses nothing).
//
// A reload reads and validates the file exactly as `sluice -c` does
// (loadConfigFile), then builds a new generation of frontends, backends and
// health checks next to the running one and binds the binds that are new.
// Up to there nothing of the running proxy has changed: any error (in the
// file, a check line, a bind) drops what was built and the proxy keeps
// serving on the old configuration, with every error reported. Then, in one
// synchronous step (no event can run in between):
//
// - Listeners whose address and options are unchanged move to the new
//   frontend (Listener.moveTo): the socket stays open, its accept queue too.
//   A TLS one serves the certificate and CA files as the reload read them
//   again (a renewed certificate at the same path) from its next handshake
//   on (Process.renewTls); a broken file failed the reload above.
//   New binds start accepting; removed binds close.
// - Counters carry over by name: a new frontend, backend or server shares
//   the counters object of the old one of the same name, so the sessions of
//   the old generation still in progress keep counting into it. Current
//   sessions and connections too (Frontend/Server.successor): the old
//   generation's count in the new frontend and server, whose maxconn thus
//   holds across the reload.
// - Server state set at run time carries over by backend/server name:
//   address and maxconn when the file's value is unchanged, maintenance and
//   drain, weight, health (ServerCheck.carryOver states the rules).
// - The old health checks stop (their tasks are killed, their connections
//   closed); the new ones start.
// - Streams in progress keep the frontend, backend and server they started
//   with and finish on them. An HTTP connection of an old frontend gets
//   `Connection: close` on its next response (Frontend.retired), so that a
//   keep-alive client moves to the new rules at its next connection without
//   ever finding a connection closed under a request it is sending.
// - Server connections parked on old servers are closed.
//
// Nothing keeps a reference to an old generation but its streams: once the
// last one ends, the old objects are garbage (memory is flat over 100
// reloads, bench/reload_memory.ts).
//
// What a reload cannot change in place is kept and named in a warning: the
// global settings the pools and the logger were built with (bufsize,
// maxhdr, log target, ...) and a bind's backlog.

import { Backend } from "../backend/backend.ts";
import type { Server } from "../backend/server.ts";
import type { CheckManager } from "../check/mod.ts";
import type { Address, BindConfig, RuntimeConfig } from "../config/types.ts";
import { Frontend } from "../frontend/frontend.ts";
import { Listener } from "../listener/listener.ts";
import type { CompiledConfig } from "./compile.ts";
import { formatIssue, loadConfigFile } from "./load.ts";
import { type Process, setServerTls } from "./process.ts";

/** What a reload answers (the runtime API's `reload` prints it). */
export interface ReloadResult {
  /** True when the new configuration is in service. */
  ok: boolean;
  /** Every warning and error, then a summary line. */
  messages: string[];
}

/** Global settings a reload applies; any other global change waits for a restart. */
const GLOBAL_APPLIED: ReadonlySet<string> = new Set(["maxconn", "maxaccept"]);

/** Thrown by applyConfig() when nothing was changed. */
export class ReloadError extends Error {
  readonly messages: string[];
  constructor(messages: string[]) {
    super(messages.join("\n"));
    this.name = "ReloadError";
    this.messages = messages;
  }
}

/**
 * Reloads `file` into `proc`; one reload at a time (a second call waits for
 * the first). Never throws: failures are in the result, and reported on
 * stderr.
 */
export class Reloader {
  readonly #proc: Process;
  readonly #file: string;
  #last: Promise<unknown>;
  /** Reloads done (successful ones), for the notices. */
  count: number;

  constructor(proc: Process, file: string) {
    this.#proc = proc;
    this.#file = file;
    this.#last = Promise.resolve();
    this.count = 0;
  }

  /** Reads, validates and applies the file; see the file header. */
  reload(): Promise<ReloadResult> {
    const run = this.#last.then(() => this.#run()).catch((e): ReloadResult => {
      // A bug: reported, and the next reloads still run.
      const msg = `reload failed: internal error: ${e instanceof Error ? e.stack : e}`;
      this.#proc.logger.alert(msg);
      return { ok: false, messages: [msg] };
    });
    this.#last = run;
    return run;
  }

  async #run(): Promise<ReloadResult> {
    const proc = this.#proc;
    const log = proc.logger;
    const file = this.#file;
    if (proc.stopping || proc.killing) {
      const msg = "reload refused: the process is stopping";
      log.warning(msg);
      return { ok: false, messages: [msg] };
    }
    log.notice(`reload: reading ${file}`);
    const messages: string[] = [];
    let loaded;
    try {
      loaded = await loadConfigFile(file, proc.tables);
    } catch (e) {
      loaded = null;
      messages.push(`${file}: error: ${e instanceof Error ? e.message : e}`);
    }
    if (loaded !== null) {
      for (const i of loaded.issues) messages.push(formatIssue(i));
    }
    const errors = loaded?.issues.filter((i) => i.severity === "error").length ?? 1;
    if (loaded === null || loaded.config === null || loaded.compiled === null) {
      return this.#fail(messages, `${errors} error(s) in ${file}`);
    }
    if (proc.stopping || proc.killing) {
      return this.#fail(messages, "the process began stopping during the reload");
    }
    let changes: string[];
    try {
      changes = applyConfig(proc, loaded.config, loaded.compiled);
    } catch (e) {
      if (e instanceof ReloadError) messages.push(...e.messages);
      else messages.push(`internal error: ${e instanceof Error ? e.stack : e}`);
      return this.#fail(messages, "the new configuration could not be put in service");
    }
    for (const m of messages) log.warning(`reload: ${m}`);
    for (const m of changes) log.warning(`reload: ${m}`);
    this.count++;
    const done = `reload #${this.count} done: ${file} in service (${proc.frontends.length} ` +
      `frontend(s), ${proc.backends.length} backend(s), ${proc.listeners.length} listener(s))`;
    log.notice(done);
    return { ok: true, messages: [...messages, ...changes, done] };
  }

  #fail(messages: string[], why: string): ReloadResult {
    const log = this.#proc.logger;
    for (const m of messages) log.alert(`reload: ${m}`);
    const summary = `reload failed: ${why}; still running on the previous configuration`;
    log.alert(summary);
    return { ok: false, messages: [...messages, summary] };
  }
}

/**
 * A bind's identity across a reload: its address and options, without the
 * position in the file and without the backlog (which cannot change on an
 * open socket: see applyConfig()).
 */
export function bindKey(b: BindConfig): string {
  return JSON.stringify(
    b,
    (k, v) => k === "line" || k === "col" || k === "backlog" ? undefined : v,
  );
}

function sameAddress(a: Address, b: Address): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Puts `cfg` in service in `proc` (see the file header). Returns notes on
 * what could not be changed in place. Throws a ReloadError, having changed
 * nothing, when a check line or a new bind fails.
 */
export function applyConfig(proc: Process, cfg: RuntimeConfig, compiled: CompiledConfig): string[] {
  const notes: string[] = [];
  // 1. The new generation, beside the old one.
  const backends = cfg.backends.map((b, i) =>
    new Backend(i, b, compiled.backends[i]!, proc.idleBudget)
  );
  setServerTls(backends, compiled);
  const frontends = cfg.frontends.map((f, i) =>
    new Frontend(i, f, compiled.frontends[i]!, backends)
  );
  const oldBackends = new Map(proc.backends.map((b) => [b.name, b]));
  const pairs: [Server, Server][] = [];
  const bePairs: [Backend, Backend][] = [];
  for (const be of backends) {
    const old = oldBackends.get(be.name);
    if (old === undefined) continue;
    bePairs.push([old, be]);
    be.counters = old.counters;
    const oldServers = new Map(old.servers.map((s) => [s.name, s]));
    for (const s of be.servers) {
      const os = oldServers.get(s.name);
      if (os === undefined) continue;
      s.counters = os.counters;
      if (sameAddress(os.cfg.address, s.cfg.address)) s.address = os.address;
      if (os.cfg.maxconn === s.cfg.maxconn) s.maxconn = os.maxconn;
      pairs.push([os, s]);
    }
  }
  let checks: CheckManager;
  try {
    checks = proc.newChecks(backends);
  } catch (e) {
    throw new ReloadError([`${e instanceof Error ? e.message : e}`]);
  }

  // 2. Listeners: kept (same address and options), added, removed.
  const oldByKey = new Map<string, Listener<Frontend>[]>();
  for (const l of proc.listeners) {
    const k = bindKey(l.bindCfg);
    const list = oldByKey.get(k);
    if (list === undefined) oldByKey.set(k, [l]);
    else list.push(l);
  }
  const listeners: Listener<Frontend>[] = [];
  const kept: { l: Listener<Frontend>; fe: Frontend; id: number; b: BindConfig }[] = [];
  const added: Listener<Frontend>[] = [];
  for (const fe of frontends) {
    fe.cfg.binds.forEach((b, i) => {
      const l = oldByKey.get(bindKey(b))?.shift();
      if (l !== undefined) {
        if (l.bindCfg.backlog !== b.backlog) {
          notes.push(
            `frontend '${fe.name}': bind ${l.addrName()}: the backlog change (${l.bindCfg.backlog} → ` +
              `${b.backlog}) takes effect at the next start`,
          );
        }
        kept.push({ l, fe, id: i + 1, b });
        listeners.push(l);
      } else {
        const n = new Listener(fe, b, proc, i + 1);
        added.push(n);
        listeners.push(n);
      }
    });
  }
  const removed = [...oldByKey.values()].flat();
  // A bind whose options changed binds next to the old socket, closed after.
  const removedAddrs = new Set(removed.map((l) => JSON.stringify(l.addr)));
  const bound: Listener<Frontend>[] = [];
  for (const l of added) {
    try {
      proc.bindListener(l, removedAddrs.has(JSON.stringify(l.addr)), compiled);
      bound.push(l);
    } catch (e) {
      for (const b of bound) b.stop();
      void checks.stop();
      const msg = e instanceof Error ? e.message : String(e);
      throw new ReloadError([`frontend '${l.fe.name}': cannot bind ${l.addrName()}: ${msg}`]);
    }
  }

  // 3. Global settings.
  const og = proc.cfg.global as unknown as Record<string, unknown>;
  const ng = cfg.global as unknown as Record<string, unknown>;
  for (const k of Object.keys(ng)) {
    if (GLOBAL_APPLIED.has(k) || JSON.stringify(og[k]) === JSON.stringify(ng[k])) continue;
    notes.push(
      `global.${k} changed: takes effect at the next start (kept ${JSON.stringify(og[k])})`,
    );
  }

  // 4. Commit: from here on, nothing throws and nothing waits.
  const oldFrontends = proc.frontends;
  const oldFe = new Map(oldFrontends.map((f) => [f.name, f]));
  for (const fe of frontends) {
    const o = oldFe.get(fe.name);
    if (o === undefined) continue;
    fe.counters = o.counters;
    // The old generation's sessions count in the new frontend (Process.sessionEnded()).
    fe.feconn = o.feconn;
    o.successor = fe;
  }
  const oldChecks = proc.checks;
  for (const [os, s] of pairs) {
    const oc = oldChecks?.stateOf(os) ?? null;
    const nc = checks.stateOf(s);
    if (oc === null || nc === null) continue;
    const sameCheck = sameAddress(os.address, s.address) && os.cfg.check === s.cfg.check &&
      os.cfg.rise === s.cfg.rise && os.cfg.fall === s.cfg.fall;
    nc.carryOver(oc, os.cfg.weight === s.cfg.weight, sameCheck);
  }
  // The old generation's connections count in the new servers (Backend.take()).
  for (const [old, be] of bePairs) old.successor = be;
  for (const [os, s] of pairs) {
    os.successor = s;
    s.cur = os.cur;
  }
  for (const be of backends) be.lb.update();
  void oldChecks?.stop();
  // The global settings a reload cannot apply stay as the process was built
  // with (the HTTP parser reads some of them live: maxhdr must match the
  // transaction pool's tables).
  const global = { ...proc.cfg.global };
  for (const k of GLOBAL_APPLIED) {
    (global as Record<string, unknown>)[k] = (cfg.global as unknown as Record<string, unknown>)[k];
  }
  proc.cfg = Object.freeze({ ...cfg, global: Object.freeze(global) });
  proc.frontends = frontends;
  proc.backends = backends;
  proc.maxconn = cfg.global.maxconn;
  proc.maxaccept = cfg.global.maxaccept;
  proc.checks = checks;
  // Stick tables: those kept (same settings) go on with their entries; the
  // others stop, and the new ones run on the process's scheduler.
  for (const [name, t] of proc.tables) if (compiled.tables.get(name) !== t) t.stop();
  for (const t of compiled.tables.values()) t.attach(proc.sched);
  proc.tables = compiled.tables;
  for (const { l, fe, id, b } of kept) {
    l.moveTo(fe, id);
    const note = proc.renewTls(l, b, compiled);
    if (note !== null) notes.push(note);
  }
  proc.listeners.splice(0, proc.listeners.length, ...listeners);
  for (const l of removed) {
    l.stop();
    proc.logger.notice(`reload: closed ${l.fe.name} ${l.boundName()}`);
  }
  for (const l of added) {
    proc.logger.notice(`listening ${l.fe.name} ${l.boundName()}`);
    l.start();
  }
  checks.start();
  for (const fe of oldFrontends) fe.retired = true;
  for (const be of oldBackends.values()) for (const s of be.servers) s.idle.closeAll();
  // A listener paused at the process's maxconn re-checks the new one.
  for (const l of listeners) l.wake();
  return notes;
}
