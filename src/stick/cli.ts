// The stick-table commands of the runtime API (HAProxy's cli_parse_table_req()
// and cli_io_handler_table() in stick_table.c): `show table`, `clear table`,
// `set table`, as plain functions over the process's tables that return the
// text HAProxy prints (the CLI applet adds its prompt and final newline).
//
// Output formats, as HAProxy 2.6:
//   # table: NAME, type: ip, size:1024, used:1
//   0x1: key=127.0.0.1 use=0 exp=9998 conn_cnt=1 http_req_rate(10000)=3
// where the address is a per-entry serial number (HAProxy prints a pointer),
// `use` the number of trackers holding the entry besides the dump, `exp` the
// milliseconds left. It never changes an entry except for `clear`/`set`.

import type { StickTable, StkEntry } from "./table.ts";
import {
  DATA_TYPES,
  dataTypeByName,
  DT_COUNT,
  DT_SERVER_ID,
  STD_T_FRQP,
  STK_KEY_BINARY,
  STK_KEY_INTEGER,
  STK_KEY_IP,
  STK_KEY_IPV6,
  STK_KEY_NAMES,
  STK_KEY_STRING,
} from "./types.ts";
import { TICK_ETERNITY } from "../task/ticks.ts";

/** The tables the runtime API sees, by name (the process's). */
export interface StickTableSet {
  get(name: string): StickTable | undefined;
  values(): IterableIterator<StickTable>;
}

/** `# table: ...` line of a table. */
function head(t: StickTable): string {
  return `# table: ${t.name}, type: ${STK_KEY_NAMES[t.type]}, size:${t.size}, used:${t.used}\n`;
}

