// ACLs and conditions (HAProxy's acl.c, with the keyword side of pattern.c).
//
// Owns: tokenizing HAProxy-syntax lines (quotes, escapes), compiling
// `acl NAME FETCH [flags] PATTERN…` declarations into an AclTable once at
// config time, the predefined ACLs (METH_GET, LOCALHOST, HTTP_1.1 …), and
// compiling `if` / `unless` conditions (implicit AND, `||` / `or`, `!`,
// anonymous `{ FETCH … }` ACLs) into Condition objects evaluated per
// request. It must never read configuration files except `-f` pattern files
// at compile time, and never allocate per evaluation beyond the fetches.
//
// Semantics follow HAProxy: several declarations of the same name OR
// together; an ACL on a multi-valued fetch (`hdr(x)`) is true when any
// occurrence matches any pattern; an absent sample never matches (except
// `-m found`, which tests presence).

import {
  compilePatterns,
  leadingInt,
  PAT_M_BEG,
  PAT_M_BOOL,
  PAT_M_DIR,
  PAT_M_DOM,
  PAT_M_END,
  PAT_M_FOUND,
  PAT_M_INT,
  PAT_M_IP,
  PAT_M_LEN,
  PAT_M_REG,
  PAT_M_STR,
  PAT_M_SUB,
  PAT_MATCH_NAMES,
  patMatchId,
  patMatchWantsString,
  PatternSet,
} from "./pattern.ts";
import { buildFetch, splitFetchExpr } from "../sample/expr.ts";
import { loadingPatternStore } from "../sample/pat_ref.ts";
import {
  PAT_IDX_BEG,
  PAT_IDX_DIR,
  PAT_IDX_DOM,
  PAT_IDX_END,
  PAT_IDX_INT,
  PAT_IDX_IP,
  PAT_IDX_LEN,
  PAT_IDX_REG,
  PAT_IDX_STR,
  PAT_IDX_SUB,
  type PatIndex,
} from "../sample/pat_index.ts";
import { fetchAll, FETCHES, fetchOne, findFetch } from "../sample/fetch.ts";
import {
  type Fetch,
  type FetchDef,
  type SampleCtx,
  SMP_T_BOOL,
  SMP_T_INT,
  SMP_T_IP,
  SMP_VAL_REQ,
} from "../sample/types.ts";
import { didYouMean } from "../tools/suggest.ts";
import type { AclError, Condition, Token } from "./types.ts";

export type { AclError, Condition, Token } from "./types.ts";

// ---------------------------------------------------------------------------
// Tokenizer (HAProxy's parse_line() quoting rules).

/**
 * Splits a line into whitespace-separated tokens. Double quotes group text
 * and resolve escapes; single quotes group text verbatim; outside single
 * quotes `\ `, `\"`, `\'`, `\\`, `\#` give the character, `\t` `\r` `\n`
 * and `\xHH` the byte, and any other `\c` is kept as is (so regexes like
 * `\d` survive). Adjacent quoted and unquoted parts form one token.
 * Refuses an unterminated quote.
 */
export function tokenize(text: string): Token[] | { error: string } {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
    if (i >= n) break;
    let cur = "";
    let quoted = false;
    while (i < n && text[i] !== " " && text[i] !== "\t") {
      const c = text[i] as string;
      if (c === "'") {
        const e = text.indexOf("'", i + 1);
        if (e < 0) return { error: `unterminated single quote in '${text}'` };
        cur += text.slice(i + 1, e);
        quoted = true;
        i = e + 1;
      } else if (c === '"') {
        i++;
        quoted = true;
        let closed = false;
        while (i < n) {
          const d = text[i] as string;
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          if (d === "\\" && i + 1 < n) {
            const r = unescape(text, i);
            cur += r[0];
            i = r[1];
            continue;
          }
          cur += d;
          i++;
        }
        if (!closed) return { error: `unterminated double quote in '${text}'` };
      } else if (c === "\\" && i + 1 < n) {
        const r = unescape(text, i);
        cur += r[0];
        i = r[1];
      } else {
        cur += c;
        i++;
      }
    }
    out.push({ text: cur, quoted });
  }
  return out;
}

