// http-request / http-response rules (HAProxy's http_act.c and the rule
// loops of http_ana.c: http_req_get_intercept_rule() /
// http_res_get_intercept_rule()), plus the `option forwardfor` argument
// parser.
//
// Owns: compiling the raw rule lines of a section once at config time
// (action keyword, arguments, value expressions, optional `if` / `unless`
// condition, side checks, files of `return file`) and evaluating them in
// order for one message: header and start-line edits go to the HeadEditor,
// a final action (allow, deny, return, redirect) stops the list and is
// returned as a RuleVerdict for the analyser to act on. It never writes to a
// socket nor builds a response: the analyser does, from the verdict.

import {
  type AclTable,
  compileConditionTokens,
  type Condition,
  type Token,
  tokenize,
} from "../acl/acl.ts";
import { type CidrList, parseCidrList } from "../acl/ip.ts";
import { toByteString } from "../sample/bytes.ts";
import type { RuleLine } from "../config/types.ts";
import { compileRegex, Regex } from "../regex/regex.ts";
import { expandBackrefs, type HdrNameMatch, type HeadEditor, isToken } from "./head_editor.ts";
import {
  HDR_CONTENT_LENGTH,
  HDR_TRANSFER_ENCODING,
  headerNameIdFromString,
} from "./header_names.ts";
import { type SampleCtx, SMP_USE_REQ, type ValueExpr } from "../sample/types.ts";
import { compileValue, evalValue } from "../sample/value.ts";
import {
  compileTrackSc,
  runIncGpc,
  runSetGpt0,
  runTrackSc,
  TRACK_HTTP,
  type TrackSc,
} from "../sample/stick_actions.ts";
import { MAX_STKCTR } from "../stick/track.ts";
import { bytesOf } from "./types.ts";
import { didYouMean } from "../tools/suggest.ts";
import { allowAsyncAuth, clearPendingAuth, pendingAuth } from "../sample/auth.ts";
import {
  type CaptureSlots,
  compileExtAction,
  EXT_ACTIONS,
  type ExtAction,
  isExtAction,
} from "./rule_actions.ts";

export { cidrListMatch } from "../acl/ip.ts";
export type { CidrList } from "../acl/ip.ts";

// ---------------------------------------------------------------------------
// Verdicts.

/** What the analyser does after the rules ran. */
export type RuleVerdict =
  /** Go on (no final action matched, or `allow`). */
  | { readonly kind: "continue" }
  /** Answer `status` with the proxy's error page and close (request), or replace the response. */
  | { readonly kind: "deny"; readonly status: number }
  /** Answer with this response (Content-Length from body; contentType "" when no body). */
  | {
    readonly kind: "return";
    readonly status: number;
    readonly contentType: string;
    readonly body: Uint8Array;
    /** Extra `hdr NAME VALUE` headers, already rendered. */
    readonly headers: ReadonlyArray<readonly [string, string]>;
  }
  /** Answer `code` with `Location: location`. */
  | { readonly kind: "redirect"; readonly code: number; readonly location: string }
  /** Hold the request for `timeout tarpit`, then answer `status` (default 500) and close. */
  | { readonly kind: "tarpit"; readonly status: number }
  /**
   * Stop here and run the rules again from rule `at` once `wait` settles (a
   * password check in progress off the thread): only when evalRules() was
   * allowed to yield.
   */
  | { readonly kind: "yield"; readonly at: number; readonly wait: Promise<void> };

/** The shared "continue" verdict. */
export const VERDICT_CONTINUE: RuleVerdict = Object.freeze({ kind: "continue" });

// ---------------------------------------------------------------------------
// Actions.

const ACT_ALLOW = 0;
const ACT_DENY = 1;
const ACT_RETURN = 2;
const ACT_REDIRECT = 3;
const ACT_SET_HDR = 4;
const ACT_ADD_HDR = 5;
const ACT_DEL_HDR = 6;
const ACT_REPLACE_HDR = 7;
const ACT_REPLACE_VAL = 8;
const ACT_SET_PATH = 9;
const ACT_SET_QUERY = 10;
const ACT_SET_URI = 11;
const ACT_SET_METHOD = 12;
const ACT_SET_STATUS = 13;
const ACT_REPLACE_PATH = 14;
const ACT_REPLACE_URI = 15;
const ACT_TRACK_SC = 16;
const ACT_SC_INC_GPC = 17;
const ACT_SC_SET_GPT0 = 18;
const ACT_TARPIT = 19;
/** An action compiled by rule_actions.ts (set-var, unset-var, …). */
const ACT_EXT = 20;

