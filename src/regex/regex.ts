// Configured regular expressions, run in linear time (HAProxy's regex.c:
// regex_comp / regex_exec, which use PCRE2-JIT with a match limit).
//
// Owns: compiling every regex a configuration holds (ACL `-m reg` / `_reg`,
// `replace-header|value|path|uri`, `del-header -m reg`, `http-check expect
// rstring|rstatus`) and running it. V8's own RegExp backtracks without any
// step limit: `^(a+)+$` against 40 `a`s and a `!` runs for hours on the one
// thread that serves every connection. Patterns therefore run on re2js (RE2
// ported to JavaScript: a lazy DFA for yes/no questions, one-pass / bit-state
// / Pike VM for groups), whose time is linear in the subject whatever the
// pattern. V8's own linear engine (the `l` flag) needs a V8 flag at process
// start, which `deno run main.ts` and the in-process tests lack; measured, it
// was as slow or slower on yes/no tests (what ACLs run), even on groups, and
// it refuses `-i` and large counted repeats. V8's "fall back after too many
// backtracks" flag needs the same start-up flag and does not cover `-i`
// patterns. So re2js runs every pattern, however the proxy is started: see
// docs/acl_and_rules.md ("Regular expressions") and bench/regex_bench.ts.
//
// The syntax is RE2's, close to PCRE's: what RE2 cannot run in linear time
// (back-references, lookahead and lookbehind, atomic groups, possessive
// quantifiers, recursion, conditionals) is refused here, at load time, with a
// message that names the construct. Back-references in a REPLACEMENT (`\1` in
// replace-header) are the caller's business and are not patterns.
//
// Subjects are plain strings; callers pass byte strings (one code unit per
// byte) for HTTP data and convert the pattern the same way, so both sides
// compare byte for byte. This file must never import from the rest of src/
// (it is a leaf, used from acl/, http/ and check/).

import { RE2JS } from "re2js";

/**
 * The groups of one match, as RegExp.exec() returns them: index 0 is the
 * whole match, then one entry per group, undefined for a group that did not
 * take part.
 */
export type RegexMatch = ArrayLike<string | undefined>;

/**
 * What a consumer of a compiled pattern calls (the head editor, rules).
 * Regex implements it; so does a plain non-global RegExp, which only code
 * that builds its own fixed pattern (tests, never configuration) may pass.
 */
export interface RegexMatcher {
  test(s: string): boolean;
  exec(s: string): RegexMatch | null;
}

/** Options of compileRegex(). */
export interface RegexOptions {
  /** Case-insensitive (ACL `-i`): folds A-Z/a-z and the latin1 letters, as V8's `i` did. */
  readonly icase?: boolean;
}

/**
 * A compiled pattern. Immutable and stateless (no lastIndex): one instance is
 * shared by every stream.
 */
export class Regex implements RegexMatcher {
  /** The pattern as compiled (after the caller's byte-string conversion). */
  readonly source: string;
  /** Compiled case-insensitive. */
  readonly icase: boolean;
  #re: RE2JS;
  /** The same program through RE2's Go-style API: one run for all the groups. */
  #re2: ReturnType<RE2JS["re2"]>;

  constructor(source: string, icase: boolean, re: RE2JS) {
    this.source = source;
    this.icase = icase;
    this.#re = re;
    this.#re2 = re.re2();
  }

  /** True when the pattern matches somewhere in `s` (unanchored, like RegExp.test). */
  test(s: string): boolean {
    return this.#re.test(s);
  }

