// docs/acl_and_rules.md must name every fetch, matching method, predefined
// ACL, rule action and value variable the code accepts.

import assert from "node:assert/strict";
import { PREDEFINED_ACL_EXPRS } from "../../src/acl/acl.ts";
import { PAT_MATCH_NAMES } from "../../src/acl/pattern.ts";
import { RULE_ACTIONS } from "../../src/http/http_rules.ts";
import { CONVERTERS } from "../../src/sample/converters.ts";
import { FETCHES } from "../../src/sample/fetch.ts";
import { VALUE_LOG_VARS } from "../../src/sample/value.ts";

const DOC = new URL("../../docs/acl_and_rules.md", import.meta.url);

Deno.test("docs/acl_and_rules.md names every keyword the code accepts", async () => {
  const text = await Deno.readTextFile(DOC);
  const has = (s: string): boolean =>
    text.includes("`" + s + "`") || text.includes("`" + s + " ") || text.includes("`" + s + "(") ||
    text.includes("`" + s + ",");
  const missing = [
    ...FETCHES.map((f) => f.name),
    ...[...PREDEFINED_ACL_EXPRS.keys()],
    ...RULE_ACTIONS,
    ...CONVERTERS,
    ...VALUE_LOG_VARS.map((v) => "%" + v),
  ].filter((n) => !has(n));
  assert.deepEqual(missing, []);
  for (const m of PAT_MATCH_NAMES) assert.ok(text.includes("| `" + m + "`"), `-m ${m}`);
});
