// Tables across a reload (compileConfig()'s previousTables): a table whose
// `stick-table` line did not change is the same object, entries included;
// a changed line makes a new, empty table.

import assert from "node:assert/strict";
import { loadConfigText } from "../../src/proxy/load.ts";
import { compileConfig } from "../../src/proxy/compile.ts";

function config(table: string): string {
  return [
    "defaults:",
    "  mode: http",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "frontends:",
    "  fe:",
    '    bind: "127.0.0.1:0"',
    "    default_backend: be",
    `    stick-table: "${table}"`,
    '    http-request: ["track-sc0 src"]',
    "backends:",
    "  be:",
    "    servers: [{ name: s1, address: 127.0.0.1:9001 }]",
    "",
  ].join("\n");
}

Deno.test("reload: an unchanged stick-table keeps its entries, a changed one starts empty", () => {
  const first = loadConfigText(config("type ip size 10 expire 1m store conn_cnt"), "a.yaml");
  const t1 = first.compiled!.tables.get("fe")!;
  t1.getEntry("10.0.0.1", 1000);
  const same = compileConfig(
    loadConfigText(config("type ip size 10 expire 1m store conn_cnt"), "a.yaml").config!,
    undefined,
    first.compiled!.tables,
  );
  assert.equal(same.compiled.tables.get("fe"), t1);
  assert.equal(same.compiled.tables.get("fe")!.used, 1);
  // The rules of the new generation track into the kept table.
  assert.equal(same.compiled.frontends[0]!.httpRequest[0]!.track!.table, t1);
  const changed = compileConfig(
    loadConfigText(config("type ip size 20 expire 1m store conn_cnt"), "a.yaml").config!,
    undefined,
    first.compiled!.tables,
  );
  assert.notEqual(changed.compiled.tables.get("fe"), t1);
  assert.equal(changed.compiled.tables.get("fe")!.used, 0);
});
