// Unit tests of src/acl/acl.ts: every ACL fetch keyword and flag evaluated
// over parsed heads (HeadSampleCtx), predefined ACLs, and the tokenizer.

import assert from "node:assert/strict";
import { type AclTable, compileAcls, predefinedAcl, tokenize } from "../../src/acl/acl.ts";
import { parseRequestHead, parseResponseHead } from "../../src/http/h1_parse.ts";
import { HeadEditor } from "../../src/http/head_editor.ts";
import { HeadSampleCtx } from "../../src/http/http_fetch.ts";
import { HttpHead, METH_GET } from "../../src/http/types.ts";
import { openPatternStore } from "../../src/sample/pat_ref.ts";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

interface Opts {
  src?: string;
  srcPort?: number;
  dst?: string;
  dstPort?: number;
  res?: string;
}

/** A context over `reqText` (and `opts.res` as the response when given). */
function ctxOf(reqText: string, opts: Opts = {}): HeadSampleCtx {
  const buf = enc(reqText);
  const head = new HttpHead();
  const n = parseRequestHead(buf, 0, buf.length, head);
  assert.ok(n > 0, `request does not parse: ${head.errorReason}`);
  const ctx = new HeadSampleCtx();
  ctx.setConnection(
    opts.src ?? "10.0.0.1",
    opts.srcPort ?? 40000,
    opts.dst ?? "192.168.0.1",
    opts.dstPort ?? 80,
  );
  const ed = new HeadEditor();
  ed.reset(buf, head);
  ctx.setRequest(buf, head, ed);
  if (opts.res !== undefined) {
    const rbuf = enc(opts.res);
    const rhead = new HttpHead();
    const m = parseResponseHead(rbuf, 0, rbuf.length, rhead, 101, METH_GET);
    assert.ok(m > 0, `response does not parse: ${rhead.errorReason}`);
    const red = new HeadEditor();
    red.reset(rbuf, rhead);
    ctx.setResponse(rbuf, rhead, red);
  }
  return ctx;
}

function table(...exprs: string[]): AclTable {
  const { acls, errors } = compileAcls(
    exprs.map((expr, i) => ({ name: "a", expr, line: i + 1, col: 3 })),
  );
  assert.deepEqual(errors, []);
  return acls;
}

/** True when `acl a <expr>` matches the request (and response). */
function m(expr: string, reqText: string, opts: Opts = {}): boolean {
  return table(expr).get("a")!.eval(ctxOf(reqText, opts));
}

function compileError(expr: string): string {
  const { errors } = compileAcls([{ name: "bad", expr, line: 7, col: 5 }]);
  assert.equal(errors.length, 1, `expected an error for '${expr}'`);
  assert.equal(errors[0]!.line, 7);
  assert.equal(errors[0]!.col, 5);
  return errors[0]!.message;
}

const GET = "GET /api/v1/users?id=42&debug&id=7 HTTP/1.1\r\nHost: www.Example.com:8080\r\n" +
  "X-Multi: a, b\r\nX-Multi: c\r\nContent-Length: 12\r\nUser-Agent: curl/8.0\r\n" +
  "X-Fwd: 10.1.2.3\r\n\r\n";

Deno.test("path and its derived keywords", () => {
  assert.ok(m("path /api/v1/users", GET));
  assert.ok(!m("path /api/v1", GET));
  assert.ok(m("path_beg /static /api", GET));
  assert.ok(!m("path_beg /API", GET));
  assert.ok(m("path_beg -i /API", GET));
  assert.ok(m("path_end /users", GET));
  assert.ok(m("path_sub v1/u", GET));
  assert.ok(m("path_reg ^/api/v[0-9]+/", GET));
  assert.ok(m("path_dir v1", GET));
  assert.ok(!m("path_dir v", GET));
  assert.ok(m("path_len 13", GET));
  assert.ok(m("path_len gt 10", GET));
  assert.ok(!m("path_len lt 10", GET));
  assert.ok(m("path -m beg /api", GET));
  assert.ok(m("path -m found", GET));
});

