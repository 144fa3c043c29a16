// Pattern indexes (HAProxy's pattern.c pat_idx_* / pat_match_* over a
// pattern_expr): the lookup structures behind the map converters (`map_str`,
// `map_beg`, `map_dom`, `map_ip` …) and ACL pattern files (`acl … -f FILE`).
//
// Owns: one index per matching method over the entries of a pattern
// reference (pat_ref.ts), kept in step with it as entries are added or
// removed (runtime API), and the lookup of one sample. Every lookup costs a
// bounded number of hash-table probes that does not grow with the number of
// entries, never a scan of the entries:
//   - str: one probe;
//   - beg / end / sub: one probe per distinct pattern length (per start
//     position for sub);
//   - dom / dir: one probe per pair of delimiter positions of the sample (a
//     host name has a handful);
//   - ip: one probe per distinct prefix length, longest first;
//   - int: one probe, plus the ranges (`10:20`) which are scanned;
//   - reg: the regexes are scanned, as in HAProxy (a file of regexes costs
//     what its size says; the docs say so).
// Tries would give the same bounds, but a JavaScript object per character of
// 100,000 host names costs far more memory than one Map entry per pattern;
// the distinct lengths of real files are few.
//
// Which entry wins follows HAProxy: the longest prefix for beg and ip (its
// prefix trees), else the first entry in file order (its lists). It never
// reads files (pat_ref.ts does) and never fetches anything.

import { compileRegex, type Regex } from "../regex/regex.ts";
import { parseCidr, parseIp } from "../tools/ip.ts";

// ---------------------------------------------------------------------------
// Index kinds (HAProxy's PAT_MATCH_* that maps and pattern files use).

/** Exact string. */
export const PAT_IDX_STR = 0;
/** Prefix (longest wins). */
export const PAT_IDX_BEG = 1;
/** Suffix. */
export const PAT_IDX_END = 2;
/** Substring. */
export const PAT_IDX_SUB = 3;
/** Regular expression (linear-time engine). */
export const PAT_IDX_REG = 4;
/** Run of domain components (delimiters `/ ? . :`). */
export const PAT_IDX_DOM = 5;
/** Run of path components (delimiters `/ ?`). */
export const PAT_IDX_DIR = 6;
/** Address in a network (longest prefix wins). */
export const PAT_IDX_IP = 7;
/** Integer or integer range. */
export const PAT_IDX_INT = 8;
/** Length of the sample, as an integer or range. */
export const PAT_IDX_LEN = 9;

/** Names of PAT_IDX_*, as the map converters and `-m` spell them. */
export const PAT_IDX_NAMES: readonly string[] = Object.freeze([
  "str",
  "beg",
  "end",
  "sub",
  "reg",
  "dom",
  "dir",
  "ip",
  "int",
  "len",
]);

/** One entry of a pattern reference: a key, its value (maps) and where it came from. */
export class PatEntry {
  /** Key as written (byte string). */
  readonly key: string;
  /** Value (maps); "" for ACL patterns. Changed in place by `set map`. */
  value: string;
  /** Insertion order: the lower wins among list-like matches. */
  readonly seq: number;
  /** Line in the file, 0 for entries added at run time. */
  readonly line: number;

  constructor(key: string, value: string, seq: number, line: number) {
    this.key = key;
    this.value = value;
    this.seq = seq;
    this.line = line;
  }
}

/** One index over a reference's entries. */
export interface PatIndex {
  /** PAT_IDX_* kind. */
  readonly kind: number;
  /** ASCII case-insensitive (`-i`). */
  readonly icase: boolean;
  /** Adds an entry; returns an error message when its key does not parse for this kind. */
  add(e: PatEntry): string | null;
  /** Removes an entry added before (no-op otherwise). */
  remove(e: PatEntry): void;
  /** Forgets every entry. */
  clear(): void;
  /** The entry that matches sample `s`, or null. */
  lookup(s: string): PatEntry | null;
}

/** ASCII lower-casing (HAProxy's `-i`: only A-Z change). Returns `s` when unchanged. */
export function foldAscii(s: string): string {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) break;
    i++;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return out;
}

/** The entry of lower seq, either may be null. */
function first(a: PatEntry | null, b: PatEntry | null): PatEntry | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.seq <= b.seq ? a : b;
}

/** Removes `e` from a bucket; returns true when the bucket is now empty. */
function dropFrom(list: PatEntry[], e: PatEntry): boolean {
  const i = list.indexOf(e);
  if (i >= 0) list.splice(i, 1);
  return list.length === 0;
}

