// The stick-table fetches (HAProxy's smp_fetch_sc_*() family in
// stick_table.c): `sc_*(N[,TABLE])`, `sc0_*`/`sc1_*`/`sc2_*([TABLE])`,
// `src_*([TABLE])`, `table_cnt([TABLE])`, `table_avl([TABLE])`.
//
// Owns: their keyword table (built from one list of data fetches times the
// three families), the compile-time resolution of a table name (a name must
// exist, and `src_*` without one reads the table of the proxy the rule is
// in: resolveStickArgs(), run under withStickTables() by the compile pass),
// and their evaluation against the counters a SampleCtx carries (`stk`).
// An `sc` fetch whose counter tracks nothing yields no sample (an ACL on it
// does not match); a `src_*` fetch of an unknown client reads 0, as HAProxy.
// It never tracks anything: only the `*_inc_*`/`*_clr_*` fetches change an
// entry, as HAProxy's do.

import type { StickTable, StkEntry } from "../stick/table.ts";
import { clrGpc, incGpc, MAX_STKCTR } from "../stick/track.ts";
import {
  DT_BYTES_IN_CNT,
  DT_BYTES_IN_RATE,
  DT_BYTES_OUT_CNT,
  DT_BYTES_OUT_RATE,
  DT_CONN_CNT,
  DT_CONN_CUR,
  DT_CONN_RATE,
  DT_GPC0,
  DT_GPC0_RATE,
  DT_GPC1,
  DT_GPC1_RATE,
  DT_GPT0,
  DT_HTTP_ERR_CNT,
  DT_HTTP_ERR_RATE,
  DT_HTTP_FAIL_CNT,
  DT_HTTP_FAIL_RATE,
  DT_HTTP_REQ_CNT,
  DT_HTTP_REQ_RATE,
  DT_SESS_CNT,
  DT_SESS_RATE,
} from "../stick/types.ts";
import {
  type Fetch,
  type FetchDef,
  type Sample,
  type SampleCtx,
  SMP_ARG_STK_SC,
  SMP_ARG_STK_TABLE,
  SMP_SIDE_CTX,
  SMP_T_BOOL,
  SMP_T_INT,
  SMP_USE_CONN,
  SMP_VAL_REQ,
  SMP_VAL_RES,
} from "./types.ts";

/** First FetchDef.id of the stick fetches (fetch.ts hands ids from here to stickFetch()). */
export const FETCH_STK_BASE = 1000;

// What a stick fetch reads (FetchDef.id = FETCH_STK_BASE + family * 64 + what).
const FAM_SC = 0; // sc_X(N[,T])
const FAM_SC0 = 1; // sc0_X([T]), sc1_ = 2, sc2_ = 3
const FAM_SRC = 4; // src_X([T])
const FAM_TABLE = 5; // table_cnt / table_avl

// Special reads (beyond a plain data type).
const W_KBYTES_IN = 100;
const W_KBYTES_OUT = 101;
const W_INC_GPC0 = 102;
const W_INC_GPC1 = 103;
const W_CLR_GPC0 = 104;
const W_CLR_GPC1 = 105;
const W_TRACKERS = 106;
const W_TRACKED = 107;
const W_TABLE_CNT = 108;
const W_TABLE_AVL = 109;

/** Data fetch suffixes and what they read. */
const DATA_FETCHES: ReadonlyArray<readonly [string, number, string]> = [
  ["conn_cnt", DT_CONN_CNT, "connections counted"],
  ["conn_cur", DT_CONN_CUR, "concurrent connections"],
  ["conn_rate", DT_CONN_RATE, "connection rate over the table's period"],
  ["sess_cnt", DT_SESS_CNT, "sessions counted"],
  ["sess_rate", DT_SESS_RATE, "session rate"],
  ["http_req_cnt", DT_HTTP_REQ_CNT, "HTTP requests counted"],
  ["http_req_rate", DT_HTTP_REQ_RATE, "HTTP request rate"],
  ["http_err_cnt", DT_HTTP_ERR_CNT, "HTTP 4xx counted"],
  ["http_err_rate", DT_HTTP_ERR_RATE, "HTTP 4xx rate"],
  ["http_fail_cnt", DT_HTTP_FAIL_CNT, "server failures counted"],
  ["http_fail_rate", DT_HTTP_FAIL_RATE, "server failure rate"],
  ["bytes_in_rate", DT_BYTES_IN_RATE, "client-to-server byte rate"],
  ["bytes_out_rate", DT_BYTES_OUT_RATE, "server-to-client byte rate"],
  ["kbytes_in", W_KBYTES_IN, "client-to-server kilobytes"],
  ["kbytes_out", W_KBYTES_OUT, "server-to-client kilobytes"],
  ["get_gpc0", DT_GPC0, "general purpose counter 0"],
  ["get_gpc1", DT_GPC1, "general purpose counter 1"],
  ["gpc0_rate", DT_GPC0_RATE, "gpc0 increment rate"],
  ["gpc1_rate", DT_GPC1_RATE, "gpc1 increment rate"],
  ["get_gpt0", DT_GPT0, "general purpose tag 0"],
  ["inc_gpc0", W_INC_GPC0, "increments gpc0 and returns it"],
  ["inc_gpc1", W_INC_GPC1, "increments gpc1 and returns it"],
  ["clr_gpc0", W_CLR_GPC0, "clears gpc0 and returns its old value"],
  ["clr_gpc1", W_CLR_GPC1, "clears gpc1 and returns its old value"],
];

