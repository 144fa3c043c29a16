// Pattern matchers (HAProxy's pattern.c: pat_parse_* and pat_match_*).
//
// Owns: the matching methods an ACL may use (`-m str|beg|end|sub|reg|found|
// len|int|dom|dir|ip|bool`), compiling the patterns written after a fetch
// into a PatternSet once at config time, and testing one sample against it.
// Several patterns OR together. It must never fetch anything: the ACL layer
// (acl.ts) extracts samples and converts them to the type the method wants.
//
// Strings are "byte strings": one UTF-16 code unit per byte (latin1), which
// is how the HTTP layer decodes the wire. Patterns coming from the UTF-8
// configuration are converted with toByteString() before they are stored, so
// both sides compare byte for byte.

import { toByteString } from "../sample/bytes.ts";
import { type CidrList, cidrListMatch, parseCidrList } from "./ip.ts";
import { compileRegex, type Regex } from "../regex/regex.ts";

// ---------------------------------------------------------------------------
// Matching methods (HAProxy's PAT_MATCH_*).

/** Exact string. */
export const PAT_M_STR = 0;
/** Prefix. */
export const PAT_M_BEG = 1;
/** Suffix. */
export const PAT_M_END = 2;
/** Substring. */
export const PAT_M_SUB = 3;
/** Regular expression (RE2 syntax, run in linear time: see src/regex/regex.ts). */
export const PAT_M_REG = 4;
/** The sample exists (no pattern). */
export const PAT_M_FOUND = 5;
/** Length of the string, compared as an integer. */
export const PAT_M_LEN = 6;
/** Integer, with ranges and operators. */
export const PAT_M_INT = 7;
/** Pattern found between delimiters `/ ? . :` (a domain component run). */
export const PAT_M_DOM = 8;
/** Pattern found between delimiters `/ ?` (a directory component run). */
export const PAT_M_DIR = 9;
/** IPv4/IPv6 address in a network list. */
export const PAT_M_IP = 10;
/** Boolean value of the sample (no pattern). */
export const PAT_M_BOOL = 11;

/** `-m` names, indexed by PAT_M_*. */
export const PAT_MATCH_NAMES: readonly string[] = Object.freeze([
  "str",
  "beg",
  "end",
  "sub",
  "reg",
  "found",
  "len",
  "int",
  "dom",
  "dir",
  "ip",
  "bool",
]);

/** PAT_M_* id of a `-m` name, or -1. */
export function patMatchId(name: string): number {
  return PAT_MATCH_NAMES.indexOf(name);
}

/** True for methods that compare a string sample. */
export function patMatchWantsString(m: number): boolean {
  return m === PAT_M_STR || m === PAT_M_BEG || m === PAT_M_END || m === PAT_M_SUB ||
    m === PAT_M_REG || m === PAT_M_DOM || m === PAT_M_DIR;
}

/** ASCII lower-casing of one code unit. */
function lc(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/**
 * ASCII-only lower-casing of a byte string, as HAProxy's `-i` does: only
 * A-Z change, bytes >= 0x80 are kept as they are (String.toLowerCase() would
 * fold latin1 letters too). Used for both the patterns and the samples so
 * the two sides always fold the same way. Returns `s` itself when unchanged.
 */
function foldAscii(s: string): string {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) break;
    i++;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) out += String.fromCharCode(lc(s.charCodeAt(i)));
  return out;
}

/** `s` starts with `p` at `at`, `p` already lower-case when `icase`. No allocation. */
function hasAt(s: string, at: number, p: string, icase: boolean): boolean {
  const n = p.length;
  if (at < 0 || at + n > s.length) return false;
  if (icase) {
    for (let i = 0; i < n; i++) if (lc(s.charCodeAt(at + i)) !== p.charCodeAt(i)) return false;
    return true;
  }
  return s.startsWith(p, at);
}

/** Index of `p` in `s` from `from`, ignoring ASCII case when `icase` (p lower-case); -1 if absent. */
function indexOfAt(s: string, p: string, from: number, icase: boolean): number {
  if (!icase) return s.indexOf(p, from);
  const last = s.length - p.length;
  for (let at = from; at <= last; at++) if (hasAt(s, at, p, true)) return at;
  return -1;
}

/** True for the delimiters of PAT_M_DOM. */
function isDomDelim(c: number): boolean {
  return c === 0x2f || c === 0x3f || c === 0x2e || c === 0x3a;
}

/** True for the delimiters of PAT_M_DIR. */
function isDirDelim(c: number): boolean {
  return c === 0x2f || c === 0x3f;
}

/**
 * HAProxy's match_word(): `p` (stripped of its own leading/trailing
 * delimiters at compile time) occurs in `s` preceded by a delimiter or the
 * start and followed by a delimiter or the end.
 */
