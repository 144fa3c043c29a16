// The stick-counter actions as any rule engine compiles and runs them
// (HAProxy's parse_trk_ctr / action_track_sc of tcp_rules.c and http_act.c,
// and the sc-* actions of stick_table.c): `track-scN KEY [table T]`,
// `sc-inc-gpc0(N)`, `sc-inc-gpc1(N)`, `sc-set-gpt0(N) VALUE`.
//
// Owns: parsing their arguments once at config time (the table resolved by
// name through the compile pass's StickResolver, the key compiled as a
// sample expression) and running them on a connection's StkCounters. The
// http-request engine (src/http/http_rules.ts) and the tcp-request engines
// use the same functions; only the level differs: `tcp-request connection`
// tracks for the whole connection (TRACK_SESSION), `tcp-request content`
// and `http-request` for one request (TRACK_CONTENT / TRACK_HTTP, the
// latter also counting the request). It never decides whether a rule
// applies: the engine evaluates the condition first.

import type { StickTable } from "../stick/table.ts";
import {
  incGpc,
  MAX_STKCTR,
  setGpt0,
  type StkCounters,
  trackContent,
  trackResponse,
  trackSession,
} from "../stick/track.ts";
import { compileFetch } from "./expr.ts";
import { fetchOne } from "./fetch.ts";
import { currentStickResolver } from "./stick_fetch.ts";
import { type Fetch, type SampleCtx, SMP_VAL_REQ } from "./types.ts";

/** `tcp-request connection track-scN`: the whole connection. */
export const TRACK_SESSION = 0;
/** `tcp-request content track-scN`: one request. */
export const TRACK_CONTENT = 1;
/** `http-request track-scN`: one request, counted in http_req_*. */
export const TRACK_HTTP = 2;

/** A compiled `track-scN KEY [table T]`. */
export interface TrackSc {
  readonly ctr: number;
  readonly table: StickTable;
  readonly key: Fetch;
}

/**
 * Parses `track-scN` arguments: `kw` is the keyword ("track-sc0"), `args`
 * the words after it up to the condition. Must run inside the compile pass
 * (withStickTables()) so that the proxy's table and named ones resolve.
 */
export function compileTrackSc(
  kw: string,
  args: readonly string[],
  response = false,
): TrackSc | { error: string } {
  const m = /^track-sc(\d+)$/.exec(kw);
  if (m === null || Number(m[1]) >= MAX_STKCTR) {
    return { error: `unknown action '${kw}' (expected track-sc0, track-sc1 or track-sc2)` };
  }
  if (args.length !== 1 && !(args.length === 3 && args[1] === "table")) {
    return { error: `'${kw}' expects a key expression [table NAME]` };
  }
  const res = currentStickResolver();
  const tname = args.length === 3 ? args[2]! : null;
  const table = tname === null ? res?.current ?? null : res?.table(tname) ?? null;
  if (table === null) {
    return {
      error: tname === null
        ? `'${kw}': this proxy has no stick-table (add one, or name one with 'table NAME')`
        : `'${kw}': no stick-table named '${tname}'`,
    };
  }
  const key = compileFetch(args[0]!);
  if ("error" in key) return { error: `'${kw}' key: ${key.error}` };
  if (!response && (key.def.val & SMP_VAL_REQ) === 0) {
    return { error: `'${kw}' key '${key.text}' reads the response` };
  }
  return Object.freeze({ ctr: Number(m[1]), table, key });
}

/**
 * Runs a compiled track-scN on the connection's counters at `level`
 * (TRACK_*). A missing key, a key the table type cannot take, a counter
 * already tracking or a full `nopurge` table leave things as they are.
 * Returns whether it tracked.
 */
export function runTrackSc(
  a: TrackSc,
  ctx: SampleCtx,
  stk: StkCounters | null | undefined,
  level: number,
): boolean {
  if (stk === null || stk === undefined) return false;
  const t = a.table;
  const key = t.keyOf(fetchOne(ctx, a.key));
  if (key === null) return false;
  const now = t.now();
  if (level === TRACK_SESSION) return trackSession(stk, a.ctr, t, key, now);
  if (level === TRACK_HTTP && ctx.isResponse) {
    return trackResponse(stk, a.ctr, t, key, now, ctx.status());
  }
  return trackContent(stk, a.ctr, t, key, now, level === TRACK_HTTP);
}

/** `sc-inc-gpc0(N)` (which 0) / `sc-inc-gpc1(N)` (which 1) on the connection's counters. */
export function runIncGpc(stk: StkCounters | null | undefined, n: number, which: number): void {
  if (stk === null || stk === undefined) return;
  const t = stk.table(n);
  if (t !== null) incGpc(stk, n, which, t.now());
}

/** `sc-set-gpt0(N) VALUE` with VALUE already rendered; a value that is no integer is ignored. */
export function runSetGpt0(stk: StkCounters | null | undefined, n: number, v: string): void {
  if (stk === null || stk === undefined) return;
  const t = stk.table(n);
  if (t !== null && /^-?\d+$/.test(v)) setGpt0(stk, n, Number(v), t.now());
}
