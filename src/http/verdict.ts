// Applying http-request / http-response rules to a transaction, and turning
// a final rule verdict (deny, return, redirect) into the reply the client
// gets (HAProxy's http_req_get_intercept_rule() and http_reply_and_close()
// callers in http_ana.c).
//
// The rules themselves are evaluated by http_rules.ts; this file counts the
// denials where HAProxy counts them and asks the stream to send the reply.
// It never touches a socket.

import { SF_ERR_PRXCOND, SF_FINST_H, SF_FINST_R } from "../log/termination.ts";
import { buildReply } from "./http_errors.ts";
import { evalRules, type Rule, type RuleVerdict } from "./http_rules.ts";
import type { HttpStream } from "./http_stream.ts";
import { httpError, localReply } from "./txn_end.ts";
import { startTarpit } from "./tarpit.ts";
import { countHttpErr } from "../stick/track.ts";

/** applyRequestRules(): the rules wait for a password check; run them again on the next wake. */
export const RULES_WAIT = "wait";

/**
 * Applies http-request rules; on deny/return/redirect, answers and returns
 * false (the stream ends after the reply). Returns RULES_WAIT when a rule
 * waits for a password check off the thread: the stream is woken when it
 * is done, and the next call resumes at that rule (txn.rulesAt).
 */
export function applyRequestRules(
  s: HttpStream,
  rules: readonly Rule[],
): boolean | typeof RULES_WAIT {
  if (rules.length === 0) return true;
  const txn = s.txn!;
  const v = evalRules(rules, txn.sample, txn.reqEd, txn.rulesAt, true);
  if (v.kind === "yield") {
    txn.rulesAt = v.at;
    v.wait.then(() => s.wake());
    return RULES_WAIT;
  }
  txn.rulesAt = 0;
  if (v.kind === "continue") return true;
  // A deny by the backend's rules counts in the backend's dreq too.
  const denial = v.kind === "deny" || v.kind === "tarpit";
  if (denial && s.be !== null && rules === s.be.httpReqRules) s.be.counters.denied++;
  if (v.kind === "tarpit") {
    // Counted now, answered after the delay (HAProxy counts at the rule, too).
    s.fe.counters.denied++;
    countHttpErr(s.txn!.sample.stk, s.now());
    startTarpit(s, v.status);
    return false;
  }
  return answerVerdict(s, v, SF_FINST_R);
}

/** Applies http-response rules of the backend then the frontend; false after a reply. */
export function applyResponseRules(s: HttpStream): boolean {
  const beRules = s.be !== null ? s.be.httpResRules : [];
  const feRules = s.fe.httpResRules;
  if (beRules.length === 0 && feRules.length === 0) return true;
  const ed = s.txn!.resEd;
  const sc = s.txn!.sample;
  for (const rules of beRules === feRules ? [beRules] : [beRules, feRules]) {
    if (rules.length === 0) continue;
    // Response rules do not wait: a password check there runs on the thread.
    const v = evalRules(rules, sc, ed);
    if (v.kind !== "continue" && v.kind !== "yield") return answerVerdict(s, v, SF_FINST_H);
  }
  if (ed.modified) s.txn!.status = ed.status();
  return true;
}

/**
 * A final rule action (deny, return, redirect) answers the client instead
 * of the server, request or response side alike (`finst` says which).
 * Returns false: the stream ends after the reply.
 */
function answerVerdict(
  s: HttpStream,
  v: Exclude<RuleVerdict, { kind: "continue" } | { kind: "yield" }>,
  finst: number,
): false {
  switch (v.kind) {
    case "tarpit": // request rules only; handled by applyRequestRules()
    case "deny":
      // A denied request counts as a client error in the tracked counters (HAProxy's deny:).
      if (finst === SF_FINST_R) {
        s.fe.counters.denied++;
        countHttpErr(s.txn!.sample.stk, s.now());
      } else {
        // http-response deny: dresp at the frontend, the backend and the server.
        s.fe.counters.deniedResp++;
        if (s.be !== null) s.be.counters.deniedResp++;
        if (s.srv !== null) s.srv.counters.deniedResp++;
      }
      httpError(s, v.status, SF_ERR_PRXCOND, finst, "denied");
      break;
    case "return": {
      const extra = v.headers.map(([n, val]) => `${n}: ${val}`);
      localReply(s, buildReply(v.status, v.contentType, v.body, extra), v.status, finst);
      break;
    }
    case "redirect":
      localReply(
        s,
        buildReply(v.code, null, new Uint8Array(0), [`location: ${v.location}`]),
        v.code,
        finst,
      );
      break;
  }
  return false;
}