/** Which side an action may run on. */
const SIDE_BOTH = 0;
const SIDE_REQ_ONLY = 1;
const SIDE_RES_ONLY = 2;

/** Action keywords: id and allowed side. */
const ACTIONS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ["allow", [ACT_ALLOW, SIDE_BOTH]],
  ["deny", [ACT_DENY, SIDE_BOTH]],
  ["return", [ACT_RETURN, SIDE_BOTH]],
  ["redirect", [ACT_REDIRECT, SIDE_BOTH]],
  ["set-header", [ACT_SET_HDR, SIDE_BOTH]],
  ["add-header", [ACT_ADD_HDR, SIDE_BOTH]],
  ["del-header", [ACT_DEL_HDR, SIDE_BOTH]],
  ["replace-header", [ACT_REPLACE_HDR, SIDE_BOTH]],
  ["replace-value", [ACT_REPLACE_VAL, SIDE_BOTH]],
  ["set-path", [ACT_SET_PATH, SIDE_REQ_ONLY]],
  ["set-query", [ACT_SET_QUERY, SIDE_REQ_ONLY]],
  ["set-uri", [ACT_SET_URI, SIDE_REQ_ONLY]],
  ["set-method", [ACT_SET_METHOD, SIDE_REQ_ONLY]],
  ["replace-path", [ACT_REPLACE_PATH, SIDE_REQ_ONLY]],
  ["replace-uri", [ACT_REPLACE_URI, SIDE_REQ_ONLY]],
  ["set-status", [ACT_SET_STATUS, SIDE_RES_ONLY]],
  ["track-sc0", [ACT_TRACK_SC, SIDE_BOTH]],
  ["track-sc1", [ACT_TRACK_SC, SIDE_BOTH]],
  ["track-sc2", [ACT_TRACK_SC, SIDE_BOTH]],
  ["sc-inc-gpc0", [ACT_SC_INC_GPC, SIDE_BOTH]],
  ["sc-inc-gpc1", [ACT_SC_INC_GPC, SIDE_BOTH]],
  ["sc-set-gpt0", [ACT_SC_SET_GPT0, SIDE_BOTH]],
  ["tarpit", [ACT_TARPIT, SIDE_REQ_ONLY]],
]);

/** Action keywords, for docs and suggestions. */
export const RULE_ACTIONS: readonly string[] = Object.freeze([...ACTIONS.keys(), ...EXT_ACTIONS]);

/** Redirect kinds. */
const REDIR_LOCATION = 0;
const REDIR_PREFIX = 1;
const REDIR_SCHEME = 2;

/** Codes `redirect ... code N` accepts. */
const REDIRECT_CODES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * One compiled rule. Every field is set for every action (one object shape);
 * fields an action does not use hold neutral values.
 */
export interface Rule {
  /** Action keyword as written ("set-header"). */
  readonly actionName: string;
  readonly action: number;
  /** Condition, null when the rule has none (always applies). */
  readonly cond: Condition | null;
  /** Header name (set/add/del/replace), as written. */
  readonly name: string;
  /** del-header: how names compare, or a regex for `-m reg`. */
  readonly nameMatch: HdrNameMatch | Regex;
  /** Value / target / location / lf body, null when unused. */
  readonly value: ValueExpr | null;
  /** replace-*: the regex. */
  readonly re: Regex | null;
  /** deny/return/set-status: status; redirect: code. */
  readonly status: number;
  /** set-status: reason phrase (null = standard one). */
  readonly reason: ValueExpr | null;
  /** redirect: REDIR_* kind, drop-query, append-slash. */
  readonly redirType: number;
  readonly dropQuery: boolean;
  readonly appendSlash: boolean;
  /** return: content type, static body, extra headers. */
  readonly contentType: string;
  readonly body: Uint8Array;
  readonly headers: ReadonlyArray<readonly [string, ValueExpr]>;
  /** Precomputed verdict for deny and static returns, else null. */
  readonly verdict: RuleVerdict | null;
  /** ACT_EXT: the action rule_actions.ts compiled. */
  readonly ext: ExtAction | null;
  /** Reads the request (condition or values): response rules need keepRequest(). */
  readonly usesRequest: boolean;
  /** track-scN / sc-*: the counter number; track-scN: the table and the key expression. */
  readonly ctr: number;
  readonly track: TrackSc | null;
  /** Position of the rule line. */
  readonly line: number;
  readonly col: number;
  /** The line as written. */
  readonly text: string;
}

