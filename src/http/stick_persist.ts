// Persistence from stick tables (HAProxy's process_sticking_rules() and
// process_store_rules() in stream.c, the `stick` keywords of a backend):
//
//   stick match EXPR [table T] [if|unless COND]        the entry of EXPR names the server
//   stick on EXPR [table T] [if|unless COND]           match, then store-request
//   stick store-request EXPR [table T] [if|unless COND]   remember EXPR → server
//   stick store-response EXPR [table T] [if|unless COND]  same, EXPR read on the response
//
// Owns: compiling those lines (against the backend's own table or a named
// one; every table a rule names stores server_id, added by the compile pass
// as HAProxy does) and applying them to a transaction: on the request the
// first match rule whose key has an entry naming a usable server makes it
// the transaction's server (after a persistence cookie, which wins); the
// keys of store rules are kept and written with the server that answered
// once the response head arrived (server_id = its position from 1, as
// HAProxy's puid, server_key = its name). It never picks a server by
// balancing and never touches a socket.

import { type AclTable, compileConditionTokens, type Condition, tokenize } from "../acl/acl.ts";
import { compileFetch } from "../sample/expr.ts";
import { fetchOne } from "../sample/fetch.ts";
import type { StickResolver } from "../sample/stick_fetch.ts";
import { type SampleCtx, SMP_VAL_REQ } from "../sample/types.ts";
import type { StickTable } from "../stick/table.ts";
import { DT_SERVER_ID } from "../stick/types.ts";
import type { RuleLine } from "../config/types.ts";
import type { HttpStream } from "./http_stream.ts";
import {
  STICK_MATCH,
  STICK_ON,
  STICK_STORE_REQ,
  STICK_STORE_RES,
  type StickRule,
} from "./stick_types.ts";

export { STICK_MATCH, STICK_ON, STICK_STORE_REQ, STICK_STORE_RES, type StickRule };

/** Most keys a transaction stores (HAProxy's MAX_SESS_STKCTR-like store[] of 8). */
const MAX_STORES = 8;

/** The table a `stick` line names (`table T`), or null: the compile pass adds server_id to it. */
export function stickLineTable(text: string): string | null {
  const m = /(?:^|\s)table\s+(\S+)/.exec(text);
  return m === null ? null : m[1]!;
}

/**
 * Compiles a backend's `stick` lines. `res` resolves `table T` and gives the
 * backend's own table. Refused (one error per line): an unknown kind, a
 * missing expression, no table, a bad expression or condition, a response
 * fetch in a request-side rule.
 */
export function compileStickRules(
  lines: readonly RuleLine[],
  acls: AclTable,
  res: StickResolver,
): { rules: StickRule[]; errors: Array<{ line: number; col: number; message: string }> } {
  const rules: StickRule[] = [];
  const errors: Array<{ line: number; col: number; message: string }> = [];
  for (const l of lines) {
    const r = compileOne(l, acls, res);
    if ("error" in r) errors.push({ line: l.line, col: l.col, message: `stick: ${r.error}` });
    else rules.push(r);
  }
  return { rules, errors };
}

