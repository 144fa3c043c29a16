// The set-var / unset-var actions themselves (HAProxy's vars.c
// action_store() / action_clear()), apart from any rule engine so that
// every rule set can use them: http-request / http-response rules
// (src/http/rule_actions.ts) and tcp-request content rules (src/tcp/,
// which cannot import http/). A compiled action evaluates its sample
// expression against a SampleCtx and stores the result in that context's
// variables; it never decides anything.

import { compileFetch } from "./expr.ts";
import { fetchOne } from "./fetch.ts";
import { type Fetch, type SampleCtx, SMP_VAL_REQ } from "./types.ts";
import { parseVarName, type VarName } from "./vars.ts";

/** A compiled set-var / unset-var: run() applies it to one evaluation's context. */
export interface VarAction {
  run(ctx: SampleCtx): void;
  /** SMP_USE_* bits of what it reads. */
  readonly uses: number;
  /** First response fetch it reads (refused in request rules), null when none. */
  readonly resFetch: string | null;
}

/** `set-var`. */
class SetVar implements VarAction {
  readonly uses: number;
  readonly resFetch: string | null;
  readonly #v: VarName;
  readonly #f: Fetch;

  constructor(v: VarName, f: Fetch) {
    this.#v = v;
    this.#f = f;
    this.uses = f.def.use;
    this.resFetch = (f.def.val & SMP_VAL_REQ) === 0 ? f.text : null;
  }

  run(ctx: SampleCtx): void {
    ctx.vars?.set(this.#v.scope, this.#v.name, fetchOne(ctx, this.#f));
  }
}

/** `unset-var`. */
class UnsetVar implements VarAction {
  readonly uses = 0;
  readonly resFetch = null;
  readonly #v: VarName;

  constructor(v: VarName) {
    this.#v = v;
  }

  run(ctx: SampleCtx): void {
    ctx.vars?.unset(this.#v.scope, this.#v.name);
  }
}

/**
 * Compiles `set-var(VAR) EXPR`: `varText` is what the parentheses hold
 * (`txn.host`), `args` the words before `if`/`unless` (one sample
 * expression: `req.hdr(host),lower`, `str(abc)`, `int(3)`, `src`). Refused:
 * a bad variable name, no or several expressions, an unknown fetch or
 * converter. The action stores the sample with its type; an absent sample
 * leaves the variable as it was (HAProxy); a context without variables
 * (`vars` absent) makes it a no-op.
 */
export function compileSetVar(
  varText: string,
  args: readonly string[],
): VarAction | { error: string } {
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
  return new SetVar(vn, f);
}

/** Compiles `unset-var(VAR)` (no argument). */
export function compileUnsetVar(
  varText: string,
  args: readonly string[],
): VarAction | { error: string } {
  const vn = parseVarName(varText);
  if ("error" in vn) return { error: `'unset-var': ${vn.error}` };
  if (args.length > 0) return { error: `'unset-var(${varText})' takes no argument` };
  return new UnsetVar(vn);
}

// Note about invariants: compiled actions are immutable and shared by every
// stream; the values live in the SampleCtx's variables.
