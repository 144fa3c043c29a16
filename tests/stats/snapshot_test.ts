// buildSnapshot() on a real Process: what it copies, the statuses it derives
// with and without a check-state provider.

import assert from "node:assert/strict";
import { Process } from "../../src/proxy/process.ts";
import { VERSION } from "../../src/version.ts";
import { buildSnapshot, statusClass } from "../../src/stats/snapshot.ts";
import { backend, frontend, runtimeConfig, server } from "../_helpers/runtime_config.ts";
import { CHANGE_AT, checks, makeProcess } from "./_fixture.ts";

Deno.test("snapshot: process info comes from the process and its pools", () => {
  const p = makeProcess();
  const buf = p.pools.big.alloc()!;
  const snap = buildSnapshot(p);
  p.pools.big.release(buf);
  const pr = snap.process;
  assert.equal(pr.pid, Deno.pid);
  assert.equal(pr.version, VERSION);
  assert.equal(pr.actconn, 7);
  assert.equal(pr.maxconn, 4096);
  assert.equal(pr.stopping, false);
  assert.equal(pr.pool.used, 1);
  assert.ok(pr.pool.allocated >= 1);
  assert.equal(pr.pool.size, 16384);
  assert.equal(pr.smallPool.used, 0);
  assert.ok(pr.bulkPool !== null);
  assert.equal(pr.bulkPool.used, 0);
  assert.ok(pr.startedAt <= pr.now);
  assert.equal(pr.uptimeMs, pr.now - pr.startedAt);
});

Deno.test("snapshot: pid, version and startedAt may be given; the bulk pool is optional", () => {
  const p = makeProcess();
  const snap = buildSnapshot({
    ...p,
    pools: { big: p.pools.big, small: p.pools.small },
    frontends: p.frontends,
    backends: p.backends,
    pid: 4242,
    version: "9.9.9",
    startedAt: Date.now() - 5000,
  });
  assert.equal(snap.process.pid, 4242);
  assert.equal(snap.process.version, "9.9.9");
  assert.ok(snap.process.uptimeMs >= 5000);
  assert.equal(snap.process.bulkPool, null);
});

Deno.test("snapshot: frontend counters, limit and status", () => {
  const p = makeProcess();
  let snap = buildSnapshot(p);
  const [fe, tcp] = snap.frontends;
  assert.deepEqual(fe, {
    name: "fe_http",
    mode: "http",
    status: "OPEN",
    curSessions: 5,
    maxSessions: 42,
    limitSessions: 100,
    totalSessions: 1000,
    bytesIn: 123456,
    bytesOut: 7654321,
    deniedRequests: 3,
    deniedResponses: 0,
    deniedConnections: 0,
    requestErrors: 4,
    httpRequests: 2000,
    httpResponses: { "1xx": 2, "2xx": 1900, "3xx": 30, "4xx": 50, "5xx": 17, other: 1 },
  });
  // No frontend maxconn: the global one is the limit.
  assert.equal(tcp?.limitSessions, 4096);
  assert.equal(tcp?.mode, "tcp");

  p.frontends[0]!.feconn = 100;
  snap = buildSnapshot(p);
  assert.equal(snap.frontends[0]?.status, "FULL");
  p.stopping = true;
  snap = buildSnapshot(p);
  assert.deepEqual(snap.frontends.map((f) => f.status), ["STOP", "STOP"]);
  assert.equal(snap.process.stopping, true);
});

Deno.test("snapshot: backend counters, server counts, weight and status", () => {
  const snap = buildSnapshot(makeProcess());
  const [app, db] = snap.backends;
  assert.ok(app && db);
  assert.equal(app.name, "be_app");
  assert.equal(app.mode, "http");
  assert.equal(app.algo, "roundrobin");
  assert.equal(app.status, "UP");
  assert.equal(app.curSessions, 5);
  assert.equal(app.totalSessions, 990);
  assert.equal(app.connErrors, 6);
  assert.equal(app.respErrors, 2);
  assert.equal(app.retries, 8);
  assert.equal(app.redispatches, 1);
  assert.equal(app.failedNoServer, 5);
  assert.equal(app.avgConnectMs, 3);
  assert.equal(app.httpResponses["2xx"], 1890);
  // web1 (weight 3) takes traffic; web2 has weight 0, web3 is disabled.
  assert.equal(app.activeUp, 1);
  assert.equal(app.activeTotal, 3);
  assert.equal(app.backupUp, 1);
  assert.equal(app.backupTotal, 1);
  assert.equal(app.weight, 3);
  // Queue: web1 has one live waiter and peaked at two.
  assert.equal(app.queueCur, 1);
  assert.equal(app.queueMax, 2);
  assert.equal(app.servers.length, 4);

  assert.equal(db.algo, "leastconn");
  assert.equal(db.status, "DOWN");
  assert.equal(db.activeUp, 0);
  assert.equal(db.weight, 0);
});

