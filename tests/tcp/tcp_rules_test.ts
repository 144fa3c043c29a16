// Unit tests of the tcp-request rule engine (src/tcp/tcp_rules.ts):
// configuration errors at file:line:col, HAProxy's evaluation order, the
// "more data may change the answer" wait, and the action table that other
// subsystems plug actions into.

import assert from "node:assert/strict";
import { compileAcls } from "../../src/acl/acl.ts";
import { formatIssue, loadConfigText } from "../../src/proxy/load.ts";
import {
  compileTcpRules,
  L4SampleCtx,
  registerTcpAction,
  runRules,
} from "../../src/tcp/tcp_rules.ts";
import {
  TCP_ACT_CONTINUE,
  TCP_ACT_DENY,
  TCP_ACT_STOP,
  TCP_ACT_YIELD,
  TCP_RS_CONTENT,
  type TcpRuleSubject,
} from "../../src/tcp/types.ts";

function errorsOf(fe: string[], be: string[] = []): string[] {
  const yaml = [
    "defaults:",
    "  mode: tcp",
    "  timeout: { connect: 5s, client: 30s, server: 30s }",
    "frontends:",
    "  fe:",
    '    bind: "127.0.0.1:0"',
    "    default_backend: be",
    ...(fe.length > 0 ? ["    tcp-request:", ...fe.map((l) => `      - "${l}"`)] : []),
    "backends:",
    "  be:",
    ...(be.length > 0 ? ["    tcp-request:", ...be.map((l) => `      - "${l}"`)] : []),
    "    servers:",
    "      - { name: s1, address: 127.0.0.1:9001 }",
    "",
  ].join("\n");
  return loadConfigText(yaml, "cfg.yaml").issues.map(formatIssue);
}

Deno.test("tcp-request: bad lines are errors at their line and column", () => {
  assert.deepEqual(
    errorsOf(["inspect-delay 5s", "content accept if { req.ssl_hello_type 1 }"]),
    [],
  );
  assert.deepEqual(errorsOf(["inspect-delay soon"]), [
    'cfg.yaml:9:10: error: frontends.fe.tcp-request: \'tcp-request inspect-delay\' expects a time such as "5s", got "inspect-delay soon"',
  ]);
  assert.deepEqual(errorsOf(["content acept"]), [
    "cfg.yaml:9:10: error: frontends.fe.tcp-request: unknown 'tcp-request content' action 'acept' (did you mean \"accept\"?) (supported: accept, reject, use-server)",
  ]);
  assert.deepEqual(errorsOf(["contnet accept"]), [
    "cfg.yaml:9:10: error: frontends.fe.tcp-request: unknown tcp-request rule set 'contnet' (did you mean \"content\"?) (expected inspect-delay, connection or content)",
  ]);
  assert.deepEqual(errorsOf(["connection expect-proxy layer7"]), [
    "cfg.yaml:9:10: error: frontends.fe.tcp-request: 'expect-proxy' expects 'layer4'",
  ]);
  assert.deepEqual(errorsOf(["content accept if { nope 1 }"]).length, 1);
  assert.deepEqual(errorsOf(["content accept if"]), [
    "cfg.yaml:9:10: error: frontends.fe.tcp-request: missing condition after 'if'",
  ]);
  assert.deepEqual(errorsOf(["content use-server s1"]), [
    "cfg.yaml:9:10: error: frontends.fe.tcp-request: 'tcp-request content use-server' is only allowed in a backend",
  ]);
  assert.deepEqual(errorsOf([], ["content use-server s2"]), [
    "cfg.yaml:11:10: error: backends.be.tcp-request: no server named 's2' in this backend (did you mean \"s1\"?)",
  ]);
  assert.deepEqual(errorsOf([], ["connection reject"]), [
    "cfg.yaml:11:10: error: backends.be.tcp-request: 'tcp-request connection' is not allowed in a backend (there is no connection yet)",
  ]);
});

class Subject implements TcpRuleSubject {
  readonly sample: L4SampleCtx;
  readonly stream = null;
  expectProxy = false;
  constructor(s: L4SampleCtx) {
    this.sample = s;
  }
}

function rules(lines: string[]) {
  const r = compileTcpRules(
    lines.map((text, i) => ({ text, line: i + 1, col: 1 })),
    compileAcls([]).acls,
    { backend: false, servers: [] },
  );
  assert.deepEqual(r.errors, []);
  return r.rules!;
}