/** Options of compileRules(). */
export interface CompileRulesOptions {
  /** Directory that relative `return file` / `lf-file` paths are read from (default: cwd). */
  baseDir?: string;
  /** Name of the proxy the rules belong to (`auth`'s default realm). */
  proxyName?: string;
  /** The frontend's capture slots (`capture` actions); absent in a backend. */
  captureSlots?: CaptureSlots;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const EMPTY_BODY = new Uint8Array(0);

function blankRule(l: RuleLine, actionName: string, action: number): Mutable<Rule> {
  return {
    actionName,
    action,
    cond: null,
    name: "",
    nameMatch: "str",
    value: null,
    re: null,
    status: 0,
    reason: null,
    redirType: REDIR_LOCATION,
    dropQuery: false,
    appendSlash: false,
    contentType: "",
    body: EMPTY_BODY,
    headers: [],
    verdict: null,
    ext: null,
    usesRequest: false,
    ctr: 0,
    track: null,
    line: l.line,
    col: l.col,
    text: l.text,
  };
}

/** True when a compiled value has CR, LF or NUL in its literal text. */
function hasControl(v: ValueExpr): boolean {
  for (const p of v.parts) if (typeof p === "string" && /[\r\n\0]/.test(p)) return true;
  return false;
}

/** Joins a directory and a path unless the path is absolute. */
function resolvePath(baseDir: string | undefined, p: string): string {
  if (baseDir === undefined || p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p)) return p;
  return baseDir.endsWith("/") ? baseDir + p : baseDir + "/" + p;
}

/**
 * Compiles the rule lines of one section and side. Accepted actions: allow,
 * deny [deny_status N], return [status N] [content-type T] [string S |
 * lf-string S | file F | lf-file F] [hdr N V]…, redirect location|prefix|
 * scheme X [code 301|302|303|307|308] [drop-query] [append-slash],
 * set-header/add-header N V, del-header N [-m str|beg|end|sub|reg],
 * replace-header/replace-value N REGEX REPL, set-path/set-query/set-uri/
 * set-method V and replace-path/replace-uri REGEX REPL (request only),
 * set-status N [reason R] (response only); each with an optional
 * `if|unless COND`.
 *
 * Refused (one error per line, with the line's position): unknown action
 * (with a suggestion), wrong argument count, bad header name, edits of
 * Content-Length / Transfer-Encoding, a bad regex or value expression, a
 * response fetch in a request rule, an unreadable file, a bad status or
 * redirect code, an undeclared ACL. Bad lines are left out of `rules`.
 */
export function compileRules(
  lines: readonly RuleLine[],
  acls: AclTable,
  side: "request" | "response",
  opts: CompileRulesOptions = {},
): { rules: Rule[]; errors: Array<{ line: number; col: number; message: string }> } {
  const rules: Rule[] = [];
  const errors: Array<{ line: number; col: number; message: string }> = [];
  const where = side === "request" ? "http-request" : "http-response";
  for (const l of lines) {
    const r = compileRule(l, acls, side, opts);
    if ("error" in r) {
      errors.push({ line: l.line, col: l.col, message: `${where}: ${r.error}` });
    } else rules.push(r);
  }
  return { rules, errors };
}

