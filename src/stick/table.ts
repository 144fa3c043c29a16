// The stick table store (HAProxy's stick_table.c): entries by key, their
// data, the least-recently-used order, expiry and the `stick-table` line.
//
// Owns: one table's entries (a Map by normalised key), each entry's data in
// one Float64Array laid out by the table (an offset per stored data type,
// three slots per rate: HAProxy's data_ofs), the order entries were last
// touched in (an intrusive doubly linked list: head = least recently used,
// which is also the first to expire since every touch sets now + expire),
// eviction of the least recently used entries when the table is full, and
// expiry through ONE scheduler task per table whose expiry is the head's
// (no timer per entry). It never decides what to count: track.ts and the
// rule engines do.
//
// Replication (HAProxy's peers, a later issue): every local change bumps the
// table's `update` counter and stamps the entry with it (`updateId`) and the
// tick (`touched`), so a sync can send the entries changed since the last
// update a peer acknowledged, in order; `expire` and the data array are all
// an entry is.

import { parseDuration, parseSize } from "../config/units.ts";
import type { Scheduler } from "../task/scheduler.ts";
import { realClock, TICK_ETERNITY } from "../task/ticks.ts";
import { type Task, TASK_WOKEN_MSG, type TaskOwner } from "../task/types.ts";
import { didYouMean } from "../tools/suggest.ts";
import { freqInit, freqRead, freqUpdate, FRQP_SLOTS } from "./freq_ctr.ts";
import {
  DATA_TYPES,
  dataTypeByName,
  DT_COUNT,
  DT_SERVER_KEY,
  STD_T_DICT,
  STD_T_FRQP,
  type StickTableConfig,
  STK_KEY_BINARY,
  STK_KEY_INTEGER,
  STK_KEY_IP,
  STK_KEY_IPV6,
  STK_KEY_NAMES,
  STK_KEY_STRING,
} from "./types.ts";

/** Serial numbers of entries (see StkEntry.serial). */
let entrySerial = 0;

/** One entry of a table (HAProxy's struct stksess). */
export class StkEntry {
  /** Normalised key (see StickTable.keyOf()). */
  readonly key: string;
  /** Stored data, laid out by the table (StickTable.ofs). */
  readonly data: Float64Array;
  /** server_key: the name of the server a `stick` rule stored, null when none. */
  serverKey: string | null;
  /** Trackers and CLI dumps holding the entry: it is neither evicted nor expired meanwhile. */
  refCnt: number;
  /** Tick it expires at, TICK_ETERNITY when the table has no `expire`. */
  expire: number;
  /** The table's update counter at its last local change (replication). */
  updateId: number;
  /** Tick of its last local change (replication, `show table` age). */
  touched: number;
  /** Links in the table's touch order; `linked` false once unlinked by expiry while in use. */
  prev: StkEntry | null;
  next: StkEntry | null;
  linked: boolean;
  /** Removed from its table (a tracker still holding it only lets go). */
  dead: boolean;
  /** A process-unique number, shown where HAProxy's `show table` shows the entry's address. */
  readonly serial: number;

  constructor(key: string, slots: number) {
    this.key = key;
    this.serial = ++entrySerial;
    this.data = new Float64Array(slots);
    this.serverKey = null;
    this.refCnt = 0;
    this.expire = TICK_ETERNITY;
    this.updateId = 0;
    this.touched = 0;
    this.prev = null;
    this.next = null;
    this.linked = false;
    this.dead = false;
  }
}

/** Default key length of string and binary tables (HAProxy's default `len 32`). */
const DEFAULT_KEY_LEN = 32;

/**
 * A stick table. Built from a checked StickTableConfig; `sched` runs its
 * expiry (null in unit tests that expire by hand with trashExpired()).
 */
export class StickTable implements TaskOwner {
  readonly cfg: StickTableConfig;
  readonly name: string;
  readonly type: number;
  readonly keyLen: number;
  readonly size: number;
  /** Entry lifetime after its last change (ms), 0 = never expires. */
  readonly expireMs: number;
  readonly nopurge: boolean;
  /** Offset of each DT_* in an entry's data, -1 when not stored. */
  readonly ofs: Int32Array;
  /** Period (ms) of each stored rate, 0 for the others. */
  readonly period: Float64Array;
  /** Slots an entry's data takes. */
  readonly slots: number;
  /** Local update counter (replication): bumped at each local change. */
  update: number;
  readonly #map: Map<string, StkEntry>;
  #head: StkEntry | null;
  #tail: StkEntry | null;
  #sched: Scheduler | null;
  #task: Task | null;
  /** keyOf()'s last ip-table sample and its key (null: no key). */
  #lastIp: string;
  #lastIpKey: string | null;