// ---------------------------------------------------------------------------
// String keys: str, beg, end, sub, dom, dir.

/** True for the delimiters of dom. */
function isDomDelim(c: number): boolean {
  return c === 0x2f || c === 0x3f || c === 0x2e || c === 0x3a;
}

/** True for the delimiters of dir. */
function isDirDelim(c: number): boolean {
  return c === 0x2f || c === 0x3f;
}

/** Scratch for delimiter positions of a dom/dir lookup (single-threaded). */
const CUTS: number[] = [];

/**
 * Hash index of string keys. Buckets hold the entries of one key in seq
 * order. `lens` counts the keys of each length so that beg/end/sub probe
 * only the lengths that exist.
 */
class StringIndex implements PatIndex {
  readonly kind: number;
  readonly icase: boolean;
  readonly #map: Map<string, PatEntry[]>;
  /** Key length → number of keys of that length. */
  readonly #lenCount: Map<number, number>;
  /** Distinct key lengths, longest first (rebuilt when the set changes). */
  #lens: number[];

  constructor(kind: number, icase: boolean) {
    this.kind = kind;
    this.icase = icase;
    this.#map = new Map();
    this.#lenCount = new Map();
    this.#lens = [];
  }

  /** The stored form of a key: folded, and stripped of delimiters for dom/dir. */
  #norm(k: string): string {
    let s = this.icase ? foldAscii(k) : k;
    if (this.kind === PAT_IDX_DOM || this.kind === PAT_IDX_DIR) {
      const d = this.kind === PAT_IDX_DOM ? isDomDelim : isDirDelim;
      let a = 0;
      let b = s.length;
      while (a < b && d(s.charCodeAt(a))) a++;
      while (b > a && d(s.charCodeAt(b - 1))) b--;
      s = s.slice(a, b);
    }
    return s;
  }

  add(e: PatEntry): string | null {
    const k = this.#norm(e.key);
    const b = this.#map.get(k);
    if (b !== undefined) {
      // Keep seq order (entries may be re-added after a removal).
      let i = b.length;
      while (i > 0 && (b[i - 1] as PatEntry).seq > e.seq) i--;
      b.splice(i, 0, e);
      return null;
    }
    this.#map.set(k, [e]);
    const n = this.#lenCount.get(k.length) ?? 0;
    this.#lenCount.set(k.length, n + 1);
    if (n === 0) this.#lens = [...this.#lenCount.keys()].sort((x, y) => y - x);
    return null;
  }

  remove(e: PatEntry): void {
    const k = this.#norm(e.key);
    const b = this.#map.get(k);
    if (b === undefined || !dropFrom(b, e)) return;
    this.#map.delete(k);
    const n = (this.#lenCount.get(k.length) ?? 1) - 1;
    if (n > 0) this.#lenCount.set(k.length, n);
    else {
      this.#lenCount.delete(k.length);
      this.#lens = [...this.#lenCount.keys()].sort((x, y) => y - x);
    }
  }

  clear(): void {
    this.#map.clear();
    this.#lenCount.clear();
    this.#lens = [];
  }

  #get(k: string): PatEntry | null {
    const b = this.#map.get(k);
    return b === undefined ? null : b[0] as PatEntry;
  }

  lookup(sample: string): PatEntry | null {
    const s = this.icase ? foldAscii(sample) : sample;
    const n = s.length;
    const lens = this.#lens;
    switch (this.kind) {
      case PAT_IDX_STR:
        return this.#get(s);
      case PAT_IDX_BEG:
        // Longest prefix first, as HAProxy's prefix tree.
        for (let i = 0; i < lens.length; i++) {
          const l = lens[i] as number;
          if (l > n) continue;
          const hit = this.#get(l === n ? s : s.slice(0, l));
          if (hit !== null) return hit;
        }
        return null;
      case PAT_IDX_END: {
        let best: PatEntry | null = null;
        for (let i = 0; i < lens.length; i++) {
          const l = lens[i] as number;
          if (l <= n) best = first(best, this.#get(l === n ? s : s.slice(n - l)));
        }
        return best;
      }
      case PAT_IDX_SUB: {
        let best: PatEntry | null = null;
        for (let i = 0; i < lens.length; i++) {
          const l = lens[i] as number;
          for (let at = 0; at + l <= n; at++) best = first(best, this.#get(s.slice(at, at + l)));
        }
        return best;
      }
      default: {
        // dom / dir: a key matches a run of whole components, i.e. the text
        // between two cut points (start, end or a delimiter).
        const d = this.kind === PAT_IDX_DOM ? isDomDelim : isDirDelim;
        CUTS.length = 0;
        CUTS.push(-1);
        for (let i = 0; i < n; i++) if (d(s.charCodeAt(i))) CUTS.push(i);
        CUTS.push(n);
        // Runs longer than the longest key cannot match: a sample made of
        // thousands of dots costs its length times the longest key, not
        // the square of its length.
        const maxLen = lens.length > 0 ? lens[0] as number : 0;
        let best: PatEntry | null = null;
        for (let a = 0; a < CUTS.length - 1; a++) {
          const from = (CUTS[a] as number) + 1;
          for (let b = a + 1; b < CUTS.length; b++) {
            const to = CUTS[b] as number;
            if (to - from > maxLen) break;
            if (to > from) best = first(best, this.#get(s.slice(from, to)));
          }
        }
        return best;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Networks: ip.

/** Scratch words of the address being looked up. */
const ADDR = new Int32Array(4);

/**
 * Longest-prefix match over networks: one hash table per prefix length
 * (in the IPv6 space, IPv4 as IPv4-mapped), probed from the longest.
 */
class IpIndex implements PatIndex {
  readonly kind = PAT_IDX_IP;
  readonly icase = false;
  /** Prefix length → masked network key → entries. */
  readonly #byLen: Map<number, Map<string, PatEntry[]>>;
  /** Distinct prefix lengths, longest first. */
  #lens: number[];

  constructor() {
    this.#byLen = new Map();
    this.#lens = [];
  }

  add(e: PatEntry): string | null {
    const c = parseCidr(e.key);
    if (c === null) return `invalid IP address or network '${e.key}'`;
    const k = netKey(c.net, c.prefix);
    let t = this.#byLen.get(c.prefix);
    if (t === undefined) {
      t = new Map();
      this.#byLen.set(c.prefix, t);
      this.#lens = [...this.#byLen.keys()].sort((x, y) => y - x);
    }
    const b = t.get(k);
    if (b === undefined) t.set(k, [e]);
    else {
      let i = b.length;
      while (i > 0 && (b[i - 1] as PatEntry).seq > e.seq) i--;
      b.splice(i, 0, e);
    }
    return null;
  }

  remove(e: PatEntry): void {
    const c = parseCidr(e.key);
    if (c === null) return;
    const t = this.#byLen.get(c.prefix);
    const k = netKey(c.net, c.prefix);
    const b = t?.get(k);
    if (t === undefined || b === undefined || !dropFrom(b, e)) return;
    t.delete(k);
    if (t.size === 0) {
      this.#byLen.delete(c.prefix);
      this.#lens = [...this.#byLen.keys()].sort((x, y) => y - x);
    }
  }

  clear(): void {
    this.#byLen.clear();
    this.#lens = [];
  }

  lookup(s: string): PatEntry | null {
    if (!parseIp(s, ADDR)) return null;
    const lens = this.#lens;
    for (let i = 0; i < lens.length; i++) {
      const p = lens[i] as number;
      const b = (this.#byLen.get(p) as Map<string, PatEntry[]>).get(netKey(ADDR, p));
      if (b !== undefined) return b[0] as PatEntry;
    }
    return null;
  }
}

/** Hash key of the first `prefix` bits of a 4-word address. */
function netKey(a: Int32Array, prefix: number): string {
  let k = "";
  for (let w = 0; w < 4; w++) {
    const bits = Math.max(0, Math.min(32, prefix - w * 32));
    if (bits === 0) break;
    const m = bits === 32 ? -1 : ~((1 << (32 - bits)) - 1);
    k += ((a[w] as number) & m).toString(36) + ".";
  }
  return k;
}

// ---------------------------------------------------------------------------
// Integers: int, len.

/** Parses `N`, `N:M`, `N:` or `:M`; null when it is none of them. */
function parseRange(k: string): [number, number] | null {
  const num = (t: string): number => (/^[+-]?\d+$/.test(t) ? Number(t) : NaN);
  const colon = k.indexOf(":");
  if (colon < 0) {
    const v = num(k);
    return Number.isNaN(v) ? null : [v, v];
  }
  const a = k.slice(0, colon);
  const b = k.slice(colon + 1);
  if (a === "" && b === "") return null;
  const lo = a === "" ? -Infinity : num(a);
  const hi = b === "" ? Infinity : num(b);
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) return null;
  return [lo, hi];
}

/** Leading integer of a sample (HAProxy's strl2ic); null without digits. */
function leadingInt(s: string): number | null {
  let i = 0;
  let neg = false;
  const c0 = s.charCodeAt(0);
  if (c0 === 0x2d || c0 === 0x2b) {
    neg = c0 === 0x2d;
    i = 1;
  }
  let v = 0;
  const start = i;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  if (i === start) return null;
  return neg ? -v : v;
}

/** Exact integers in a hash table, ranges in a list. */
class IntIndex implements PatIndex {
  readonly kind: number;
  readonly icase = false;
  readonly #exact: Map<number, PatEntry[]>;
  readonly #ranges: Array<{ lo: number; hi: number; e: PatEntry }>;

  constructor(kind: number) {
    this.kind = kind;
    this.#exact = new Map();
    this.#ranges = [];
  }

  add(e: PatEntry): string | null {
    const r = parseRange(e.key);
    if (r === null) return `invalid integer or range '${e.key}'`;
    if (r[0] === r[1]) {
      const b = this.#exact.get(r[0]);
      if (b === undefined) this.#exact.set(r[0], [e]);
      else {
        b.push(e);
        b.sort((x, y) => x.seq - y.seq);
      }
    } else this.#ranges.push({ lo: r[0], hi: r[1], e });
    return null;
  }

  remove(e: PatEntry): void {
    const r = parseRange(e.key);
    if (r === null) return;
    if (r[0] === r[1]) {
      const b = this.#exact.get(r[0]);
      if (b !== undefined && dropFrom(b, e)) this.#exact.delete(r[0]);
      return;
    }
    const i = this.#ranges.findIndex((x) => x.e === e);
    if (i >= 0) this.#ranges.splice(i, 1);
  }

  clear(): void {
    this.#exact.clear();
    this.#ranges.length = 0;
  }

  lookup(s: string): PatEntry | null {
    const v = this.kind === PAT_IDX_LEN ? s.length : leadingInt(s);
    return v === null ? null : this.lookupInt(v);
  }

  /** Same as lookup() for an integer sample. */
  lookupInt(v: number): PatEntry | null {
    const b = this.#exact.get(v);
    let best: PatEntry | null = b === undefined ? null : b[0] as PatEntry;
    const rs = this.#ranges;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i] as { lo: number; hi: number; e: PatEntry };
      if (v >= r.lo && v <= r.hi) best = first(best, r.e);
    }
    return best;
  }
}

// ---------------------------------------------------------------------------
// Regexes: reg.

/** Regexes tried in file order (HAProxy's list). */
class RegIndex implements PatIndex {
  readonly kind = PAT_IDX_REG;
  readonly icase: boolean;
  readonly #list: Array<{ re: Regex; e: PatEntry }>;

  constructor(icase: boolean) {
    this.icase = icase;
    this.#list = [];
  }

  add(e: PatEntry): string | null {
    const re = compileRegex(e.key, { icase: this.icase });
    if ("error" in re) return `invalid regex '${e.key}': ${re.error}`;
    let i = this.#list.length;
    while (i > 0 && (this.#list[i - 1] as { e: PatEntry }).e.seq > e.seq) i--;
    this.#list.splice(i, 0, { re, e });
    return null;
  }

  remove(e: PatEntry): void {
    const i = this.#list.findIndex((x) => x.e === e);
    if (i >= 0) this.#list.splice(i, 1);
  }

  clear(): void {
    this.#list.length = 0;
  }

  lookup(s: string): PatEntry | null {
    const l = this.#list;
    for (let i = 0; i < l.length; i++) {
      const x = l[i] as { re: Regex; e: PatEntry };
      if (x.re.test(s)) return x.e;
    }
    return null;
  }
}

/** A new, empty index of kind `kind` (PAT_IDX_*). */
export function newPatIndex(kind: number, icase: boolean): PatIndex {
  switch (kind) {
    case PAT_IDX_IP:
      return new IpIndex();
    case PAT_IDX_INT:
    case PAT_IDX_LEN:
      return new IntIndex(kind);
    case PAT_IDX_REG:
      return new RegIndex(icase);
    default:
      return new StringIndex(kind, icase);
  }
}

// Note about invariants: every bucket is non-empty and sorted by seq; the
// length lists hold exactly the lengths (prefix lengths) of the keys present;
// an index holds exactly the entries of its reference whose key parses for
// its kind (pat_ref.ts refuses the others before they are stored).