/** Compiles one rule line; see compileRules(). */
function compileRule(
  l: RuleLine,
  acls: AclTable,
  side: "request" | "response",
  opts: CompileRulesOptions,
): Rule | { error: string } {
  const toks = tokenize(l.text);
  if (!Array.isArray(toks)) return toks;
  const first = toks[0];
  if (first === undefined) return { error: "empty rule" };
  let kw = first.text;
  // sc-inc-gpc0(N), sc-set-gpt0(N): the counter number rides on the keyword.
  let ctrArg = -1;
  const scm = /^(sc-[a-z0-9-]+)\((\d+)\)$/.exec(kw);
  if (scm !== null) {
    kw = scm[1]!;
    ctrArg = Number(scm[2]);
    if (ctrArg >= MAX_STKCTR) {
      return { error: `invalid stick counter ${ctrArg} in '${first.text}' (expected 0..2)` };
    }
  }
  const act = ACTIONS.get(kw) ?? (isExtAction(kw) ? [ACT_EXT, SIDE_BOTH] as const : undefined);
  if (act === undefined) {
    return { error: `unknown action '${kw}'${didYouMean(kw, RULE_ACTIONS)}` };
  }
  const [action, allowed] = act;
  const where = side === "request" ? "http-request" : "http-response";
  if (allowed === SIDE_REQ_ONLY && side === "response") {
    return { error: `'${kw}' is only allowed in http-request rules` };
  }
  if (allowed === SIDE_RES_ONLY && side === "request") {
    return { error: `'${kw}' is only allowed in http-response rules` };
  }

  // Split arguments and condition at the first unquoted if/unless.
  let ci = toks.length;
  for (let i = 1; i < toks.length; i++) {
    const t = toks[i] as Token;
    if (!t.quoted && (t.text === "if" || t.text === "unless")) {
      ci = i;
      break;
    }
  }
  const args = toks.slice(1, ci).map((t) => t.text);
  const r = blankRule(l, kw, action);
  let uses = 0;

  const value = (text: string, what: string, header: boolean): ValueExpr | { error: string } => {
    const v = compileValue(text);
    if ("error" in v) return { error: `'${kw}' ${what}: ${v.error}` };
    if (side === "request" && v.resFetch !== null) {
      return {
        error: `'${v.resFetch}' reads the response, which is not available in ${where} rules`,
      };
    }
    if (header && hasControl(v)) {
      return { error: `'${kw}' ${what} must not contain CR, LF or NUL` };
    }
    uses |= v.uses;
    return v;
  };
  const headerName = (n: string | undefined): string | { error: string } => {
    if (n === undefined) return { error: `'${kw}' expects a header name` };
    if (!isToken(n)) return { error: `invalid header name '${n}' in '${kw}'` };
    const id = headerNameIdFromString(n);
    if (id === HDR_CONTENT_LENGTH || id === HDR_TRANSFER_ENCODING) {
      return {
        error: `'${kw}' cannot modify '${n}': it defines the message framing`,
      };
    }
    return n;
  };
  const regex = (src: string | undefined): Regex | { error: string } => {
    if (src === undefined) return { error: `'${kw}' expects a regex` };
    const re = compileRegex(toByteString(src));
    return "error" in re ? { error: `invalid regex '${src}' in '${kw}': ${re.error}` } : re;
  };
  const count = (n: number, usage: string): { error: string } | null =>
    args.length === n ? null : {
      error: `'${kw}' expects ${usage}, got ${
        args.length === 0 ? "nothing" : args.map((a) => `'${a}'`).join(" ")
      }${
        args.length > n
          ? " (quote values containing spaces; a condition starts with 'if' or 'unless')"
          : ""
      }`,
    };
  const statusArg = (s: string | undefined, what: string, lo: number, hi: number) => {
    if (s === undefined || !/^\d{3}$/.test(s) || Number(s) < lo || Number(s) > hi) {
      return { error: `invalid ${what} '${s ?? ""}' in '${kw}' (expected ${lo}..${hi})` };
    }
    return Number(s);
  };
  // `[deny_status N]` (or `status N`) of deny and tarpit; `dflt` without one.
  const denyStatus = (dflt: number): number | { error: string } => {
    let status = dflt;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (a !== "deny_status" && a !== "status") {
        return { error: `unexpected argument '${a}' in '${kw}' (expected deny_status N)` };
      }
      const st = statusArg(args[++i], "status", 200, 599);
      if (typeof st !== "number") return st;
      status = st;
    }
    return status;
  };

  switch (action) {
    case ACT_ALLOW: {
      const e = count(0, "no argument");
      if (e !== null) return e;
      break;
    }
    case ACT_DENY: {
      const st = denyStatus(side === "request" ? 403 : 502);
      if (typeof st !== "number") return st;
      r.status = st;
      r.verdict = Object.freeze({ kind: "deny", status: r.status });
      break;
    }
    case ACT_RETURN: {
      r.status = 200;
      let bodyKind = "";
      let ctSet = false;
      const headers: Array<readonly [string, ValueExpr]> = [];
      for (let i = 0; i < args.length; i++) {
        const a = args[i] as string;
        const v = args[i + 1];
        if (v === undefined) {
          return { error: `missing value after '${a}' in 'return'` };
        }
        i++;
        switch (a) {
          case "status": {
            const st = statusArg(v, "status", 200, 599);
            if (typeof st !== "number") return st;
            r.status = st;
            break;
          }
          case "content-type":
            if (/[\r\n\0]/.test(v)) {
              return { error: "'return' content-type must not contain CR/LF" };
            }
            r.contentType = toByteString(v);
            ctSet = true;
            break;
          case "string":
          case "lf-string":
          case "file":
          case "lf-file": {
            if (bodyKind !== "") {
              return { error: `'return' accepts one payload, got '${bodyKind}' and '${a}'` };
            }
            bodyKind = a;
            let text = v;
            if (a === "file" || a === "lf-file") {
              const path = resolvePath(opts.baseDir, v);
              try {
                if (a === "file") {
                  r.body = Deno.readFileSync(path);
                  break;
                }
                text = Deno.readTextFileSync(path);
              } catch (e) {
                return { error: `cannot read file '${path}': ${(e as Error).message}` };
              }
            }
            if (a === "string") {
              r.body = bytesOf(toByteString(v));
              break;
            }
            const ve = value(text, a, false);
            if ("error" in ve) return ve;
            r.value = ve;
            break;
          }
          case "hdr": {
            const n = headerName(v);
            if (typeof n !== "string") return n;
            const hv = args[++i];
            if (hv === undefined) return { error: `missing value after 'hdr ${n}' in 'return'` };
            const ve = value(hv, `hdr ${n}`, true);
            if ("error" in ve) return ve;
            headers.push([toByteString(n), ve]);
            break;
          }
          default:
            return {
              error: `unexpected argument '${a}' in 'return'${
                didYouMean(a, [
                  "status",
                  "content-type",
                  "string",
                  "lf-string",
                  "file",
                  "lf-file",
                  "hdr",
                ])
              }`,
            };
        }
      }
      const hasBody = bodyKind !== "";
      if (hasBody && (r.status === 204 || r.status === 304)) {
        return { error: `'return' status ${r.status} cannot carry a payload` };
      }
      if (hasBody && !ctSet) r.contentType = "text/plain";
      if (!hasBody) r.contentType = "";
      r.headers = headers;
      if (r.value === null && headers.every(([, ve]) => ve.constant !== null)) {
        r.verdict = Object.freeze({
          kind: "return",
          status: r.status,
          contentType: r.contentType,
          body: r.body,
          headers: Object.freeze(headers.map(([n, ve]) => [n, ve.constant as string] as const)),
        });
      }
      break;
    }
    case ACT_REDIRECT: {
      const type = args[0];
      const target = args[1];
      if (type !== "location" && type !== "prefix" && type !== "scheme") {
        return {
          error: `'redirect' expects 'location', 'prefix' or 'scheme', got '${type ?? ""}'`,
        };
      }
      if (target === undefined) return { error: `missing value after 'redirect ${type}'` };
      r.redirType = type === "location"
        ? REDIR_LOCATION
        : type === "prefix"
        ? REDIR_PREFIX
        : REDIR_SCHEME;
      if (type === "scheme" && !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(target) && !target.includes("%")) {
        return { error: `invalid scheme '${target}' in 'redirect'` };
      }
      const ve = value(target, type, true);
      if ("error" in ve) return ve;
      r.value = ve;
      if (r.redirType !== REDIR_LOCATION) uses |= SMP_USE_REQ;
      r.status = 302;
      for (let i = 2; i < args.length; i++) {
        const a = args[i] as string;
        if (a === "code") {
          const c = args[++i];
          if (c === undefined || !REDIRECT_CODES.has(Number(c)) || !/^\d+$/.test(c)) {
            return {
              error: `invalid redirect code '${c ?? ""}' (expected 301, 302, 303, 307 or 308)`,
            };
          }
          r.status = Number(c);
        } else if (a === "drop-query") r.dropQuery = true;
        else if (a === "append-slash") r.appendSlash = true;
        else {
          return {
            error: `unexpected argument '${a}' in 'redirect'${
              didYouMean(a, ["code", "drop-query", "append-slash"])
            }`,
          };
        }
      }
      break;
    }
    case ACT_SET_HDR:
    case ACT_ADD_HDR: {
      const e = count(2, "a header name and a value");
      if (e !== null) return e;
      const n = headerName(args[0]);
      if (typeof n !== "string") return n;
      r.name = toByteString(n);
      const ve = value(args[1] as string, "value", true);
      if ("error" in ve) return ve;
      r.value = ve;
      break;
    }
    case ACT_DEL_HDR: {
      if (args.length !== 1 && !(args.length === 3 && args[1] === "-m")) {
        return count(1, "a header name [-m str|beg|end|sub|reg]") ?? { error: "bad arguments" };
      }
      const raw = args[0] as string;
      const mode = args.length === 3 ? args[2] as string : "str";
      if (mode === "reg") {
        const re = compileRegex(raw, { icase: true });
        if ("error" in re) return { error: `invalid regex '${raw}' in 'del-header': ${re.error}` };
        r.nameMatch = re;
      } else if (mode === "str" || mode === "beg" || mode === "end" || mode === "sub") {
        if (mode === "str") {
          const n = headerName(raw);
          if (typeof n !== "string") return n;
        }
        r.nameMatch = mode;
      } else {
        return {
          error:
            `invalid matching method '${mode}' in 'del-header' (expected str, beg, end, sub or reg)`,
        };
      }
      r.name = raw;
      break;
    }
    case ACT_REPLACE_HDR:
    case ACT_REPLACE_VAL: {
      const e = count(3, "a header name, a regex and a replacement");
      if (e !== null) return e;
      const n = headerName(args[0]);
      if (typeof n !== "string") return n;
      r.name = toByteString(n);
      const re = regex(args[1]);
      if (!(re instanceof Regex)) return re;
      r.re = re;
      const ve = value(args[2] as string, "replacement", true);
      if ("error" in ve) return ve;
      r.value = ve;
      break;
    }
    case ACT_REPLACE_PATH:
    case ACT_REPLACE_URI: {
      const e = count(2, "a regex and a replacement");
      if (e !== null) return e;
      const re = regex(args[0]);
      if (!(re instanceof Regex)) return re;
      r.re = re;
      const ve = value(args[1] as string, "replacement", true);
      if ("error" in ve) return ve;
      r.value = ve;
      uses |= SMP_USE_REQ;
      break;
    }
    case ACT_SET_PATH:
    case ACT_SET_QUERY:
    case ACT_SET_URI:
    case ACT_SET_METHOD: {
      const e = count(1, "one value");
      if (e !== null) return e;
      const ve = value(args[0] as string, "value", true);
      if ("error" in ve) return ve;
      if (action === ACT_SET_METHOD && ve.constant !== null && !isToken(ve.constant)) {
        return { error: `invalid method '${ve.constant}' in 'set-method'` };
      }
      if ((action === ACT_SET_URI || action === ACT_SET_PATH) && ve.constant === "") {
        return { error: `'${kw}' needs a non-empty value` };
      }
      if (
        action === ACT_SET_URI && ve.constant !== null && !ve.constant.startsWith("/") &&
        !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?]/.test(ve.constant)
      ) {
        return {
          error: `invalid URI '${ve.constant}' in 'set-uri' (expected /path or scheme://host/path)`,
        };
      }
      r.value = ve;
      break;
    }
    case ACT_TRACK_SC: {
      // track-scN KEY [table T]
      const tr = compileTrackSc(kw, args, side === "response");
      if ("error" in tr) return tr;
      uses |= tr.key.def.use;
      r.track = tr;
      r.ctr = tr.ctr;
      break;
    }
    case ACT_SC_INC_GPC:
    case ACT_SC_SET_GPT0: {
      // sc-inc-gpc0(N) / sc-inc-gpc1(N) / sc-set-gpt0(N) VALUE
      if (ctrArg < 0) return { error: `'${kw}' expects a counter number: ${kw}(0..2)` };
      r.ctr = ctrArg;
      if (action === ACT_SC_INC_GPC) {
        const e = count(0, "no argument");
        if (e !== null) return e;
        r.status = kw === "sc-inc-gpc0" ? 0 : 1;
        break;
      }
      const e = count(1, "an integer or an expression");
      if (e !== null) return e;
      const a0 = args[0] as string;
      const ve = value(/^-?\d+$/.test(a0) || a0.includes("%[") ? a0 : `%[${a0}]`, "value", false);
      if ("error" in ve) return ve;
      r.value = ve;
      break;
    }
    case ACT_TARPIT: {
      const st = denyStatus(500);
      if (typeof st !== "number") return st;
      r.status = st;
      r.verdict = Object.freeze({ kind: "tarpit", status: r.status });
      break;
    }
    case ACT_EXT: {
      const x = compileExtAction(kw, args, side, opts.proxyName ?? "", opts.captureSlots ?? null);
      if ("error" in x) return x;
      if (side === "request" && x.resFetch !== null) {
        return {
          error: `'${x.resFetch}' reads the response, which is not available in ${where} rules`,
        };
      }
      r.ext = x.action;
      uses |= x.uses;
      break;
    }
    case ACT_SET_STATUS: {
      if (args.length !== 1 && !(args.length === 3 && args[1] === "reason")) {
        return count(1, "a status [reason TEXT]") ?? { error: "bad arguments" };
      }
      const st = statusArg(args[0], "status", 100, 599);
      if (typeof st !== "number") return st;
      r.status = st;
      if (args.length === 3) {
        const ve = value(args[2] as string, "reason", true);
        if ("error" in ve) return ve;
        r.reason = ve;
      }
      break;
    }
  }

  if (ci < toks.length) {
    const cond = compileConditionTokens(
      toks.slice(ci),
      acls,
      toks.slice(ci).map((t) => t.text).join(" "),
    );
    if ("error" in cond) return cond;
    if (side === "request" && cond.resFetch !== null) {
      return {
        error:
          `condition uses '${cond.resFetch}', which reads the response and is not available in ${where} rules`,
      };
    }
    r.cond = cond;
    uses |= cond.uses;
  }
  r.usesRequest = (uses & SMP_USE_REQ) !== 0;
  return Object.freeze(r);
}