function def(name: string, fam: number, what: number, out: number, doc: string): FetchDef {
  return Object.freeze({
    name,
    id: FETCH_STK_BASE + fam * 256 + what,
    args: fam === FAM_SC ? SMP_ARG_STK_SC : SMP_ARG_STK_TABLE,
    out,
    use: fam === FAM_SRC ? SMP_USE_CONN : 0,
    val: SMP_VAL_REQ | SMP_VAL_RES,
    side: SMP_SIDE_CTX,
    multi: false,
    derive: false,
    doc,
  });
}

/** The stick fetch keywords (appended to fetch.ts's FETCHES). */
export const STICK_FETCHES: readonly FetchDef[] = Object.freeze((() => {
  const out: FetchDef[] = [];
  for (const [sfx, what, doc] of DATA_FETCHES) {
    out.push(def(`sc_${sfx}`, FAM_SC, what, SMP_T_INT, `${doc}: sc_${sfx}(CTR[,TABLE])`));
    for (let n = 0; n < MAX_STKCTR; n++) {
      out.push(def(`sc${n}_${sfx}`, FAM_SC0 + n, what, SMP_T_INT, `${doc} of sc${n}`));
    }
    out.push(def(`src_${sfx}`, FAM_SRC, what, SMP_T_INT, `${doc} of the client address`));
  }
  out.push(def("sc_trackers", FAM_SC, W_TRACKERS, SMP_T_INT, "trackers of the counter's entry"));
  out.push(def("sc_tracked", FAM_SC, W_TRACKED, SMP_T_BOOL, "the counter tracks an entry"));
  for (let n = 0; n < MAX_STKCTR; n++) {
    out.push(def(`sc${n}_trackers`, FAM_SC0 + n, W_TRACKERS, SMP_T_INT, "trackers"));
    out.push(def(`sc${n}_tracked`, FAM_SC0 + n, W_TRACKED, SMP_T_BOOL, "tracks an entry"));
  }
  out.push(def("table_cnt", FAM_TABLE, W_TABLE_CNT, SMP_T_INT, "entries in the table"));
  out.push(def("table_avl", FAM_TABLE, W_TABLE_AVL, SMP_T_INT, "free entries in the table"));
  return out;
})());

// ---------------------------------------------------------------------------
// Compile-time resolution of table names.

/** The tables a configuration declares, and the one of the proxy being compiled. */
export interface StickResolver {
  table(name: string): StickTable | undefined;
  /** The table of the proxy whose rules are compiled (`src_*` without a name), null if none. */
  readonly current: StickTable | null;
}

let resolver: StickResolver | null = null;

/** Runs `fn` (compiling one proxy's ACLs and rules) with `r` resolving table names. */
export function withStickTables<T>(r: StickResolver | null, fn: () => T): T {
  const prev = resolver;
  resolver = r;
  try {
    return fn();
  } finally {
    resolver = prev;
  }
}

/** The tables in effect while compiling (rule compilers use it for `track-sc … table T`). */
export function currentStickResolver(): StickResolver | null {
  return resolver;
}

/**
 * Checks the arguments of a stick fetch and resolves its table: for `sc_*`
 * the counter number (0..2) then an optional table, for the others an
 * optional table. `src_*`, `table_*` without a name read the current
 * proxy's table (an error when it has none). Returns the counter number
 * (−1 when none) and the table (null: the tracked entry's own).
 */
