// config.example.yaml must always load cleanly, so that it cannot go stale.

import assert from "node:assert/strict";
import { formatIssue, loadConfigFile } from "../../src/proxy/load.ts";
import { logTargetList } from "../../src/config/log_target.ts";
import {
  BACKEND_KEYWORDS,
  DEFAULTS_KEYWORDS,
  FRONTEND_KEYWORDS,
  GLOBAL_KEYWORDS,
  SERVER_KEYWORDS,
  STATS_KEYWORDS,
  STATS_SOCKET_KEYWORDS,
  TIMEOUT_KEYWORDS,
} from "../../src/config/keywords.ts";

const EXAMPLE = new URL("../../config.example.yaml", import.meta.url).pathname;

Deno.test("config.example.yaml loads with no error and no warning", async () => {
  const { config, issues } = await loadConfigFile(EXAMPLE);
  assert.deepEqual(issues.map(formatIssue), []);
  assert.ok(config !== null);
  assert.equal(config.file, EXAMPLE);
  assert.deepEqual(
    logTargetList(config.global.log).map((t) => [t.address.kind, t.framing]),
    [["stdout", "raw"]],
  );
  assert.equal(config.global.bufsize, 16384);

  assert.equal(config.frontends.length, 2);
  const fe = config.frontends[0];
  assert.ok(fe !== undefined);
  assert.equal(fe.name, "fe_main");
  assert.equal(fe.mode, "tcp");
  assert.deepEqual(fe.binds, [{
    address: { kind: "tcp", host: "127.0.0.1", port: 8080, family: 4 },
    backlog: 4096,
  }]);
  assert.equal(fe.defaultBackend, 0);
  assert.equal(fe.timeouts.client, 30_000);
  assert.equal(fe.timeouts.clientFin, 5_000);
  // tcplog reaches the frontend; redispatch is a backend option and does not.
  assert.deepEqual([...fe.options], ["tcplog"]);

  assert.equal(config.backends.length, 2);
  const be = config.backends[0];
  assert.ok(be !== undefined);
  assert.equal(be.name, "be_demo");
  assert.equal(be.mode, "tcp");
  assert.deepEqual(be.balance, { algo: "roundrobin", args: [], hashType: "map-based" });
  assert.equal(be.retries, 3);
  assert.equal(be.redispatch, true);
  assert.deepEqual(be.timeouts, {
    connect: 5_000,
    client: 30_000,
    server: 30_000,
    clientFin: 5_000,
    serverFin: 5_000,
    tunnel: 3_600_000,
    httpRequest: 0,
    httpKeepAlive: 0,
    queue: 0,
    check: 0,
    tarpit: 0,
  });
  // The HTTP side: routing rules, stats, checks.
  const web = config.frontends[1]!;
  assert.equal(web.name, "fe_web");
  assert.equal(web.mode, "http");
  assert.equal(web.stats?.uri, "/stats");
  assert.equal(web.httpRequest.length, 1);
  const beWeb = config.backends[1]!;
  assert.equal(beWeb.mode, "http");
  assert.ok(beWeb.servers[0]!.check);
  assert.deepEqual(
    be.servers.map((s) => [s.name, s.address]),
    [
      ["demo1", { kind: "tcp", host: "127.0.0.1", port: 9001, family: 4 }],
      ["demo2", { kind: "tcp", host: "127.0.0.1", port: 9002, family: 4 }],
    ],
  );
});

Deno.test("every key of every keyword table appears in config.example.yaml", async () => {
  const text = await Deno.readTextFile(EXAMPLE);
  const tables = [
    GLOBAL_KEYWORDS,
    DEFAULTS_KEYWORDS,
    FRONTEND_KEYWORDS,
    BACKEND_KEYWORDS,
    SERVER_KEYWORDS,
    TIMEOUT_KEYWORDS,
    STATS_KEYWORDS,
    STATS_SOCKET_KEYWORDS,
  ];
  const keys = new Set(tables.flatMap((t) => t.map((k) => k.name)));
  // A key counts when written as "key:" live or in a comment, alone or in a flow map.
  const missing = [...keys].filter((k) => !new RegExp(`(^|[\\s{#])${k}:`, "m").test(text));
  assert.deepEqual(missing, []);
});