/**
 * True when one of these (response) rules reads the request: the analyser
 * must then call HeadSampleCtx.keepRequest() before the request head leaves
 * its buffer.
 */
export function rulesUseRequest(rules: readonly Rule[]): boolean {
  for (const r of rules) if (r.usesRequest) return true;
  return false;
}

// ---------------------------------------------------------------------------
// Evaluation.

/**
 * Runs `rules` in order on one message: a rule whose condition fails is
 * skipped; edits are applied to `ed` (which `ctx` should read through, so a
 * rule sees earlier edits); the first final action stops the list. Returns
 * VERDICT_CONTINUE when no final action ran or on `allow`, else the deny /
 * return / redirect verdict. Never throws for a request's content: an edit
 * the editor refuses (a method that is not a token) is skipped. With
 * `canYield`, a condition that needs a password check not in the cache
 * returns a "yield" verdict instead of being decided (the caller waits and
 * calls again with `from` = its `at`); rules before it are not run again.
 */
export function evalRules(
  rules: readonly Rule[],
  ctx: SampleCtx,
  ed: HeadEditor,
  from = 0,
  canYield = false,
): RuleVerdict {
  if (!canYield) return evalFrom(rules, ctx, ed, from);
  allowAsyncAuth(true);
  try {
    return evalFrom(rules, ctx, ed, from);
  } finally {
    allowAsyncAuth(false);
  }
}

