// src/config/ stops at the RuntimeConfig: parseConfigText() validates and
// resolves, and leaves ACLs, rules and log formats to the compile pass of
// the layers above (src/proxy/load.ts), which reports both in one run.

import assert from "node:assert/strict";
import { formatIssue, hasError, parseConfigText } from "../../src/config/mod.ts";
import { loadConfigText } from "../../src/proxy/load.ts";

const BAD_RULE = [
  "defaults:",
  "  mode: http",
  "  timeout: { connect: 1s, client: 5s, server: 5s }",
  "frontends:",
  "  fe:",
  '    bind: "127.0.0.1:0"',
  '    http-request: "frobnicate now"',
  '    log-format: "%{bogus"',
  "    default_backend: be",
  "backends:",
  "  be:",
  "    servers:",
  '      - { name: s1, address: "127.0.0.1:9" }',
].join("\n");

Deno.test("parseConfigText() resolves the config and does not compile rules or log formats", () => {
  const p = parseConfigText(BAD_RULE, "cfg.yaml");
  assert.deepEqual(p.issues.map(formatIssue), []);
  assert.ok(p.config !== null);
  // The raw rule text is kept with its position for the compile pass.
  assert.equal(p.config.frontends[0]!.httpRequest[0]!.text, "frobnicate now");
});

Deno.test("loadConfigText() adds the compile errors to the same sorted list", () => {
  // A validation error after the rule lines: the compile errors come first, by position.
  const r = loadConfigText(BAD_RULE.replace("127.0.0.1:9", "127.0.0.1:0"), "cfg.yaml");
  assert.equal(r.config, null);
  assert.equal(r.compiled, null);
  assert.deepEqual(r.issues.map(formatIssue), [
    "cfg.yaml:7:20: error: frontends.fe.http-request: http-request: unknown action 'frobnicate'",
    'cfg.yaml:8:18: error: frontends.fe.log-format: Unclosed "{" in log-format at offset 0',
    'cfg.yaml:13:30: error: backends.be.servers[0].address: invalid port "0" in address ' +
    '"127.0.0.1:0" (expected 1..65535)',
  ]);
});

Deno.test("parseConfigText() returns the partly resolved config after an error, for the compile pass", () => {
  const p = parseConfigText(BAD_RULE.replace("client: 5s", "client: 5x"), "cfg.yaml");
  assert.ok(hasError(p.issues));
  assert.ok(p.config !== null);
  assert.equal(parseConfigText("frontends: [", "cfg.yaml").config, null);
});
