// Rule actions kept apart from http_rules.ts (HAProxy's vars.c
// action_store(), http_act.c auth and capture actions): `set-var(SCOPE.NAME)
// EXPR`, `unset-var(SCOPE.NAME)`, `auth [realm R]`, `capture EXPR len N`.
//
// Owns: compiling these actions' arguments once at config time into an
// ExtAction, and running one against a SampleCtx. http_rules.ts hands over
// any keyword isExtAction() accepts and calls run() in rule order; an action
// that ends the rules (auth) returns its verdict, the others null. The
// set-var compiler is exported on its own so that tcp-request content rules
// can use it with their own SampleCtx. It never writes to a socket nor
// touches a head: verdicts and SampleCtx are the only ways out.

import { compileFetch } from "../sample/expr.ts";
import { fetchOne } from "../sample/fetch.ts";
import { type Fetch, type SampleCtx, SMP_VAL_REQ } from "../sample/types.ts";
import { parseVarName, type VarName } from "../sample/vars.ts";
import { toByteString } from "../sample/bytes.ts";
import { defaultErrorBody } from "./http_errors.ts";

/** A `return` verdict built by an action (structurally a http_rules.ts RuleVerdict). */
export interface ExtReturn {
  readonly kind: "return";
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** A compiled action: runs against one message; a non-null result ends the rules. */
export interface ExtAction {
  run(ctx: SampleCtx): ExtReturn | null;
}

/** What compiling an action yields besides the action. */
export interface ExtCompiled {
  readonly action: ExtAction;
  /** SMP_USE_* bits of what it reads. */
  readonly uses: number;
  /** First response fetch it reads (refused in request rules), null when none. */
  readonly resFetch: string | null;
}

/** Keywords (before any parenthesis) this file compiles. */
export const EXT_ACTIONS: readonly string[] = Object.freeze(["set-var", "unset-var", "auth"]);

/** True for an action keyword this file compiles (`set-var(txn.x)` included). */
export function isExtAction(kw: string): boolean {
  const p = kw.indexOf("(");
  return EXT_ACTIONS.includes(p < 0 ? kw : kw.slice(0, p));
}

/** Splits `set-var(txn.x)` into its keyword and its parenthesised argument (null without). */
function splitKeyword(kw: string): { name: string; arg: string | null } | { error: string } {
  const p = kw.indexOf("(");
  if (p < 0) return { name: kw, arg: null };
  if (!kw.endsWith(")")) return { error: `missing ')' in '${kw}'` };
  return { name: kw.slice(0, p), arg: kw.slice(p + 1, -1) };
}

/**
 * Compiles `set-var(SCOPE.NAME) EXPR` where EXPR is a sample expression
 * (`req.hdr(host),lower`, `str(abc)`, `int(3)`, `var(txn.other)`). Refused:
 * a bad variable name, a missing or extra expression, an unknown fetch or
 * converter. The action stores the sample with its type; an absent sample
 * leaves the variable as it was (HAProxy). Usable by any rule set whose
 * SampleCtx carries `vars` (tcp-request content rules included).
 */
export function compileSetVar(
  varText: string,
  args: readonly string[],
): ExtCompiled | { error: string } {
  const vn = parseVarName(varText);
  if ("error" in vn) return { error: `'set-var': ${vn.error}` };
  if (args.length !== 1) {
    return {
      error: `'set-var(${varText})' expects one sample expression, got ${
        args.length === 0 ? "nothing" : args.map((a) => `'${a}'`).join(" ")
      }`,
    };
  }
  const f = compileFetch(args[0] as string);
  if ("error" in f) return { error: `'set-var(${varText})': ${f.error}` };
  return {
    action: new SetVar(vn, f),
    uses: f.def.use,
    resFetch: (f.def.val & SMP_VAL_REQ) === 0 ? f.text : null,
  };
}

/** `set-var`. */
class SetVar implements ExtAction {
  readonly #v: VarName;
  readonly #f: Fetch;

  constructor(v: VarName, f: Fetch) {
    this.#v = v;
    this.#f = f;
  }

  run(ctx: SampleCtx): null {
    ctx.vars.set(this.#v.scope, this.#v.name, fetchOne(ctx, this.#f));
    return null;
  }
}

/** `unset-var`. */
class UnsetVar implements ExtAction {
  readonly #v: VarName;

  constructor(v: VarName) {
    this.#v = v;
  }

  run(ctx: SampleCtx): null {
    ctx.vars.unset(this.#v.scope, this.#v.name);
    return null;
  }
}

/** `auth [realm R]`: a 401 asking for basic credentials. */
class Auth implements ExtAction {
  readonly #reply: ExtReturn;

  constructor(realm: string) {
    const r = realm.replace(/["\\]/g, "\\$&");
    this.#reply = Object.freeze({
      kind: "return",
      status: 401,
      contentType: "text/html",
      body: defaultErrorBody(401),
      headers: Object.freeze([["WWW-Authenticate", `Basic realm="${r}"`] as const]),
    });
  }

  run(_ctx: SampleCtx): ExtReturn {
    return this.#reply;
  }
}

/**
 * Compiles one action keyword isExtAction() accepted, with its arguments
 * (the words before `if`/`unless`). `side` is the rule set's direction;
 * `proxyName` the default realm of `auth`.
 */
export function compileExtAction(
  kw: string,
  args: readonly string[],
  side: "request" | "response",
  proxyName: string,
): ExtCompiled | { error: string } {
  const sp = splitKeyword(kw);
  if ("error" in sp) return sp;
  switch (sp.name) {
    case "set-var":
      if (sp.arg === null) {
        return { error: "'set-var' expects a variable: set-var(SCOPE.NAME) EXPR" };
      }
      return compileSetVar(sp.arg, args);
    case "unset-var": {
      if (sp.arg === null) {
        return { error: "'unset-var' expects a variable: unset-var(SCOPE.NAME)" };
      }
      const vn = parseVarName(sp.arg);
      if ("error" in vn) return { error: `'unset-var': ${vn.error}` };
      if (args.length > 0) return { error: `'unset-var(${sp.arg})' takes no argument` };
      return { action: new UnsetVar(vn), uses: 0, resFetch: null };
    }
    case "auth": {
      if (side === "response") return { error: "'auth' is only allowed in http-request rules" };
      if (sp.arg !== null) return { error: `unexpected '(${sp.arg})' after 'auth'` };
      let realm = proxyName;
      if (args.length === 2 && args[0] === "realm") realm = args[1] as string;
      else if (args.length !== 0) {
        return {
          error: `'auth' expects [realm REALM], got ${args.map((a) => `'${a}'`).join(" ")}`,
        };
      }
      if (/[\r\n\0]/.test(realm)) return { error: "'auth' realm must not contain CR, LF or NUL" };
      return { action: new Auth(toByteString(realm)), uses: 0, resFetch: null };
    }
  }
  return { error: `unknown action '${kw}'` };
}

// Note about invariants: compiled actions are immutable and shared by every
// stream; all per-stream state lives in the SampleCtx (vars).
