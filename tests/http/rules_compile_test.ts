// Unit tests of src/http/http_rules.ts compilation: accepted forms and every
// refusal, with its position and a message naming the offending token.

import assert from "node:assert/strict";
import { compileAcls } from "../../src/acl/acl.ts";
import { compileRules } from "../../src/http/http_rules.ts";

const { acls } = compileAcls([{ name: "is_api", expr: "path_beg /api", line: 1, col: 1 }]);

function errorOf(text: string, side: "request" | "response" = "request"): string {
  const { rules, errors } = compileRules([{ text, line: 12, col: 9 }], acls, side);
  assert.equal(errors.length, 1, `expected one error for '${text}', got ${JSON.stringify(errors)}`);
  assert.equal(rules.length, 0);
  assert.equal(errors[0]!.line, 12);
  assert.equal(errors[0]!.col, 9);
  return errors[0]!.message;
}

function ok(text: string, side: "request" | "response" = "request"): void {
  const { errors } = compileRules([{ text, line: 1, col: 1 }], acls, side);
  assert.deepEqual(errors, [], text);
}

Deno.test("accepted rule forms", () => {
  for (
    const t of [
      "allow",
      "allow if is_api",
      "deny",
      "deny deny_status 429 unless is_api",
      "deny status 503",
      "return",
      'return status 404 content-type "text/html" string "<h1>no</h1>"',
      'return lf-string "%[path]" hdr X-A b hdr X-B "%[src]"',
      "redirect location /x",
      "redirect prefix https://a.example code 301 drop-query append-slash",
      "redirect scheme https code 308 if !is_api",
      "set-header X-A b",
      'set-header X-A "a b c"',
      "set-header X-A %[src]:%[src_port]",
      "add-header X-A ''",
      "del-header X-A",
      "del-header x- -m beg",
      "del-header ^x-[a-z]+$ -m reg",
      "replace-header X-A ^(.*)$ \\1",
      "replace-value X-A ^a$ b",
      "set-path /x",
      "set-query a=b",
      "set-uri /x?y",
      "set-method PUT",
      "replace-path ^/a(.*) /b\\1",
      "replace-uri ^(.*)$ \\1",
      "set-header X %[req.hdr(host),lower] if { hdr(host) -m found } || is_api",
    ]
  ) ok(t);
  for (
    const t of [
      "set-status 503",
      'set-status 200 reason "All Good"',
      "set-header X %[res.hdr(server)] if { status 200:299 }",
      "deny if { res.hdr(x) -m found }",
      "del-header Server",
    ]
  ) ok(t, "response");
});

Deno.test("compileRules() keeps good lines and reports every bad one", () => {
  const { rules, errors } = compileRules(
    [
      { text: "set-header X-A 1", line: 1, col: 1 },
      { text: "bogus", line: 2, col: 3 },
      { text: "add-header X-B 2", line: 3, col: 1 },
      { text: "deny if nope", line: 4, col: 5 },
    ],
    acls,
    "request",
  );
  assert.equal(rules.length, 2);
  assert.deepEqual(errors.map((e) => [e.line, e.col]), [[2, 3], [4, 5]]);
  assert.match(errors[0]!.message, /^http-request: unknown action 'bogus'/);
  assert.match(errors[1]!.message, /^http-request: ACL 'nope' is not declared/);
});

