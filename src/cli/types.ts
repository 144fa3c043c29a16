// Types of the runtime API (HAProxy's CLI, cli.c): access levels, what a
// command handler sees of the process, and the optional services other
// subsystems hand in (reload, dropped log lines, captured errors).
//
// The CLI sits above stats/ and below proxy/: it reads the process through
// the structural interfaces declared here (the Process satisfies them) and
// never imports the stream, the proxy or the logger.

import type { Backend } from "../backend/backend.ts";
import type { IdleBudget } from "../backend/idle_conns.ts";
import type { CheckManager } from "../check/mod.ts";
import type { CliLevel, RuntimeConfig } from "../config/types.ts";
import type { StatsSource } from "../stats/stats_service.ts";

/** Access levels, ordered as HAProxy's ACCESS_LVL_USER/OPER/ADMIN. */
export const CLI_LVL_USER = 1;
/** Operator: reads everything, only harmless changes (clear max counters). */
export const CLI_LVL_OPER = 2;
/** Admin: every command. */
export const CLI_LVL_ADMIN = 3;

/** The numeric level of a configured level name. */
export function cliLevel(name: CliLevel): number {
  return name === "admin" ? CLI_LVL_ADMIN : name === "operator" ? CLI_LVL_OPER : CLI_LVL_USER;
}

/** The name of a numeric level ("user", "operator", "admin"). */
export function cliLevelName(lvl: number): CliLevel {
  return lvl >= CLI_LVL_ADMIN ? "admin" : lvl >= CLI_LVL_OPER ? "operator" : "user";
}

/** A live session as `show sess` and `shutdown session` see it (src/stream/stream.ts's Stream fits). */
export interface CliSession {
  readonly fe: { readonly name: string };
  readonly be: { readonly name: string } | null;
  readonly srv: { readonly name: string } | null;
  readonly clientAddr: { readonly ip: string; readonly port: number };
  readonly frontAddr: { readonly ip: string; readonly port: number };
  /** Epoch ms of the accept. */
  readonly acceptDate: number;
  /** Ends the session now, as killed (termination code K). */
  kill(): void;
}

/** In-process reload, handed in by the process when it supports it (`reload`). */
export interface CliReloader {
  /** Reads, validates and applies the configuration file again; messages are its errors or notices. */
  reload(): Promise<{ ok: boolean; messages: string[] }>;
}

/** One refused request or response kept for `show errors` (HAProxy's struct error_snapshot). */
export interface CliErrorSnapshot {
  /** Epoch ms of the error. */
  readonly when: number;
  /** "request" (kept by the frontend) or "response" (kept by the backend). */
  readonly dir: "request" | "response";
  /** The proxy that kept it, and the other side's names ("" when none). */
  readonly proxy: string;
  readonly frontend: string;
  readonly backend: string;
  readonly server: string;
  readonly src: string;
  readonly srcPort: number;
  /** Offset of the first invalid byte in `bytes`, -1 when unknown. */
  readonly errPos: number;
  /** Why it was refused. */
  readonly reason: string;
  /** Events counted by this proxy in this direction so far (HAProxy's event id). */
  readonly event: number;
  /** The message as received (at most one buffer). */
  readonly bytes: Uint8Array;
}

/** A frontend as the CLI changes it (src/frontend/frontend.ts's Frontend fits). */
export interface CliFrontend {
  readonly name: string;
  /** The frontend's own session limit now (0 = the global one only). */
  maxconn: number;
}

/** A listener as the CLI wakes it after a limit went up. */
export interface CliListener {
  wake(): void;
}

/**
 * What the CLI reads and changes of the process (src/proxy/process.ts's
 * Process satisfies it). Optional members are services another subsystem
 * may not provide; the commands that need them say so when they are absent.
 */
export interface CliProcess extends StatsSource {
  readonly cfg: RuntimeConfig;
  readonly backends: readonly Backend[];
  readonly frontends: StatsSource["frontends"] & readonly CliFrontend[];
  readonly listeners: readonly CliListener[];
  /** Process-wide session limit, changed by `set maxconn global`. */
  maxconn: number;
  readonly checks: CheckManager | null;
  /** The process's budget of parked server connections (servers added at run time share it). */
  readonly idleBudget: IdleBudget;
  /** The live sessions, newest first. */
  liveSessions(): Iterable<CliSession>;
  /** In-process reload; absent or null: `reload` answers "reload not available". */
  readonly reloader?: CliReloader | null;
  /** Log lines dropped because the sink stalled (src/log); absent = 0. */
  droppedLogs?(): number;
  /** Captured protocol errors for `show errors`, oldest first; absent = none kept. */
  errorSnapshots?(): readonly CliErrorSnapshot[];
  /** Scheduler figures for `show info` (Tasks, Run_queue); absent = 0. */
  taskCounts?(): { tasks: number; runQueue: number };
}

// Note about invariants: a command handler runs to completion before the
// next line of the same connection is read (commands never interleave on a
// connection); a handler never throws to the connection loop (the loop turns
// an exception into an "Internal error" answer); and every change a handler
// makes goes through the same functions the stats page uses
// (src/stats/server_admin.ts) or the check subsystem.
