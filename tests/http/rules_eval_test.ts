// Unit tests of src/http/http_rules.ts evaluation: every action with and
// without its condition, verdicts (allow, deny, return, redirect), edits seen
// by later rules, response rules, and option forwardfor parsing.

import assert from "node:assert/strict";
import { type AclTable, compileAcls } from "../../src/acl/acl.ts";
import { parseRequestHead, parseResponseHead } from "../../src/http/h1_parse.ts";
import { HeadEditor } from "../../src/http/head_editor.ts";
import {
  cidrListMatch,
  compileRules,
  evalRules,
  forwardforHeader,
  type Rule,
  rulesUseRequest,
  type RuleVerdict,
} from "../../src/http/http_rules.ts";
import { HeadSampleCtx } from "../../src/http/http_fetch.ts";
import { HttpHead, METH_GET } from "../../src/http/types.ts";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

const ACLS: AclTable = (() => {
  const { acls, errors } = compileAcls([
    { name: "is_api", expr: "path_beg /api", line: 1, col: 1 },
    { name: "is_admin", expr: "path_beg /admin", line: 2, col: 1 },
    { name: "internal", expr: "src 10.0.0.0/8 ::1", line: 3, col: 1 },
  ]);
  assert.deepEqual(errors, []);
  return acls;
})();

function rules(side: "request" | "response", ...lines: string[]): Rule[] {
  const { rules, errors } = compileRules(
    lines.map((text, i) => ({ text, line: i + 10, col: 7 })),
    ACLS,
    side,
  );
  assert.deepEqual(errors, []);
  return rules;
}

interface Run {
  verdict: RuleVerdict;
  head: string;
  ctx: HeadSampleCtx;
  ed: HeadEditor;
}

/** Runs request rules on `reqText`; returns the verdict and the serialized head. */
function runReq(reqText: string, lines: string[], src = "10.1.1.1"): Run {
  const buf = enc(reqText);
  const head = new HttpHead();
  assert.ok(parseRequestHead(buf, 0, buf.length, head) > 0, head.errorReason);
  const ed = new HeadEditor();
  ed.reset(buf, head);
  const ctx = new HeadSampleCtx();
  ctx.setConnection(src, 5555, "10.9.9.9", 8080);
  ctx.setRequest(buf, head, ed);
  const verdict = evalRules(rules("request", ...lines), ctx, ed);
  return { verdict, head: dec(ed.serialize()), ctx, ed };
}

/** Runs response rules; the request may have been kept and its buffer wiped. */
function runRes(reqText: string, resText: string, lines: string[]): Run {
  const buf = enc(reqText);
  const head = new HttpHead();
  assert.ok(parseRequestHead(buf, 0, buf.length, head) > 0);
  const reqEd = new HeadEditor();
  reqEd.reset(buf, head);
  const ctx = new HeadSampleCtx();
  ctx.setConnection("10.1.1.1", 5555, "10.9.9.9", 8080);
  ctx.setRequest(buf, head, reqEd);
  const rs = rules("response", ...lines);
  if (rulesUseRequest(rs)) ctx.keepRequest();
  buf.fill(0x5a); // the request bytes are gone once forwarded
  const rbuf = enc(resText);
  const rhead = new HttpHead();
  assert.ok(parseResponseHead(rbuf, 0, rbuf.length, rhead, 101, METH_GET) > 0, rhead.errorReason);
  const ed = new HeadEditor();
  ed.reset(rbuf, rhead);
  ctx.setResponse(rbuf, rhead, ed);
  const verdict = evalRules(rs, ctx, ed);
  return { verdict, head: dec(ed.serialize()), ctx, ed };
}

const REQ = "GET /api/users?id=5 HTTP/1.1\r\nHost: example.com\r\nX-Old: 1\r\n\r\n";
const RES = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n";

Deno.test("no rule, or no final action: continue", () => {
  assert.deepEqual(runReq(REQ, []).verdict, { kind: "continue" });
  assert.deepEqual(runReq(REQ, ["set-header X-A 1"]).verdict, { kind: "continue" });
});

Deno.test("set-header / add-header with and without a condition", () => {
  const r = runReq(REQ, [
    "set-header X-Old new",
    "add-header X-Api yes if is_api",
    "add-header X-Admin yes if is_admin",
    "add-header X-Not-Admin yes unless is_admin",
  ]);
  assert.equal(
    r.head,
    "GET /api/users?id=5 HTTP/1.1\r\nHost: example.com\r\nX-Old: new\r\nX-Api: yes\r\nX-Not-Admin: yes\r\n\r\n",
  );
});

