// Bind lines with options (`"ADDRESS backlog N"`): the accept queue length
// defaults to the frontend's maxconn, else the global one (HAProxy), and a
// bad option is refused at its file:line:col.

import assert from "node:assert/strict";
import { formatIssue, loadConfigText } from "../../src/proxy/load.ts";

function y(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

function load(bind: string, feExtra: string[] = [], global: string[] = []) {
  return loadConfigText(
    y(
      ...(global.length > 0 ? ["global:", ...global] : []),
      "defaults:",
      "  timeout: { connect: 5s, client: 30s, server: 30s }",
      "frontends:",
      "  fe:",
      `    bind: ${bind}`,
      ...feExtra,
      "    default_backend: be",
      "backends:",
      "  be:",
      "    servers:",
      "      - { name: s1, address: 127.0.0.1:9001 }",
    ),
    "cfg.yaml",
  );
}

Deno.test("bind: backlog defaults to the frontend's maxconn, else the global maxconn", () => {
  const a = load('"127.0.0.1:8080"', ["    maxconn: 100"]);
  assert.deepEqual(a.issues.map(formatIssue), []);
  assert.equal(a.config!.frontends[0]!.binds[0]!.backlog, 100);
  const b = load('"127.0.0.1:8080"', [], ["  maxconn: 250"]);
  assert.equal(b.config!.frontends[0]!.binds[0]!.backlog, 250);
});

Deno.test("bind: an explicit backlog wins, per bind line", () => {
  const { config, issues } = load('["127.0.0.1:8080 backlog 16", ":8081"]', ["    maxconn: 100"]);
  assert.deepEqual(issues.map(formatIssue), []);
  const binds = config!.frontends[0]!.binds;
  assert.deepEqual(binds.map((b) => [b.address.kind === "tcp" && b.address.port, b.backlog]), [
    [8080, 16],
    [8081, 100],
  ]);
});

Deno.test("bind: bad options are refused at their line and column", () => {
  const cases: Array<[string, string]> = [
    [
      '"127.0.0.1:8080 backlog"',
      'cfg.yaml:5:11: error: frontends.fe.bind: bind option "backlog" expects 1 argument(s) in "127.0.0.1:8080 backlog"',
    ],
    [
      '"127.0.0.1:8080 backlog 0"',
      'cfg.yaml:5:11: error: frontends.fe.bind: invalid backlog "0" (expected an integer from 1 to 65535)',
    ],
    [
      '"127.0.0.1:8080 backlog x1"',
      'cfg.yaml:5:11: error: frontends.fe.bind: invalid backlog "x1" (expected an integer from 1 to 65535)',
    ],
    [
      '["127.0.0.1:8080", "127.0.0.1:8081 backlgo 5"]',
      'cfg.yaml:5:30: error: frontends.fe.bind[1]: unknown bind option "backlgo" in "127.0.0.1:8081 backlgo 5" (supported: backlog, ssl, crt, crt-list, alpn, ssl-min-ver, verify, ca-file, accept-proxy, proto)',
    ],
    [
      '"127.0.0.1:8080 backlog 5 backlog 6"',
      'cfg.yaml:5:11: error: frontends.fe.bind: bind option "backlog" given twice in "127.0.0.1:8080 backlog 5 backlog 6"',
    ],
  ];
  for (const [bind, msg] of cases) {
    const { config, issues } = load(bind);
    assert.deepEqual(issues.map(formatIssue), [msg], bind);
    assert.equal(config, null);
  }
});

Deno.test("bind: proto h2 is kept on its bind; global h2.* keys resolve, the others default", () => {
  const a = loadConfigText(
    y(
      "global:",
      "  h2.max-concurrent-streams: 7",
      "  h2.settings-timeout: 3s",
      "defaults:",
      "  mode: http",
      "  timeout: { connect: 5s, client: 30s, server: 30s }",
      "frontends:",
      '  fe: { bind: ["127.0.0.1:8080 proto h2", "127.0.0.1:8081"], default_backend: be }',
      "backends:",
      "  be: { servers: [ { name: s1, address: 127.0.0.1:9001 } ] }",
    ),
    "cfg.yaml",
  );
  assert.deepEqual(a.issues.map(formatIssue), []);
  const binds = a.config!.frontends[0]!.binds;
  assert.equal(binds[0]!.proto, "h2");
  assert.equal(binds[1]!.proto, undefined);
  const h2 = a.config!.global.h2!;
  assert.equal(h2.maxConcurrentStreams, 7);
  assert.equal(h2.settingsTimeout, 3000);
  assert.equal(h2.initialWindowSize, 65535);
  const b = load('"127.0.0.1:8080 proto h3"');
  assert.match(
    b.issues.map(formatIssue).join("\n"),
    /cfg\.yaml:\d+:\d+: error: .*unsupported bind proto "h3"/,
  );
});

Deno.test("bind: proto h2 on a TCP frontend is an error at its line and column", () => {
  const a = load('"127.0.0.1:8080 proto h2"', ["    mode: tcp"]);
  assert.match(
    a.issues.map(formatIssue).join("\n"),
    /cfg\.yaml:\d+:\d+: error: frontends\.fe\.bind(\[0\])?: bind option "proto h2" requires mode http/,
  );
});
