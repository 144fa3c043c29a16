// renderStatsJson(): the snapshot as JSON, read back unchanged.

import assert from "node:assert/strict";
import { buildSnapshot } from "../../src/stats/snapshot.ts";
import { renderStatsJson } from "../../src/stats/stats_json.ts";
import { checks, makeProcess } from "./_fixture.ts";

Deno.test("json: parses back to the snapshot", () => {
  const snap = buildSnapshot(makeProcess(), checks);
  const text = renderStatsJson(snap);
  assert.ok(text.endsWith("}\n"));
  const back = JSON.parse(text);
  assert.deepEqual(back, snap);
  assert.equal(back.backends[0]?.servers[0]?.name, "web1");
  assert.equal(back.backends[0]?.servers[0]?.check?.status, "L7STS");
  assert.equal(back.backends[0]?.servers[2]?.check, null);
  assert.equal(back.frontends[0]?.httpResponses["2xx"], 1900);
  assert.equal(back.process.pool.size, 16384);
});
