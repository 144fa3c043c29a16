// Broken configurations: each one must be refused with exactly the message,
// line and column a user would need to fix it.

import assert from "node:assert/strict";
import { formatIssue, loadConfigText } from "../../src/proxy/load.ts";

/** Joins lines into a YAML text, so that line numbers can be read off the array. */
function y(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

// Lines 1-2 of most cases: every timeout HAProxy wants is set, so that no
// "missing timeouts" warning hides among the expected messages.
const TIMEOUTS = ["defaults:", "  timeout: { connect: 5s, client: 30s, server: 30s }"];
const FE_APP = ["frontends:", "  fe_main:", '    bind: ":8080"', "    default_backend: be_app"];
const BE_APP = [
  "backends:",
  "  be_app:",
  "    servers:",
  "      - { name: s1, address: 127.0.0.1:9001 }",
];

const CASES: Array<{ name: string; yaml: string; expected: string[] }> = [
  {
    name: "bad duration",
    yaml: y(
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
      "    timeout:",
      "      client: 5x",
    ),
    expected: [
      'cfg.yaml:7:15: error: frontends.fe_main.timeout.client: invalid duration "5x" (expected a number followed by us, ms, s, m, h or d)',
    ],
  },
  {
    name: "misspelt key",
    yaml: y(
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
      "    defualt_backend: be_app",
      ...BE_APP,
    ),
    expected: [
      'cfg.yaml:6:5: error: frontends.fe_main.defualt_backend: unknown key "defualt_backend" (did you mean "default_backend"?)',
    ],
  },
  {
    name: "default_backend names a missing backend",
    yaml: y(
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
      "    default_backend: be_ap",
      ...BE_APP,
    ),
    expected: [
      'cfg.yaml:6:22: error: frontends.fe_main.default_backend: unable to find required default_backend "be_ap" (did you mean "be_app"?)',
    ],
  },
  {
    name: "use_backend names a missing backend",
    yaml: y(
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
      '    use_backend: ["be_nope"]',
      ...BE_APP,
    ),
    expected: [
      'cfg.yaml:6:20: error: frontends.fe_main.use_backend[0]: unable to find required use_backend "be_nope"',
    ],
  },
  {
    name: "tcp frontend with an http default_backend",
    yaml: y(...TIMEOUTS, ...FE_APP, "backends:", "  be_app:", "    mode: http"),
    expected: [
      "cfg.yaml:6:22: error: frontends.fe_main.default_backend: tcp frontend 'fe_main' tries to use incompatible http backend 'be_app' in a 'default_backend' rule (see 'mode')",
    ],
  },
  {
    name: "http frontend with a tcp use_backend",
    yaml: y(
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      "    mode: http",
      '    bind: ":8080"',
      "    use_backend:",
      "      - be_app if TRUE",
      ...BE_APP,
    ),
    expected: [
      "cfg.yaml:8:9: error: frontends.fe_main.use_backend[0]: http frontend 'fe_main' tries to use incompatible tcp backend 'be_app' in a 'use_backend' rule (see 'mode')",
    ],
  },
  {
    name: "bind address without a port",
    yaml: y(...TIMEOUTS, "frontends:", "  fe_main:", '    bind: [":8080", "127.0.0.1"]'),
    expected: [
      'cfg.yaml:5:21: error: frontends.fe_main.bind[1]: missing port in address "127.0.0.1" (expected HOST:PORT, [IPv6]:PORT or unix@PATH)',
    ],
  },
  {
    name: "bind port out of range",
    yaml: y(...TIMEOUTS, "frontends:", "  fe_main:", '    bind: "[::1]:70000"'),
    expected: [
      'cfg.yaml:5:11: error: frontends.fe_main.bind: invalid port "70000" in address "[::1]:70000" (expected 0..65535)',
    ],
  },
  {
    name: "server weight out of range",
    yaml: y(
      ...TIMEOUTS,
      ...FE_APP,
      "backends:",
      "  be_app:",
      "    servers:",
      "      - { name: s1, address: 127.0.0.1:9001 }",
      "      - { name: s2, address: 127.0.0.1:9002, weight: 300 }",
    ),
    expected: [
      "cfg.yaml:11:54: error: backends.be_app.servers[1].weight: value 300 is out of range (expected 0..256)",
    ],
  },
  {
    name: "duplicate server name",
    yaml: y(
      ...TIMEOUTS,
      ...FE_APP,
      "backends:",
      "  be_app:",
      "    servers:",
      "      - name: s1",
      "        address: 127.0.0.1:9001",
      "      - name: s1",
      "        address: 127.0.0.1:9002",
    ),
    expected: [
      'cfg.yaml:12:15: error: backends.be_app.servers[1].name: duplicate server name "s1" (first defined at line 10)',
    ],
  },
  {
    name: "server port 0",
    yaml: y(
      ...TIMEOUTS,
      ...FE_APP,
      "backends:",
      "  be_app:",
      "    servers:",
      "      - { name: s1, address: 127.0.0.1:0 }",
    ),
    expected: [
      'cfg.yaml:10:30: error: backends.be_app.servers[0].address: invalid port "0" in address "127.0.0.1:0" (expected 1..65535)',
    ],
  },
  {
    name: "boolean written as yes",
    yaml: y(
      ...TIMEOUTS,
      ...FE_APP,
      "backends:",
      "  be_app:",
      "    servers:",
      "      - { name: s1, address: 127.0.0.1:9001, check: yes }",
    ),
    expected: [
      'cfg.yaml:10:53: error: backends.be_app.servers[0].check: expected true or false, got "yes"',
    ],
  },
  {
    name: "unknown balance algorithm",
    yaml: y(...TIMEOUTS, ...FE_APP, "backends:", "  be_app:", "    balance: roundrobbin"),
    expected: [
      'cfg.yaml:9:14: error: backends.be_app.balance: unknown balance algorithm "roundrobbin" (did you mean "roundrobin"?)',
    ],
  },
  {
    name: "bad balance argument",
    yaml: y(...TIMEOUTS, ...FE_APP, "backends:", "  be_app:", "    balance: uri len 0"),
    expected: [
      'cfg.yaml:9:14: error: backends.be_app.balance: balance uri: "len" expects a positive integer, got "0"',
    ],
  },
  {
    name: "unknown option",
    yaml: y(
      ...TIMEOUTS,
      ...FE_APP,
      "backends:",
      "  be_app:",
      "    option: [allbackups, redispach]",
    ),
    expected: [
      'cfg.yaml:9:26: error: backends.be_app.option[1]: unknown option "redispach" (did you mean "redispatch"?)',
    ],
  },
  {
    name: "unsupported option",
    yaml: y(...TIMEOUTS, ...FE_APP, "backends:", "  be_app:", "    option: splice-auto"),
    expected: [
      'cfg.yaml:9:13: error: backends.be_app.option: unknown option "splice-auto" (supported: redispatch, tcplog, httplog, dontlognull, http-server-close, httpclose, http-keep-alive, forwardfor, httpchk, allbackups, abortonclose, log-health-checks, tcp-check, idle-close-on-response)',
    ],
  },
  {
    name: "bad option argument",
    yaml: y(
      ...TIMEOUTS,
      ...FE_APP,
      "backends:",
      "  be_app:",
      '    option: ["httpchk get /health"]',
    ),
    expected: [
      'cfg.yaml:9:14: error: backends.be_app.option[0]: invalid method "get" in option "httpchk" (expected an upper-case HTTP method)',
    ],
  },
  {
    name: "unknown mode",
    yaml: y(...TIMEOUTS, "frontends:", "  fe_main:", '    bind: ":8080"', "    mode: htpp"),
    expected: [
      'cfg.yaml:6:11: error: frontends.fe_main.mode: unknown mode "htpp" (did you mean "http"?)',
    ],
  },
  {
    name: "unknown http-reuse mode",
    yaml: y(
      ...TIMEOUTS,
      ...FE_APP,
      "backends:",
      "  be_app:",
      "    http-reuse: allways",
      "    servers:",
      "      - { name: s1, address: 127.0.0.1:9001 }",
    ),
    expected: [
      'cfg.yaml:9:17: error: backends.be_app.http-reuse: unknown http-reuse mode "allways" (did you mean "always"?)',
    ],
  },
  {
    name: "bad size",
    yaml: y(
      "global:",
      "  bufsize: 16q",
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
    ),
    expected: [
      'cfg.yaml:2:12: error: global.bufsize: invalid size "16q" (expected a number optionally followed by k, m or g)',
    ],
  },
  {
    name: "maxrewrite not below half of bufsize",
    yaml: y(
      "global:",
      "  bufsize: 2k",
      "  maxrewrite: 1k",
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
    ),
    expected: [
      "cfg.yaml:3:15: error: global.maxrewrite: maxrewrite (1k) must be less than half of bufsize (2k)",
    ],
  },
  {
    name: "duration too large",
    yaml: y(...TIMEOUTS, ...FE_APP, "backends:", "  be_app:", "    timeout: { queue: 30d }"),
    expected: [
      'cfg.yaml:9:23: error: backends.be_app.timeout.queue: duration "30d" is too large (maximum 2147483647ms, about 24 days)',
    ],
  },
  {
    name: "integer written as a word",
    yaml: y(...TIMEOUTS, ...FE_APP, "backends:", "  be_app:", "    retries: three"),
    expected: ['cfg.yaml:9:14: error: backends.be_app.retries: expected an integer, got "three"'],
  },
  {
    name: "map expected",
    yaml: y(...TIMEOUTS, "frontends:", "  fe_main:", '    bind: ":8080"', "    timeout: 30s"),
    expected: ['cfg.yaml:6:14: error: frontends.fe_main.timeout: expected a map, got "30s"'],
  },
  {
    name: "frontend without bind",
    yaml: y(...TIMEOUTS, "frontends:", "  fe_main:", "    mode: tcp"),
    expected: ['cfg.yaml:4:3: error: frontends.fe_main.bind: missing required key "bind"'],
  },
  {
    name: "no frontend",
    yaml: y(...TIMEOUTS, ...BE_APP),
    expected: ["cfg.yaml:1:1: error: frontends: no frontend defined"],
  },
  {
    name: "empty frontends",
    yaml: y(...TIMEOUTS, "frontends: {}"),
    expected: ["cfg.yaml:3:1: error: frontends: no frontend defined"],
  },
  {
    name: "YAML syntax error",
    yaml: y(...TIMEOUTS, "frontends:", "  fe_main:", '    bind: [":8080"', "  fe_two: {}"),
    expected: [
      "cfg.yaml:6:3: error: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ],
  },
  {
    name: "duplicate frontend name",
    yaml: y(
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
      "  fe_main:",
      '    bind: ":8081"',
    ),
    expected: [
      'cfg.yaml:6:3: error: frontends.fe_main: duplicate key "fe_main" (first defined at line 4)',
    ],
  },
  {
    name: "undeclared ACL in a use_backend condition",
    yaml: y(
      ...TIMEOUTS,
      "frontends:",
      "  fe_main:",
      '    bind: ":8080"',
      "    acl: { is_api: path_beg /api }",
      '    use_backend: ["be_app if is_apii"]',
      ...BE_APP,
    ),
    expected: [
      'cfg.yaml:7:20: error: frontends.fe_main.use_backend[0]: no such ACL "is_apii" (did you mean "is_api"?)',
    ],
  },
  {
    name: "backend keyword in a frontend",
    yaml: y(...TIMEOUTS, "frontends:", "  fe_main:", '    bind: ":8080"', "    balance: leastconn"),
    expected: [
      'cfg.yaml:6:5: error: frontends.fe_main.balance: keyword "balance" is not allowed in a frontend (allowed in: defaults, backends)',
    ],
  },
  {
    name: "unquoted *:port read as a YAML alias",
    yaml: y(...TIMEOUTS, "frontends:", "  fe_main:", "    bind: *:8080"),
    expected: [
      'cfg.yaml:5:11: error: frontends.fe_main.bind: unknown YAML alias "*:8080" (quote values that start with "*", e.g. "*:8080")',
    ],
  },
  {
    name: "two frontends on one address",
    yaml: y(
      ...TIMEOUTS,
      "frontends:",
      "  fe_a:",
      "    bind: 127.0.0.1:8080",
      "  fe_b:",
      "    bind: 127.0.0.1:8080",
    ),
    expected: [
      "cfg.yaml:7:11: error: frontends.fe_b.bind: address \"127.0.0.1:8080\" is already bound by frontend 'fe_a' (line 5)",
    ],
  },
  {
    name: "a UTF-8 BOM before line 1 (not counted as a column)",
    yaml: "\uFEFF" + y("global: { maxconn: x }", ...TIMEOUTS, ...FE_APP, ...BE_APP),
    expected: ['cfg.yaml:1:20: error: global.maxconn: expected an integer, got "x"'],
  },
  {
    name: "a bad log-format (at its value)",
    yaml: y(...TIMEOUTS, ...FE_APP, '    log-format: "%{bogus"', ...BE_APP),
    expected: [
      'cfg.yaml:7:18: error: frontends.fe_main.log-format: Unclosed "{" in log-format at offset 0',
    ],
  },
  {
    name: "rule and errorfile errors next to a validation error (one run)",
    yaml: y(
      "global: { maxconn: x }",
      "defaults:",
      "  mode: http",
      "  timeout: { connect: 5s, client: 30s, server: 30s }",
      ...FE_APP,
      '    http-request: "frobnicate now"',
      '    errorfile: "999 /nonexistent.html"',
      '    use_backend: ["nope if is_apii"]',
      ...BE_APP,
    ),
    expected: [
      'cfg.yaml:1:20: error: global.maxconn: expected an integer, got "x"',
      "cfg.yaml:9:20: error: frontends.fe_main.http-request: http-request: unknown action 'frobnicate'",
      "cfg.yaml:10:17: error: frontends.fe_main.errorfile[0]: errorfile: status 999 is not one the proxy produces (400, 401, 403, 408, 413, 414, 431, 500, 501, 502, 503, 504)",
      // The compile pass's "ACL 'is_apii' is not declared" at the same place is not repeated.
      'cfg.yaml:11:20: error: frontends.fe_main.use_backend[0]: no such ACL "is_apii"',
      'cfg.yaml:11:20: error: frontends.fe_main.use_backend[0]: unable to find required use_backend "nope"',
    ],
  },
];

for (const c of CASES) {
  Deno.test(`loadConfigText() refuses a config with: ${c.name}`, () => {
    const { config, issues } = loadConfigText(c.yaml, "cfg.yaml");
    assert.deepEqual(issues.map(formatIssue), c.expected);
    assert.equal(config, null);
  });
}
