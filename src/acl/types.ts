// Types of the ACL layer (HAProxy's acl-t.h): compiled conditions and the
// error records the compilers return. Only types live here; the logic is in
// acl.ts (ACLs and conditions), pattern.ts (matchers) and ip.ts (networks).

import type { SampleCtx } from "../sample/types.ts";

/** One configuration error, positioned on the line that caused it. */
export interface AclError {
  line: number;
  col: number;
  message: string;
}

/** A token of an ACL expression or rule line, quotes removed. */
export interface Token {
  /** Text with quotes and escapes resolved. */
  text: string;
  /** True when any part of it was quoted: then it is never an operator or keyword. */
  quoted: boolean;
}

/**
 * A compiled `if` / `unless` condition (HAProxy's struct acl_cond): an OR of
 * AND-suites of possibly negated ACLs. Evaluation never allocates beyond
 * what the fetches it calls do.
 */
export interface Condition {
  /** True when the condition holds for this request/response. */
  eval(ctx: SampleCtx): boolean;
  /** SMP_USE_* bits of every fetch it may call. */
  readonly uses: number;
  /** First fetch reading the response (e.g. "res.hdr(x)"), null when none. */
  readonly resFetch: string | null;
  /** The condition as written. */
  readonly source: string;
}

// Note about invariants: a Condition is immutable once compiled, and its
// `uses` covers every ACL it references (declared or predefined).
