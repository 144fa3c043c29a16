// The stick table store (src/stick/table.ts), its line parser and the
// runtime API text (src/stick/cli.ts): LRU eviction, expiry through the
// scheduler's wait queue with a fake clock, entries in use kept, keys
// normalised per type, and HAProxy's `show table` format.

import assert from "node:assert/strict";
import { FakeClock } from "../_helpers/fake_stream.ts";
import { Scheduler } from "../../src/task/scheduler.ts";
import { parseStickTable, StickTable } from "../../src/stick/table.ts";
import { clearTable, setTable, showTable } from "../../src/stick/cli.ts";
import {
  countBytes,
  countHttpErr,
  endSessionCounters,
  endStreamCounters,
  StkCounters,
  trackContent,
  trackSession,
} from "../../src/stick/track.ts";
import { DT_CONN_CUR, DT_HTTP_REQ_CNT, DT_SERVER_ID } from "../../src/stick/types.ts";

function table(text: string, name = "t", sched: Scheduler | null = null): StickTable {
  const c = parseStickTable(name, text);
  if ("error" in c) throw new Error(c.error);
  return new StickTable(c, sched);
}

Deno.test("stick-table line: HAProxy's keywords parse, mistakes are named", () => {
  const c = parseStickTable(
    "t",
    "type string len 12 size 1k expire 30s nopurge store gpc0,http_req_rate(10s) store conn_cur",
  );
  assert.ok(!("error" in c));
  assert.equal(c.keyLen, 12);
  assert.equal(c.size, 1024);
  assert.equal(c.expire, 30_000);
  assert.equal(c.nopurge, true);
  assert.deepEqual(c.store.map(([dt, p]) => [dt, p]), [[2, 0], [6, 0], [10, 10_000]]);
  const bad: Array<[string, string]> = [
    ["size 10", "stick-table: missing 'type'"],
    ["type ip", "stick-table: missing 'size'"],
    ["type ipv4 size 1", "unknown key type 'ipv4' (expected ip, ipv6, integer, string or binary)"],
    [
      "type ip size 1 store http_req_rate",
      "data type 'http_req_rate' expects a period, e.g. http_req_rate(10s)",
    ],
    ["type ip size 1 store gpc0(1s)", "data type 'gpc0' takes no argument"],
    ["type ip size 1 store conn_cnt,conn_cnt", "data type 'conn_cnt' stored twice"],
    [
      "type ip size 1 store http_req_rte(1s)",
      `unknown data type 'http_req_rte' in 'store' (did you mean "http_req_rate"?)`,
    ],
    ["type ip size 1 expire 5x", "invalid expire delay '5x' (expected e.g. 30s, 10m)"],
    ["type ip size 1 exprie 5s", `unknown stick-table argument 'exprie' (did you mean "expire"?)`],
  ];
  for (const [text, msg] of bad) assert.deepEqual(parseStickTable("t", text), { error: msg }, text);
});

