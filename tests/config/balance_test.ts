// The `balance` arguments have one reader (src/config/balance.ts): a YAML file
// and a configuration built in code get the same verdict and the same words,
// the compile pass hands each backend its compiled arguments, and nothing
// builds a balancer from arguments it did not compile.

import assert from "node:assert/strict";
import { Backend } from "../../src/backend/backend.ts";
import { balanceArgsError } from "../../src/config/balance.ts";
import { compileConfig } from "../../src/proxy/compile.ts";
import { formatIssue, loadConfigText } from "../../src/proxy/load.ts";
import type { BalanceAlgo } from "../../src/config/types.ts";
import { backend, runtimeConfig, server } from "../_helpers/runtime_config.ts";

/** The error of a one-backend HTTP configuration whose balance line is `value`. */
function yamlError(value: string): string {
  const yaml = [
    "defaults:",
    "  mode: http",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "backends:",
    "  be_app:",
    `    balance: ${JSON.stringify(value)}`,
    "    servers:",
    "      - { name: s1, address: 127.0.0.1:9001 }",
    "frontends:",
    "  fe_main:",
    '    bind: "127.0.0.1:8080"',
    "    default_backend: be_app",
  ].join("\n") + "\n";
  const errors = loadConfigText(yaml, "cfg.yaml").issues.filter((i) => i.severity === "error");
  assert.equal(errors.length, 1, errors.map(formatIssue).join("\n"));
  return formatIssue(errors[0]!);
}

Deno.test("a bad balance argument reads the same from YAML and from a config built in code", () => {
  const cases: [string, BalanceAlgo, string[]][] = [
    ["leastconn x", "leastconn", ["x"]],
    ["uri len", "uri", ["len"]],
    ["uri len 0", "uri", ["len", "0"]],
    ["uri depth 01", "uri", ["depth", "01"]],
    ["uri full", "uri", ["full"]],
    ["url_param", "url_param", []],
    ["url_param id other", "url_param", ["id", "other"]],
    ["url_param id check_post", "url_param", ["id", "check_post"]],
    ["hdr()", "hdr", [""]],
    ["hdr(Host) domain", "hdr", ["Host", "domain"]],
    ["random(0)", "random", ["0"]],
  ];
  for (const [value, algo, args] of cases) {
    const inCode = balanceArgsError({ algo, args, hashType: "map-based" });
    assert.ok(inCode !== null, value);
    assert.equal(yamlError(value), `cfg.yaml:6:14: error: backends.be_app.balance: ${inCode}`);
  }
});

Deno.test("where the parentheses go is the YAML spelling's own check", () => {
  assert.match(yamlError("uri(12)"), /balance "uri" takes no argument in parentheses$/);
  assert.match(yamlError("random 3"), /balance "random" takes no argument \(use random\(N\)\)$/);
  assert.match(yamlError("hdr Host"), /balance hdr: missing header name/);
});

Deno.test("compileConfig compiles each backend's balance arguments, and reports bad ones", () => {
  const ok = runtimeConfig([], [
    backend("be_uri", [server("s1", 9001)], {
      mode: "http",
      balance: { algo: "uri", args: ["len", "12", "whole"], hashType: "consistent" },
    }),
    backend("be_hdr", [server("s1", 9001)], {
      mode: "http",
      balance: { algo: "hdr", args: ["X-Key", "use_domain_only"], hashType: "map-based" },
    }),
  ]);
  const c = compileConfig(ok, undefined);
  assert.deepEqual(c.issues, []);
  assert.deepEqual(c.compiled.backends.map((b) => b.balance), [
    {
      algo: "uri",
      hashType: "consistent",
      draws: 2,
      uri: { len: 12, depth: 0, whole: true, pathOnly: false },
      param: "",
      header: "",
      domainOnly: false,
    },
    {
      algo: "hdr",
      hashType: "map-based",
      draws: 2,
      uri: { len: 0, depth: 0, whole: false, pathOnly: false },
      param: "",
      header: "x-key",
      domainOnly: true,
    },
  ]);

  const bad = runtimeConfig([], [
    backend("be_app", [server("s1", 9001)], {
      balance: { algo: "random", args: ["two"], hashType: "map-based" },
    }),
  ]);
  assert.deepEqual(compileConfig(bad, undefined).issues.map(formatIssue), [
    'test.yaml: error: backends.be_app.balance: balance random: the number of random draws must be a positive integer, got "two"',
  ]);
});

Deno.test("a backend built without its compiled config refuses balance arguments", () => {
  const plain = backend("be_rr", [server("s1", 9001)]);
  assert.equal(
    new Backend(0, plain).assign({ src: "", uri: null, header: () => null }, null)?.name,
    "s1",
  );
  const withArgs = backend("be_uri", [server("s1", 9001)], {
    balance: { algo: "uri", args: ["whole"], hashType: "map-based" },
  });
  assert.throws(() => new Backend(0, withArgs), /balance arguments need the compiled config/);
});