/** Resolves the escape at text[i] (a backslash); returns [text, next index]. */
function unescape(text: string, i: number): [string, number] {
  const d = text[i + 1] as string;
  switch (d) {
    case " ":
    case '"':
    case "'":
    case "\\":
    case "#":
      return [d, i + 2];
    case "t":
      return ["\t", i + 2];
    case "r":
      return ["\r", i + 2];
    case "n":
      return ["\n", i + 2];
    case "x": {
      const h = text.slice(i + 2, i + 4);
      if (/^[0-9A-Fa-f]{2}$/.test(h)) return [String.fromCharCode(parseInt(h, 16)), i + 4];
      return ["\\x", i + 2];
    }
    default:
      return ["\\" + d, i + 2];
  }
}

// ---------------------------------------------------------------------------
// ACL keywords: fetches plus HAProxy's derived `<fetch>_<match>` names.

/** Suffixes of derived keywords and the method they select. */
const SUFFIXES: ReadonlyArray<readonly [string, number]> = [
  ["_beg", PAT_M_BEG],
  ["_end", PAT_M_END],
  ["_sub", PAT_M_SUB],
  ["_reg", PAT_M_REG],
  ["_dir", PAT_M_DIR],
  ["_dom", PAT_M_DOM],
  ["_len", PAT_M_LEN],
  ["_val", PAT_M_INT],
  ["_ip", PAT_M_IP],
];

/** Every ACL keyword (fetches and derived names), for suggestions and docs. */
export const ACL_KEYWORDS: readonly string[] = Object.freeze((() => {
  const out: string[] = [];
  for (const f of FETCHES) {
    out.push(f.name);
    if (f.derive) { for (const [s] of SUFFIXES) out.push(f.name + s); }
  }
  return out;
})());

/** Resolves an ACL keyword to its fetch and the method a derived name implies (-1: none). */
function resolveKeyword(name: string): { def: FetchDef; match: number } | null {
  const fd = findFetch(name);
  if (fd !== undefined) return { def: fd, match: -1 };
  for (const [s, m] of SUFFIXES) {
    if (!name.endsWith(s)) continue;
    const base = findFetch(name.slice(0, -s.length));
    if (base !== undefined && base.derive) return { def: base, match: m };
  }
  return null;
}

/** Default method for a fetch's output type. */
function defaultMatch(type: number): number {
  switch (type) {
    case SMP_T_INT:
      return PAT_M_INT;
    case SMP_T_IP:
      return PAT_M_IP;
    case SMP_T_BOOL:
      return PAT_M_BOOL;
    default:
      return PAT_M_STR;
  }
}

// ---------------------------------------------------------------------------
// Compiled ACLs.

/** Scratch for multi-valued samples (consumed before any other fetch runs). */
const VALUES: string[] = [];

/** One ACL expression: a fetch, a method and its patterns (HAProxy's struct acl_expr). */
export class AclExpr {
  readonly fetch: Fetch;
  /** PAT_M_* method. */
  readonly match: number;
  readonly pats: PatternSet;
  /** Indexes over the `-f` pattern files (shared, changed by the runtime API). */
  readonly files: readonly PatIndex[];
  /** Expression as written. */
  readonly source: string;

  constructor(
    fetch: Fetch,
    match: number,
    pats: PatternSet,
    source: string,
    files: readonly PatIndex[] = [],
  ) {
    this.fetch = fetch;
    this.match = match;
    this.pats = pats;
    this.source = source;
    this.files = files;
  }

  /** True when any occurrence of the sample matches any pattern. */
  eval(ctx: SampleCtx): boolean {
    const f = this.fetch;
    if (f.def.multi && f.occ === 0) {
      const n = fetchAll(ctx, f, VALUES);
      if (this.match === PAT_M_FOUND) return n > 0;
      for (let i = 0; i < n; i++) if (this.#test(VALUES[i] as string)) return true;
      return false;
    }
    const v = fetchOne(ctx, f);
    if (v === null) return false;
    if (this.match === PAT_M_FOUND) return true;
    return this.#test(v);
  }

  /** Tests one sample against the inline patterns, then the pattern files. */
  #test(v: string | number | boolean): boolean {
    if (this.#testInline(v)) return true;
    const files = this.files;
    if (files.length === 0 || this.match === PAT_M_BOOL) return false;
    let s: string;
    if (this.match === PAT_M_LEN) s = typeof v === "string" ? v : String(v);
    else if (typeof v === "string") s = v;
    else if (this.match === PAT_M_IP) return false;
    else s = typeof v === "number" ? String(v) : v ? "1" : "0";
    for (let i = 0; i < files.length; i++) {
      if ((files[i] as PatIndex).lookup(s) !== null) return true;
    }
    return false;
  }

  /** Tests one sample against the inline patterns, converting it to what the method compares. */
  #testInline(v: string | number | boolean): boolean {
    const m = this.match;
    const pats = this.pats;
    if (m === PAT_M_BOOL) {
      return typeof v === "boolean" ? v : typeof v === "number" ? v !== 0 : v.length > 0;
    }
    if (m === PAT_M_INT) {
      if (typeof v === "number") return pats.matchInt(v);
      if (typeof v === "boolean") return pats.matchInt(v ? 1 : 0);
      const n = leadingInt(v);
      return n !== null && pats.matchInt(n);
    }
    if (m === PAT_M_LEN) {
      return pats.matchInt(typeof v === "string" ? v.length : String(v).length);
    }
    if (typeof v === "string") return pats.matchString(v);
    if (m === PAT_M_IP) return false;
    return pats.matchString(typeof v === "number" ? String(v) : v ? "1" : "0");
  }
}

