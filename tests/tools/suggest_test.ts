// The one "did you mean" hint (src/tools/suggest.ts): how close a word must be,
// and that a config key, an ACL fetch and a rule action misspelt alike get the
// same hint, worded the same way, from a whole configuration load.

import assert from "node:assert/strict";
import { formatIssue, loadConfigText } from "../../src/proxy/load.ts";
import { didYouMean, editDistance, suggest } from "../../src/tools/suggest.ts";

Deno.test("editDistance counts a swap of two neighbouring letters as one edit", () => {
  assert.equal(editDistance("htpp", "http"), 1);
  assert.equal(editDistance("defualt", "default"), 1);
  assert.equal(editDistance("path", "path"), 0);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("kitten", "sitting"), 3);
});

Deno.test("suggest: one edit for words of up to 4 characters, two for longer ones", () => {
  assert.equal(suggest("pth", ["path", "src"]), "path");
  assert.equal(suggest("pt", ["path"]), null, "two edits away from a short word");
  assert.equal(suggest("maxcn", ["maxconn"]), "maxconn");
  assert.equal(suggest("mxcn", ["maxconn"]), null);
  assert.equal(suggest("redispch", ["redispatch"]), "redispatch");
  assert.equal(suggest("rdspch", ["redispatch"]), null, "four edits");
  assert.equal(suggest("HTTP", ["tcp", "http"]), "http", "compared without case");
  assert.equal(suggest("ab", ["ac", "ad"]), "ac", "ties go to the earlier candidate");
  assert.equal(didYouMean("htpp", ["tcp", "http"]), ' (did you mean "http"?)');
  assert.equal(didYouMean("zzz", ["tcp", "http"]), "");
});

Deno.test("a key, an ACL fetch and a rule action misspelt alike get one hint style", () => {
  const yaml = [
    "defaults:",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "frontends:",
    "  fe_main:",
    '    bind: ":8080"',
    "    mode: http",
    "    mxaconn: 10",
    '    acl: ["is_x paht /x"]',
    '    http-request: ["del-hedaer X-A"]',
  ].join("\n") + "\n";
  const lines = loadConfigText(yaml, "cfg.yaml").issues.filter((i) => i.severity === "error")
    .map(formatIssue);
  const hints = lines.map((l) => /\(did you mean "[^"]*"\?\)/.exec(l)?.[0] ?? `no hint: ${l}`);
  assert.deepEqual(hints, [
    '(did you mean "maxconn"?)',
    '(did you mean "path"?)',
    '(did you mean "del-header"?)',
  ]);
});