  /**
   * The first match in `s` with its groups, or null. A yes/no pass runs
   * first: the DFA, a fraction of the cost of a group search, and most
   * subjects of a rewrite rule do not match (measured: 0.7 µs against 9 µs
   * for a 110-byte User-Agent that does not match a caseless alternation;
   * 0.3 µs against 3 µs for `^(a+)+$` on 40 `a`s and a `!`). Skipping it
   * for anchored patterns saved under 1 µs on matches and cost that much
   * more on such subjects: kept for all. The groups then come from RE2's
   * findSubmatch(), one engine run, where RE2JS.exec() runs a Matcher twice
   * (whole match, then groups).
   */
  exec(s: string): RegexMatch | null {
    if (!this.#re.test(s)) return null;
    const m: Array<string | null | undefined> | null = this.#re2.findSubmatch(s);
    if (m === null) return null;
    for (let i = 0; i < m.length; i++) if (m[i] === null) m[i] = undefined;
    return m as RegexMatch;
  }
}

/** Prefix re2js puts on every syntax error, dropped from our messages. */
const RE2_PREFIX = "error parsing regexp: ";

/** Said after every refused construct. */
const WHY = "(regexes run in linear time, RE2 syntax; see docs/acl_and_rules.md)";

/**
 * Compiles `source` for the bounded engine.
 *
 * Accepted: RE2 syntax (PCRE's for everything but the constructs below):
 * classes, `\d \w \s \b`, `[[:alpha:]]`, `\pL`, `\xHH`, `\x{HHHH}`, `\Q…\E`,
 * groups `(…)`, `(?:…)`, `(?P<n>…)`, `(?<n>…)`, inline flags `(?i)`, `(?s)`,
 * `(?m)`, `(?U)`, greedy and lazy quantifiers, `{n,m}` with m ≤ 1000.
 * Refused: back-references (`\1`…`\9`, `\k<n>`, `\g…`, `(?P=n)`), lookahead
 * and lookbehind, atomic groups, possessive quantifiers, recursion and
 * subroutine calls, conditionals, and anything RE2 cannot parse (its message,
 * which quotes the bad part). Returns the Regex or `{error}`; never throws.
 */
export function compileRegex(source: string, opts: RegexOptions = {}): Regex | { error: string } {
  const icase = opts.icase === true;
  const feature = unsupportedFeature(source);
  // RE2 reads `\10`…`\77` as octal escapes where PCRE and JavaScript may read
  // a back-reference: refuse every `\1`-`\9` before RE2 gives it a meaning.
  if (feature !== null && feature.backref) return { error: `${feature.what} ${WHY}` };
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, icase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (e) {
    if (feature !== null) return { error: `${feature.what} ${WHY}` };
    const msg = e instanceof Error ? e.message : String(e);
    return { error: msg.startsWith(RE2_PREFIX) ? msg.slice(RE2_PREFIX.length) : msg };
  }
  return new Regex(source, icase, re);
}

/** A construct the linear engine refuses, as found by unsupportedFeature(). */
interface Unsupported {
  /** Sentence naming it, with the text as written ("lookahead '(?=' is not supported"). */
  readonly what: string;
  /** A back-reference (refused even where RE2 would parse it differently). */
  readonly backref: boolean;
}

const CH_BSLASH = 0x5c;
const CH_LBRACKET = 0x5b;
const CH_RBRACKET = 0x5d;
const CH_LPAREN = 0x28;
const CH_QUESTION = 0x3f;
const CH_CARET = 0x5e;
const CH_COLON = 0x3a;

function unsupported(what: string, text: string, backref = false): Unsupported {
  return { what: `${what} '${text}' is not supported`, backref };
}

/**
 * Scans `p` for the first PCRE construct that has no linear-time meaning.
 * It reads escapes, `\Q…\E` and character classes the way the parser does,
 * so that `[(?=]` or `\(?=` are not taken for a lookahead. Used to give a
 * clear message; the parser stays the judge of what is valid.
 */
function unsupportedFeature(p: string): Unsupported | null {
  const n = p.length;
  let i = 0;
  let inClass = false;
  while (i < n) {
    const c = p.charCodeAt(i);
    if (c === CH_BSLASH) {
      const d = p[i + 1];
      if (d === undefined) return null;
      if (d === "Q") {
        const end = p.indexOf("\\E", i + 2);
        if (end < 0) return null;
        i = end + 2;
        continue;
      }
      if (!inClass) {
        if (d >= "1" && d <= "9") {
          let k = i + 2;
          while (k < n && p[k]! >= "0" && p[k]! <= "9") k++;
          return unsupported("backreference", p.slice(i, k), true);
        }
        if (d === "k" || d === "g") {
          return unsupported("backreference", p.slice(i, Math.min(n, i + 2)), true);
        }
      }
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === CH_LBRACKET && p.charCodeAt(i + 1) === CH_COLON) {
        const end = p.indexOf(":]", i + 2);
        i = end < 0 ? n : end + 2;
        continue;
      }
      if (c === CH_RBRACKET) inClass = false;
      i++;
      continue;
    }
    if (c === CH_LBRACKET) {
      inClass = true;
      i++;
      if (p.charCodeAt(i) === CH_CARET) i++;
      if (p.charCodeAt(i) === CH_RBRACKET) i++; // a leading ']' is a literal
      continue;
    }
    if (c === CH_LPAREN && p.charCodeAt(i + 1) === CH_QUESTION) {
      const e = p[i + 2] ?? "";
      const f = p[i + 3] ?? "";
      if (e === "=" || e === "!") return unsupported("lookahead", `(?${e}`);
      if (e === "<" && (f === "=" || f === "!")) return unsupported("lookbehind", `(?<${f}`);
      if (e === ">") return unsupported("atomic group", "(?>");
      if (e === "(") return unsupported("conditional", "(?(");
      if (e === "P" && f === "=") return unsupported("backreference", "(?P=", true);
      if (e === "P" && f === ">") return unsupported("subroutine call", "(?P>");
      if (e === "&") return unsupported("subroutine call", "(?&");
      if (
        e === "R" || (e >= "0" && e <= "9") || ((e === "+" || e === "-") && f >= "0" && f <= "9")
      ) {
        return unsupported("recursion", `(?${e}`);
      }
      i += 2;
      continue;
    }
    if (p[i + 1] === "+" && (c === 0x2a || c === 0x2b || c === CH_QUESTION || closesRepeat(p, i))) {
      return unsupported("possessive quantifier", p.slice(i, i + 2)); // a++ a*+ a?+ a{2}+
    }
    i++;
  }
  return null;
}

/** True when the `}` at `end` closes a counted repeat `{n}`, `{n,}` or `{n,m}`. */
function closesRepeat(p: string, end: number): boolean {
  if (p.charCodeAt(end) !== 0x7d) return false;
  let k = end - 1;
  let digits = 0;
  let commas = 0;
  for (; k >= 0; k--) {
    const c = p.charCodeAt(k);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2c && commas === 0) commas++;
    else break;
  }
  return k >= 0 && p.charCodeAt(k) === 0x7b && digits > 0 && p.charCodeAt(k + 1) !== 0x2c;
}

// Note about invariants: a Regex never changes after compileRegex() and holds
// no per-call state, so sharing one between streams is safe; every pattern
// that compiles runs in time linear in the subject.