/** evalRules() from rule `from`; yields when a fetch left a check pending (see auth.ts). */
function evalFrom(
  rules: readonly Rule[],
  ctx: SampleCtx,
  ed: HeadEditor,
  from: number,
): RuleVerdict {
  for (let i = from; i < rules.length; i++) {
    const r = rules[i] as Rule;
    clearPendingAuth();
    const skip = r.cond !== null && !r.cond.eval(ctx);
    const wait = pendingAuth();
    if (wait !== null) return { kind: "yield", at: i, wait };
    if (skip) continue;
    switch (r.action) {
      case ACT_ALLOW:
        return VERDICT_CONTINUE;
      case ACT_DENY:
        return r.verdict as RuleVerdict;
      case ACT_RETURN:
        return r.verdict ?? renderReturn(r, ctx);
      case ACT_REDIRECT:
        return { kind: "redirect", code: r.status, location: redirectLocation(r, ctx) };
      case ACT_SET_HDR:
        ed.setHeader(r.name, evalValue(r.value as ValueExpr, ctx));
        break;
      case ACT_ADD_HDR:
        ed.addHeader(r.name, evalValue(r.value as ValueExpr, ctx));
        break;
      case ACT_DEL_HDR:
        if (typeof r.nameMatch === "string") ed.delHeader(r.name, r.nameMatch);
        else ed.delHeader(r.nameMatch);
        break;
      case ACT_REPLACE_HDR:
        ed.replaceHeader(r.name, r.re as Regex, evalValue(r.value as ValueExpr, ctx));
        break;
      case ACT_REPLACE_VAL:
        ed.replaceValue(r.name, r.re as Regex, evalValue(r.value as ValueExpr, ctx));
        break;
      case ACT_SET_PATH: {
        const p = evalValue(r.value as ValueExpr, ctx);
        if (p !== "") ed.setPath(p);
        break;
      }
      case ACT_SET_QUERY:
        ed.setQuery(evalValue(r.value as ValueExpr, ctx));
        break;
      case ACT_SET_URI:
        ed.setUri(evalValue(r.value as ValueExpr, ctx));
        break;
      case ACT_SET_METHOD:
        ed.setMethod(evalValue(r.value as ValueExpr, ctx));
        break;
      case ACT_REPLACE_PATH:
      case ACT_REPLACE_URI: {
        const isPath = r.action === ACT_REPLACE_PATH;
        const m = (r.re as Regex).exec(isPath ? ctx.path() : ctx.url());
        if (m === null) break;
        const out = expandBackrefs(evalValue(r.value as ValueExpr, ctx), m);
        if (out === "") break;
        if (isPath) ed.setPath(out);
        else ed.setUri(out);
        break;
      }
      case ACT_SET_STATUS:
        ed.setStatus(r.status, r.reason === null ? null : evalValue(r.reason, ctx));
        break;
      case ACT_TRACK_SC:
        runTrackSc(r.track as TrackSc, ctx, ctx.stk, TRACK_HTTP);
        break;
      case ACT_SC_INC_GPC:
        runIncGpc(ctx.stk, r.ctr, r.status);
        break;
      case ACT_SC_SET_GPT0:
        runSetGpt0(ctx.stk, r.ctr, evalValue(r.value as ValueExpr, ctx));
        break;
      case ACT_TARPIT:
        return r.verdict as RuleVerdict;
      case ACT_EXT: {
        const v = (r.ext as ExtAction).run(ctx, ed);
        if (v !== null) return v;
        // A fetch of the action waits for a check: the action runs again then.
        const wait = pendingAuth();
        if (wait !== null) return { kind: "yield", at: i, wait };
        break;
      }
    }
  }
  return VERDICT_CONTINUE;
}

