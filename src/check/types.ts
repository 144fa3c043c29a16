// Health-check types, status codes and flags (HAProxy's check-t.h and the
// check_statuses[] table of check.c).
//
// This file holds only constants, their stringifiers and the read-only view
// of a server's check state that the stats page and Prometheus read. The
// logic lives in check.ts (task, health, state changes, logs), tcp_check.ts
// (layer 4) and http_check.ts (layer 7). Numeric values keep HAProxy's order
// so that "status >= HCHK_STATUS_L57DATA" still means "carries an L7 code".

import type { Server } from "../backend/server.ts";

// ---- Check statuses (HAProxy's enum healthcheck_status) ----

/** Unknown: no check ran yet. */
export const HCHK_STATUS_UNKNOWN = 0;
/** Initializing: the check is configured, its first run is pending. */
export const HCHK_STATUS_INI = 1;
/** A check is starting (internal, never reported). */
export const HCHK_STATUS_START = 2;
/** No status change (neutral result). */
export const HCHK_STATUS_CHECKED = 3;
/** Health analyze (observe mode; not produced here, kept for numbering). */
export const HCHK_STATUS_HANA = 4;
/** Socket error: an I/O error after the connection was established. */
export const HCHK_STATUS_SOCKERR = 5;
/** Layer 4 check passed: the TCP connection was established. */
export const HCHK_STATUS_L4OK = 6;
/** Layer 4 timeout: the connection was not established in time. */
export const HCHK_STATUS_L4TOUT = 7;
/** Layer 4 connection problem: refused, unreachable, reset during connect. */
export const HCHK_STATUS_L4CON = 8;
/** Layer 6 check passed (TLS; not produced here, kept for numbering). */
export const HCHK_STATUS_L6OK = 9;
/** Layer 6 timeout (TLS; not produced here). */
export const HCHK_STATUS_L6TOUT = 10;
/** Layer 6 invalid response (TLS; not produced here). */
export const HCHK_STATUS_L6RSP = 11;
/** Layer 7 timeout: connected, but no complete answer in time. */
export const HCHK_STATUS_L7TOUT = 12;
/** Layer 7 invalid response: not HTTP, or the body expectation failed. */
export const HCHK_STATUS_L7RSP = 13;
/** Marker: every status at or above carries an L7 response code. */
export const HCHK_STATUS_L57DATA = 14;
/** Layer 7 check passed. */
export const HCHK_STATUS_L7OKD = 15;
/** Layer 7 check conditionally passed (disable-on-404; not produced here). */
export const HCHK_STATUS_L7OKCD = 16;
/** Layer 7 wrong status: the status code did not meet the expectation. */
export const HCHK_STATUS_L7STS = 17;

// ---- Check results (HAProxy's CHK_RES_*) ----

/** No result yet (check running or never ran). */
export const CHK_RES_UNKNOWN = 0;
/** Neither success nor failure (no health change). */
export const CHK_RES_NEUTRAL = 1;
/** The check failed. */
export const CHK_RES_FAILED = 2;
/** The check passed. */
export const CHK_RES_PASSED = 3;
/** The check passed but asks for the stopping (NOLB) state. */
export const CHK_RES_CONDPASS = 4;

/** One row of the status table: its result class, short name and description. */
export interface CheckStatusInfo {
  readonly result: number;
  /** Short name shown on the stats page, e.g. "L4OK". */
  readonly name: string;
  /** Description used in log lines, e.g. "Layer4 check passed". */
  readonly desc: string;
}

/** HAProxy's check_statuses[] table, indexed by HCHK_STATUS_*. */
const STATUSES: readonly CheckStatusInfo[] = [
  { result: CHK_RES_UNKNOWN, name: "UNK", desc: "Unknown" },
  { result: CHK_RES_UNKNOWN, name: "INI", desc: "Initializing" },
  { result: CHK_RES_UNKNOWN, name: "START", desc: "Unknown" },
  { result: CHK_RES_NEUTRAL, name: "CHECKED", desc: "No status change" },
  { result: CHK_RES_FAILED, name: "HANA", desc: "Health analyze" },
  { result: CHK_RES_FAILED, name: "SOCKERR", desc: "Socket error" },
  { result: CHK_RES_PASSED, name: "L4OK", desc: "Layer4 check passed" },
  { result: CHK_RES_FAILED, name: "L4TOUT", desc: "Layer4 timeout" },
  { result: CHK_RES_FAILED, name: "L4CON", desc: "Layer4 connection problem" },
  { result: CHK_RES_PASSED, name: "L6OK", desc: "Layer6 check passed" },
  { result: CHK_RES_FAILED, name: "L6TOUT", desc: "Layer6 timeout" },
  { result: CHK_RES_FAILED, name: "L6RSP", desc: "Layer6 invalid response" },
  { result: CHK_RES_FAILED, name: "L7TOUT", desc: "Layer7 timeout" },
  { result: CHK_RES_FAILED, name: "L7RSP", desc: "Layer7 invalid response" },
  { result: CHK_RES_UNKNOWN, name: "UNK", desc: "Unknown" },
  { result: CHK_RES_PASSED, name: "L7OK", desc: "Layer7 check passed" },
  { result: CHK_RES_CONDPASS, name: "L7OKC", desc: "Layer7 check conditionally passed" },
  { result: CHK_RES_FAILED, name: "L7STS", desc: "Layer7 wrong status" },
];