export function resolveStickArgs(
  fd: FetchDef,
  args: readonly string[],
  text: string,
): { ctr: number; table: StickTable | null } | { error: string } {
  const fam = Math.floor((fd.id - FETCH_STK_BASE) / 256);
  let i = 0;
  let ctr = fam >= FAM_SC0 && fam < FAM_SC0 + MAX_STKCTR ? fam - FAM_SC0 : -1;
  if (fam === FAM_SC) {
    const a = args[0];
    if (a === undefined || !/^\d+$/.test(a) || Number(a) >= MAX_STKCTR) {
      return { error: `'${fd.name}' expects a counter number 0..${MAX_STKCTR - 1} in '${text}'` };
    }
    ctr = Number(a);
    i = 1;
  }
  if (args.length > i + 1) return { error: `too many arguments in '${text}'` };
  const name = args[i];
  let table: StickTable | null = null;
  if (name !== undefined && name !== "") {
    const t = resolver?.table(name);
    if (t === undefined) return { error: `no stick-table named '${name}' in '${text}'` };
    table = t;
  } else if (fam === FAM_SRC || fam === FAM_TABLE) {
    table = resolver?.current ?? null;
    if (table === null) {
      return {
        error:
          `'${fd.name}' needs a table: this proxy has no stick-table (name one: ${fd.name}(TABLE))`,
      };
    }
  }
  return { ctr, table };
}

// ---------------------------------------------------------------------------
// Evaluation.

/** The value `what` of entry `e` of table `t` (0 when the entry is null). */
function readEntry(t: StickTable, e: StkEntry | null, what: number, now: number): Sample {
  if (what === W_KBYTES_IN || what === W_KBYTES_OUT) {
    const dt = what === W_KBYTES_IN ? DT_BYTES_IN_CNT : DT_BYTES_OUT_CNT;
    if (!t.stores(dt)) return null;
    return e === null ? 0 : Math.floor((t.read(e, dt, now) ?? 0) / 1024);
  }
  if (!t.stores(what)) return null;
  return e === null ? 0 : t.read(e, what, now);
}

/** Evaluates a stick fetch (FetchDef.id ≥ FETCH_STK_BASE); null when there is no sample. */
export function stickFetch(ctx: SampleCtx, f: Fetch): Sample {
  const x = f.def.id - FETCH_STK_BASE;
  const fam = Math.floor(x / 256);
  const what = x % 256;
  let t = f.table;
  if (fam === FAM_TABLE) {
    if (t === null) return null;
    return what === W_TABLE_CNT ? t.used : t.size - t.used;
  }
  let e: StkEntry | null = null;
  if (fam === FAM_SRC) {
    if (t === null) return null;
    const key = t.keyOf(ctx.src());
    if (key === null) return null;
    const now = t.now();
    if (what === W_INC_GPC0 || what === W_INC_GPC1 || what === W_CLR_GPC0 || what === W_CLR_GPC1) {
      e = t.getEntry(key, now);
      if (e === null) return null;
      return entryUpdate(t, e, what, now);
    }
    return readEntry(t, t.lookup(key), what, now);
  }
  // sc_* / scN_*: the tracked counter.
  const c = ctx.stk;
  const n = f.occ;
  const tracked = c === undefined || c === null ? null : c.entry(n);
  if (what === W_TRACKED) return tracked !== null && (t === null || c!.table(n) === t);
  if (tracked === null) return null;
  const tt = c!.table(n)!;
  if (t !== null && t !== tt) {
    // sc_*(N,TABLE) with another table than the tracked one: look the key up there.
    e = t.lookup(tracked.key);
  } else {
    t = tt;
    e = tracked;
  }
  const now = t.now();
  if (what === W_TRACKERS) return e === null ? 0 : e.refCnt;
  if (what === W_INC_GPC0 || what === W_INC_GPC1 || what === W_CLR_GPC0 || what === W_CLR_GPC1) {
    if (e !== tracked) return e === null ? null : entryUpdate(t, e, what, now);
    const which = what === W_INC_GPC0 || what === W_CLR_GPC0 ? 0 : 1;
    return what === W_INC_GPC0 || what === W_INC_GPC1
      ? incGpc(c!, n, which, now)
      : clrGpc(c!, n, which, now);
  }
  return readEntry(t, e, what, now);
}

/** `*_inc_gpc*` / `*_clr_gpc*` on an entry that is not a tracked counter's. */
function entryUpdate(t: StickTable, e: StkEntry, what: number, now: number): Sample {
  const inc = what === W_INC_GPC0 || what === W_INC_GPC1;
  const zero = what === W_INC_GPC0 || what === W_CLR_GPC0;
  const cnt = zero ? DT_GPC0 : DT_GPC1;
  const rate = zero ? DT_GPC0_RATE : DT_GPC1_RATE;
  if (!t.stores(cnt) && !t.stores(rate)) return null;
  if (inc) {
    t.addRate(e, rate, 1, now);
    t.add(e, cnt, 1);
    t.touch(e, now);
    return t.read(e, cnt, now);
  }
  const old = t.read(e, cnt, now);
  t.set(e, cnt, 0, now);
  t.touch(e, now);
  return old;
}