const A = { ip: "192.0.2.1", port: 1000 }, B = { ip: "192.0.2.2", port: 443 };
const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

Deno.test("runRules: first match decides, unless negates, no match accepts", () => {
  const ctx = new L4SampleCtx();
  const rs = rules([
    "connection reject if { src 192.0.2.0/24 } { src_port 1000 }",
    "connection accept unless { src 192.0.2.1 }",
    "connection reject",
  ]);
  ctx.bind(A, B, null);
  assert.equal(runRules(rs.connection, new Subject(ctx), ctx, true), TCP_ACT_DENY);
  ctx.bind({ ip: "198.51.100.1", port: 1 }, B, null);
  assert.equal(runRules(rs.connection, new Subject(ctx), ctx, true), TCP_ACT_STOP);
  ctx.bind({ ip: "192.0.2.1", port: 2 }, B, null);
  assert.equal(
    runRules(rs.connection, new Subject(ctx), ctx, true),
    TCP_ACT_DENY,
    "falls to the last rule",
  );
  assert.equal(runRules([], new Subject(ctx), ctx, true), TCP_ACT_STOP, "no rule: accept");
  // expect-proxy continues with the next rules and leaves its mark.
  const ep = rules(["connection expect-proxy layer4 if { src 192.0.2.0/24 }"]);
  const sub = new Subject(ctx);
  assert.equal(runRules(ep.connection, sub, ctx, true), TCP_ACT_STOP);
  assert.equal(sub.expectProxy, true);
});

Deno.test("runRules: a rule whose fetch lacks data waits until the evaluation is final", () => {
  const ctx = new L4SampleCtx();
  const rs = rules([
    "content reject if { req.payload(0,4) -m str EVIL }",
    "content accept if { req.len ge 8 }",
    "content reject",
  ]);
  const run = (data: string, final: boolean) => {
    ctx.bind(A, B, enc(data));
    return runRules(rs.content, new Subject(ctx), ctx, final);
  };
  assert.equal(run("EV", false), TCP_ACT_YIELD, "4 bytes are needed to tell");
  assert.equal(run("EVIL", false), TCP_ACT_DENY);
  assert.equal(run("GOOD", false), TCP_ACT_YIELD, "req.len may still grow");
  assert.equal(run("GOOD-DAY", false), TCP_ACT_STOP);
  assert.equal(run("GOOD", true), TCP_ACT_DENY, "final: the last rule decides");
  assert.equal(run("EV", true), TCP_ACT_DENY);
});

Deno.test("the action table takes actions from other subsystems (a set-var stand-in)", () => {
  const seen: string[] = [];
  registerTcpAction({
    name: "test-note",
    where: TCP_RS_CONTENT,
    parse: (words) => words.length === 1 ? words[0] : { error: "'test-note' expects a word" },
    run: (arg, subject) => {
      seen.push(`${arg}:${subject.sample.src()}`);
      return TCP_ACT_CONTINUE;
    },
  });
  assert.throws(() =>
    registerTcpAction({ name: "accept", where: 0, parse: () => null, run: () => 0 })
  );
  const ctx = new L4SampleCtx().bind(A, B, enc("x"));
  const rs = rules([
    "content test-note first",
    "content test-note second if { src 10.0.0.1 }",
    "content accept",
  ]);
  assert.equal(runRules(rs.content, new Subject(ctx), ctx, true), TCP_ACT_STOP);
  assert.deepEqual(seen, ["first:192.0.2.1"]);
  // Keywords with arguments in parentheses, and families ending in `*`.
  registerTcpAction({
    name: "test-var",
    where: TCP_RS_CONTENT,
    parse: (_words, _env, kw) => kw,
    run: (arg) => {
      seen.push(String(arg));
      return TCP_ACT_CONTINUE;
    },
  });
  registerTcpAction({
    name: "test-sc*",
    where: TCP_RS_CONTENT,
    parse: (_words, _env, kw) => kw,
    run: (arg) => {
      seen.push(String(arg));
      return TCP_ACT_CONTINUE;
    },
  });
  seen.length = 0;
  const fam = rules(["content test-var(txn.x) src", "content test-sc1 src", "content accept"]);
  assert.equal(runRules(fam.content, new Subject(ctx), ctx, true), TCP_ACT_STOP);
  assert.deepEqual(seen, ["test-var(txn.x)", "test-sc1"]);
});
