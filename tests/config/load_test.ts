// Loading as a whole: every error at once, defaults inheritance, warnings,
// resolution of names and rules, the frozen result and the issue format.

import assert from "node:assert/strict";
import type { RuntimeConfig } from "../../src/config/mod.ts";
import { formatIssue, loadConfigFile, loadConfigText } from "../../src/proxy/load.ts";

function y(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

/** Loads a text that must be valid and without warnings. */
function loadClean(text: string): RuntimeConfig {
  const { config, issues } = loadConfigText(text, "cfg.yaml");
  assert.deepEqual(issues.map(formatIssue), []);
  assert.ok(config !== null);
  return config;
}

Deno.test("loadConfigText() reports every error of a file at once, in file order", () => {
  const text = y(
    "global:", // 1
    "  maxconn: 0", // 2
    "defaults:", // 3
    "  timeout: { connect: 5s, client: 30s, server: 30s }", // 4
    "  mode: htpp", // 5
    "frontends:", // 6
    "  fe_main:", // 7
    '    bind: ":8080"', // 8
    "    default_backend: be_missing", // 9
    "    maxcon: 10", // 10
    "backends:", // 11
    "  be_app:", // 12
    "    servers:", // 13
    "      - { name: s1, address: 127.0.0.1, weight: -1 }", // 14
  );
  const { config, issues } = loadConfigText(text, "cfg.yaml");
  assert.equal(config, null);
  assert.deepEqual(issues.map(formatIssue), [
    "cfg.yaml:2:12: error: global.maxconn: value 0 is out of range (expected 1 or more)",
    'cfg.yaml:5:9: error: defaults.mode: unknown mode "htpp" (did you mean "http"?)',
    'cfg.yaml:9:22: error: frontends.fe_main.default_backend: unable to find required default_backend "be_missing"',
    'cfg.yaml:10:5: error: frontends.fe_main.maxcon: unknown key "maxcon" (did you mean "maxconn"?)',
    'cfg.yaml:14:30: error: backends.be_app.servers[0].address: missing port in address "127.0.0.1" (expected HOST:PORT, [IPv6]:PORT or unix@PATH)',
    "cfg.yaml:14:49: error: backends.be_app.servers[0].weight: value -1 is out of range (expected 0..256)",
  ]);
});

Deno.test("defaults apply where a section does not set the key; timeouts and options merge", () => {
  const config = loadClean(y(
    "defaults:",
    "  mode: http",
    "  timeout: { connect: 4s, client: 40s, server: 50s, http-request: 10s, queue: 3s }",
    "  maxconn: 500",
    "  retries: 5",
    "  balance: leastconn",
    "  hash-type: consistent",
    "  http-reuse: never",
    '  option: [redispatch, httplog, "forwardfor except 127.0.0.0/8"]',
    '  log-format: "%ci %b"',
    "  log: false",
    "frontends:",
    "  fe_a:",
    '    bind: ":0"',
    "    default_backend: be_a",
    "    timeout: { client: 5s }",
    "  fe_b:",
    '    bind: ":0"',
    "    mode: tcp",
    "    maxconn: 10",
    "    log: true",
    // The tcp sections cancel the HTTP-only options they would inherit
    // (else: "option ... ignored ... as it requires mode http" warnings).
    '    option: ["no httplog", "no forwardfor", tcplog]',
    "    default_backend: be_b",
    "backends:",
    "  be_a:",
    "    timeout: { server: 1m }",
    "    option: [allbackups]",
    "  be_b:",
    "    mode: tcp",
    "    retries: 0",
    "    balance: source",
    '    option: ["no redispatch", "no forwardfor"]',
  ));
  const [feA, feB] = config.frontends;
  const [beA, beB] = config.backends;
  assert.ok(feA && feB && beA && beB);

  assert.equal(feA.mode, "http");
  assert.equal(feA.maxconn, 500);
  assert.equal(feA.timeouts.client, 5_000); // own value
  assert.equal(feA.timeouts.httpRequest, 10_000); // from defaults
  assert.deepEqual([...feA.options].sort(), ["forwardfor", "httplog"]);
  assert.deepEqual(feA.optionArgs.get("forwardfor"), ["except", "127.0.0.0/8"]);
  assert.equal(feA.logFormat?.text, "%ci %b");
  assert.equal(feA.noLog, true);

  assert.equal(feB.mode, "tcp");
  assert.equal(feB.maxconn, 10);
  assert.equal(feB.noLog, false);
  assert.deepEqual([...feB.options], ["tcplog"]);

  assert.equal(beA.mode, "http");
  assert.deepEqual(beA.balance, { algo: "leastconn", args: [], hashType: "consistent" });
  assert.equal(beA.retries, 5);
  assert.equal(beA.redispatch, true);
  assert.equal(beA.httpReuse, "never"); // from defaults; be_b (tcp) inherits it without a warning
  assert.deepEqual([...beA.options].sort(), ["allbackups", "forwardfor", "redispatch"]);
  assert.equal(beA.timeouts.connect, 4_000);
  assert.equal(beA.timeouts.server, 60_000);
  assert.equal(beA.timeouts.queue, 3_000);

  assert.deepEqual(beB.balance, { algo: "source", args: [], hashType: "consistent" });
  assert.equal(beB.retries, 0);
  assert.equal(beB.redispatch, false);
});

Deno.test("built-in defaults fill a minimal config (HAProxy's values)", () => {
  const config = loadClean(y(
    "defaults:",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "frontends:",
    "  fe:",
    '    bind: "127.0.0.1:0"',
    "    default_backend: be",
    "backends:",
    "  be:",
    "    servers:",
    "      - { name: s1, address: localhost:9001, inter: 3s }",
  ));
  assert.deepEqual(config.global, {
    maxconn: 4096,
    bufsize: 16384,
    bulkBufsize: 131072,
    largeHeadStatus: 400,
    maxrewrite: 1024,
    maxhdr: 101,
    maxaccept: 64,
    bufferLimit: 0,
    log: "stdout",
  });
  const fe = config.frontends[0];
  const be = config.backends[0];
  assert.ok(fe && be);
  assert.equal(fe.mode, "tcp");
  assert.equal(fe.maxconn, 0);
  assert.equal(fe.logFormat, null);
  assert.equal(fe.noLog, false);
  assert.equal(fe.stats, null);
  assert.deepEqual(be.balance, { algo: "roundrobin", args: [], hashType: "map-based" });
  assert.equal(be.retries, 3);
  assert.equal(be.redispatch, false);
  assert.equal(be.httpReuse, "safe");
  assert.equal(be.cookie, null);
  assert.deepEqual(be.servers[0], {
    name: "s1",
    address: { kind: "tcp", host: "localhost", port: 9001, family: 4 },
    weight: 1,
    maxconn: 0,
    maxqueue: 0,
    disabled: false,
    backup: false,
    check: false,
    inter: 3_000,
    fastinter: 3_000, // defaults to inter
    downinter: 3_000, // defaults to inter
    rise: 2,
    fall: 3,
    checkPort: null,
    checkAddr: null,
    cookie: null,
  });
});

Deno.test("missing timeouts are warnings, as in HAProxy, and the config still loads", () => {
  const { config, issues } = loadConfigText(
    y(
      "frontends:",
      "  fe_main:",
      '    bind: ":0"',
      "    default_backend: be_app",
      "backends:",
      "  be_app:",
      "    timeout: { connect: 5s }",
      "  be_other:",
      "    timeout: { server: 5s }",
    ),
    "cfg.yaml",
  );
  assert.ok(config !== null);
  assert.deepEqual(issues.map(formatIssue), [
    "cfg.yaml:2:3: warning: frontends.fe_main.timeout: missing timeouts for frontend 'fe_main': while not properly invalid, you will certainly encounter various problems with such a configuration; please set 'client' to a non-zero value",
    "cfg.yaml:6:3: warning: backends.be_app.timeout: missing timeouts for backend 'be_app': while not properly invalid, you will certainly encounter various problems with such a configuration; please set 'server' to a non-zero value",
    "cfg.yaml:8:3: warning: backends.be_other.timeout: missing timeouts for backend 'be_other': while not properly invalid, you will certainly encounter various problems with such a configuration; please set 'connect' to a non-zero value",
  ]);
});

Deno.test("keywords a side or a mode cannot use are ignored with a warning", () => {
  const { config, issues } = loadConfigText(
    y(
      "defaults:",
      "  timeout: { connect: 5s, client: 30s, server: 30s }",
      "frontends:",
      "  fe_main:",
      '    bind: ":0"',
      "    timeout: { server: 1s }",
      "    option: [redispatch, httplog]",
      '    http-request: ["deny"]',
      "    stats: { uri: /stats }",
      "    default_backend: be_app",
      "backends:",
      "  be_app:",
      "    balance: hdr(host)",
      '    cookie: "SRV insert"',
      "    http-reuse: always",
    ),
    "cfg.yaml",
  );
  assert.deepEqual(issues.map(formatIssue), [
    "cfg.yaml:6:24: warning: frontends.fe_main.timeout.server: timeout \"server\" ignored because frontend 'fe_main' has no backend capability",
    "cfg.yaml:7:14: warning: frontends.fe_main.option[0]: option \"redispatch\" ignored because frontend 'fe_main' has no backend capability",
    'cfg.yaml:7:26: warning: frontends.fe_main.option[1]: option "httplog" not usable with frontend \'fe_main\' (needs mode http), falling back to option "tcplog"',
    "cfg.yaml:8:19: warning: frontends.fe_main.http-request: \"http-request\" rules ignored for frontend 'fe_main' as they require mode http",
    "cfg.yaml:9:12: warning: frontends.fe_main.stats: \"stats\" ignored for frontend 'fe_main' as it requires mode http",
    "cfg.yaml:13:14: warning: backends.be_app.balance: layer 7 hash not possible for backend 'be_app' (needs mode http), falling back to roundrobin",
    "cfg.yaml:14:13: warning: backends.be_app.cookie: \"cookie\" ignored for backend 'be_app' as it requires mode http",
    "cfg.yaml:15:17: warning: backends.be_app.http-reuse: \"http-reuse\" ignored for backend 'be_app' as it requires mode http",
  ]);
  assert.ok(config !== null);
  const fe = config.frontends[0];
  const be = config.backends[0];
  assert.ok(fe && be);
  assert.equal(fe.timeouts.server, 30_000); // the defaults value, not the ignored 1s
  assert.deepEqual([...fe.options], ["tcplog"]);
  assert.deepEqual(fe.httpRequest, []);
  assert.equal(fe.stats, null);
  assert.deepEqual(be.balance, { algo: "roundrobin", args: [], hashType: "map-based" });
  assert.equal(be.cookie, null);
});

Deno.test("HTTP rules, ACLs and switching rules resolve with their positions", () => {
  const config = loadClean(y(
    "defaults:", // 1
    "  mode: http", // 2
    "  timeout: { connect: 5s, client: 30s, server: 30s }", // 3
    "frontends:", // 4
    "  fe_main:", // 5
    '    bind: ["127.0.0.1:0", "[::1]:0", "unix@/tmp/sluice.sock"]', // 6
    "    acl:", // 7
    "      is_api: path_beg /api", // 8
    '      is_static: ["path_end .css", "path_end .js"]', // 9
    "    use_backend:", // 10
    '      - "be_api if is_api !METH_POST"', // 11
    "      - be_static unless { src 10.0.0.0/8 } || is_static", // 12
    "      - be_api", // 13
    "    default_backend: be_static", // 14
    '    http-request: ["set-header X-Proxy sluice"]', // 15
    "    http-response: del-header Server", // 16
    '    stats: { uri: /admin/stats, refresh: 10s, auth: "admin:s3:cret", admin: true, prometheus: /metrics }',
    "backends:", // 18
    "  be_static:", // 19
    "    balance: uri len 12 depth 2 whole path-only", // 20
    '    option: ["httpchk GET /health HTTP/1.1"]', // 21
    '    http-check: ["expect status 200-399"]', // 22
    '    cookie: "SERVERID insert indirect nocache"', // 23
    "    servers:", // 24
    '      - { name: st1, address: "[::1]:9001", cookie: st1, check: true, port: 9101, addr: 127.0.0.2 }',
    "  be_api:", // 26
    '    balance: "hdr(Host) use_domain_only"', // 27
    "    http-request: [set-header X-Api yes]", // 28
  ));
  const fe = config.frontends[0];
  const [beStatic, beApi] = config.backends;
  assert.ok(fe && beStatic && beApi);
  // No backlog given: the global maxconn's default (HAProxy: the maxconn).
  assert.deepEqual(fe.binds, [
    { address: { kind: "tcp", host: "127.0.0.1", port: 0, family: 4 }, backlog: 4096 },
    { address: { kind: "tcp", host: "::1", port: 0, family: 6 }, backlog: 4096 },
    { address: { kind: "unix", path: "/tmp/sluice.sock" }, backlog: 4096 },
  ]);
  assert.deepEqual(fe.acls, [
    { name: "is_api", expr: "path_beg /api", line: 8, col: 15 },
    { name: "is_static", expr: "path_end .css", line: 9, col: 20 },
    { name: "is_static", expr: "path_end .js", line: 9, col: 37 },
  ]);
  assert.deepEqual(fe.useBackends, [
    { backend: 1, cond: "if is_api !METH_POST", line: 11, col: 10 },
    { backend: 0, cond: "unless { src 10.0.0.0/8 } || is_static", line: 12, col: 9 },
    { backend: 1, cond: "", line: 13, col: 9 },
  ]);
  assert.equal(fe.defaultBackend, 0);
  assert.deepEqual(fe.httpRequest, [{ text: "set-header X-Proxy sluice", line: 15, col: 21 }]);
  assert.deepEqual(fe.httpResponse, [{ text: "del-header Server", line: 16, col: 20 }]);
  assert.deepEqual(fe.stats, {
    uri: "/admin/stats",
    refresh: 10_000,
    auth: { user: "admin", password: "s3:cret" },
    admin: true,
    prometheusUri: "/metrics",
  });
  assert.deepEqual(beStatic.balance, {
    algo: "uri",
    args: ["len", "12", "depth", "2", "whole", "path-only"],
    hashType: "map-based",
  });
  assert.deepEqual(beStatic.optionArgs.get("httpchk"), ["GET", "/health", "HTTP/1.1"]);
  assert.deepEqual(beStatic.httpCheck, [{ text: "expect status 200-399", line: 22, col: 19 }]);
  assert.deepEqual(beStatic.cookie, {
    text: "SERVERID insert indirect nocache",
    line: 23,
    col: 14,
  });
  const srv = beStatic.servers[0];
  assert.ok(srv);
  assert.deepEqual([srv.cookie, srv.check, srv.checkPort, srv.checkAddr], [
    "st1",
    true,
    9101,
    "127.0.0.2",
  ]);
  assert.deepEqual(beApi.balance, {
    algo: "hdr",
    args: ["Host", "use_domain_only"],
    hashType: "map-based",
  });
  assert.deepEqual(beApi.httpRequest, [{ text: "set-header X-Api yes", line: 28, col: 20 }]);
});

Deno.test("the resolved config is deeply frozen", () => {
  const config = loadClean(y(
    "defaults:",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "  option: [redispatch, tcplog]",
    "frontends:",
    "  fe:",
    '    bind: ":0"',
    "    default_backend: be",
    "backends:",
    "  be:",
    "    servers: [{ name: s1, address: 127.0.0.1:9001 }]",
  ));
  const be = config.backends[0];
  assert.ok(be);
  assert.throws(() => {
    (config.global as { maxconn: number }).maxconn = 1;
  }, TypeError);
  assert.throws(() => config.backends.push(be), TypeError);
  assert.throws(() => {
    (be.servers[0] as { weight: number }).weight = 9;
  }, TypeError);
  assert.throws(() => (be.options as Set<string>).add("httpclose"), /the configuration is frozen/);
  assert.throws(() => (be.optionArgs as Map<string, string[]>).set("x", []), /frozen/);
  assert.deepEqual([...be.options], ["redispatch"]);
});

Deno.test("formatIssue() writes FILE:LINE:COL: severity: KEY.PATH: message", () => {
  assert.equal(
    formatIssue({
      severity: "error",
      file: "cfg.yaml",
      line: 7,
      col: 16,
      path: "frontends.fe_main.timeout.client",
      message: 'invalid duration "5x"',
    }),
    'cfg.yaml:7:16: error: frontends.fe_main.timeout.client: invalid duration "5x"',
  );
  assert.equal(
    formatIssue({ severity: "warning", file: "a.yaml", line: 1, col: 2, path: "", message: "m" }),
    "a.yaml:1:2: warning: m",
  );
});

Deno.test("loadConfigFile() turns an unreadable file into one error", async () => {
  const { config, issues } = await loadConfigFile("/nonexistent/sluice.yaml");
  assert.equal(config, null);
  assert.equal(issues.length, 1);
  assert.match(
    formatIssue(issues[0] as (typeof issues)[0]),
    /^\/nonexistent\/sluice\.yaml: error: cannot read the configuration file: No such file/,
  );
});

Deno.test("YAML anchors are followed and top-level x- keys hold them", () => {
  const config = loadClean(y(
    "x-timeouts: &t { connect: 5s, client: 30s, server: 30s }",
    "defaults:",
    "  timeout: *t",
    "frontends:",
    "  fe:",
    '    bind: ":0"',
  ));
  assert.equal(config.frontends[0]?.timeouts.client, 30_000);
});

Deno.test("a refused value does not cause follow-up noise (mode checks, missing timeouts)", () => {
  const { issues } = loadConfigText(
    y(
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
      "    mode: htpp",
      "    timeout: { client: 5x }",
      '    http-request: ["deny"]',
      "    default_backend: be_app",
      "backends:",
      "  be_app:",
      "    mode: http",
      "    timeout: { connect: 5s, server: 5s }",
    ),
    "cfg.yaml",
  );
  assert.deepEqual(issues.map(formatIssue), [
    'cfg.yaml:4:11: error: frontends.fe_main.mode: unknown mode "htpp" (did you mean "http"?)',
    'cfg.yaml:5:24: error: frontends.fe_main.timeout.client: invalid duration "5x" (expected a number followed by us, ms, s, m, h or d)',
  ]);
});