/** Builds a `return` verdict whose body or headers need rendering. */
function renderReturn(r: Rule, ctx: SampleCtx): RuleVerdict {
  const body = r.value === null ? r.body : bytesOf(evalValue(r.value, ctx));
  return {
    kind: "return",
    status: r.status,
    contentType: r.contentType,
    body,
    headers: r.headers.map(([n, ve]) => [n, evalValue(ve, ctx)] as const),
  };
}

/**
 * Location of a redirect: `location` is the rendered value; `prefix` is the
 * value followed by the path (a prefix of "/" alone adds nothing) and the
 * query unless drop-query; `scheme` is `scheme://` + the Host header + path
 * (+ query), or just path (+ query) when there is no Host.
 */
function redirectLocation(r: Rule, ctx: SampleCtx): string {
  const v = evalValue(r.value as ValueExpr, ctx);
  if (r.redirType === REDIR_LOCATION) return v;
  let tail = ctx.path();
  if (r.appendSlash && !tail.endsWith("/")) tail += "/";
  const q = ctx.query();
  if (!r.dropQuery && q !== null) tail += "?" + q;
  if (r.redirType === REDIR_PREFIX) return v === "/" ? tail : v + tail;
  const host = ctx.reqHeader("host")[0];
  return host === undefined || host === "" ? tail : `${v}://${host}${tail}`;
}