function compileOne(
  l: RuleLine,
  acls: AclTable,
  res: StickResolver,
): StickRule | { error: string } {
  const toks = tokenize(l.text);
  if (!Array.isArray(toks)) return toks;
  let ci = toks.length;
  for (let i = 1; i < toks.length; i++) {
    const t = toks[i]!;
    if (!t.quoted && (t.text === "if" || t.text === "unless")) {
      ci = i;
      break;
    }
  }
  const words = toks.slice(0, ci).map((t) => t.text);
  const kinds: Record<string, number> = {
    match: STICK_MATCH,
    on: STICK_ON,
    "store-request": STICK_STORE_REQ,
    "store-response": STICK_STORE_RES,
  };
  const kind = kinds[words[0] ?? ""];
  if (kind === undefined) {
    return {
      error: `unknown stick rule '${
        words[0] ?? ""
      }' (expected on, match, store-request or store-response)`,
    };
  }
  const expr = words[1];
  if (expr === undefined) return { error: `'stick ${words[0]}' expects a sample expression` };
  let table = res.current;
  if (words.length === 4 && words[2] === "table") {
    table = res.table(words[3]!) ?? null;
    if (table === null) return { error: `no stick-table named '${words[3]}'` };
  } else if (words.length !== 2) {
    return { error: `unexpected '${words.slice(2).join(" ")}' (expected [table NAME])` };
  }
  if (table === null) {
    return { error: "this backend has no stick-table (add one, or name one with 'table NAME')" };
  }
  const key = compileFetch(expr);
  if ("error" in key) return key;
  if (kind !== STICK_STORE_RES && (key.def.val & SMP_VAL_REQ) === 0) {
    return { error: `'${key.text}' reads the response: use 'stick store-response'` };
  }
  let cond: Condition | null = null;
  if (ci < toks.length) {
    const c = compileConditionTokens(
      toks.slice(ci),
      acls,
      toks.slice(ci).map((t) => t.text).join(" "),
    );
    if ("error" in c) return c;
    if (kind !== STICK_STORE_RES && c.resFetch !== null) {
      return { error: `condition uses '${c.resFetch}', which reads the response` };
    }
    cond = c;
  }
  return Object.freeze({ kind, table, key, cond, line: l.line, col: l.col });
}

/** The key of a rule for this transaction, null when the condition fails or the sample is missing. */
function ruleKey(r: StickRule, ctx: SampleCtx): string | null {
  if (r.cond !== null && !r.cond.eval(ctx)) return null;
  return r.table.keyOf(fetchOne(ctx, r.key));
}

/**
 * Request side (after the cookie): the first `match`/`on` rule whose entry
 * names a usable server of this backend makes it the transaction's server;
 * `on`/`store-request` keys are kept for storing.
 */
export function applyStickRequest(s: HttpStream): void {
  const rules = s.be!.stickRules;
  if (rules === undefined || rules.length === 0) return;
  const txn = s.txn!;
  const ctx = txn.sample;
  const pend = txn.stickPending;
  pend.length = 0;
  let matched = txn.persistSrv !== null;
  for (const r of rules) {
    if (r.kind === STICK_STORE_RES) continue;
    const key = ruleKey(r, ctx);
    if (key === null) continue;
    if ((r.kind & STICK_MATCH) && !matched) {
      const e = r.table.lookup(key);
      if (e !== null) {
        const id = r.table.read(e, DT_SERVER_ID, r.table.now()) ?? 0;
        const srv = s.be!.servers[id - 1];
        if (srv !== undefined && srv.usable) {
          txn.persistSrv = srv;
          matched = true;
          // A matched entry is in use: it lives on (HAProxy touches it on the store).
          continue;
        }
      }
    }
    if ((r.kind & STICK_STORE_REQ) && pend.length < MAX_STORES * 2) pend.push(r.table, key);
  }
}

/**
 * Response side: `store-response` keys are read now, then every kept key
 * is written with the server that answered (server_id, server_key).
 */
export function applyStickResponse(s: HttpStream): void {
  const be = s.be;
  const rules = be?.stickRules;
  if (rules === undefined || rules.length === 0) return;
  const txn = s.txn!;
  const pend = txn.stickPending;
  for (const r of rules) {
    if (r.kind !== STICK_STORE_RES) continue;
    const key = ruleKey(r, txn.sample);
    if (key !== null && pend.length < MAX_STORES * 2) pend.push(r.table, key);
  }
  const srv = s.srv;
  if (srv === null || pend.length === 0) {
    pend.length = 0;
    return;
  }
  const id = be!.servers.indexOf(srv) + 1;
  for (let i = 0; i < pend.length; i += 2) {
    const t = pend[i] as StickTable;
    const now = t.now();
    const e = t.getEntry(pend[i + 1] as string, now);
    if (e === null) continue;
    t.set(e, DT_SERVER_ID, id, now);
    e.serverKey = srv.name;
    t.touch(e, now);
  }
  pend.length = 0;
}
