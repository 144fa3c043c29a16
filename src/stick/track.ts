// Tracked stick counters (HAProxy's struct stkctr, the stream_*_counters()
// helpers of stream.h and session.h, and the actions of stick_table.c).
//
// Owns: the three counters a connection may track (sc0, sc1, sc2), at two
// levels as HAProxy keeps them: the session's (`tcp-request connection
// track-scN`, held for the whole connection) and the stream's
// (`tcp-request content` / `http-request track-scN`, held for one request
// on a keep-alive connection, as HAProxy's stream is), and the functions any
// rule engine calls on them: track, count a request / an error / bytes,
// sc-inc-gpc0/1, sc-set-gpt0, and the releases at the end of a request and
// of a connection. It never evaluates a rule nor fetches a key: the rule
// engine does and hands the key over.
//
// Where HAProxy updates which counter:
// - track (any level): conn_cur+1, conn_cnt+1, conn_rate+1, touch.
// - http-request track: also http_req_cnt+1, http_req_rate+1 (the request
//   being processed counts at once).
// - every HTTP request (head parsed): http_req_* of the session's counters.
// - a 4xx answered (a server's, a deny, a tarpit, a bad request):
//   http_err_* of every tracked counter (stream's first, else session's).
// - bytes: bytes_in/out_* of every tracked counter, at the end of each
//   request and of the connection.
// - end of a request: stream counters let go (conn_cur-1, touch); end of the
//   connection: the session's too.

import { TICK_ETERNITY } from "../task/ticks.ts";
import type { StickTable, StkEntry } from "./table.ts";
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
} from "./types.ts";

/** Number of tracked counters (HAProxy's MAX_SESS_STKCTR default). */
export const MAX_STKCTR = 3;

/**
 * The counters one connection tracks. One per stream (HTTP: owned by the
 * transaction's sample context, reused across connections), reset at the
 * end of the connection. Slots hold the table and the entry (refcount held).
 */
export class StkCounters {
  /** Session level (tcp-request connection). */
  readonly sessTable: Array<StickTable | null>;
  readonly sessEntry: Array<StkEntry | null>;
  /** Stream level (tcp-request content, http-request): one request. */
  readonly strmTable: Array<StickTable | null>;
  readonly strmEntry: Array<StkEntry | null>;
  /** Bytes already added to the entries (in, out): the next addition is the difference. */
  bytesIn: number;
  bytesOut: number;
  /** Something is tracked (fast path for the per-request hooks). */
  active: boolean;

  constructor() {
    this.sessTable = [null, null, null];
    this.sessEntry = [null, null, null];
    this.strmTable = [null, null, null];
    this.strmEntry = [null, null, null];
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.active = false;
  }

  /** The entry counter `n` reads (stream level first, as HAProxy's smp_fetch_sc_stkctr()). */
  entry(n: number): StkEntry | null {
    return this.strmEntry[n] ?? this.sessEntry[n] ?? null;
  }

  /** The table of counter `n`, null when it tracks nothing. */
  table(n: number): StickTable | null {
    return this.strmEntry[n] !== null ? this.strmTable[n]! : this.sessTable[n] ?? null;
  }
}

/** conn_cur+1, conn_cnt+1, conn_rate+1 and touch (HAProxy's stream_start_counters()). */
function startCounters(t: StickTable, e: StkEntry, now: number): void {
  e.refCnt++;
  t.add(e, DT_CONN_CUR, 1);
  t.add(e, DT_CONN_CNT, 1);
  t.addRate(e, DT_CONN_RATE, 1, now);
  t.touch(e, now);
}

/**
 * `tcp-request connection track-scN KEY [table T]` / `tcp-request session`:
 * tracks `key` (already normalised by t.keyOf()) in `t` as counter `n` for
 * the whole connection. Does nothing when counter `n` already tracks
 * something or the table is full (nopurge). Returns whether it tracked.
 */
export function trackSession(
  c: StkCounters,
  n: number,
  t: StickTable,
  key: string,
  now: number,
): boolean {
  if (c.sessEntry[n] !== null) return false;
  const e = t.getEntry(key, now);
  if (e === null) return false;
  c.sessTable[n] = t;
  c.sessEntry[n] = e;
  c.active = true;
  startCounters(t, e, now);
  return true;
}

/**
 * `tcp-request content track-scN` (http false) and `http-request
 * track-scN` (http true): tracks `key` in `t` as counter `n` for the
 * current request. Does nothing when counter `n` already tracks something
 * at either level (HAProxy's stream copies the session's counters). The
 * HTTP form also counts the request being processed (http_req_cnt/rate).
 */
export function trackContent(
  c: StkCounters,
  n: number,
  t: StickTable,
  key: string,
  now: number,
  http: boolean,
): boolean {
  if (c.strmEntry[n] !== null || c.sessEntry[n] !== null) return false;
  const e = t.getEntry(key, now);
  if (e === null) return false;
  c.strmTable[n] = t;
  c.strmEntry[n] = e;
  c.active = true;
  startCounters(t, e, now);
  if (http && (t.stores(DT_HTTP_REQ_CNT) || t.stores(DT_HTTP_REQ_RATE))) {
    t.add(e, DT_HTTP_REQ_CNT, 1);
    t.addRate(e, DT_HTTP_REQ_RATE, 1, now);
    t.touch(e, now);
  }
  return true;
}