/** HAProxy's dump_text(): printable bytes as is, others escaped as \xHH; stops at NUL. */
function dumpText(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) break;
    if (c >= 0x20 && c < 0x7f && c !== 0x5c) out += s[i];
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else out += "\\x" + c.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** HAProxy's dump_binary(): every byte as two upper-case hex digits. */
function dumpBinary(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    out += (s.charCodeAt(i) & 0xff).toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** One entry's line. */
export function formatEntry(t: StickTable, e: StkEntry, now: number): string {
  const key = t.type === STK_KEY_STRING
    ? dumpText(e.key)
    : t.type === STK_KEY_BINARY
    ? dumpBinary(e.key)
    : e.key;
  const exp = e.expire === TICK_ETERNITY ? 0 : Math.max(0, e.expire - now);
  let out = `0x${e.serial.toString(16)}: key=${key} use=${e.refCnt} exp=${exp}`;
  for (let dt = 0; dt < DT_COUNT; dt++) {
    if (!t.stores(dt)) continue;
    const d = DATA_TYPES[dt]!;
    if (d.std === 4) {
      out += ` ${d.name}=${e.serverKey ?? "-"}`;
      continue;
    }
    out += d.std === STD_T_FRQP ? ` ${d.name}(${t.period[dt]})=` : ` ${d.name}=`;
    out += String(t.read(e, dt, now));
  }
  return out + "\n";
}

/**
 * A sort key giving HAProxy's dump order, that of its key tree: IPv4 and
 * IPv6 by address bytes, integers by their bytes in memory (x86: least
 * significant first), strings and binary keys by bytes.
 */
function orderKey(type: number, k: string): string {
  if (type === STK_KEY_INTEGER) {
    const n = Number(k) >>> 0;
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].map(hex2).join("");
  }
  if (type === STK_KEY_IP) return k.split(".").map((x) => hex2(Number(x))).join("");
  if (type === STK_KEY_IPV6) {
    let s = k;
    const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
    if (v4 !== null) {
      const b = v4.slice(1).map(Number);
      s = s.slice(0, v4.index) + hex2(b[0]!) + hex2(b[1]!) + ":" + hex2(b[2]!) + hex2(b[3]!);
    }
    const [head, tail] = s.includes("::") ? s.split("::") as [string, string] : [s, null];
    const h = head === "" ? [] : head.split(":");
    const t = tail === null || tail === "" ? [] : tail.split(":");
    const mid = Array(Math.max(0, 8 - h.length - t.length)).fill("0");
    return [...h, ...(tail === null ? [] : mid), ...t].map((g) => g.padStart(4, "0")).join("");
  }
  return k;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** The entries of `t` in HAProxy's dump order. */
function sortedEntries(t: StickTable): StkEntry[] {
  const all = [...t.entries()].map((e) => [orderKey(t.type, e.key), e] as const);
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return all.map(([, e]) => e);
}

/** One `data.X OP V` filter, checked. */
interface Filter {
  dt: number;
  op: string;
  v: number;
}

const OPS: ReadonlySet<string> = new Set(["eq", "ne", "le", "ge", "lt", "gt"]);

function testFilter(t: StickTable, e: StkEntry, f: Filter, now: number): boolean {
  const x = t.read(e, f.dt, now) ?? 0;
  switch (f.op) {
    case "eq":
      return x === f.v;
    case "ne":
      return x !== f.v;
    case "le":
      return x <= f.v;
    case "ge":
      return x >= f.v;
    case "lt":
      return x < f.v;
    default:
      return x > f.v;
  }
}

/** Parses `data.X OP V [data.X OP V …]` (up to 4, as HAProxy's STKTABLE_FILTER_LEN). */
function parseFilters(t: StickTable, args: readonly string[]): Filter[] | string {
  const out: Filter[] = [];
  let i = 0;
  for (; i < args.length && out.length < 4; i += 3) {
    const n = out.length + 1;
    const a = args[i]!;
    if (!a.startsWith("data.")) break;
    const dt = dataTypeByName(a.slice(5));
    if (dt < 0) return `Filter entry #${n}: Unknown data type\n`;
    if (!t.stores(dt)) return `Filter entry #${n}: Data type not stored in this table\n`;
    const op = args[i + 1] ?? "";
    if (!OPS.has(op)) {
      return `Filter entry #${n}: Require and operator among "eq", "ne", "le", "ge", "lt", "gt"\n`;
    }
    const v = args[i + 2] ?? "";
    if (!/^-?\d+$/.test(v)) {
      return `Filter entry #${n}: Require a valid integer value to compare against\n`;
    }
    out.push({ dt, op, v: Number(v) });
  }
  if (i < args.length) {
    return `Detected extra data in filter, ${3 + i + 1}th word of input, after '${
      args[i - 1] ?? ""
    }'\n`;
  }
  return out;
}

const INVALID_KEY = { error: "Invalid key\n" };

/**
 * Normalises a key typed on the CLI, or returns HAProxy's refusal: no key,
 * a table type that takes none (`doing` starts that message: "Showing keys
 * from", "Removing keys from", "Inserting keys into"), an invalid key.
 */
function cliKey(t: StickTable, k: string | undefined, doing: string): string | { error: string } {
  if (k === undefined) return { error: "Key value expected\n" };
  if (t.type === STK_KEY_BINARY) {
    return {
      error: `${doing} tables of type other than ip, ipv6, string and integer is not supported\n`,
    };
  }
  if (t.type === STK_KEY_INTEGER) {
    if (!/^\d+$/.test(k) || Number(k) > 0xffffffff) return INVALID_KEY;
    return String(Number(k));
  }
  return t.keyOf(k) ?? INVALID_KEY;
}

/**
 * `show table [NAME [data.X OP V]… | [NAME key K]]`: without a name, one
 * head line per table; with a name, its head and its entries (those that
 * pass the filters, or the one of key K). Returns the text, or HAProxy's
 * error message ("No such table\n" …).
 */
export function showTable(tables: StickTableSet, args: readonly string[], now: number): string {
  if (args.length === 0) {
    // HAProxy lists its tables last declared first.
    let out = "";
    for (const t of [...tables.values()].reverse()) out += head(t);
    return out;
  }
  const t = tables.get(args[0]!);
  if (t === undefined) return "No such table\n";
  const rest = args.slice(1);
  if (rest[0] === "key") {
    const key = cliKey(t, rest[1], "Showing keys from");
    if (typeof key !== "string") return key.error;
    const e = t.lookup(key);
    return e === null ? "" : head(t) + formatEntry(t, e, now);
  }
  if (rest.length > 0 && !rest[0]!.startsWith("data.")) {
    return 'Optional argument only supports "data.<store_data_type>" <operator> <value> and key <key>\n';
  }
  const filters = parseFilters(t, rest);
  if (typeof filters === "string") return filters;
  let out = head(t);
  for (const e of sortedEntries(t)) {
    if (filters.every((f) => testFilter(t, e, f, now))) out += formatEntry(t, e, now);
  }
  return out;
}

/**
 * `clear table NAME [key K | data.X OP V…]`: removes the entry of key K, the
 * entries that pass the filters, or every entry; entries in use are kept
 * (with a key: HAProxy's "Entry currently in use, cannot remove"). Returns
 * "" on success, else the error text.
 */
export function clearTable(tables: StickTableSet, args: readonly string[], now: number): string {
  const name = args[0];
  if (name === undefined) {
    return 'Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>\n';
  }
  const t = tables.get(name);
  if (t === undefined) return "No such table\n";
  const rest = args.slice(1);
  if (rest[0] === "key") {
    const key = cliKey(t, rest[1], "Removing keys from");
    if (typeof key !== "string") return key.error;
    const e = t.lookup(key);
    if (e === null) return "";
    if (e.refCnt > 0) return "Entry currently in use, cannot remove\n";
    t.remove(e);
    return "";
  }
  if (rest.length > 0 && !rest[0]!.startsWith("data.")) {
    return 'Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>\n';
  }
  const filters = parseFilters(t, rest);
  if (typeof filters === "string") return filters;
  for (const e of [...t.entries()]) {
    if (e.refCnt === 0 && filters.every((f) => testFilter(t, e, f, now))) t.remove(e);
  }
  return "";
}

/**
 * `set table NAME key K [data.X V]…`: creates the entry when absent and
 * sets each data type (a rate restarts its period with V events, as
 * HAProxy). Returns "" on success, else the error text.
 */
export function setTable(tables: StickTableSet, args: readonly string[], now: number): string {
  const usage = "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n";
  const name = args[0];
  if (name === undefined) return usage;
  const t = tables.get(name);
  if (t === undefined) return "No such table\n";
  if (args[1] !== "key") return usage;
  const key = cliKey(t, args[2], "Inserting keys into");
  if (typeof key !== "string") return key.error;
  const e = t.getEntry(key, now);
  if (e === null) return "Unable to allocate a new entry\n";
  let err = "";
  for (let i = 3; i < args.length; i += 2) {
    const a = args[i]!;
    if (!a.startsWith("data.")) {
      err = '"data.<type>" followed by a value expected\n';
      break;
    }
    const dt = dataTypeByName(a.slice(5));
    if (dt < 0) {
      err = "Unknown data type\n";
      break;
    }
    if (!t.stores(dt)) {
      err = "Data type not stored in this table\n";
      break;
    }
    const v = args[i + 1];
    if (v === undefined || !/^-?\d+$/.test(v)) {
      err = "Require a valid integer value to store\n";
      break;
    }
    const n = Number(v);
    t.set(e, dt, dt === DT_SERVER_ID ? n | 0 : DATA_TYPES[dt]!.std === 2 ? n : n >>> 0, now);
  }
  t.touch(e, now);
  return err;
}
