// Rule actions kept apart from http_rules.ts (HAProxy's vars.c
// action_store(), http_act.c auth and capture actions): `set-var(SCOPE.NAME)
// EXPR`, `unset-var(SCOPE.NAME)`, `auth [realm R]`, `capture EXPR len N|id
// K`, and `set-unique-id` (the rule behind unique-id-format).
//
// Owns: compiling these actions' arguments once at config time into an
// ExtAction, and running one against a SampleCtx. http_rules.ts hands over
// any keyword isExtAction() accepts and calls run() in rule order; an action
// that ends the rules (auth) returns its verdict, the others null. set-var
// and unset-var themselves are src/sample/var_actions.ts's, which
// tcp-request content rules use too. It never writes to a socket; it
// touches a head only through the editor it is given (unique-id-header).

import { compileFetch } from "../sample/expr.ts";
import { fetchOne, sampleToString } from "../sample/fetch.ts";
import { type Fetch, type SampleCtx, SMP_VAL_REQ, type ValueExpr } from "../sample/types.ts";
import { compileValue, renderValueInto } from "../sample/value.ts";
import type { HeadEditor } from "./head_editor.ts";
import { compileSetVar, compileUnsetVar, type VarAction } from "../sample/var_actions.ts";
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

/**
 * A compiled action: runs against one message; a non-null result ends the
 * rules. `ed` is the head editor of HTTP rules, null for rules without a
 * head (tcp-request content): set-var and unset-var never use it.
 */
export interface ExtAction {
  run(ctx: SampleCtx, ed: HeadEditor | null): ExtReturn | null;
}

/**
 * The capture slots of a frontend (HAProxy's fe->req_cap / rsp_cap): the
 * length of each, in slot order. `capture request header` declarations come
 * first; each `http-request capture EXPR len N` appends one.
 */
export interface CaptureSlots {
  readonly req: number[];
  readonly res: number[];
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
export const EXT_ACTIONS: readonly string[] = Object.freeze([
  "set-var",
  "unset-var",
  "auth",
  "capture",
  "set-unique-id",
]);

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

/** A set-var / unset-var (src/sample/var_actions.ts) as a rule action. */
class VarExt implements ExtAction {
  readonly #a: VarAction;

  constructor(a: VarAction) {
    this.#a = a;
  }

  run(ctx: SampleCtx): null {
    this.#a.run(ctx);
    return null;
  }
}

/** Wraps a compiled var action (or its error) for the rule engine. */
function varExt(a: VarAction | { error: string }): ExtCompiled | { error: string } {
  if ("error" in a) return a;
  return { action: new VarExt(a), uses: a.uses, resFetch: a.resFetch };
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

  run(_ctx: SampleCtx, _ed: HeadEditor | null): ExtReturn {
    return this.#reply;
  }
}

/** `capture EXPR len N | id K`: the sample, cut to the slot's length, into a slot. */
class Capture implements ExtAction {
  readonly #f: Fetch;
  readonly #res: boolean;
  readonly #slot: number;
  readonly #len: number;

  constructor(f: Fetch, res: boolean, slot: number, len: number) {
    this.#f = f;
    this.#res = res;
    this.#slot = slot;
    this.#len = len;
  }