/**
 * `http-response track-scN`: tracks like the request form (the request
 * counts too), and a 4xx / 5xx status being answered counts in the new
 * entry at once (HAProxy's http_action_track_sc() on the response: the
 * earlier count of the response skipped an entry not tracked yet).
 */
export function trackResponse(
  c: StkCounters,
  n: number,
  t: StickTable,
  key: string,
  now: number,
  status: number,
): boolean {
  if (!trackContent(c, n, t, key, now, true)) return false;
  const e = c.strmEntry[n]!;
  const fail = status >= 500 && status < 600 && status !== 501 && status !== 505;
  if (status >= 400 && status < 500) {
    t.add(e, DT_HTTP_ERR_CNT, 1);
    t.addRate(e, DT_HTTP_ERR_RATE, 1, now);
  } else if (fail) {
    t.add(e, DT_HTTP_FAIL_CNT, 1);
    t.addRate(e, DT_HTTP_FAIL_RATE, 1, now);
  }
  t.touch(e, now);
  return true;
}

/** A session was accepted past tcp-request connection rules: sess_cnt/rate of session counters. */
export function countSession(c: StkCounters, now: number): void {
  for (let n = 0; n < MAX_STKCTR; n++) {
    const e = c.sessEntry[n];
    if (e === null || e === undefined) continue;
    const t = c.sessTable[n]!;
    if (!t.stores(DT_SESS_CNT) && !t.stores(DT_SESS_RATE)) continue;
    t.add(e, DT_SESS_CNT, 1);
    t.addRate(e, DT_SESS_RATE, 1, now);
    t.touch(e, now);
  }
}

/**
 * A new HTTP request (head parsed; HAProxy's stream_inc_http_req_ctr()):
 * http_req_cnt/rate of what is tracked so far: the session's counters and
 * those `tcp-request content` tracked for this request (`http-request
 * track` runs later and counts the request itself).
 */
export function countHttpReq(c: StkCounters, now: number): void {
  countEvent(c, DT_HTTP_REQ_CNT, DT_HTTP_REQ_RATE, now);
}

/** Adds one event to a counter and its rate in every tracked entry that stores them. */
function countEvent(c: StkCounters, cnt: number, rate: number, now: number): void {
  if (!c.active) return;
  for (let n = 0; n < MAX_STKCTR; n++) {
    const e = c.entry(n);
    if (e === null) continue;
    const t = c.table(n)!;
    if (!t.stores(cnt) && !t.stores(rate)) continue;
    t.add(e, cnt, 1);
    t.addRate(e, rate, 1, now);
    t.touch(e, now);
  }
}

/** A 4xx was answered (HAProxy's stream_inc_http_err_ctr()). */
export function countHttpErr(c: StkCounters, now: number): void {
  countEvent(c, DT_HTTP_ERR_CNT, DT_HTTP_ERR_RATE, now);
}

/** A server failed (5xx but 501 and 505: HAProxy's stream_inc_http_fail_ctr()). */
export function countHttpFail(c: StkCounters, now: number): void {
  countEvent(c, DT_HTTP_FAIL_CNT, DT_HTTP_FAIL_RATE, now);
}

/**
 * The connection has carried `totalIn` bytes from the client and `totalOut`
 * to it so far: adds what is new since the last call to bytes_in/out_* of
 * every tracked entry.
 */
export function countBytes(c: StkCounters, totalIn: number, totalOut: number, now: number): void {
  const dIn = totalIn - c.bytesIn, dOut = totalOut - c.bytesOut;
  c.bytesIn = totalIn;
  c.bytesOut = totalOut;
  if (!c.active || (dIn <= 0 && dOut <= 0)) return;
  for (let n = 0; n < MAX_STKCTR; n++) {
    const e = c.entry(n);
    if (e === null) continue;
    const t = c.table(n)!;
    let changed = false;
    if (dIn > 0 && (t.stores(DT_BYTES_IN_CNT) || t.stores(DT_BYTES_IN_RATE))) {
      t.add(e, DT_BYTES_IN_CNT, dIn);
      t.addRate(e, DT_BYTES_IN_RATE, dIn, now);
      changed = true;
    }
    if (dOut > 0 && (t.stores(DT_BYTES_OUT_CNT) || t.stores(DT_BYTES_OUT_RATE))) {
      t.add(e, DT_BYTES_OUT_CNT, dOut);
      t.addRate(e, DT_BYTES_OUT_RATE, dOut, now);
      changed = true;
    }
    if (changed) t.touch(e, now);
  }
}

/**
 * `sc-inc-gpc0(N)` / `sc-inc-gpc1(N)` (which 0 or 1): increments the
 * counter and its rate in counter N's entry. Returns the new value, or
 * null when counter N tracks nothing or its table stores neither.
 */