// ---------------------------------------------------------------------------
// option forwardfor.

/** Parsed `option forwardfor` arguments. */
export interface ForwardFor {
  /** Header to add (default X-Forwarded-For). */
  header: string;
  /** Client networks for which the header is not added, null for none. */
  except: CidrList | null;
  /** Add only when the request has no such header already. */
  ifNone: boolean;
}

/**
 * Parses the arguments of `option forwardfor [except NET]… [header NAME]
 * [if-none]` (already checked by the config validator). Throws on an
 * invalid argument (a config bug the validator should have caught).
 */
export function forwardforHeader(args: readonly string[]): ForwardFor {
  let header = "X-Forwarded-For";
  const nets: string[] = [];
  let ifNone = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "if-none") ifNone = true;
    else if (a === "except" || a === "header") {
      const v = args[++i];
      if (v === undefined) throw new Error(`option forwardfor: missing value after '${a}'`);
      if (a === "header") {
        if (!isToken(v)) throw new Error(`option forwardfor: invalid header name '${v}'`);
        header = v;
      } else nets.push(v);
    } else throw new Error(`option forwardfor: unknown argument '${a}'`);
  }
  let except: CidrList | null = null;
  if (nets.length > 0) {
    const c = parseCidrList(nets);
    if ("error" in c) throw new Error(`option forwardfor: ${c.error}`);
    except = c;
  }
  return { header, except, ifNone };
}

// Note about invariants: compiled rules are frozen; a rule's `verdict` is
// non-null exactly for deny and for returns whose body and headers are
// static; request rules never reference a response fetch (checked here), so
// evaluating them with no response bound is safe.