Deno.test("snapshot: backups carry the weight when no active server is up", () => {
  const p = makeProcess();
  for (const s of p.backends[0]!.servers) if (!s.backup) s.usable = false;
  const app = buildSnapshot(p).backends[0]!;
  assert.equal(app.status, "UP");
  assert.equal(app.activeUp, 0);
  assert.equal(app.weight, 1);
});

Deno.test("snapshot: servers without a provider are UP, DRAIN or MAINT with no check", () => {
  const snap = buildSnapshot(makeProcess());
  const app = snap.backends[0]!;
  const rows = app.servers.map((s) => [s.name, s.status, s.statusClass, s.check]);
  assert.deepEqual(rows, [
    ["web1", "UP", "up", null],
    ["web2", "DRAIN", "drain", null],
    ["web3", "MAINT", "maint", null],
    ["spare", "UP", "up", null],
  ]);
  assert.equal(snap.backends[1]!.servers[0]!.status, "MAINT");
  const web1 = app.servers[0]!;
  assert.equal(web1.address, "127.0.0.1:8001");
  assert.equal(web1.curSessions, 4);
  assert.equal(web1.maxSessions, 38);
  assert.equal(web1.totalSessions, 900);
  assert.equal(web1.limitSessions, 50);
  assert.equal(web1.queueCur, 1);
  assert.equal(web1.queueMax, 2);
  assert.equal(web1.queueLimit, 10);
  assert.equal(web1.connErrors, 5);
  assert.equal(web1.retries, 7);
  assert.equal(web1.avgConnectMs, 2.5);
  assert.equal(web1.lastChange, snap.process.startedAt);
  assert.equal(web1.downtimeMs, 0);
  assert.equal(app.servers[3]!.backup, true);
});

Deno.test("snapshot: a check-state provider sets status, check and downtime", () => {
  const snap = buildSnapshot(makeProcess(), checks);
  const [web1, web2, web3] = snap.backends[0]!.servers;
  assert.equal(web1?.status, "UP 2/3");
  assert.equal(web1?.statusClass, "going-down");
  assert.deepEqual(web1?.check, {
    status: "L7STS",
    desc: "HTTP status check returned code <503>",
    code: 503,
    durationMs: 12,
    fails: 4,
    downs: 1,
    health: null,
  });
  assert.equal(web1?.lastChange, CHANGE_AT);
  assert.equal(web1?.downtimeMs, 61_000);
  assert.equal(web2?.status, "DRAIN");
  assert.equal(web2?.check?.code, null);
  // The provider returns null for web3: the default applies.
  assert.equal(web3?.status, "MAINT");
  assert.equal(web3?.check, null);
});

Deno.test("snapshot: unchecked servers known to the provider have no check fields", () => {
  const snap = buildSnapshot(makeProcess(), checks);
  // "no check": the default status, the provider's last change.
  const spare = snap.backends[0]!.servers[3]!;
  assert.equal(spare.status, "UP");
  assert.equal(spare.check, null);
  assert.equal(spare.lastChange, CHANGE_AT);
  // checked: false: the provider's status (an admin MAINT), no check fields.
  const db1 = snap.backends[1]!.servers[0]!;
  assert.equal(db1.status, "MAINT");
  assert.equal(db1.statusClass, "maint");
  assert.equal(db1.check, null);
});

Deno.test("snapshot: status classes of HAProxy's status texts", () => {
  const cases: Array<[string, string]> = [
    ["UP", "up"],
    ["UP 1/3", "going-down"],
    ["DOWN", "down"],
    ["DOWN 1/2", "going-up"],
    ["MAINT", "maint"],
    ["MAINT (via be/s)", "maint"],
    ["DRAIN", "drain"],
    ["NOLB", "nolb"],
    ["no check", "down"],
  ];
  for (const [s, c] of cases) assert.equal(statusClass(s), c, s);
});

Deno.test("snapshot: a backend without servers is DOWN; nothing is shared with the source", () => {
  const p = new Process(
    runtimeConfig([frontend("fe")], [backend("empty", []), backend("one", [server("s", 1)])]),
    { quiet: true, debug: false },
  );
  const snap = buildSnapshot(p);
  assert.equal(snap.backends[0]?.status, "DOWN");
  assert.equal(snap.backends[1]?.status, "UP");
  p.backends[1]!.servers[0]!.counters.httpResp[2] = 99;
  p.frontends[0]!.counters.cumSessions = 5;
  assert.equal(snap.backends[1]?.servers[0]?.httpResponses["2xx"], 0);
  assert.equal(snap.frontends[0]?.totalSessions, 0);
});