export function incGpc(c: StkCounters, n: number, which: number, now: number): number | null {
  const e = c.entry(n);
  if (e === null) return null;
  const t = c.table(n)!;
  const cnt = which === 0 ? DT_GPC0 : DT_GPC1;
  const rate = which === 0 ? DT_GPC0_RATE : DT_GPC1_RATE;
  if (!t.stores(cnt) && !t.stores(rate)) return null;
  t.addRate(e, rate, 1, now);
  t.add(e, cnt, 1);
  t.touch(e, now);
  return t.read(e, cnt, now);
}

/** `sc-clr-gpc0(N)` / `sc-clr-gpc1(N)`: sets the counter to 0; returns the old value or null. */
export function clrGpc(c: StkCounters, n: number, which: number, now: number): number | null {
  const e = c.entry(n);
  if (e === null) return null;
  const t = c.table(n)!;
  const cnt = which === 0 ? DT_GPC0 : DT_GPC1;
  const old = t.read(e, cnt, now);
  if (old === null) return null;
  t.set(e, cnt, 0, now);
  t.touch(e, now);
  return old;
}

/** `sc-set-gpt0(N) V`: sets gpt0 in counter N's entry when stored. */
export function setGpt0(c: StkCounters, n: number, v: number, now: number): void {
  const e = c.entry(n);
  if (e === null) return;
  const t = c.table(n)!;
  if (!t.stores(DT_GPT0)) return;
  t.set(e, DT_GPT0, v >>> 0, now);
  t.touch(e, now);
}

/** Lets go of one slot: conn_cur-1, touch, release (HAProxy's stream_store_counters()). */
function storeCounter(t: StickTable, e: StkEntry, at: number): void {
  const now = at > 0 ? at : t.now();
  const o = t.ofs[DT_CONN_CUR]!;
  if (o >= 0) {
    if (e.data[o]! > 0) e.data[o] = e.data[o]! - 1;
    t.touch(e, now);
  }
  t.release(e, now);
}

/**
 * The end of a request: the stream's counters let go (conn_cur-1). `now`
 * 0 reads each table's clock.
 */
export function endStreamCounters(c: StkCounters, now = 0): void {
  if (!c.active) return;
  let left = false;
  for (let n = 0; n < MAX_STKCTR; n++) {
    const e = c.strmEntry[n];
    if (e !== null && e !== undefined) {
      storeCounter(c.strmTable[n]!, e, now);
      c.strmEntry[n] = null;
      c.strmTable[n] = null;
    }
    if (c.sessEntry[n] !== null) left = true;
  }
  c.active = left;
}

/** The end of the connection: every counter lets go, and the object is ready for another one. */
export function endSessionCounters(c: StkCounters, now = 0): void {
  endStreamCounters(c, now);
  for (let n = 0; n < MAX_STKCTR; n++) {
    const e = c.sessEntry[n];
    if (e !== null && e !== undefined) {
      storeCounter(c.sessTable[n]!, e, now);
      c.sessEntry[n] = null;
      c.sessTable[n] = null;
    }
  }
  c.active = false;
  c.bytesIn = 0;
  c.bytesOut = 0;
}

/** Whether an expiry is set (helper for callers that show `exp`). */
export function hasExpiry(e: StkEntry): boolean {
  return e.expire !== TICK_ETERNITY;
}

/** A server's response head: 4xx counts as an error, 5xx but 501/505 as a failure (HAProxy). */
export function countResponse(c: StkCounters, status: number, now: number): void {
  if (!c.active) return;
  if (status >= 400 && status < 500) countHttpErr(c, now);
  else if (status >= 500 && status < 600 && status !== 501 && status !== 505) {
    countHttpFail(c, now);
  }
}

/**
 * The end of the connection with its byte totals: the bytes not yet added
 * go to the entries still tracked, then every counter lets go.
 */
export function endConnCounters(c: StkCounters, totalIn: number, totalOut: number, now: number) {
  countBytes(c, totalIn, totalOut, now);
  endSessionCounters(c, now);
}

/**
 * Moves the session-level counters of `from` (tracked by `tcp-request
 * connection` rules before the stream existed) into `to`, the stream's,
 * and counts the accepted session in them (sess_cnt, sess_rate).
 */
export function adoptSessionCounters(to: StkCounters, from: StkCounters, now: number): void {
  for (let n = 0; n < MAX_STKCTR; n++) {
    const e = from.sessEntry[n];
    if (e === null || e === undefined) continue;
    if (to.sessEntry[n] === null) {
      to.sessTable[n] = from.sessTable[n]!;
      to.sessEntry[n] = e;
      to.active = true;
    } else {
      // Cannot happen (a new stream tracks nothing yet); let go rather than leak.
      from.sessTable[n]!.release(e, now);
    }
    from.sessEntry[n] = null;
    from.sessTable[n] = null;
  }
  from.active = false;
  countSession(to, now);
}