Deno.test("stick table: keys are normalised per type, as HAProxy converts samples", () => {
  const ip = table("type ip size 10");
  assert.equal(ip.keyOf("10.0.0.1"), "10.0.0.1");
  assert.equal(ip.keyOf("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(ip.keyOf("2001:db8::1"), null, "an IPv6 client is not tracked in an ip table");
  const ip6 = table("type ipv6 size 10");
  assert.equal(ip6.keyOf("10.0.0.1"), "::ffff:10.0.0.1");
  assert.equal(ip6.keyOf("2001:DB8::1"), "2001:db8::1");
  const int = table("type integer size 10");
  assert.equal(int.keyOf("42"), "42");
  assert.equal(int.keyOf(-1), "4294967295");
  assert.equal(int.keyOf("4x"), null);
  const str = table("type string len 4 size 10");
  assert.equal(str.keyOf("abcdefg"), "abcd");
  assert.equal(str.keyOf(null), null);
});

Deno.test("stick table: a full table evicts its least recently used entry, not the oldest", () => {
  const t = table("type string size 3 store http_req_cnt");
  for (const k of ["a", "b", "c"]) t.getEntry(k, 1000);
  t.touch(t.lookup("a")!, 1001); // a is used again: b is now the least recently used
  t.getEntry("d", 1002);
  assert.deepEqual(t.lruKeys(), ["c", "a", "d"]);
  assert.equal(t.used, 3);
  // An entry in use (tracked) is never evicted: c is held, a goes.
  t.lookup("c")!.refCnt++;
  t.getEntry("e", 1003);
  assert.deepEqual(t.lruKeys(), ["c", "d", "e"]);
});

Deno.test("stick table: nopurge refuses new entries when full", () => {
  const t = table("type string size 2 nopurge");
  t.getEntry("a", 1);
  t.getEntry("b", 1);
  assert.equal(t.getEntry("c", 2), null);
  assert.deepEqual(t.lruKeys(), ["a", "b"]);
});

Deno.test("stick table: entries expire through one task in the scheduler's wait queue", async () => {
  const clock = new FakeClock();
  const sched = new Scheduler(clock);
  const settle = async () => {
    sched.runPending();
    await Promise.resolve();
  };
  const t = table("type string size 100 expire 1s store conn_cnt", "t", sched);
  sched.now = clock.now();
  for (let i = 0; i < 50; i++) t.getEntry("k" + i, clock.now());
  // One wait-queue entry for the whole table, never one per entry.
  assert.equal(sched.waitQueueLength(), 1);
  await clock.advance(500, settle);
  t.touch(t.lookup("k7")!, clock.now()); // k7 lives 1 s from now
  await clock.advance(600, settle);
  assert.deepEqual(t.lruKeys(), ["k7"]);
  assert.equal(t.used, 1);
  // A tracked entry outlives its expiry and goes when released.
  t.lookup("k7")!.refCnt++;
  await clock.advance(2000, settle);
  assert.equal(t.used, 1);
  t.release(t.lookup("k7")!, clock.now());
  assert.equal(t.used, 0);
  assert.equal(sched.waitQueueLength(), 0, "nothing left to wait for");
});

Deno.test("tracking: conn_cur counts trackers and drops at the end of the request or connection", () => {
  const t = table("type ip size 10 store conn_cur,conn_cnt,http_req_cnt,http_err_cnt,bytes_in_cnt");
  const c1 = new StkCounters(), c2 = new StkCounters();
  assert.ok(trackContent(c1, 0, t, "10.0.0.1", 1000, true));
  assert.ok(!trackContent(c1, 0, t, "10.0.0.9", 1000, true), "sc0 already tracks");
  assert.ok(trackSession(c2, 0, t, "10.0.0.1", 1000));
  const e = t.lookup("10.0.0.1")!;
  assert.equal(t.read(e, DT_CONN_CUR, 1000), 2);
  assert.equal(t.read(e, DT_HTTP_REQ_CNT, 1000), 1, "only the http-request track counts a request");
  countHttpErr(c1, 1000);
  countBytes(c1, 300, 5000, 1000);
  endStreamCounters(c1, 1001);
  assert.equal(t.read(e, DT_CONN_CUR, 1001), 1);
  assert.equal(c1.entry(0), null);
  endSessionCounters(c2, 1002);
  assert.equal(t.read(e, DT_CONN_CUR, 1002), 0);
  assert.equal(e.refCnt, 0);
  const out = showTable(tablesOf(t), ["t"], 1002);
  assert.match(
    out,
    /^# table: t, type: ip, size:10, used:1\n0x[0-9a-f]+: key=10\.0\.0\.1 use=0 exp=0 conn_cnt=2 conn_cur=0 http_req_cnt=1 http_err_cnt=1 bytes_in_cnt=300\n$/,
  );
});

function tablesOf(...ts: StickTable[]) {
  return new Map(ts.map((t) => [t.name, t]));
}

Deno.test("runtime API: show, set and clear table answer as HAProxy's CLI", () => {
  const t = table("type ip size 1k expire 10s store server_id,gpc0,http_req_rate(10s)", "web");
  const u = table("type string size 5", "other");
  const tabs = tablesOf(t, u);
  assert.equal(
    showTable(tabs, [], 1000),
    "# table: other, type: string, size:5, used:0\n# table: web, type: ip, size:1024, used:0\n",
  );
  assert.equal(
    setTable(tabs, ["web", "key", "10.0.0.1", "data.gpc0", "7", "data.http_req_rate", "40"], 1000),
    "",
  );
  assert.equal(setTable(tabs, ["web", "key", "10.0.0.2", "data.server_id", "2"], 1000), "");
  assert.equal(
    showTable(tabs, ["web", "key", "10.0.0.1"], 1000).replace(/0x[0-9a-f]+/, "P"),
    "# table: web, type: ip, size:1024, used:2\nP: key=10.0.0.1 use=0 exp=10000 server_id=0 gpc0=7 http_req_rate(10000)=40\n",
  );
  assert.equal(
    showTable(tabs, ["web", "data.gpc0", "gt", "5"], 1000).split("\n").length,
    3,
    "head, one entry, final newline",
  );
  assert.equal(
    setTable(tabs, ["web", "key", "10.0.0.3", "data.conn_cur", "1"], 1000),
    "Data type not stored in this table\n",
  );
  assert.equal(
    setTable(tabs, ["web", "key", "10.0.0.3", "data.nope", "1"], 1000),
    "Unknown data type\n",
  );
  assert.equal(setTable(tabs, ["nope", "key", "1"], 1000), "No such table\n");
  assert.equal(
    showTable(tabs, ["web", "data.gpc0", "gx", "5"], 1000),
    'Filter entry #1: Require and operator among "eq", "ne", "le", "ge", "lt", "gt"\n',
  );
  assert.equal(clearTable(tabs, ["web", "data.gpc0", "eq", "7"], 1000), "");
  assert.equal(t.used, 2, "10.0.0.3 was created by the failed set, as HAProxy");
  assert.equal(t.lookup("10.0.0.1"), null);
  t.lookup("10.0.0.2")!.refCnt++;
  assert.equal(
    clearTable(tabs, ["web", "key", "10.0.0.2"], 1000),
    "Entry currently in use, cannot remove\n",
  );
  assert.equal(clearTable(tabs, ["web"], 1000), "");
  assert.equal(t.used, 1, "the entry in use stays");
  assert.equal(t.read(t.lookup("10.0.0.2")!, DT_SERVER_ID, 1000), 2);
});