function statusRow(status: number): CheckStatusInfo {
  return STATUSES[status] ?? STATUSES[HCHK_STATUS_UNKNOWN]!;
}

/** Short name of a status ("L4OK", "L7STS", ...); "UNK" for an unknown value. */
export function checkStatusName(status: number): string {
  return statusRow(status).name;
}

/** Log description of a status ("Layer4 timeout", ...); "Unknown" for an unknown value. */
export function checkStatusDesc(status: number): string {
  return statusRow(status).desc;
}

/** Result class (CHK_RES_*) of a status. */
export function checkStatusResult(status: number): number {
  return statusRow(status).result;
}

// ---- Check kinds ----

/** Plain TCP connect check (the default, and `option tcp-check` without rules). */
export const CHK_KIND_TCP = 1;
/** `option httpchk`: an HTTP request, the response checked against `http-check expect`. */
export const CHK_KIND_HTTP = 2;

// ---- Check state flags (HAProxy's CHK_ST_*) ----

/** The server has `check` set: a task runs for it. */
export const CHK_ST_CONFIGURED = 0x01;
/** Checks are enabled (cleared by stop()). */
export const CHK_ST_ENABLED = 0x02;
/** Checks are paused (server in maintenance). */
export const CHK_ST_PAUSED = 0x04;
/** A check is running (connect or exchange in flight). */
export const CHK_ST_INPROGRESS = 0x08;
/** The running check's connection is established (a timeout now is L7, not L4). */
export const CHK_ST_CONNECTED = 0x10;

/** Names of CHK_ST_* bits, for debugging. */
export function checkFlagsToString(f: number): string {
  const out: string[] = [];
  if (f & CHK_ST_CONFIGURED) out.push("CONFIGURED");
  if (f & CHK_ST_ENABLED) out.push("ENABLED");
  if (f & CHK_ST_PAUSED) out.push("PAUSED");
  if (f & CHK_ST_INPROGRESS) out.push("INPROGRESS");
  if (f & CHK_ST_CONNECTED) out.push("CONNECTED");
  return out.join("|") || "0";
}

// ---- Server administrative flags (HAProxy's SRV_ADMF_*) ----

/** Forced maintenance (admin action, or `disabled` in the configuration). */
export const SRV_ADMF_MAINT = 0x01;
/** Drain: effective weight 0, no new balanced traffic, still checked. */
export const SRV_ADMF_DRAIN = 0x02;

/** Names of SRV_ADMF_* bits, for debugging. */
export function adminFlagsToString(f: number): string {
  const out: string[] = [];
  if (f & SRV_ADMF_MAINT) out.push("MAINT");
  if (f & SRV_ADMF_DRAIN) out.push("DRAIN");
  return out.join("|") || "0";
}

// ---- Outcome of one check run ----

/** What one check run produced: a status, an L7 code (0 if none) and an info text. */
export interface CheckOutcome {
  status: number;
  /** HTTP status code for layer 7 checks, 0 otherwise. */
  code: number;
  /** Free text shown as `info: "..."` (empty for none). */
  desc: string;
}

// ---- Read-only view for the stats page and Prometheus ----

/** A server's check state as other subsystems may read it (see checkStateOf()). */
export interface ServerCheckView {
  readonly server: Server;
  /** The server has `check` set. */
  readonly enabled: boolean;
  /** CHK_KIND_TCP or CHK_KIND_HTTP (meaningful only when enabled). */
  readonly kind: number;
  /** HAProxy's health counter, 0 .. rise+fall-1; UP when >= rise. */
  readonly health: number;
  readonly rise: number;
  readonly fall: number;
  /** Operational state: true unless the checks (or maintenance) took the server down. */
  readonly up: boolean;
  /** SRV_ADMF_* bits. */
  readonly admin: number;
  /** Last check status (HCHK_STATUS_*), HCHK_STATUS_INI before the first one. */
  readonly status: number;
  /** HTTP code of the last layer 7 check, 0 otherwise. */
  readonly code: number;
  /** Info text of the last check ("Connection refused", reason phrase...). */
  readonly desc: string;
  /** Duration of the last check in ms, -1 before the first one. */
  readonly duration: number;
  /** Epoch ms at which the last check ended, 0 before the first one. */
  readonly lastCheck: number;
  /** Epoch ms of the last operational state change (start time at first). */
  readonly lastChange: number;
  /** Number of UP -> DOWN transitions (checks or maintenance). */
  readonly downTransitions: number;
  /** Checks that passed / failed since start. */
  readonly checksPassed: number;
  readonly checksFailed: number;
  /** Total time spent DOWN in ms, up to `nowEpoch` (default Date.now()). */
  downtime(nowEpoch?: number): number;
  /**
   * Status text as HAProxy's stats page prints it: "UP", "UP 2/3" (going
   * down), "DOWN", "DOWN 1/2" (going up), "DRAIN", "DRAIN 1/3", "MAINT",
   * "no check".
   */
  stateText(): string;
  /** The interval the next check waits, in ms (inter, fastinter or downinter). */
  interval(): number;
}

// Note about invariants: a server's `usable` flag is `up && !(admin &
// SRV_ADMF_MAINT)` after every change made here; health stays within
// 0..rise+fall-1 and equals rise+fall-1 ("fully up") or 0 ("fully down")
// right after a state change; the task of a check is never woken by a timer
// of its own other than the scheduler's single host timer.
