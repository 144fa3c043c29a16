// Unit tests of conditions (src/acl/acl.ts compileCondition): implicit AND,
// `||` / `or`, `!`, anonymous ACLs, `unless`, multiple declarations and the
// error messages.

import assert from "node:assert/strict";
import { type AclTable, compileAcls, compileCondition, type Condition } from "../../src/acl/acl.ts";
import { parseRequestHead } from "../../src/http/h1_parse.ts";
import { HeadSampleCtx } from "../../src/http/http_fetch.ts";
import { SMP_USE_REQ, SMP_USE_RES } from "../../src/sample/types.ts";
import { HttpHead } from "../../src/http/types.ts";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function ctxOf(path: string, host = "h", src = "10.0.0.1"): HeadSampleCtx {
  const buf = enc(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  const head = new HttpHead();
  assert.ok(parseRequestHead(buf, 0, buf.length, head) > 0);
  const ctx = new HeadSampleCtx();
  ctx.setConnection(src, 1234, "10.0.0.2", 80);
  ctx.setRequest(buf, head);
  return ctx;
}

const ACLS: AclTable = (() => {
  const { acls, errors } = compileAcls([
    { name: "is_api", expr: "path_beg /api", line: 1, col: 1 },
    { name: "is_admin", expr: "path_beg /admin", line: 2, col: 1 },
    { name: "host_a", expr: "hdr(host) -i a.example", line: 3, col: 1 },
    { name: "internal", expr: "src 10.0.0.0/8", line: 4, col: 1 },
    // Two declarations of one name: OR.
    { name: "static", expr: "path_end .css", line: 5, col: 1 },
    { name: "static", expr: "path_end .js", line: 6, col: 1 },
    { name: "is_resp", expr: "res.hdr(server) -m found", line: 7, col: 1 },
  ]);
  assert.deepEqual(errors, []);
  return acls;
})();

function cond(text: string): Condition {
  const c = compileCondition(text, ACLS);
  if ("error" in c) throw new Error(c.error);
  return c;
}

function condError(text: string): string {
  const c = compileCondition(text, ACLS);
  assert.ok("error" in c, `expected an error for '${text}'`);
  return c.error;
}

Deno.test("a single ACL, with and without 'if'", () => {
  assert.ok(cond("if is_api").eval(ctxOf("/api/x")));
  assert.ok(cond("is_api").eval(ctxOf("/api/x")));
  assert.ok(!cond("if is_api").eval(ctxOf("/x")));
});

Deno.test("'unless' negates the whole condition", () => {
  assert.ok(!cond("unless is_api").eval(ctxOf("/api/x")));
  assert.ok(cond("unless is_api").eval(ctxOf("/x")));
  assert.ok(cond("unless is_api || is_admin").eval(ctxOf("/x")));
  assert.ok(!cond("unless is_api || is_admin").eval(ctxOf("/admin")));
});

Deno.test("terms are ANDed", () => {
  const c = cond("if is_api host_a");
  assert.ok(c.eval(ctxOf("/api", "A.EXAMPLE")));
  assert.ok(!c.eval(ctxOf("/api", "b.example")));
  assert.ok(!c.eval(ctxOf("/x", "a.example")));
});

Deno.test("'||' and 'or' separate OR branches; AND binds tighter", () => {
  for (const op of ["||", "or"]) {
    const c = cond(`if is_api host_a ${op} is_admin`);
    assert.ok(c.eval(ctxOf("/api", "a.example")));
    assert.ok(!c.eval(ctxOf("/api", "b.example")));
    assert.ok(c.eval(ctxOf("/admin", "b.example")));
    assert.ok(!c.eval(ctxOf("/x", "a.example")));
  }
});

Deno.test("'!' negates one term, glued or separate", () => {
  assert.ok(cond("if !is_api").eval(ctxOf("/x")));
  assert.ok(!cond("if !is_api").eval(ctxOf("/api")));
  assert.ok(cond("if ! is_api").eval(ctxOf("/x")));
  assert.ok(cond("if is_api !host_a").eval(ctxOf("/api", "b")));
  assert.ok(!cond("if is_api !host_a").eval(ctxOf("/api", "a.example")));
  assert.ok(cond("if !!is_api").eval(ctxOf("/api")));
});

Deno.test("anonymous ACLs in braces", () => {
  assert.ok(cond("if { path_beg /api }").eval(ctxOf("/api/x")));
  assert.ok(!cond("if { path_beg /api }").eval(ctxOf("/x")));
  assert.ok(cond("if !{ path_beg /api }").eval(ctxOf("/x")));
  assert.ok(cond("if ! { path_beg /api }").eval(ctxOf("/x")));
  assert.ok(cond("if { hdr(host) -i a.example } { path /x }").eval(ctxOf("/x", "A.example")));
  assert.ok(cond("if { path /nope } || { src 10.0.0.0/8 }").eval(ctxOf("/x")));
  assert.ok(cond('if { hdr(host) -m sub "a b" } || TRUE').eval(ctxOf("/x")));
  // A regex quantifier inside braces.
  assert.ok(cond("if { path_reg ^/a{2}$ }").eval(ctxOf("/aa")));
});

Deno.test("several declarations of one name OR together", () => {
  const c = cond("if static");
  assert.ok(c.eval(ctxOf("/a.css")));
  assert.ok(c.eval(ctxOf("/a.js")));
  assert.ok(!c.eval(ctxOf("/a.html")));
});

Deno.test("predefined ACLs in conditions", () => {
  assert.ok(cond("if METH_GET LOCALHOST").eval(ctxOf("/", "h", "127.0.0.1")));
  assert.ok(!cond("if METH_GET LOCALHOST").eval(ctxOf("/", "h", "10.0.0.1")));
  assert.ok(cond("if HTTP_1.1 TRUE !FALSE").eval(ctxOf("/")));
});

Deno.test("an empty condition is always true", () => {
  assert.ok(cond("").eval(ctxOf("/x")));
  assert.ok(cond("   ").eval(ctxOf("/x")));
});

Deno.test("uses and resFetch describe what the condition reads", () => {
  const c = cond("if is_api || is_resp");
  assert.ok((c.uses & SMP_USE_REQ) !== 0);
  assert.ok((c.uses & SMP_USE_RES) !== 0);
  assert.equal(c.resFetch, "res.hdr(server)");
  assert.equal(cond("if is_api").resFetch, null);
  assert.equal(cond("if { status 200 }").resFetch, "status");
});

Deno.test("errors name the offending token", () => {
  assert.equal(condError("if foo"), "ACL 'foo' is not declared");
  assert.match(condError("if is_apy"), /ACL 'is_apy' is not declared \(did you mean "is_api"\?\)/);
  assert.match(condError("if METH_GTE"), /did you mean "METH_GET"/);
  assert.match(condError("if path_beg"), /anonymous ACL: '\{ path_beg \.\.\. \}'/);
  assert.equal(condError("if"), "missing condition after 'if'");
  assert.equal(condError("unless"), "missing condition after 'unless'");
  assert.equal(condError("if is_api ||"), "missing term after '||'");
  assert.equal(condError("if || is_api"), "'||' without a term before it");
  assert.equal(condError("if is_api !"), "'!' at the end of the condition");
  assert.match(condError("if { path_beg /a"), /missing '\}'/);
  assert.match(condError("if {path_beg /a }"), /missing space after '\{'/);
  assert.equal(condError("if }"), "unexpected '}' without '{'");
  assert.equal(condError("if { }"), "empty anonymous ACL '{ }'");
  assert.match(
    condError("if { pth /a }"),
    /anonymous ACL: unknown fetch method 'pth' \(did you mean "path"\?\)/,
  );
  assert.match(condError("if { path_reg ( }"), /invalid regex '\('/);
});