Deno.test("url, query and url_param", () => {
  assert.ok(m("url /api/v1/users?id=42&debug&id=7", GET));
  assert.ok(m("url_beg /api/v1/users?", GET));
  assert.ok(m("url_sub debug", GET));
  assert.ok(m("url_reg id=[0-9]+$", GET));
  assert.ok(m("url_end id=7", GET));
  assert.ok(m("query id=42&debug&id=7", GET));
  assert.ok(m("query -m sub debug", GET));
  assert.ok(!m("query -m found", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  assert.ok(m("query -m found", "GET /? HTTP/1.1\r\nHost: a\r\n\r\n"));
  // Every occurrence is tested in an ACL.
  assert.ok(m("url_param(id) 42", GET));
  assert.ok(m("url_param(id) 7", GET));
  assert.ok(m("urlp(id) -m int gt 40", GET));
  // HAProxy only finds NAME followed by '=': a bare `debug` is not a parameter.
  assert.ok(!m("url_param(debug) -m found", GET));
  assert.ok(m("url_param(debug) -m found", "GET /x?debug=&a=1 HTTP/1.1\r\nHost: h\r\n\r\n"));
  assert.ok(!m("url_param(nope) -m found", GET));
  assert.ok(m("urlp_beg(id) 4", GET));
  assert.ok(m("url_param(a,;) 1", "GET /x?a=1;b=2 HTTP/1.1\r\nHost: h\r\n\r\n"));
  // ';' always ends a parameter, like '&' (HAProxy's http_is_param_delimiter).
  assert.ok(m("url_param(b) 2", "GET /x?a=1;b=2&c=3 HTTP/1.1\r\nHost: h\r\n\r\n"));
  assert.ok(m("url_param(a) 1", "GET /x?a=1;b=2&c=3 HTTP/1.1\r\nHost: h\r\n\r\n"));
  assert.ok(m("url_param(c,|) 3", "GET /x?a=1|b=2;c=3 HTTP/1.1\r\nHost: h\r\n\r\n"));
});

Deno.test("method and req.ver", () => {
  assert.ok(m("method GET", GET));
  assert.ok(!m("method get", GET));
  assert.ok(m("method -i get", GET));
  assert.ok(m("method POST PUT GET", GET));
  assert.ok(m("req.ver 1.1", GET));
  assert.ok(m("req_ver 1.0", "GET / HTTP/1.0\r\n\r\n"));
});

Deno.test("hdr: comma-split values, every occurrence, and its derived keywords", () => {
  assert.ok(m("hdr(host) -i www.example.com:8080", GET));
  assert.ok(!m("hdr(host) www.example.com:8080", GET));
  assert.ok(m("hdr(x-multi) b", GET));
  assert.ok(m("hdr(X-MULTI) c", GET));
  assert.ok(!m("hdr(x-multi) a,", GET));
  assert.ok(m("hdr_beg(host) www.", GET));
  assert.ok(m("hdr_end(host) :8080", GET));
  assert.ok(m("hdr_sub(user-agent) curl", GET));
  assert.ok(m("hdr_reg(user-agent) ^curl/[0-9]", GET));
  assert.ok(m("hdr_dom(host) -i example.com", GET));
  assert.ok(!m("hdr_dom(host) ample.com", GET));
  assert.ok(m("hdr_dir(x-multi) c", GET));
  assert.ok(m("hdr_len(user-agent) 8", GET));
  assert.ok(m("hdr_val(content-length) 12", GET));
  assert.ok(m("hdr_val(content-length) ge 10", GET));
  assert.ok(m("hdr_ip(x-fwd) 10.0.0.0/8", GET));
  assert.ok(!m("hdr_ip(x-fwd) 11.0.0.0/8", GET));
  assert.ok(m("hdr_cnt(x-multi) 3", GET));
  assert.ok(m("hdr_cnt(absent) 0", GET));
  assert.ok(m("fhdr_cnt(x-multi) 2", GET));
  assert.ok(m('fhdr(x-multi) "a, b"', GET));
  assert.ok(m("req.hdr(host) -m found", GET));
  assert.ok(!m("req.hdr(absent) -m found", GET));
  assert.ok(m("req.hdr_cnt(host) eq 1", GET));
  assert.ok(m("req.hdr_beg(host) www", GET));
});

Deno.test("hdr(name,occ) selects one occurrence", () => {
  assert.ok(m("hdr(x-multi,1) a", GET));
  assert.ok(!m("hdr(x-multi,1) b", GET));
  assert.ok(m("hdr(x-multi,2) b", GET));
  assert.ok(m("hdr(x-multi,-1) c", GET));
  assert.ok(!m("hdr(x-multi,-1) a", GET));
  assert.ok(m("hdr(x-multi,-3) a", GET));
  assert.ok(!m("hdr(x-multi,9) -m found", GET));
});

Deno.test("converters apply before matching", () => {
  assert.ok(m("req.hdr(host),lower www.example.com:8080", GET));
  assert.ok(m("hdr(user-agent),upper -m beg CURL", GET));
});

Deno.test("src / dst and ports", () => {
  assert.ok(m("src 10.0.0.0/8", GET));
  assert.ok(!m("src 127.0.0.1", GET));
  assert.ok(m("src 127.0.0.1/8 ::1", GET, { src: "::1" }));
  assert.ok(m("src 127.0.0.1/8", GET, { src: "::ffff:127.0.0.5" }));
  assert.ok(m("src 2001:db8::/32", GET, { src: "2001:db8:abcd::1" }));
  assert.ok(!m("src 2001:db8::/32", GET, { src: "2001:db9::1" }));
  assert.ok(m("src -m str 10.0.0.1", GET));
  assert.ok(m("dst 192.168.0.0/16", GET));
  assert.ok(m("src_port 40000:40010", GET));
  assert.ok(m("dst_port 80 443", GET));
  assert.ok(!m("dst_port 443", GET));
  assert.ok(m("dst_port 443", GET, { dstPort: 443 }));
  assert.ok(m("dst_port -m str 80", GET));
});

Deno.test("response fetches: status, res.hdr, hdr on the response side", () => {
  const res = "HTTP/1.1 404 Not Found\r\nServer: nginx/1.2\r\nSet-Cookie: a=1\r\n" +
    "Content-Length: 0\r\n\r\n";
  assert.ok(m("status 404", GET, { res }));
  assert.ok(m("status 400:499", GET, { res }));
  assert.ok(!m("status 200:299", GET, { res }));
  assert.ok(m("res.hdr(server) -m beg nginx", GET, { res }));
  // hdr() reads the side being evaluated: the response here.
  assert.ok(m("hdr(server) -m sub nginx", GET, { res }));
  assert.ok(!m("hdr(host) -m found", GET, { res }));
  assert.ok(m("req.hdr(host) -m found", GET, { res }));
  assert.ok(m("res.hdr_cnt(set-cookie) 1", GET, { res }));
  // No status on a request.
  assert.ok(!m("status -m found", GET));
  assert.ok(!m("res.hdr(server) -m found", GET));
});

Deno.test("base joins Host and path", () => {
  assert.ok(m("base www.Example.com:8080/api/v1/users", GET));
  assert.ok(m("base_beg -i www.example.com:8080/api", GET));
});

Deno.test("-m on non-string samples converts them", () => {
  assert.ok(m("hdr(content-length) -m int 12", GET));
  assert.ok(m("hdr(content-length) -m len 2", GET));
  assert.ok(m("path -m len 13", GET));
  assert.ok(m("hdr(x-fwd) -m ip 10.1.2.3", GET));
  assert.ok(m("src_port -m beg 400", GET));
  assert.ok(m("hdr(host) -m dom Example", GET));
  assert.ok(m("path -m dir users", GET));
  assert.ok(m("path -m reg users$", GET));
});

Deno.test("'--' ends flags so a pattern may start with '-'", () => {
  const req = "GET /x HTTP/1.1\r\nHost: h\r\nX-Opt: -i\r\n\r\n";
  assert.ok(m("hdr(x-opt) -- -i", req));
  assert.ok(m("hdr_cnt(x-opt) -- 1", req));
  assert.ok(m("hdr_val(x-opt) -1:0", "GET / HTTP/1.1\r\nHost: h\r\nX-Opt: -1\r\n\r\n"));
});

Deno.test("several declarations of a name OR together", () => {
  const acls = table("path_beg /a", "path_beg /b", "hdr(host) c");
  const a = acls.get("a")!;
  assert.equal(a.exprs.length, 3);
  assert.ok(a.eval(ctxOf("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")));
  assert.ok(a.eval(ctxOf("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")));
  assert.ok(a.eval(ctxOf("GET /z HTTP/1.1\r\nHost: c\r\n\r\n")));
  assert.ok(!a.eval(ctxOf("GET /z HTTP/1.1\r\nHost: x\r\n\r\n")));
});

Deno.test("-f reads patterns from a file", () => {
  const f = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(f, "# comment\n/admin\n\n  /private  \n");
    assert.ok(m(`path_beg -f ${f}`, "GET /private/x HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert.ok(!m(`path_beg -f ${f}`, "GET /public HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert.match(
      compileError("path_beg -f /nonexistent/file"),
      /cannot read pattern file '\/nonexistent\/file'/,
    );
  } finally {
    Deno.removeSync(f);
  }
});

Deno.test("quoted patterns keep spaces", () => {
  const req = "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla 5.0 (X11)\r\n\r\n";
  assert.ok(m('hdr(user-agent) -m sub "Mozilla 5.0"', req));
  assert.ok(m("hdr(user-agent) -m sub 'la 5.0 ('", req));
  assert.ok(m("hdr(user-agent) -m sub Mozilla\\ 5", req));
});

Deno.test("predefined ACLs", () => {
  const cases: Array<[string, string, Opts, boolean]> = [
    ["METH_GET", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["METH_GET", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["METH_GET", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", {}, false],
    ["METH_POST", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", {}, true],
    ["METH_PUT", "PUT / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["METH_DELETE", "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["METH_HEAD", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["METH_HEAD", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, false],
    ["METH_OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["METH_CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", {}, true],
    ["METH_TRACE", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["HTTP_1.0", "GET / HTTP/1.0\r\n\r\n", {}, true],
    ["HTTP_1.0", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, false],
    ["HTTP_1.1", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["HTTP", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["TRUE", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["FALSE", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, false],
    ["LOCALHOST", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", { src: "127.0.0.1" }, true],
    ["LOCALHOST", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", { src: "::1" }, true],
    ["LOCALHOST", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", { src: "::ffff:127.0.0.1" }, true],
    ["LOCALHOST", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", { src: "10.0.0.1" }, false],
    ["HTTP_URL_ABS", "GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["HTTP_URL_ABS", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", {}, false],
    ["HTTP_URL_SLASH", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["HTTP_URL_SLASH", "GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n", {}, false],
    ["HTTP_URL_STAR", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["HTTP_CONTENT", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", {}, true],
    ["HTTP_CONTENT", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", {}, false],
    ["HTTP_CONTENT", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, false],
    ["HTTP_2.0", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, false],
    ["RDP_COOKIE", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, false],
    ["REQ_CONTENT", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
    ["WAIT_END", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}, true],
  ];
  for (const [name, req, opts, want] of cases) {
    assert.equal(
      predefinedAcl(name)!.eval(ctxOf(req, opts)),
      want,
      `${name} on ${JSON.stringify(req)}`,
    );
  }
  assert.equal(predefinedAcl("NOPE"), undefined);
});

Deno.test("a declared ACL shadows a predefined one", () => {
  const { acls } = compileAcls([{ name: "TRUE", expr: "always_false", line: 1, col: 1 }]);
  assert.equal(acls.get("TRUE")!.eval(ctxOf(GET)), false);
});

Deno.test("compile errors name the offending token", () => {
  assert.match(
    compileError("pth_beg /api"),
    /unknown fetch method 'pth_beg' \(did you mean "path_beg"\?\)/,
  );
  assert.match(compileError("hdr_bge(host) x"), /unknown fetch method 'hdr_bge'/);
  assert.match(compileError("path_reg ^(x"), /invalid regex '\^\(x'/);
  assert.match(compileError("path -m nope x"), /unknown matching method 'nope'/);
  assert.match(compileError("path_beg -m sub x"), /'-m' cannot be used with 'path_beg'/);
  assert.match(compileError("path -z x"), /unknown flag '-z'/);
  assert.match(compileError("path"), /no pattern to match/);
  assert.match(compileError("hdr() x"), /missing header name in 'hdr\(\)'/);
  assert.match(compileError("hdr(a b) x"), /unknown flag|invalid|missing/);
  assert.match(compileError("hdr(x,abc) y"), /invalid occurrence 'abc'/);
  assert.match(compileError("path(x) /"), /fetch method 'path' takes no argument/);
  assert.match(compileError("status abc"), /invalid integer pattern 'abc'/);
  assert.match(compileError("src 10.0.0.0/33"), /invalid IP address or network '10\.0\.0\.0\/33'/);
  assert.match(compileError("hdr(host),lowr x"), /unknown converter 'lowr'.*did you mean "lower"/);
  assert.match(compileError('path "unterminated'), /unterminated double quote/);
  assert.match(compileError("path -m found x"), /'-m found' takes no pattern/);
  assert.match(compileError("url_param x"), /missing parameter name/);
  const { acls, errors } = compileAcls([
    { name: "ok", expr: "path /", line: 1, col: 1 },
    { name: "ko", expr: "nope", line: 2, col: 1 },
    { name: "ko2", expr: "nope2", line: 3, col: 1 },
  ]);
  assert.equal(errors.length, 2);
  assert.match(errors[0]!.message, /^acl 'ko': /);
  assert.ok(acls.get("ko") !== undefined, "a failing ACL stays declared");
});

Deno.test("tokenize() handles quotes and escapes like HAProxy", () => {
  const t = tokenize(`a "b c" 'd\\e' f\\ g "h\\"i" j"k l"m \\d \\x41 ""`);
  assert.ok(Array.isArray(t));
  assert.deepEqual(t.map((x) => x.text), [
    "a",
    "b c",
    "d\\e",
    "f g",
    'h"i',
    "jk lm",
    "\\d",
    "A",
    "",
  ]);
  assert.deepEqual(t.map((x) => x.quoted), [
    false,
    true,
    true,
    false,
    true,
    true,
    false,
    false,
    true,
  ]);
  assert.ok("error" in (tokenize("'abc") as { error: string }));
});

Deno.test("per-request caches are reset by setRequest()", () => {
  const acls = table("path_beg /a");
  const ctx = ctxOf("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  assert.ok(acls.get("a")!.eval(ctx));
  const buf = enc("GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
  const head = new HttpHead();
  parseRequestHead(buf, 0, buf.length, head);
  ctx.setRequest(buf, head);
  assert.ok(!acls.get("a")!.eval(ctx));
});

Deno.test("-f files are shared, indexed and follow runtime add/del; inline patterns still apply", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(`10.${(i >> 8) & 255}.${i & 255}.0/24`);
    Deno.writeTextFileSync(`${dir}/nets.acl`, lines.join("\n"));
    Deno.writeTextFileSync(`${dir}/hosts.acl`, "Example.COM\n");
    const store = openPatternStore(dir);
    const t = table("src -f nets.acl 192.168.0.1", "hdr_dom(host) -i -f hosts.acl");
    const a = t.get("a")!;
    const req = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    assert.ok(a.eval(ctxOf(req, { src: "10.78.31.7" })));
    assert.ok(a.eval(ctxOf(req, { src: "192.168.0.1" })));
    assert.ok(!a.eval(ctxOf(req, { src: "10.200.0.1" })));
    assert.ok(a.eval(ctxOf("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", { src: "1.1.1.1" })));
    const ref = store.get("nets.acl")!;
    assert.equal(ref.isMap, false);
    assert.equal(ref.add("10.200.0.0/16", ""), null);
    assert.ok(a.eval(ctxOf(req, { src: "10.200.0.1" })));
    assert.equal(ref.del("10.200.0.0/16"), 1);
    assert.ok(!a.eval(ctxOf(req, { src: "10.200.0.1" })));
    assert.match(ref.add("bogus", "") ?? "", /invalid IP address/);
    assert.deepEqual(store.list(false).map((r) => r.name), ["nets.acl", "hosts.acl"]);
    assert.equal(store.get("#1"), store.get("hosts.acl"));
    assert.equal(store.get("#9"), undefined);
  } finally {
    openPatternStore("");
    Deno.removeSync(dir, { recursive: true });
  }
});
