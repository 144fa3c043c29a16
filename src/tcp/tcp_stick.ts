// The stick-counter actions of `tcp-request` rules (HAProxy's
// tcp_action_track_sc() and the sc-* actions registered for tcp rules):
// `tcp-request connection track-scN KEY [table T]` tracks for the whole
// connection, `tcp-request content track-scN` for the stream's current
// request, `sc-inc-gpc0(N)`, `sc-inc-gpc1(N)`, `sc-set-gpt0(N) VALUE`; and
// `silent-drop`, which refuses like `reject`.
//
// Registered in the TCP action table (registerTcpAction()) at module load:
// proxy/compile.ts imports this file. Parsing and running are the shared
// ones of src/sample/stick_actions.ts; this file only finds the counters:
// the stream's (made on first use in TCP mode; the transaction's in HTTP
// mode), or, for connection rules that run before the stream exists, the
// subject's, which the session accept hands to the stream.

import {
  compileTrackSc,
  runIncGpc,
  runSetGpt0,
  runTrackSc,
  TRACK_CONTENT,
  TRACK_SESSION,
  type TrackSc,
} from "../sample/stick_actions.ts";
import { compileValue, evalValue } from "../sample/value.ts";
import type { ValueExpr } from "../sample/types.ts";
import { MAX_STKCTR, StkCounters } from "../stick/track.ts";
import { registerTcpAction } from "./tcp_rules.ts";
import {
  TCP_ACT_CONTINUE,
  TCP_ACT_DENY,
  TCP_RS_CONN,
  TCP_RS_CONTENT,
  type TcpRuleSubject,
} from "./types.ts";

/** The counters a rule updates; the sample context then reads them too (`sc_*`). */
function countersOf(subject: TcpRuleSubject): StkCounters {
  const s = subject.stream;
  const c = s !== null ? (s.stk ??= new StkCounters()) : (subject.stk ??= new StkCounters());
  (subject.sample as { stk?: StkCounters | null }).stk = c;
  return c;
}

registerTcpAction({
  name: "track-sc*",
  where: TCP_RS_CONN | TCP_RS_CONTENT,
  parse: (words, _env, keyword) => compileTrackSc(keyword, words),
  run: (arg, subject) => {
    runTrackSc(
      arg as TrackSc,
      subject.sample,
      countersOf(subject),
      subject.stream === null ? TRACK_SESSION : TRACK_CONTENT,
    );
    return TCP_ACT_CONTINUE;
  },
});

/** The counter number of `sc-…(N)`. */
function ctrOf(keyword: string): number | { error: string } {
  const m = /\((\d+)\)$/.exec(keyword);
  if (m === null || Number(m[1]) >= MAX_STKCTR) {
    return { error: `'${keyword}' expects a counter number: ${keyword.replace(/\(.*/, "")}(0..2)` };
  }
  return Number(m[1]);
}

for (const which of [0, 1]) {
  registerTcpAction({
    name: `sc-inc-gpc${which}`,
    where: TCP_RS_CONN | TCP_RS_CONTENT,
    parse: (words, _env, keyword) =>
      words.length > 0 ? { error: `unexpected '${words[0]}' after '${keyword}'` } : ctrOf(keyword),
    run: (arg, subject) => {
      runIncGpc(countersOf(subject), arg as number, which);
      return TCP_ACT_CONTINUE;
    },
  });
}

registerTcpAction({
  name: "sc-set-gpt0",
  where: TCP_RS_CONN | TCP_RS_CONTENT,
  parse: (words, _env, keyword) => {
    const n = ctrOf(keyword);
    if (typeof n !== "number") return n;
    if (words.length !== 1) return { error: `'${keyword}' expects an integer or an expression` };
    const w = words[0]!;
    const v = compileValue(/^-?\d+$/.test(w) || w.includes("%[") ? w : `%[${w}]`);
    return "error" in v ? v : { n, v };
  },
  run: (arg, subject) => {
    const a = arg as { n: number; v: ValueExpr };
    runSetGpt0(countersOf(subject), a.n, evalValue(a.v, subject.sample));
    return TCP_ACT_CONTINUE;
  },
});

registerTcpAction({
  name: "silent-drop",
  where: TCP_RS_CONN | TCP_RS_CONTENT,
  parse: (words) =>
    words.length === 0 ? null : { error: `unexpected '${words[0]}' after 'silent-drop'` },
  // Deno cannot hide the close from the client (HAProxy lowers the TTL or
  // uses TCP_REPAIR): the connection is closed as `reject` closes it.
  run: () => TCP_ACT_DENY,
});
