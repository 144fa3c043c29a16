// src/sample/var_actions.ts: set-var / unset-var compiled once and run on
// any SampleCtx (what tcp-request content rules will use), typed values,
// absent samples, contexts without variables, refused arguments.

import assert from "node:assert/strict";
import { compileSetVar, compileUnsetVar } from "../../src/sample/var_actions.ts";
import { VAR_SESS, VAR_TXN, VarStore } from "../../src/sample/vars.ts";
import type { SampleCtx } from "../../src/sample/types.ts";

/** A layer-4-like context: addresses only, with or without variables. */
function l4(vars: VarStore | null): SampleCtx {
  const base = {
    isResponse: false,
    method: () => "",
    path: () => "",
    url: () => "",
    query: () => null,
    reqVer: () => "",
    reqHeader: () => [],
    resHeader: () => [],
    status: () => 0,
    src: () => "192.0.2.9",
    srcPort: () => 4242,
    dst: () => "192.0.2.1",
    dstPort: () => 443,
  };
  return vars === null ? base : { ...base, vars };
}

Deno.test("set-var stores typed samples; an absent sample leaves the variable; unset-var removes it", () => {
  const vars = new VarStore();
  const ctx = l4(vars);
  const a = compileSetVar("sess.client", ["src"]);
  const b = compileSetVar("txn.port", ["src_port"]);
  const c = compileSetVar("txn.port", ["var(txn.none)"]);
  const d = compileUnsetVar("sess.client", []);
  for (const x of [a, b, c, d]) assert.ok(!("error" in x), JSON.stringify(x));
  if ("error" in a || "error" in b || "error" in c || "error" in d) return;
  a.run(ctx);
  b.run(ctx);
  assert.equal(vars.get(VAR_SESS, "client"), "192.0.2.9");
  assert.equal(vars.get(VAR_TXN, "port"), 4242);
  c.run(ctx); // absent sample: unchanged
  assert.equal(vars.get(VAR_TXN, "port"), 4242);
  d.run(ctx);
  assert.equal(vars.get(VAR_SESS, "client"), null);
  // A context without variables: nothing happens, nothing throws.
  a.run(l4(null));
});

Deno.test("set-var / unset-var refuse bad names and arguments", () => {
  assert.match((compileSetVar("nope.x", ["src"]) as { error: string }).error, /invalid variable/);
  assert.match((compileSetVar("txn.x", []) as { error: string }).error, /expects one sample/);
  assert.match((compileSetVar("txn.x", ["a", "b"]) as { error: string }).error, /expects one/);
  assert.match((compileSetVar("txn.x", ["nosuch"]) as { error: string }).error, /unknown fetch/);
  assert.match((compileUnsetVar("txn.x", ["a"]) as { error: string }).error, /takes no argument/);
});