Deno.test("del-header, by name and with -m", () => {
  const req = "GET / HTTP/1.1\r\nHost: h\r\nX-Debug-1: a\r\nX-Debug-2: b\r\nX-Keep: c\r\n\r\n";
  assert.equal(
    runReq(req, ["del-header X-Keep"]).head,
    "GET / HTTP/1.1\r\nHost: h\r\nX-Debug-1: a\r\nX-Debug-2: b\r\n\r\n",
  );
  assert.equal(
    runReq(req, ["del-header x-debug -m beg"]).head,
    "GET / HTTP/1.1\r\nHost: h\r\nX-Keep: c\r\n\r\n",
  );
  assert.equal(
    runReq(req, ["del-header ^x-debug-[0-9]$ -m reg"]).head,
    "GET / HTTP/1.1\r\nHost: h\r\nX-Keep: c\r\n\r\n",
  );
  assert.equal(
    runReq(req, ["del-header -1 -m end"]).head,
    "GET / HTTP/1.1\r\nHost: h\r\nX-Debug-2: b\r\nX-Keep: c\r\n\r\n",
  );
  assert.equal(
    runReq(req, ["del-header debug -m sub", "del-header keep -m str"]).head.split("\r\n").length,
    5,
  );
  assert.equal(runReq(req, ["del-header X-Keep if is_api"]).head, req);
});

Deno.test("replace-header and replace-value", () => {
  const req = "GET / HTTP/1.1\r\nHost: h\r\nX-Ver: v1.2\r\nAccept: text/html, text/plain\r\n\r\n";
  const r = runReq(req, [
    "replace-header X-Ver ^v([0-9]+)\\.([0-9]+)$ \\2.\\1",
    "replace-value Accept ^text/(.*)$ app/\\1",
  ]);
  assert.equal(
    r.head,
    "GET / HTTP/1.1\r\nHost: h\r\nX-Ver: 2.1\r\nAccept: app/html, app/plain\r\n\r\n",
  );
  // The replacement is a value expression.
  const r2 = runReq(req, ["replace-header X-Ver ^v(.*)$ %[src]-\\1"]);
  assert.match(r2.head, /X-Ver: 10\.1\.1\.1-1\.2\r\n/);
});

Deno.test("set-path, set-query, set-uri, set-method", () => {
  assert.ok(
    runReq(REQ, ["set-path /v2%[path]"]).head.startsWith("GET /v2/api/users?id=5 HTTP/1.1\r\n"),
  );
  assert.ok(
    runReq(REQ, ["set-query a=%[url_param(id)]"]).head.startsWith(
      "GET /api/users?a=5 HTTP/1.1\r\n",
    ),
  );
  assert.ok(runReq(REQ, ["set-uri /x?y"]).head.startsWith("GET /x?y HTTP/1.1\r\n"));
  assert.ok(runReq(REQ, ["set-method POST"]).head.startsWith("POST /api/users?id=5 HTTP/1.1\r\n"));
  // A method that is not a token at run time is ignored.
  assert.ok(runReq(REQ, ['set-method "%[hdr(x-m)]"']).head.startsWith("GET "));
});

Deno.test("replace-path and replace-uri", () => {
  assert.ok(
    runReq(REQ, ["replace-path ^/api/(.*) /v1/\\1"]).head.startsWith(
      "GET /v1/users?id=5 HTTP/1.1\r\n",
    ),
  );
  assert.ok(runReq(REQ, ["replace-path ^/nomatch /x"]).head.startsWith("GET /api/users?id=5 "));
  assert.ok(
    runReq(REQ, ["replace-uri ^(.*)\\?id=(.*)$ \\1/\\2"]).head.startsWith(
      "GET /api/users/5 HTTP/1.1\r\n",
    ),
  );
});

Deno.test("later rules see earlier edits", () => {
  const r = runReq(REQ, [
    "set-path /admin/panel",
    "add-header X-Was-Admin 1 if is_admin",
    "set-header X-Copy %[hdr(x-old)]-%[path]",
    "set-header X-Old 2",
    "add-header X-Saw-Old %[hdr(x-old)]",
    "del-header Host",
    "add-header X-Host-Count %[req.hdr_cnt(host)]",
  ]);
  assert.equal(
    r.head,
    "GET /admin/panel?id=5 HTTP/1.1\r\nX-Was-Admin: 1\r\nX-Copy: 1-/admin/panel\r\nX-Old: 2\r\nX-Saw-Old: 2\r\nX-Host-Count: 0\r\n\r\n",
  );
});