/** A named ACL: every declaration of the name, ORed. */
export class Acl {
  readonly name: string;
  readonly exprs: AclExpr[];
  /** SMP_USE_* bits of its expressions. */
  uses: number;
  /** First fetch it uses that is not valid on requests (a response fetch), null when none. */
  resFetch: string | null;

  constructor(name: string) {
    this.name = name;
    this.exprs = [];
    this.uses = 0;
    this.resFetch = null;
  }

  /** Adds a declaration. */
  add(e: AclExpr): void {
    this.exprs.push(e);
    this.uses |= e.fetch.def.use;
    if ((e.fetch.def.val & SMP_VAL_REQ) === 0 && this.resFetch === null) {
      this.resFetch = e.fetch.text;
    }
  }

  /** True when one of its declarations matches. */
  eval(ctx: SampleCtx): boolean {
    const ex = this.exprs;
    for (let i = 0; i < ex.length; i++) if ((ex[i] as AclExpr).eval(ctx)) return true;
    return false;
  }
}

/**
 * The ACLs of one proxy section. Names declared in the section win over the
 * predefined ones (HAProxy's lookup order).
 */
export class AclTable {
  #map: Map<string, Acl>;

  constructor() {
    this.#map = new Map();
  }

  /** The declared ACL, else the predefined one, else undefined. */
  get(name: string): Acl | undefined {
    return this.#map.get(name) ?? predefinedAcl(name);
  }

  /** The declared ACL (created empty when missing); for the compiler. */
  declare(name: string): Acl {
    let a = this.#map.get(name);
    if (a === undefined) {
      a = new Acl(name);
      this.#map.set(name, a);
    }
    return a;
  }