function matchWord(s: string, p: string, icase: boolean, delim: (c: number) => boolean): boolean {
  if (p.length === 0) return false;
  let from = 0;
  for (;;) {
    const at = indexOfAt(s, p, from, icase);
    if (at < 0) return false;
    const end = at + p.length;
    if (
      (at === 0 || delim(s.charCodeAt(at - 1))) && (end === s.length || delim(s.charCodeAt(end)))
    ) {
      return true;
    }
    from = at + 1;
  }
}

/** Strips leading and trailing delimiters from a dom/dir pattern. */
function stripDelims(p: string, delim: (c: number) => boolean): string {
  let a = 0;
  let b = p.length;
  while (a < b && delim(p.charCodeAt(a))) a++;
  while (b > a && delim(p.charCodeAt(b - 1))) b--;
  return p.slice(a, b);
}

/** Integer operators allowed before an integer pattern. */
const INT_OPS: ReadonlySet<string> = new Set(["eq", "ge", "gt", "le", "lt"]);

/** Parses a decimal integer (optional sign); NaN when invalid. */
function parseIntStrict(s: string): number {
  return /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
}

/**
 * Parses the leading integer of a sample the way HAProxy's strl2ic() does:
 * optional sign then digits, stops at the first other byte. Returns null when
 * there is no digit.
 */
