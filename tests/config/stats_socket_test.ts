// `global: { stats: ... }`, the runtime API socket: accepted forms, defaults,
// and refusals with the position of the bad value.

import assert from "node:assert/strict";
import { formatIssue, loadConfigText } from "../../src/proxy/load.ts";

function y(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

const REST = [
  "defaults:",
  "  timeout: { connect: 5s, client: 30s, server: 30s }",
  "frontends:",
  "  fe:",
  '    bind: "127.0.0.1:8080"',
  "    default_backend: be",
  "backends:",
  "  be:",
  "    servers:",
  "      - { name: s1, address: 127.0.0.1:9001 }",
];

Deno.test("stats socket: a unix path with mode and level, and HAProxy's defaults", () => {
  let r = loadConfigText(
    y("global:", "  stats: { socket: /run/sluice.sock, mode: 660, level: admin }", ...REST),
    "cfg.yaml",
  );
  assert.deepEqual(r.issues.map(formatIssue), []);
  assert.deepEqual(r.config!.global.statsSocket, {
    address: { kind: "unix", path: "/run/sluice.sock" },
    mode: 0o660,
    level: "admin",
    timeout: 10_000,
    maxconn: 10,
  });
  r = loadConfigText(y("global:", "  stats: { socket: unix@/tmp/a.sock }", ...REST), "cfg.yaml");
  assert.deepEqual(r.config!.global.statsSocket, {
    address: { kind: "unix", path: "/tmp/a.sock" },
    mode: 0o600,
    level: "operator",
    timeout: 10_000,
    maxconn: 10,
  });
  r = loadConfigText(
    y("global:", '  stats: { socket: "ipv4@127.0.0.1:9999", timeout: 1m, maxconn: 3 }', ...REST),
    "cfg.yaml",
  );
  assert.deepEqual(r.config!.global.statsSocket!.address, {
    kind: "tcp",
    host: "127.0.0.1",
    port: 9999,
    family: 4,
  });
  assert.equal(r.config!.global.statsSocket!.timeout, 60_000);
  r = loadConfigText(y("global:", "  maxconn: 10", ...REST), "cfg.yaml");
  assert.equal(r.config!.global.statsSocket, undefined);
});

Deno.test("stats socket: refused values name the key, the line and the column", () => {
  const r = loadConfigText(
    y(
      "global:",
      "  stats:",
      '    socket: "10.0.0.1:9999"',
      "    mode: 800",
      "    level: root",
      ...REST,
    ),
    "cfg.yaml",
  );
  assert.equal(r.config, null);
  assert.deepEqual(r.issues.map(formatIssue), [
    'cfg.yaml:3:13: error: global.stats.socket: the stats socket listens on loopback only (127.0.0.1 or [::1]), got "10.0.0.1:9999"',
    "cfg.yaml:4:11: error: global.stats.mode: value 800 is out of range (expected 0..777)",
    'cfg.yaml:5:12: error: global.stats.level: unknown level "root" (expected user, operator or admin)',
  ]);
  const r2 = loadConfigText(y("global:", "  stats: { mode: 690 }", ...REST), "cfg.yaml");
  assert.deepEqual(r2.issues.map(formatIssue), [
    'cfg.yaml:2:10: error: global.stats.socket: missing required key "socket"',
    "cfg.yaml:2:18: error: global.stats.mode: mode must be octal digits (e.g. 600), got 690",
  ]);
});