  /** Names declared in the section, in declaration order. */
  names(): string[] {
    return [...this.#map.keys()];
  }
}

/** PAT_M_* method → the pattern index kind of its `-f` files (-1: files refused). */
const FILE_INDEX: readonly number[] = [
  PAT_IDX_STR, // str
  PAT_IDX_BEG, // beg
  PAT_IDX_END, // end
  PAT_IDX_SUB, // sub
  PAT_IDX_REG, // reg
  -1, // found
  PAT_IDX_LEN, // len
  PAT_IDX_INT, // int
  PAT_IDX_DOM, // dom
  PAT_IDX_DIR, // dir
  PAT_IDX_IP, // ip
  -1, // bool
];

/**
 * Compiles one ACL expression from tokens[from, to): `FETCH [-i] [-m M]
 * [-f FILE] [-n] [--] PATTERN…`. Refuses an unknown fetch (with a
 * suggestion), `-m` on a derived keyword (`path_beg -m sub`), an unknown flag
 * or method, and bad patterns (see compilePatterns). A token starting with
 * `-` followed by a digit is a pattern (negative integer).
 */
export function compileAclExpr(
  tokens: readonly Token[],
  from: number,
  to: number,
): AclExpr | { error: string } {
  const head = tokens[from];
  if (head === undefined || from >= to) return { error: "missing fetch method" };
  const sp = splitFetchExpr(head.text);
  if ("error" in sp) return sp;
  const kw = resolveKeyword(sp.name);
  if (kw === null) {
    return { error: `unknown fetch method '${sp.name}'${didYouMean(sp.name, ACL_KEYWORDS)}` };
  }
  const fetch = buildFetch(kw.def, sp.args, sp.convs, head.text);
  if ("error" in fetch) return fetch;

  let icase = false;
  let match = -1;
  const pats: string[] = [];
  const fileNames: string[] = [];
  let i = from + 1;
  for (; i < to; i++) {
    const t = tokens[i] as Token;
    const s = t.text;
    if (t.quoted || s.length < 2 || s[0] !== "-" || /^-\d/.test(s)) break;
    if (s === "--") {
      i++;
      break;
    }
    if (s === "-i") icase = true;
    else if (s === "-n") continue; // no DNS resolution: always the case here
    else if (s === "-m") {
      const mt = tokens[++i];
      if (mt === undefined || i >= to) return { error: "missing matching method after '-m'" };
      match = patMatchId(mt.text);
      if (match < 0) {
        return {
          error: `unknown matching method '${mt.text}' after '-m'${
            didYouMean(mt.text, PAT_MATCH_NAMES)
          } (expected one of ${PAT_MATCH_NAMES.join(", ")})`,
        };
      }
      if (kw.match >= 0) {
        return {
          error: `'-m' cannot be used with '${sp.name}', which already selects '-m ${
            PAT_MATCH_NAMES[kw.match]
          }' (write '${kw.def.name} -m ${mt.text}' instead)`,
        };
      }
    } else if (s === "-f") {
      const ft = tokens[++i];
      if (ft === undefined || i >= to) return { error: "missing file name after '-f'" };
      fileNames.push(ft.text);
    } else {
      return {
        error:
          `unknown flag '${s}' (expected -i, -m, -f, -n or --; use '--' before a pattern starting with '-')`,
      };
    }
  }
  for (; i < to; i++) pats.push((tokens[i] as Token).text);
  if (match < 0) match = kw.match >= 0 ? kw.match : defaultMatch(fetch.type);
  if (kw.match === PAT_M_IP || kw.match === PAT_M_INT || kw.match === PAT_M_LEN) {
    // hdr_ip / hdr_val / path_len compare the raw value: a converter would be pointless.
    if (fetch.convs.length > 0) return { error: `converters cannot be used with '${sp.name}'` };
  }
  const fold = icase && patMatchWantsString(match);
  // Pattern files are read once per configuration and indexed (never scanned).
  const files: PatIndex[] = [];
  for (const name of fileNames) {
    const kind = FILE_INDEX[match] ?? -1;
    if (kind < 0) {
      return { error: `'-m ${PAT_MATCH_NAMES[match]}' takes no pattern, got file '${name}'` };
    }
    const ref = loadingPatternStore().open(name, false);
    if ("error" in ref) return ref;
    const ix = ref.index(kind, fold);
    if ("error" in ix) return ix;
    files.push(ix);
  }
  const set = compilePatterns(match, fold, pats);
  if ("error" in set) {
    if (files.length === 0) return { error: `${set.error} in '${head.text}'` };
    return new AclExpr(fetch, match, emptyPatterns(match, fold), sourceOf(tokens, from, to), files);
  }
  return new AclExpr(fetch, match, set, sourceOf(tokens, from, to), files);
}

/** Expression text of tokens[from, to). */
function sourceOf(tokens: readonly Token[], from: number, to: number): string {
  return tokens.slice(from, to).map((t) => t.text).join(" ");
}

/** A PatternSet with no pattern (an expression whose patterns all come from files). */
function emptyPatterns(match: number, icase: boolean): PatternSet {
  const none = new Float64Array(0);
  return new PatternSet(match, icase, [], [], none, none, null, []);
}

/**
 * Compiles the `acl` lines of a section. Every line is compiled; a failing
 * one is reported with its position and left out (its name stays declared
 * so that conditions naming it do not add a second error). Returns the table
 * and every error.
 */
export function compileAcls(
  lines: ReadonlyArray<{ name: string; expr: string; line: number; col: number }>,
): { acls: AclTable; errors: AclError[] } {
  const acls = new AclTable();
  const errors: AclError[] = [];
  for (const l of lines) {
    const acl = acls.declare(l.name);
    const toks = tokenize(l.expr);
    if (!Array.isArray(toks)) {
      errors.push({ line: l.line, col: l.col, message: `acl '${l.name}': ${toks.error}` });
      continue;
    }
    const e = compileAclExpr(toks, 0, toks.length);
    if (e instanceof AclExpr) acl.add(e);
    else errors.push({ line: l.line, col: l.col, message: `acl '${l.name}': ${e.error}` });
  }
  return { acls, errors };
}

// ---------------------------------------------------------------------------
// Predefined ACLs (HAProxy's acl.c default_acl_list).

/** Name → expression of the predefined ACLs. */
export const PREDEFINED_ACL_EXPRS: ReadonlyMap<string, string> = new Map([
  ["TRUE", "always_true"],
  ["FALSE", "always_false"],
  ["HTTP", "req.proto_http"],
  ["HTTP_1.0", "req.ver 1.0"],
  ["HTTP_1.1", "req.ver 1.1"],
  ["HTTP_2.0", "req.ver 2.0"],
  ["HTTP_3.0", "req.ver 3.0"],
  ["HTTP_CONTENT", "req.hdr_val(content-length) gt 0"],
  ["HTTP_URL_ABS", "url_reg ^[^/:]*://"],
  ["HTTP_URL_SLASH", "url_beg /"],
  ["HTTP_URL_STAR", "url *"],
  ["LOCALHOST", "src 127.0.0.1/8 ::1"],
  ["METH_CONNECT", "method CONNECT"],
  ["METH_DELETE", "method DELETE"],
  ["METH_GET", "method GET HEAD"],
  ["METH_HEAD", "method HEAD"],
  ["METH_OPTIONS", "method OPTIONS"],
  ["METH_POST", "method POST"],
  ["METH_PUT", "method PUT"],
  ["METH_TRACE", "method TRACE"],
  // No RDP protocol parser here: never true.
  ["RDP_COOKIE", "always_false"],
  // The request head is in the buffer when HTTP rules run.
  ["REQ_CONTENT", "always_true"],
  // No inspect-delay here: the end of the wait is always reached.
  ["WAIT_END", "always_true"],
]);

const PREDEFINED: Map<string, Acl> = new Map();

/** The predefined ACL `name` (compiled on first use), or undefined. */
export function predefinedAcl(name: string): Acl | undefined {
  const hit = PREDEFINED.get(name);
  if (hit !== undefined) return hit;
  const expr = PREDEFINED_ACL_EXPRS.get(name);
  if (expr === undefined) return undefined;
  const toks = tokenize(expr) as Token[];
  const e = compileAclExpr(toks, 0, toks.length);
  if (!(e instanceof AclExpr)) throw new Error(`predefined ACL ${name}: ${e.error}`);
  const acl = new Acl(name);
  acl.add(e);
  PREDEFINED.set(name, acl);
  return acl;
}

// ---------------------------------------------------------------------------
// Conditions.

/** An OR of AND-suites of (ACL, negated) terms. */
class CompiledCondition implements Condition {
  readonly uses: number;
  readonly resFetch: string | null;
  readonly source: string;
  readonly #suites: ReadonlyArray<{ acls: Acl[]; negs: boolean[] }>;
  readonly #unless: boolean;