export function leadingInt(s: string): number | null {
  let i = 0;
  let neg = false;
  if (s.charCodeAt(0) === 0x2d || s.charCodeAt(0) === 0x2b) {
    neg = s.charCodeAt(0) === 0x2d;
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

/** Above this many exact-string patterns, a Set lookup replaces the linear scan. */
const SET_THRESHOLD = 8;

/**
 * A compiled list of patterns for one matching method. Created by
 * compilePatterns(); immutable afterwards.
 */
export class PatternSet {
  /** PAT_M_* method. */
  readonly match: number;
  /** `-i`: ASCII case-insensitive (strings and regexes). */
  readonly icase: boolean;
  /** String patterns (lower-case when icase; delimiters stripped for dom/dir). */
  readonly strs: readonly string[];
  /** Exact-match lookup for large str sets, else null. */
  readonly strSet: ReadonlySet<string> | null;
  /** Compiled regexes (reg). */
  readonly regs: readonly Regex[];
  /** Inclusive integer ranges (int, len): lo[i]..hi[i]. */
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** Networks (ip), else null. */
  readonly cidrs: CidrList | null;
  /** Patterns as written, for messages. */
  readonly source: readonly string[];

  constructor(
    match: number,
    icase: boolean,
    strs: string[],
    regs: Regex[],
    lo: Float64Array,
    hi: Float64Array,
    cidrs: CidrList | null,
    source: string[],
  ) {
    this.match = match;
    this.icase = icase;
    this.strs = strs;
    this.strSet = match === PAT_M_STR && strs.length > SET_THRESHOLD ? new Set(strs) : null;
    this.regs = regs;
    this.lo = lo;
    this.hi = hi;
    this.cidrs = cidrs;
    this.source = source;
  }

  /**
   * Tests a string sample with a string method (str, beg, end, sub, reg,
   * dom, dir) or ip (the string is parsed as an address). Other methods
   * return false: the caller converts first (matchInt for len/int).
   */
  matchString(s: string): boolean {
    const strs = this.strs;
    const icase = this.icase;
    switch (this.match) {
      case PAT_M_STR: {
        if (this.strSet !== null) return this.strSet.has(icase ? foldAscii(s) : s);
        for (let i = 0; i < strs.length; i++) {
          const p = strs[i] as string;
          if (p.length === s.length && hasAt(s, 0, p, icase)) return true;
        }
        return false;
      }
      case PAT_M_BEG:
        for (let i = 0; i < strs.length; i++) {
          if (hasAt(s, 0, strs[i] as string, icase)) return true;
        }
        return false;
      case PAT_M_END:
        for (let i = 0; i < strs.length; i++) {
          const p = strs[i] as string;
          if (hasAt(s, s.length - p.length, p, icase)) return true;
        }
        return false;
      case PAT_M_SUB:
        for (let i = 0; i < strs.length; i++) {
          if (indexOfAt(s, strs[i] as string, 0, icase) >= 0) return true;
        }
        return false;
      case PAT_M_REG:
        for (let i = 0; i < this.regs.length; i++) {
          if ((this.regs[i] as Regex).test(s)) return true;
        }
        return false;
      case PAT_M_DOM:
        for (let i = 0; i < strs.length; i++) {
          if (matchWord(s, strs[i] as string, icase, isDomDelim)) return true;
        }
        return false;
      case PAT_M_DIR:
        for (let i = 0; i < strs.length; i++) {
          if (matchWord(s, strs[i] as string, icase, isDirDelim)) return true;
        }
        return false;
      case PAT_M_IP:
        return this.cidrs !== null && cidrListMatch(this.cidrs, s);
      default:
        return false;
    }
  }

  /** Tests an integer sample against the ranges (int, len). */
  matchInt(n: number): boolean {
    const lo = this.lo;
    const hi = this.hi;
    for (let i = 0; i < lo.length; i++) {
      if (n >= (lo[i] as number) && n <= (hi[i] as number)) return true;
    }
    return false;
  }
}

/**
 * Compiles the patterns of one ACL expression for method `match` (PAT_M_*).
 *
 * Accepted: for str/beg/end/sub/dom/dir any text; reg a regular expression
 * compileRegex() accepts (`-i`: case-insensitive); int/len `N`, `N:M`, `N:`, `:M`, or an
 * operator `eq|ge|gt|le|lt` followed by `N`; ip an address or network
 * (IPv4, IPv6, dotted mask). found/bool take no pattern.
 * Refused: a pattern that does not parse (the message quotes it), an operator
 * without a number, patterns given to found/bool, or no pattern at all for the
 * other methods. Returns the PatternSet or `{error}`.
 */
export function compilePatterns(
  match: number,
  icase: boolean,
  patterns: readonly string[],
): PatternSet | { error: string } {
  const source = patterns.slice();
  const none = new Float64Array(0);
  if (match === PAT_M_FOUND || match === PAT_M_BOOL) {
    if (patterns.length > 0) {
      return {
        error: `'-m ${PAT_MATCH_NAMES[match]}' takes no pattern, got '${patterns[0]}'`,
      };
    }
    return new PatternSet(match, icase, [], [], none, none, null, source);
  }
  if (patterns.length === 0) {
    return {
      error: `no pattern to match (add patterns, or use '-m found' to test presence)`,
    };
  }
  switch (match) {
    case PAT_M_STR:
    case PAT_M_BEG:
    case PAT_M_END:
    case PAT_M_SUB:
      return new PatternSet(
        match,
        icase,
        patterns.map((p) => (icase ? foldAscii(toByteString(p)) : toByteString(p))),
        [],
        none,
        none,
        null,
        source,
      );
    case PAT_M_DOM:
    case PAT_M_DIR: {
      const delim = match === PAT_M_DOM ? isDomDelim : isDirDelim;
      const strs = patterns.map((p) => {
        const b = stripDelims(toByteString(p), delim);
        return icase ? foldAscii(b) : b;
      });
      return new PatternSet(match, icase, strs, [], none, none, null, source);
    }
    case PAT_M_REG: {
      const regs: Regex[] = [];
      for (const p of patterns) {
        const re = compileRegex(toByteString(p), { icase });
        if ("error" in re) return { error: `invalid regex '${p}': ${re.error}` };
        regs.push(re);
      }
      return new PatternSet(match, icase, [], regs, none, none, null, source);
    }
    case PAT_M_INT:
    case PAT_M_LEN: {
      const lo: number[] = [];
      const hi: number[] = [];
      for (let i = 0; i < patterns.length; i++) {
        const p = patterns[i] as string;
        if (INT_OPS.has(p)) {
          const next = patterns[i + 1];
          const v = next === undefined ? NaN : parseIntStrict(next);
          if (Number.isNaN(v)) {
            return {
              error: next === undefined
                ? `missing integer after operator '${p}'`
                : `invalid integer '${next}' after operator '${p}'`,
            };
          }
          i++;
          if (p === "eq") (lo.push(v), hi.push(v));
          else if (p === "ge") (lo.push(v), hi.push(Infinity));
          else if (p === "gt") (lo.push(v + 1), hi.push(Infinity));
          else if (p === "le") (lo.push(-Infinity), hi.push(v));
          else (lo.push(-Infinity), hi.push(v - 1));
          continue;
        }
        const colon = p.indexOf(":");
        if (colon < 0) {
          const v = parseIntStrict(p);
          if (Number.isNaN(v)) return { error: `invalid integer pattern '${p}'` };
          lo.push(v);
          hi.push(v);
          continue;
        }
        const a = p.slice(0, colon);
        const b = p.slice(colon + 1);
        const va = a === "" ? -Infinity : parseIntStrict(a);
        const vb = b === "" ? Infinity : parseIntStrict(b);
        if (Number.isNaN(va) || Number.isNaN(vb) || (a === "" && b === "")) {
          return { error: `invalid integer range '${p}'` };
        }
        if (va > vb) {
          return { error: `invalid integer range '${p}' (lower bound above upper bound)` };
        }
        lo.push(va);
        hi.push(vb);
      }
      return new PatternSet(
        match,
        icase,
        [],
        [],
        Float64Array.from(lo),
        Float64Array.from(hi),
        null,
        source,
      );
    }
    case PAT_M_IP: {
      const c = parseCidrList(patterns);
      if ("error" in c) return c;
      return new PatternSet(match, icase, [], [], none, none, c, source);
    }
    default:
      return { error: `unknown matching method ${match}` };
  }
}

// Note about invariants: a PatternSet never changes after compilePatterns();
// strs are lower-case iff icase; lo.length === hi.length and lo[i] <= hi[i];
// cidrs is non-null iff match is PAT_M_IP.