Deno.test("allow stops the list with continue", () => {
  const r = runReq(REQ, ["allow if internal", "deny"]);
  assert.deepEqual(r.verdict, { kind: "continue" });
  const r2 = runReq(REQ, ["allow if internal", "deny"], "192.0.2.1");
  assert.deepEqual(r2.verdict, { kind: "deny", status: 403 });
  // Edits before allow are kept, rules after it do not run.
  const r3 = runReq(REQ, ["add-header X-A 1", "allow", "add-header X-B 2"]);
  assert.ok(r3.head.includes("X-A: 1\r\n") && !r3.head.includes("X-B"));
});

Deno.test("deny: default 403, deny_status, condition", () => {
  assert.deepEqual(runReq(REQ, ["deny"]).verdict, { kind: "deny", status: 403 });
  assert.deepEqual(runReq(REQ, ["deny deny_status 429"]).verdict, { kind: "deny", status: 429 });
  assert.deepEqual(runReq(REQ, ["deny if is_admin"]).verdict, { kind: "continue" });
  assert.deepEqual(runReq(REQ, ["deny if is_api !internal"]).verdict, { kind: "continue" });
  assert.deepEqual(runReq(REQ, ["deny if is_api !internal"], "8.8.8.8").verdict, {
    kind: "deny",
    status: 403,
  });
  assert.deepEqual(runReq(REQ, ["deny unless { src ::1 }"], "::1").verdict, { kind: "continue" });
});

Deno.test("return: status, content-type, string, lf-string, file, hdr", () => {
  const v1 =
    runReq(REQ, ['return status 200 content-type "text/plain" string "hello world"']).verdict;
  assert.equal(v1.kind, "return");
  if (v1.kind !== "return") return;
  assert.equal(v1.status, 200);
  assert.equal(v1.contentType, "text/plain");
  assert.equal(dec(v1.body), "hello world");
  assert.deepEqual(v1.headers, []);

  const v2 =
    runReq(REQ, ['return status 418 lf-string "you are %[src] on %[path]" hdr X-Why "%[method]"'])
      .verdict;
  assert.ok(v2.kind === "return");
  assert.equal(v2.status, 418);
  assert.equal(v2.contentType, "text/plain");
  assert.equal(dec(v2.body), "you are 10.1.1.1 on /api/users");
  assert.deepEqual(v2.headers, [["X-Why", "GET"]]);

  const v3 = runReq(REQ, ["return"]).verdict;
  assert.ok(v3.kind === "return");
  assert.equal(v3.status, 200);
  assert.equal(v3.contentType, "");
  assert.equal(v3.body.length, 0);

  const f = Deno.makeTempFileSync();
  try {
    Deno.writeFileSync(f, new Uint8Array([0x7b, 0x7d, 0x0a]));
    const v4 = runReq(REQ, [`return status 503 content-type application/json file ${f}`]).verdict;
    assert.ok(v4.kind === "return");
    assert.deepEqual([...v4.body], [0x7b, 0x7d, 0x0a]);
    assert.equal(v4.contentType, "application/json");
    Deno.writeTextFileSync(f, "path=%[path]");
    const v5 = runReq(REQ, [`return lf-file ${f}`]).verdict;
    assert.ok(v5.kind === "return");
    assert.equal(dec(v5.body), "path=/api/users");
  } finally {
    Deno.removeSync(f);
  }

  // UTF-8 in a literal body.
  const v6 = runReq(REQ, ['return string "café"']).verdict;
  assert.ok(v6.kind === "return");
  assert.deepEqual([...v6.body.subarray(3)], [0xc3, 0xa9]);
  // Static returns share one frozen verdict.
  const rs = rules("request", "return string x");
  assert.equal(evalRules(rs, runReq(REQ, []).ctx, new HeadEditor()), rs[0]!.verdict);
});

Deno.test("redirect location / prefix / scheme, codes, drop-query, append-slash", () => {
  const cases: Array<[string, string, number, string]> = [
    [REQ, "redirect location /login", 302, "/login"],
    [
      REQ,
      "redirect location https://%[hdr(host)]%[url] code 301",
      301,
      "https://example.com/api/users?id=5",
    ],
    [REQ, "redirect prefix https://new.example.com", 302, "https://new.example.com/api/users?id=5"],
    [
      REQ,
      "redirect prefix https://new.example.com drop-query code 308",
      308,
      "https://new.example.com/api/users",
    ],
    [REQ, "redirect prefix /", 302, "/api/users?id=5"],
    [REQ, "redirect prefix /v2 append-slash", 302, "/v2/api/users/?id=5"],
    [REQ, "redirect scheme https", 302, "https://example.com/api/users?id=5"],
    [REQ, "redirect scheme https code 303 drop-query", 303, "https://example.com/api/users"],
    ["GET /x HTTP/1.0\r\n\r\n", "redirect scheme https code 307", 307, "/x"],
    [
      "GET http://example.com/abs?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
      "redirect scheme https",
      302,
      "https://example.com/abs?q",
    ],
  ];
  for (const [req, line, code, location] of cases) {
    assert.deepEqual(runReq(req, [line]).verdict, { kind: "redirect", code, location }, line);
  }
  assert.deepEqual(runReq(REQ, ["redirect location /x if is_admin"]).verdict, { kind: "continue" });
  assert.deepEqual(runReq(REQ, ["redirect scheme https unless internal"]).verdict, {
    kind: "continue",
  });
});