  constructor(
    suites: Array<{ acls: Acl[]; negs: boolean[] }>,
    unless: boolean,
    source: string,
  ) {
    this.#suites = suites;
    this.#unless = unless;
    this.source = source;
    let uses = 0;
    let res: string | null = null;
    for (const s of suites) {
      for (const a of s.acls) {
        uses |= a.uses;
        if (res === null && a.resFetch !== null) res = a.resFetch;
      }
    }
    this.uses = uses;
    this.resFetch = res;
  }

  eval(ctx: SampleCtx): boolean {
    const suites = this.#suites;
    let r = false;
    for (let s = 0; s < suites.length && !r; s++) {
      const { acls, negs } = suites[s] as { acls: Acl[]; negs: boolean[] };
      let ok = true;
      for (let k = 0; k < acls.length; k++) {
        if ((acls[k] as Acl).eval(ctx) === negs[k]) {
          ok = false;
          break;
        }
      }
      r = ok;
    }
    return this.#unless ? !r : r;
  }
}

/** The condition of a rule without `if` / `unless`: always true. */
export const ALWAYS: Condition = Object.freeze({
  eval: (_ctx: SampleCtx) => true,
  uses: 0,
  resFetch: null,
  source: "",
});

/**
 * Compiles condition tokens: an optional leading `if` / `unless`, then
 * terms. A term is an ACL name, `!name`, `! name`, or an anonymous ACL
 * `{ FETCH [flags] PATTERN… }` (braces are separate tokens; `!{` is
 * accepted). Terms are ANDed; `||` or `or` starts an OR branch. Refused: an
 * undeclared ACL (with a suggestion), an empty condition or branch, an
 * unclosed `{`, a bad anonymous expression. `source` is used for messages.
 */
export function compileConditionTokens(
  tokens: readonly Token[],
  acls: AclTable,
  source: string,
): Condition | { error: string } {
  let i = 0;
  let unless = false;
  const first = tokens[0];
  if (first !== undefined && !first.quoted && (first.text === "if" || first.text === "unless")) {
    unless = first.text === "unless";
    i = 1;
  }
  const kw = i === 1 ? `'${(first as Token).text}'` : "the condition";
  if (i >= tokens.length) return { error: `missing condition after ${kw}` };
  const suites: Array<{ acls: Acl[]; negs: boolean[] }> = [{ acls: [], negs: [] }];
  let cur = suites[0] as { acls: Acl[]; negs: boolean[] };
  let neg = false;
  let anon = 0;
  while (i < tokens.length) {
    const t = tokens[i] as Token;
    let s = t.text;
    if (!t.quoted && (s === "||" || s === "or")) {
      if (neg) return { error: `'!' must be followed by an ACL, got '${s}'` };
      if (cur.acls.length === 0) return { error: `'${s}' without a term before it` };
      cur = { acls: [], negs: [] };
      suites.push(cur);
      i++;
      continue;
    }
    if (!t.quoted) {
      while (s.startsWith("!")) {
        neg = !neg;
        s = s.slice(1);
      }
      if (s === "") {
        i++;
        continue;
      }
    }
    if (!t.quoted && s === "{") {
      let j = i + 1;
      while (j < tokens.length && !(tokens[j]?.text === "}" && !tokens[j]?.quoted)) j++;
      if (j >= tokens.length) {
        return {
          error: `missing '}' to close the anonymous ACL (braces must be separated by spaces)`,
        };
      }
      if (j === i + 1) return { error: "empty anonymous ACL '{ }'" };
      const e = compileAclExpr(tokens, i + 1, j);
      if (!(e instanceof AclExpr)) return { error: `anonymous ACL: ${e.error}` };
      const acl = new Acl(`{anonymous ${++anon}}`);
      acl.add(e);
      cur.acls.push(acl);
      cur.negs.push(neg);
      neg = false;
      i = j + 1;
      continue;
    }
    if (!t.quoted && s.startsWith("{")) {
      return { error: `missing space after '{' in '${t.text}'` };
    }
    if (!t.quoted && s === "}") return { error: "unexpected '}' without '{'" };
    const acl = acls.get(s);
    if (acl === undefined) {
      const hint = didYouMean(s, [...acls.names(), ...PREDEFINED_ACL_EXPRS.keys()]);
      const fetchHint = hint === "" && resolveKeyword(splitName(s)) !== null
        ? ` (to test a fetch directly, use an anonymous ACL: '{ ${s} ... }')`
        : "";
      return { error: `ACL '${s}' is not declared${hint}${fetchHint}` };
    }
    cur.acls.push(acl);
    cur.negs.push(neg);
    neg = false;
    i++;
  }
  if (neg) return { error: "'!' at the end of the condition" };
  if (cur.acls.length === 0) {
    return {
      error: suites.length > 1 ? "missing term after '||'" : `missing condition after ${kw}`,
    };
  }
  return new CompiledCondition(suites, unless, source);
}

/** Name part of a fetch token (before `(` or `,`). */
function splitName(s: string): string {
  const m = /^[A-Za-z0-9_.]*/.exec(s);
  return m === null ? s : m[0];
}

/**
 * Compiles a condition written as `if COND`, `unless COND`, or just `COND`
 * (the part after `if`); "" gives a condition that is always true. Returns
 * the Condition or `{error}` naming the offending token.
 */
export function compileCondition(text: string, acls: AclTable): Condition | { error: string } {
  const toks = tokenize(text);
  if (!Array.isArray(toks)) return toks;
  if (toks.length === 0) return ALWAYS;
  return compileConditionTokens(toks, acls, text.trim());
}

// Note about invariants: an AclTable only grows during compileAcls(); every
// AclExpr holds a PatternSet compiled for its own method; predefined ACLs are
// compiled once, on first use, and shared by every table.
