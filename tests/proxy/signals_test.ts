// splitOldPids(): HAProxy's `-sf PID...` / `-st PID...` taken out of the
// command line before node:util's parseArgs sees it.

import assert from "node:assert/strict";
import { splitOldPids } from "../../src/proxy/signals.ts";

Deno.test("splitOldPids() takes every PID after -sf / -st and leaves the other arguments", () => {
  assert.deepEqual(splitOldPids(["-f", "x.yaml", "-sf", "123", "456", "-q"]), {
    args: ["-f", "x.yaml", "-q"],
    soft: [123, 456],
    hard: [],
  });
  assert.deepEqual(splitOldPids(["-st", "77", "-f", "x.yaml"]), {
    args: ["-f", "x.yaml"],
    soft: [],
    hard: [77],
  });
  assert.deepEqual(splitOldPids(["-f", "x.yaml"]), { args: ["-f", "x.yaml"], soft: [], hard: [] });
});

Deno.test("splitOldPids() refuses -sf without a PID, PID 0/1 and its own PID", () => {
  assert.deepEqual(splitOldPids(["-f", "x", "-sf"]), { error: "-sf needs at least one PID" });
  assert.deepEqual(splitOldPids(["-sf", "-f", "x"]), { error: "-sf needs at least one PID" });
  assert.deepEqual(splitOldPids(["-st", "1"]), { error: "-st: bad PID 1" });
  assert.deepEqual(splitOldPids(["-sf", String(Deno.pid)]), {
    error: `-sf: bad PID ${Deno.pid}`,
  });
});