  constructor(cfg: StickTableConfig, sched: Scheduler | null = null) {
    this.cfg = cfg;
    this.name = cfg.name;
    this.type = cfg.type;
    this.keyLen = cfg.keyLen;
    this.size = cfg.size;
    this.expireMs = cfg.expire;
    this.nopurge = cfg.nopurge;
    this.ofs = new Int32Array(DT_COUNT).fill(-1);
    this.period = new Float64Array(DT_COUNT);
    let slots = 0;
    for (const [dt, p] of cfg.store) {
      const std = DATA_TYPES[dt]!.std;
      if (std === STD_T_DICT) continue; // server_key lives in StkEntry.serverKey
      this.ofs[dt] = slots;
      this.period[dt] = p;
      slots += std === STD_T_FRQP ? FRQP_SLOTS : 1;
    }
    this.slots = slots;
    this.update = 0;
    this.#map = new Map();
    this.#head = null;
    this.#tail = null;
    this.#sched = null;
    this.#task = null;
    this.#lastIp = "";
    this.#lastIpKey = null;
    if (sched !== null) this.attach(sched);
  }

  /**
   * Runs the table on `sched` (the process's, which exists after the
   * configuration was compiled): its clock and, with `expire`, its expiry
   * task. Entries already there are queued for expiry.
   */
  attach(sched: Scheduler): void {
    if (this.#sched === sched) return;
    if (this.#task !== null) this.#sched!.kill(this.#task);
    this.#sched = sched;
    this.#task = this.expireMs > 0 ? sched.newTask(this) : null;
    if (this.#task !== null && this.#head !== null) {
      this.#task.expire = this.#head.expire;
      sched.queue(this.#task);
    }
  }

  /** The current tick: the scheduler's cached time, or the real clock before attach(). */
  now(): number {
    return this.#sched !== null ? this.#sched.now : realClock.now();
  }

  /** Entries in use (HAProxy's `used`). */
  get used(): number {
    return this.#map.size;
  }

  /** Whether data type `dt` is stored. */
  stores(dt: number): boolean {
    return dt === DT_SERVER_KEY ? this.cfg.serverKey === true : this.ofs[dt]! >= 0;
  }

  /**
   * Normalises a sample into this table's key (HAProxy's stktable_fetch_key()
   * conversions): ip takes IPv4 and IPv4-mapped IPv6 text ("::ffff:1.2.3.4"
   * becomes "1.2.3.4"); ipv6 takes IPv6 text, an IPv4 address becoming
   * "::ffff:a.b.c.d"; integer takes an integer or decimal text (as an
   * unsigned 32-bit value); string keeps at most `len` bytes; binary keeps
   * `len` bytes, zero-padded. Returns null when the sample cannot be a key
   * (absent, an IPv6 client in an ip table, text that is no integer).
   */
  keyOf(v: string | number | boolean | null): string | null {
    if (v === null) return null;
    switch (this.type) {
      case STK_KEY_IP: {
        if (typeof v !== "string") return null;
        // The same client tracked again (every request of a connection):
        // the last answer, without the pattern test.
        if (v === this.#lastIp) return this.#lastIpKey;
        const s = v.startsWith("::ffff:") && v.indexOf(".") > 0 ? v.slice(7) : v;
        const key = IPV4_RE.test(s) ? s : null;
        this.#lastIp = v;
        this.#lastIpKey = key;
        return key;
      }
      case STK_KEY_IPV6: {
        if (typeof v !== "string") return null;
        if (IPV4_RE.test(v)) return "::ffff:" + v;
        return v.indexOf(":") >= 0 ? v.toLowerCase() : null;
      }
      case STK_KEY_INTEGER: {
        const n = typeof v === "number"
          ? v
          : typeof v === "boolean"
          ? (v ? 1 : 0)
          : /^-?\d+$/.test(v)
          ? Number(v)
          : NaN;
        return Number.isFinite(n) ? String(Math.trunc(n) >>> 0) : null;
      }
      case STK_KEY_STRING: {
        const s = typeof v === "string" ? v : typeof v === "number" ? String(v) : v ? "1" : "0";
        return s.length > this.keyLen ? s.slice(0, this.keyLen) : s;
      }
      default: {
        const s = typeof v === "string" ? v : String(v);
        if (s.length >= this.keyLen) return s.slice(0, this.keyLen);
        return s + "\0".repeat(this.keyLen - s.length);
      }
    }
  }

  /** The entry of `key` (normalised), or null. Does not touch it. */
  lookup(key: string): StkEntry | null {
    return this.#map.get(key) ?? null;
  }

  /**
   * The entry of `key`, created when absent (HAProxy's stktable_get_entry()).
   * A full table first evicts its least recently used entries not in use
   * (size/256 + 1 of them, as HAProxy batches it); with `nopurge`, or when
   * every entry is in use, no entry is created: null. A new entry is touched.
   */
  getEntry(key: string, now: number): StkEntry | null {
    const e = this.#map.get(key);
    if (e !== undefined) return e;
    if (this.#map.size >= this.size) {
      if (this.nopurge || this.#trashOldest((this.size >> 8) + 1) === 0) return null;
    }
    const n = new StkEntry(key, this.slots);
    for (let dt = 0; dt < DT_COUNT; dt++) {
      const o = this.ofs[dt]!;
      if (o >= 0 && DATA_TYPES[dt]!.std === STD_T_FRQP) freqInit(n.data, o);
    }
    this.#map.set(key, n);
    this.touch(n, now);
    return n;
  }

  /**
   * A local change of `e` (HAProxy's stktable_touch_local()): it expires
   * `expire` ms from now, becomes the most recently used, and gets the next
   * update id. The table's expiry task is queued when it was idle.
   */
  touch(e: StkEntry, now: number): void {
    if (e.dead) return;
    e.touched = now;
    e.updateId = ++this.update;
    if (this.expireMs > 0) e.expire = now + this.expireMs;
    if (e.linked) {
      if (e === this.#tail) return;
      this.#unlink(e);
    }
    this.#append(e);
    const task = this.#task;
    if (task !== null && task.expire === TICK_ETERNITY) {
      task.expire = e.expire;
      this.#sched!.queue(task);
    }
  }

  /** Removes `e` (expiry, eviction, `clear table`); a tracker holding it just lets go later. */
  remove(e: StkEntry): void {
    if (e.dead) return;
    e.dead = true;
    if (e.linked) this.#unlink(e);
    this.#map.delete(e.key);
  }

  /**
   * A tracker lets go of `e` (HAProxy's stksess_kill_if_expired()): with no
   * holder left, an entry whose expiry passed while it was in use goes now.
   */
  release(e: StkEntry, now: number): void {
    if (e.refCnt > 0) e.refCnt--;
    if (e.refCnt === 0 && !e.dead && e.expire !== TICK_ETERNITY && e.expire <= now) {
      this.remove(e);
    }
  }

  /** Every entry, least recently used first, then those unlinked while in use. */
  *entries(): IterableIterator<StkEntry> {
    yield* this.#map.values();
  }

  /** Entries in touch order, least recently used first (tests, replication). */
  lruKeys(): string[] {
    const out: string[] = [];
    for (let e = this.#head; e !== null; e = e.next) out.push(e.key);
    return out;
  }

  /** Removes every entry not in use; returns how many went (`clear table`). */
  clear(): number {
    let n = 0;
    for (const e of [...this.#map.values()]) {
      if (e.refCnt > 0) continue;
      this.remove(e);
      n++;
    }
    return n;
  }

  /** Scheduler: the head's expiry passed; trash what expired, sleep until the next. */
  process(task: Task): void {
    task.expire = this.trashExpired(this.#sched!.now);
  }

  /**
   * Removes the entries whose expiry passed (HAProxy's
   * stktable_trash_expired()); an expired entry in use is unlinked instead
   * and goes when released, unless touched again. Returns the next expiry
   * tick, TICK_ETERNITY when none.
   */
  trashExpired(now: number): number {
    let e = this.#head;
    while (e !== null) {
      if (e.expire === TICK_ETERNITY || e.expire > now) return e.expire;
      const next = e.next;
      if (e.refCnt > 0) this.#unlink(e);
      else this.remove(e);
      e = next;
    }
    return TICK_ETERNITY;
  }

  /** Wakes the expiry task now (tests, `clear table` leaves nothing to wait for). */
  kick(): void {
    if (this.#task !== null) this.#sched!.wake(this.#task, TASK_WOKEN_MSG);
  }

  /** Stops the expiry task (the table is dropped by a reload that did not keep it). */
  stop(): void {
    if (this.#task !== null) this.#sched!.kill(this.#task);
  }

  // Data access: `dt` must be stored (stores(dt)), except where said.

  /** Integer value of `dt` (a rate read over its period), or null when not stored. */
  read(e: StkEntry, dt: number, now: number): number | null {
    const o = this.ofs[dt]!;
    if (o < 0) return null;
    if (DATA_TYPES[dt]!.std === STD_T_FRQP) return freqRead(e.data, o, this.period[dt]!, now);
    return e.data[o]!;
  }

  /** Adds `n` to counter `dt` when stored (no touch). */
  add(e: StkEntry, dt: number, n: number): void {
    const o = this.ofs[dt]!;
    if (o >= 0) e.data[o] = e.data[o]! + n;
  }

  /** Adds `n` events to rate `dt` when stored (no touch). */
  addRate(e: StkEntry, dt: number, n: number, now: number): void {
    const o = this.ofs[dt]!;
    if (o >= 0) freqUpdate(e.data, o, this.period[dt]!, now, n);
  }

  /**
   * Sets `dt` (runtime API `set table`, `sc-set-gpt0`, server_id): a counter
   * takes the value, a rate restarts with `v` events in a new period.
   */
  set(e: StkEntry, dt: number, v: number, now: number): void {
    const o = this.ofs[dt]!;
    if (o < 0) return;
    if (DATA_TYPES[dt]!.std === STD_T_FRQP) {
      freqInit(e.data, o);
      freqUpdate(e.data, o, this.period[dt]!, now, v);
    } else e.data[o] = v;
  }

  #append(e: StkEntry): void {
    e.prev = this.#tail;
    e.next = null;
    if (this.#tail !== null) this.#tail.next = e;
    else this.#head = e;
    this.#tail = e;
    e.linked = true;
  }

  #unlink(e: StkEntry): void {
    if (e.prev !== null) e.prev.next = e.next;
    else this.#head = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    else this.#tail = e.prev;
    e.prev = e.next = null;
    e.linked = false;
  }

  /**
   * Evicts up to `batch` least recently used entries not in use, looking at
   * no more than twice that many (HAProxy's __stktable_trash_oldest()).
   */
  #trashOldest(batch: number): number {
    let done = 0;
    let search = batch * 2;
    let e = this.#head;
    while (e !== null && done < batch && search-- > 0) {
      const next = e.next;
      if (e.refCnt === 0) {
        this.remove(e);
        done++;
      }
      e = next;
    }
    return done;
  }
}

const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Largest `size` accepted (entries). */
const MAX_SIZE = 0x7fffffff;

/**
 * Parses the text of a `stick-table` line (without the keyword):
 * `type ip|ipv6|integer|string [len N]|binary [len N] size N [expire T]
 * [nopurge] [store D[,D…]]…` (HAProxy's parse_stick_table()). Also accepted
 * and ignored as HAProxy's: `peers NAME`, `srvkey name|addr` (name only).
 * Refused: a missing type or size, an unknown keyword, data type or key
 * type (with a suggestion), a rate without its period, a period on a
 * counter, a data type stored twice, a bad size, length or delay.
 */
export function parseStickTable(name: string, text: string): StickTableConfig | { error: string } {
  const a = text.trim().split(/\s+/).filter((s) => s !== "");
  let type = -1;
  let keyLen = DEFAULT_KEY_LEN;
  let size = -1;
  let expire = 0;
  let nopurge = false;
  const store: Array<readonly [number, number]> = [];
  const seen = new Set<number>();
  for (let i = 0; i < a.length; i++) {
    const kw = a[i]!;
    const val = a[i + 1];
    switch (kw) {
      case "type": {
        if (val === undefined) {
          return { error: "'type' expects ip, ipv6, integer, string or binary" };
        }
        i++;
        type = STK_KEY_NAMES.indexOf(val);
        if (type < 0) {
          return {
            error: `unknown key type '${val}' (expected ip, ipv6, integer, string or binary)`,
          };
        }
        if ((type === STK_KEY_STRING || type === STK_KEY_BINARY) && a[i + 1] === "len") {
          const l = a[i + 2];
          if (l === undefined || !/^\d+$/.test(l) || Number(l) < 1 || Number(l) > 65535) {
            return { error: `invalid key length '${l ?? ""}' (expected 1..65535)` };
          }
          keyLen = Number(l);
          i += 2;
        }
        break;
      }
      case "size": {
        const n = val === undefined ? null : parseSize(val);
        if (n === null || n < 1 || n > MAX_SIZE) {
          return { error: `invalid size '${val ?? ""}' (expected a number of entries, e.g. 100k)` };
        }
        size = n;
        i++;
        break;
      }
      case "expire": {
        const d = val === undefined ? null : parseDuration(val);
        if (d === null || d > 0x7fffffff) {
          return { error: `invalid expire delay '${val ?? ""}' (expected e.g. 30s, 10m)` };
        }
        expire = d;
        i++;
        break;
      }
      case "nopurge":
        nopurge = true;
        break;
      case "peers":
      case "srvkey":
        if (val === undefined) return { error: `'${kw}' expects a value` };
        if (kw === "srvkey" && val !== "name" && val !== "addr") {
          return { error: `invalid srvkey '${val}' (expected name or addr)` };
        }
        i++;
        break;
      case "store": {
        if (val === undefined) return { error: "'store' expects a list of data types" };
        i++;
        for (const item of val.split(",")) {
          const m = /^([a-z0-9_]+)(?:\(([^)]*)\))?$/.exec(item);
          if (m === null) return { error: `invalid data type '${item}' in 'store'` };
          const dt = dataTypeByName(m[1]!);
          if (dt < 0 || dt === DT_SERVER_KEY) {
            return {
              error: `unknown data type '${m[1]}' in 'store'${
                didYouMean(m[1]!, DATA_TYPES.map((d) => d.name))
              }`,
            };
          }
          const isRate = DATA_TYPES[dt]!.std === STD_T_FRQP;
          let period = 0;
          if (isRate) {
            const p = m[2] === undefined ? null : parseDuration(m[2]);
            if (p === null || p < 1 || p > 0x7fffffff) {
              return {
                error: m[2] === undefined
                  ? `data type '${m[1]}' expects a period, e.g. ${m[1]}(10s)`
                  : `invalid period '${m[2]}' for '${m[1]}'`,
              };
            }
            period = p;
          } else if (m[2] !== undefined) {
            return { error: `data type '${m[1]}' takes no argument` };
          }
          if (seen.has(dt)) return { error: `data type '${m[1]}' stored twice` };
          seen.add(dt);
          store.push(Object.freeze([dt, period] as const));
        }
        break;
      }
      default:
        return {
          error: `unknown stick-table argument '${kw}'${
            didYouMean(kw, ["type", "size", "expire", "nopurge", "store", "peers", "srvkey"])
          }`,
        };
    }
  }
  if (type < 0) return { error: "stick-table: missing 'type'" };
  if (size < 0) return { error: "stick-table: missing 'size'" };
  if (type === STK_KEY_IP || type === STK_KEY_IPV6 || type === STK_KEY_INTEGER) keyLen = 0;
  store.sort((x, y) => x[0] - y[0]);
  return Object.freeze({ name, type, keyLen, size, expire, nopurge, store: Object.freeze(store) });
}

/** True when two configurations make tables whose entries can carry over (reload). */
export function sameTableLayout(a: StickTableConfig, b: StickTableConfig): boolean {
  if (a.type !== b.type || a.keyLen !== b.keyLen || a.store.length !== b.store.length) return false;
  for (let i = 0; i < a.store.length; i++) {
    const x = a.store[i]!, y = b.store[i]!;
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}