  run(ctx: SampleCtx): null {
    const v = fetchOne(ctx, this.#f);
    if (v !== null) {
      const s = sampleToString(v);
      ctx.vars?.capture(this.#res, this.#slot, s.length > this.#len ? s.slice(0, this.#len) : s);
    }
    return null;
  }
}

/**
 * `set-unique-id FORMAT [HEADER]` (the rule compile.ts puts first for
 * `unique-id-format` / `unique-id-header`): renders the id once per request
 * and adds it as HEADER.
 */
class SetUniqueId implements ExtAction {
  readonly #fmt: ValueExpr;
  readonly #header: string;

  constructor(fmt: ValueExpr, header: string) {
    this.#fmt = fmt;
    this.#header = header;
  }

  run(ctx: SampleCtx, ed: HeadEditor | null): null {
    const vars = ctx.vars;
    if (vars === undefined) return null;
    // Kept as its pieces: the header line is written from them, and the
    // string is made only if something reads the id (a log's %ID).
    if (!vars.uniqueIdInPieces && vars.uniqueId === null) {
      renderValueInto(this.#fmt, ctx, vars.uniqueIdPieces);
      vars.setUniqueIdPieces();
    }
    if (this.#header !== "" && ed !== null) {
      if (vars.uniqueIdInPieces) ed.addHeaderPieces(this.#header, vars.uniqueIdPieces);
      else ed.addHeader(this.#header, vars.uniqueId ?? "");
    }
    return null;
  }
}

/**
 * Compiles one action keyword isExtAction() accepted, with its arguments
 * (the words before `if`/`unless`). `side` is the rule set's direction;
 * `proxyName` the default realm of `auth`; `slots` the capture slots of
 * the frontend (null in a backend: captures are refused there, as HAProxy).
 */
export function compileExtAction(
  kw: string,
  args: readonly string[],
  side: "request" | "response",
  proxyName: string,
  slots: CaptureSlots | null = null,
): ExtCompiled | { error: string } {
  const sp = splitKeyword(kw);
  if ("error" in sp) return sp;
  switch (sp.name) {
    case "set-var":
      if (sp.arg === null) {
        return { error: "'set-var' expects a variable: set-var(SCOPE.NAME) EXPR" };
      }
      return varExt(compileSetVar(sp.arg, args));
    case "unset-var":
      if (sp.arg === null) {
        return { error: "'unset-var' expects a variable: unset-var(SCOPE.NAME)" };
      }
      return varExt(compileUnsetVar(sp.arg, args));
    case "capture": {
      if (sp.arg !== null) return { error: `unexpected '(${sp.arg})' after 'capture'` };
      if (slots === null) return { error: "'capture' is only allowed in a frontend" };
      const f = args[0] === undefined ? null : compileFetch(args[0]);
      if (f === null || args.length !== 3 || (args[1] !== "len" && args[1] !== "id")) {
        return { error: "'capture' expects a sample expression then 'len LENGTH' or 'id SLOT'" };
      }
      if ("error" in f) return { error: `'capture': ${f.error}` };
      const n = /^\d+$/.test(args[2] as string) ? Number(args[2]) : -1;
      const list = side === "request" ? slots.req : slots.res;
      let slot: number;
      if (args[1] === "len") {
        if (side === "response") {
          return { error: "'http-response capture' needs 'id SLOT' (a declared capture slot)" };
        }
        if (n < 1 || n > 65535) return { error: `invalid capture length '${args[2]}' (1..65535)` };
        slot = list.length;
        list.push(n);
      } else {
        if (n < 0 || n >= list.length) {
          return {
            error: `capture slot '${
              args[2]
            }' does not exist (this frontend has ${list.length} ${side} slot(s))`,
          };
        }
        slot = n;
      }
      return {
        action: new Capture(f, side === "response", slot, list[slot] as number),
        uses: f.def.use,
        resFetch: (f.def.val & SMP_VAL_REQ) === 0 ? f.text : null,
      };
    }
    case "set-unique-id": {
      const fmt = args[0] === undefined ? null : compileValue(args[0]);
      if (fmt === null || args.length > 2) {
        return { error: "'set-unique-id' expects a format and an optional header name" };
      }
      if ("error" in fmt) return { error: `unique-id-format: ${fmt.error}` };
      if (fmt.resFetch !== null) {
        return { error: `unique-id-format: '${fmt.resFetch}' reads the response` };
      }
      return {
        action: new SetUniqueId(fmt, args[1] ?? ""),
        uses: fmt.uses,
        resFetch: null,
      };
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