Deno.test("unknown actions and wrong arguments", () => {
  assert.match(
    errorOf("set-hedaer X a"),
    /unknown action 'set-hedaer' \(did you mean "set-header"\?\)/,
  );
  assert.match(errorOf("set-header X"), /'set-header' expects a header name and a value, got 'X'/);
  assert.match(errorOf("set-header X a b"), /got 'X' 'a' 'b' \(quote values containing spaces/);
  assert.match(errorOf("set-header"), /got nothing/);
  assert.match(errorOf("allow now"), /'allow' expects no argument/);
  assert.match(errorOf("set-path"), /'set-path' expects one value/);
  assert.match(errorOf("set-path ''"), /'set-path' needs a non-empty value/);
  assert.match(errorOf("set-method 'A B'"), /invalid method 'A B'/);
  assert.match(errorOf("set-uri foo"), /invalid URI 'foo' in 'set-uri'/);
  assert.match(errorOf("replace-header X a"), /expects a header name, a regex and a replacement/);
  assert.match(errorOf("del-header X -m nope"), /invalid matching method 'nope' in 'del-header'/);
  assert.match(errorOf("del-header X Y"), /'del-header' expects a header name/);
});

Deno.test("header names are checked; framing headers are protected", () => {
  assert.match(errorOf("set-header 'X A' b"), /invalid header name 'X A' in 'set-header'/);
  assert.match(errorOf("add-header X: b"), /invalid header name 'X:'/);
  assert.match(
    errorOf("set-header Content-Length 5"),
    /cannot modify 'Content-Length': it defines the message framing/,
  );
  assert.match(errorOf("del-header transfer-encoding"), /cannot modify 'transfer-encoding'/);
  assert.match(errorOf("replace-header Content-Length a b"), /cannot modify/);
  assert.match(errorOf('set-header X-A "a\\r\\nB: c"'), /must not contain CR, LF or NUL/);
});

Deno.test("regexes and value expressions are checked", () => {
  assert.match(errorOf("replace-header X ( y"), /invalid regex '\(' in 'replace-header'/);
  assert.match(errorOf("replace-path [ y"), /invalid regex '\['/);
  assert.match(errorOf("del-header ( -m reg"), /invalid regex '\(' in 'del-header'/);
  assert.match(
    errorOf("set-header X %[pth]"),
    /unknown fetch method 'pth' \(did you mean "path"\?\)/,
  );
  assert.match(errorOf("set-header X %[src"), /missing '\]' after '%\['/);
  assert.match(errorOf("set-header X 100%"), /unknown variable '%' .*use '%%'/);
  assert.match(errorOf("set-header X %zz"), /unknown variable '%zz'/);
  assert.match(errorOf("set-header X %[hdr()]"), /missing header name/);
  assert.match(errorOf("set-header X %[src,nope]"), /unknown converter 'nope'/);
});

Deno.test("side checks: response-only and request-only actions and fetches", () => {
  assert.match(errorOf("set-status 200"), /'set-status' is only allowed in http-response rules/);
  assert.match(
    errorOf("set-path /x", "response"),
    /'set-path' is only allowed in http-request rules/,
  );
  assert.match(errorOf("set-method GET", "response"), /only allowed in http-request/);
  assert.match(
    errorOf("set-header X %[res.hdr(server)]"),
    /'res\.hdr\(server\)' reads the response, which is not available in http-request rules/,
  );
  assert.match(errorOf("set-header X %[status]"), /'status' reads the response/);
  assert.match(errorOf("set-header X %ST"), /'%ST' reads the response/);
  assert.match(
    errorOf("deny if { status 500 }"),
    /condition uses 'status', which reads the response and is not available in http-request rules/,
  );
});

Deno.test("deny, return and redirect arguments", () => {
  assert.match(errorOf("deny deny_status"), /invalid status ''/);
  assert.match(
    errorOf("deny deny_status 99"),
    /invalid status '99' in 'deny' \(expected 200\.\.599\)/,
  );
  assert.match(errorOf("deny foo"), /unexpected argument 'foo' in 'deny'/);
  assert.match(errorOf("return status 700"), /invalid status '700'/);
  assert.match(errorOf("return status"), /missing value after 'status' in 'return'/);
  assert.match(
    errorOf("return string a string b"),
    /accepts one payload, got 'string' and 'string'/,
  );
  assert.match(errorOf("return status 204 string a"), /status 204 cannot carry a payload/);
  assert.match(
    errorOf("return file /nonexistent/x.html"),
    /cannot read file '\/nonexistent\/x\.html'/,
  );
  assert.match(
    errorOf("return strng a"),
    /unexpected argument 'strng' in 'return' \(did you mean "string"\?\)/,
  );
  assert.match(errorOf("return hdr X"), /missing value after 'hdr'|missing value after 'hdr X'/);
  assert.match(errorOf("redirect"), /'redirect' expects 'location', 'prefix' or 'scheme', got ''/);
  assert.match(errorOf("redirect to /x"), /got 'to'/);
  assert.match(errorOf("redirect location"), /missing value after 'redirect location'/);
  assert.match(errorOf("redirect location /x code 305"), /invalid redirect code '305'/);
  assert.match(
    errorOf("redirect location /x cod 301"),
    /unexpected argument 'cod' in 'redirect' \(did you mean "code"\?\)/,
  );
  assert.match(errorOf("redirect scheme 'ht tp'"), /invalid scheme 'ht tp'/);
});

Deno.test("conditions are checked", () => {
  assert.match(errorOf("deny if"), /missing condition after 'if'/);
  assert.match(
    errorOf("deny if is_apx"),
    /ACL 'is_apx' is not declared \(did you mean "is_api"\?\)/,
  );
  assert.match(errorOf("deny if { pth /x }"), /unknown fetch method 'pth'/);
  assert.match(errorOf('deny if "unterminated'), /unterminated double quote/);
});

Deno.test("return file paths are resolved against baseDir", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/page.html`, "<p>x</p>");
    const { rules, errors } = compileRules(
      [{ text: "return content-type text/html file page.html", line: 1, col: 1 }],
      acls,
      "request",
      { baseDir: dir },
    );
    assert.deepEqual(errors, []);
    assert.equal(rules[0]!.body.length, 8);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
