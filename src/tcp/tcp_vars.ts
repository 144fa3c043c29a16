// `tcp-request content set-var(SCOPE.NAME) EXPR` and `unset-var(...)`
// (HAProxy's vars.c actions in tcp-request content rule sets): registered
// into the tcp-request action table, compiled and run by
// src/sample/var_actions.ts. The variables are the stream's: in an HTTP
// frontend its transaction's (so http rules, `var()` and log-format see
// them; txn variables go to the connection's first request); in TCP mode
// there is no store and the actions do nothing. Imported for its side
// effect by the compile pass (src/proxy/compile.ts).

import { compileSetVar, compileUnsetVar, type VarAction } from "../sample/var_actions.ts";
import { registerTcpAction } from "./tcp_rules.ts";
import { TCP_ACT_CONTINUE, TCP_RS_CONTENT } from "./types.ts";

/** The variable named in `set-var(VAR)` as written, or null. */
function varOf(keyword: string): string | null {
  const p = keyword.indexOf("(");
  return p > 0 && keyword.endsWith(")") ? keyword.slice(p + 1, -1) : null;
}

for (const name of ["set-var", "unset-var"]) {
  registerTcpAction({
    name,
    where: TCP_RS_CONTENT,
    parse: (words, _env, keyword) => {
      const v = varOf(keyword);
      if (v === null) return { error: `'${name}' expects a variable: ${name}(SCOPE.NAME)` };
      return name === "set-var" ? compileSetVar(v, words) : compileUnsetVar(v, words);
    },
    run: (arg, subject) => {
      (arg as VarAction).run(subject.sample);
      return TCP_ACT_CONTINUE;
    },
  });
}