Deno.test("first final action wins; edits before it are kept", () => {
  const r = runReq(REQ, ["add-header X-A 1", "redirect location /a if is_api", "deny"]);
  assert.deepEqual(r.verdict, { kind: "redirect", code: 302, location: "/a" });
  assert.ok(r.head.includes("X-A: 1"));
});

Deno.test("response rules: headers, set-status, deny default 502, request fetches kept", () => {
  const r = runRes(REQ, RES, [
    "del-header Server",
    "set-header X-Path %[path]",
    "add-header X-Client %[src]:%[src_port]",
    "set-header X-Status %[status]",
    "set-status 503 if is_api",
    "add-header X-After-Status %[status]",
    "add-header X-Req-Host %[req.hdr(host)]",
  ]);
  assert.deepEqual(r.verdict, { kind: "continue" });
  assert.equal(
    r.head,
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nX-Path: /api/users\r\nX-Client: 10.1.1.1:5555\r\n" +
      "X-Status: 200\r\nX-After-Status: 503\r\nX-Req-Host: example.com\r\n\r\n",
  );
  assert.deepEqual(runRes(REQ, RES, ["deny if { status 200 }"]).verdict, {
    kind: "deny",
    status: 502,
  });
  assert.deepEqual(runRes(REQ, RES, ["deny if { status 404 }"]).verdict, { kind: "continue" });
  assert.deepEqual(
    runRes(REQ, RES, ["deny deny_status 500 if { res.hdr(server) nginx }"]).verdict,
    {
      kind: "deny",
      status: 500,
    },
  );
  const r2 = runRes(REQ, RES, ['set-status 299 reason "Fine %[hdr(server)]"']);
  assert.ok(r2.head.startsWith("HTTP/1.1 299 Fine nginx\r\n"));
  // hdr() reads the response in response rules.
  assert.match(runRes(REQ, RES, ["add-header X-S %[hdr(server)]"]).head, /X-S: nginx\r\n/);
});

Deno.test("rulesUseRequest() tells whether response rules read the request", () => {
  assert.equal(
    rulesUseRequest(rules("response", "del-header Server", "set-header X %[status]")),
    false,
  );
  assert.equal(rulesUseRequest(rules("response", "set-header X %[path]")), true);
  assert.equal(rulesUseRequest(rules("response", "del-header Server if is_api")), true);
  assert.equal(rulesUseRequest(rules("response", "set-header X %[src]")), false);
  assert.equal(rulesUseRequest(rules("response", "set-header X %[hdr(x)]")), false);
  assert.equal(rulesUseRequest(rules("response", "set-header X %[req.hdr(x)]")), true);
});

Deno.test("forwardforHeader() parses option forwardfor arguments", () => {
  assert.deepEqual(forwardforHeader([]), {
    header: "X-Forwarded-For",
    except: null,
    ifNone: false,
  });
  const f = forwardforHeader(["except", "127.0.0.0/8", "header", "X-Client", "if-none"]);
  assert.equal(f.header, "X-Client");
  assert.equal(f.ifNone, true);
  assert.ok(f.except !== null);
  assert.ok(cidrListMatch(f.except, "127.0.0.1"));
  assert.ok(cidrListMatch(f.except, "::ffff:127.0.0.1"));
  assert.ok(!cidrListMatch(f.except, "10.0.0.1"));
  const g = forwardforHeader(["except", "10.0.0.0/8", "except", "::1"]);
  assert.ok(
    g.except !== null && cidrListMatch(g.except, "::1") && cidrListMatch(g.except, "10.2.3.4"),
  );
  assert.throws(() => forwardforHeader(["except"]), /missing value after 'except'/);
  assert.throws(() => forwardforHeader(["except", "nope"]), /invalid IP address or network 'nope'/);
  assert.throws(() => forwardforHeader(["bogus"]), /unknown argument 'bogus'/);
});
