// Unit tests of value expressions (src/sample/value.ts compileValue /
// evalValue): `%[fetch]` for every fetch rules use, log-format variables,
// converters, literals, and HeadSampleCtx behaviour (src/http/http_fetch.ts:
// caches, keepRequest).

import assert from "node:assert/strict";
import { parseRequestHead, parseResponseHead } from "../../src/http/h1_parse.ts";
import { HeadEditor } from "../../src/http/head_editor.ts";
import { HeadSampleCtx } from "../../src/http/http_fetch.ts";
import { compileFetch } from "../../src/sample/expr.ts";
import { fetchOne, splitCommaInto } from "../../src/sample/fetch.ts";
import {
  type SampleCtx,
  SMP_USE_CONN,
  SMP_USE_REQ,
  SMP_USE_RES,
  type ValueExpr,
} from "../../src/sample/types.ts";
import { compileValue, evalValue } from "../../src/sample/value.ts";
import { HttpHead, METH_GET } from "../../src/http/types.ts";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

const REQ = "POST /p/q?a=1&b=2&a=3 HTTP/1.0\r\nHost: Example.com\r\nX-L: one, two\r\n" +
  "X-L: three\r\nContent-Length: 0\r\n\r\n";
const RES = "HTTP/1.1 201 Created\r\nServer: srv\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n" +
  "Content-Length: 0\r\n\r\n";

function ctx(withRes = false, src = "192.0.2.7"): HeadSampleCtx {
  const buf = enc(REQ);
  const head = new HttpHead();
  assert.ok(parseRequestHead(buf, 0, buf.length, head) > 0, head.errorReason);
  const c = new HeadSampleCtx();
  c.setConnection(src, 61000, "198.51.100.1", 443);
  c.setRequest(buf, head);
  if (withRes) {
    const rbuf = enc(RES);
    const rhead = new HttpHead();
    assert.ok(parseResponseHead(rbuf, 0, rbuf.length, rhead, 101, METH_GET) > 0);
    c.setResponse(rbuf, rhead);
  }
  return c;
}

function val(text: string): ValueExpr {
  const v = compileValue(text);
  if ("error" in v) throw new Error(v.error);
  return v;
}

function render(text: string, c: SampleCtx = ctx()): string {
  return evalValue(val(text), c);
}

Deno.test("literal values are constants", () => {
  const v = val("plain text");
  assert.equal(v.constant, "plain text");
  assert.equal(v.uses, 0);
  assert.equal(render("plain text"), "plain text");
  assert.equal(render(""), "");
  assert.equal(render("100%%"), "100%");
  assert.equal(val("é").constant, "\xc3\xa9");
});

Deno.test("connection fetches", () => {
  assert.equal(
    render("%[src]:%[src_port] -> %[dst]:%[dst_port]"),
    "192.0.2.7:61000 -> 198.51.100.1:443",
  );
  assert.equal(render("%[src]", ctx(false, "2001:db8::1")), "2001:db8::1");
  assert.equal(val("%[src]").uses, SMP_USE_CONN);
});

Deno.test("request line fetches", () => {
  assert.equal(
    render("%[method] %[url] %[path] %[query] %[req.ver]"),
    "POST /p/q?a=1&b=2&a=3 /p/q a=1&b=2&a=3 1.0",
  );
  assert.equal(render("%[base]"), "Example.com/p/q");
  assert.equal(render("[%[url_param(a)]|%[url_param(b)]|%[url_param(zz)]]"), "[1|2|]");
  assert.equal(val("%[path]").uses, SMP_USE_REQ);
});

Deno.test("header fetches: last occurrence by default, occurrences, counts", () => {
  assert.equal(render("%[hdr(host)]"), "Example.com");
  assert.equal(render("%[req.hdr(X-L)]"), "three");
  assert.equal(render("%[hdr(x-l,1)]/%[hdr(x-l,2)]/%[hdr(x-l,-2)]"), "one/two/two");
  assert.equal(render("%[req.fhdr(x-l)]|%[req.fhdr(x-l,1)]"), "three|one, two");
  assert.equal(render("%[req.hdr_cnt(x-l)] %[req.fhdr_cnt(x-l)] %[hdr_cnt(nope)]"), "3 2 0");
  assert.equal(render("[%[hdr(absent)]]"), "[]");
  assert.equal(render("%[hdr(host),lower] %[hdr(host),upper]"), "example.com EXAMPLE.COM");
});

Deno.test("response fetches", () => {
  const c = ctx(true);
  assert.equal(
    render("%[status] %[res.hdr(server)] %[hdr(server)] %[res.hdr(set-cookie)]", c),
    "201 srv srv b=2",
  );
  assert.equal(render("%[res.hdr_cnt(set-cookie)]", c), "2");
  // Request fetches still work on the response side.
  assert.equal(render("%[req.hdr(host)] %[path]", c), "Example.com /p/q");
  assert.equal(val("%[status]").uses, SMP_USE_RES);
  assert.equal(val("%[status]").resFetch, "status");
  // No status and no response headers for a request.
  assert.equal(render("[%[status]][%[res.hdr(server)]]"), "[][]");
});

Deno.test("log-format variables", () => {
  assert.equal(render("%ci:%cp %fi:%fp"), "192.0.2.7:61000 198.51.100.1:443");
  assert.equal(render("%HM %HU %HP %HQ %HV"), "POST /p/q?a=1&b=2&a=3 /p/q ?a=1&b=2&a=3 HTTP/1.0");
  assert.equal(render("%ST", ctx(true)), "201");
  assert.equal(render("x%cix"), "x192.0.2.7x");
});

Deno.test("compile errors", () => {
  const e = (t: string): string => {
    const v = compileValue(t);
    assert.ok("error" in v, t);
    return v.error;
  };
  assert.match(e("%[nope]"), /unknown fetch method 'nope'/);
  assert.match(e("%[hdr(a]"), /missing '\)'|missing '\]'/);
  assert.match(e("%[src"), /missing '\]' after '%\['/);
  assert.match(e("50%"), /unknown variable '%'/);
  assert.match(e("%Q"), /unknown variable '%Q'/);
  assert.match(e("%[src(x)]"), /takes no argument/);
  assert.match(e("%[hdr(a,b,c)]"), /too many arguments/);
  assert.match(e("%[url_param(a,xy)]"), /delimiter must be one character/);
  assert.match(e("%[src,lower(1)]"), /converter 'lower' takes no argument/);
  assert.match(e("%[src x]"), /unexpected ' x'/);
});

Deno.test("compileFetch() and fetchOne() types", () => {
  const c = ctx(true);
  const f = (t: string) => {
    const r = compileFetch(t);
    if ("error" in r) throw new Error(r.error);
    return fetchOne(c, r);
  };
  assert.equal(f("status"), 201);
  assert.equal(f("dst_port"), 443);
  assert.equal(f("always_true"), true);
  assert.equal(f("query"), "a=1&b=2&a=3");
  assert.equal(f("hdr(nope)"), null);
});

Deno.test("splitCommaInto() trims and keeps quoted commas", () => {
  const out: string[] = [];
  splitCommaInto(' a ,b,, "c,d" ,e', out);
  assert.deepEqual(out, ["a", "b", "", '"c,d"', "e"]);
});

/** REQ parsed, an editor over it, and a sample context reading through that editor. */
function editedRequest(): { buf: Uint8Array; ed: HeadEditor; c: HeadSampleCtx } {
  const buf = enc(REQ);
  const head = new HttpHead();
  parseRequestHead(buf, 0, buf.length, head);
  const ed = new HeadEditor();
  ed.reset(buf, head);
  const c = new HeadSampleCtx();
  c.setRequest(buf, head, ed);
  return { buf, ed, c };
}

Deno.test("HeadSampleCtx reads through the editor once it is modified", () => {
  const { ed, c } = editedRequest();
  assert.equal(render("%[path] %[hdr(host)]", c), "/p/q Example.com");
  ed.setPath("/z");
  ed.setHeader("Host", "other");
  ed.setMethod("PUT");
  assert.equal(render("%[method] %[path] %[url] %[hdr(host)]", c), "PUT /z /z?a=1&b=2&a=3 other");
});

Deno.test("keepRequest() survives the request buffer being reused", () => {
  const { buf, ed, c } = editedRequest();
  ed.addHeader("X-Added", "yes");
  c.keepRequest();
  buf.fill(0x21);
  assert.equal(
    render(
      "%[method] %[url] %[req.ver] %[req.hdr(host)] %[req.hdr(x-added)] %[req.hdr_cnt(x-l)]",
      c,
    ),
    "POST /p/q?a=1&b=2&a=3 1.0 Example.com yes 3",
  );
});

Deno.test("converters upper/lower keep the length and never leave the byte range", () => {
  const buf = enc(
    "GET /?q=1;r=2&s&t=3 HTTP/1.1\r\nHost: h\r\nX-Raw: a\xdfB\xffc\xb5D\xc9\xd7\r\n\r\n",
  );
  const head = new HttpHead();
  assert.ok(parseRequestHead(buf, 0, buf.length, head) > 0, head.errorReason);
  const c = new HeadSampleCtx();
  c.setConnection("192.0.2.7", 61000, "198.51.100.1", 443);
  c.setRequest(buf, head);
  // upper: a-z only (HAProxy's toupper() in the C locale).
  assert.equal(render("%[hdr(x-raw),upper]", c), "A\xdfB\xffC\xb5D\xc9\xd7");
  // lower: ASCII and latin1 letters (documented), byte for byte; 0xD7 (×) is not a letter.
  assert.equal(render("%[hdr(x-raw),lower]", c), "a\xdfb\xffc\xb5d\xe9\xd7");
  // url_param: ';' ends a parameter and a bare name is not found.
  assert.equal(
    render("[%[url_param(q)]|%[url_param(r)]|%[url_param(s)]|%[url_param(t)]]", c),
    "[1|2||3]",
  );
});

Deno.test("appended lines read with the cached original ones, in order, any name case", () => {
  const { ed, c } = editedRequest();
  // Read (and cached) before the edits: the edits must still show.
  assert.equal(render("%[req.fhdr_cnt(x-l)] %[req.hdr(host)]", c), "2 Example.com");
  ed.addHeader("X-L", "four");
  ed.addHeader("x-new", "n");
  assert.equal(
    render("%[req.fhdr_cnt(x-l)] %[req.fhdr(X-L)] %[req.fhdr(x-l,1)] %[req.hdr(X-NEW)]", c),
    "3 four one, two n",
  );
  assert.equal(render("%[req.hdr(host)] %[path] %[method]", c), "Example.com /p/q POST");
  // Another edit than an append: the editor's view from then on.
  ed.setHeader("Host", "other");
  assert.equal(render("%[req.hdr(host)] %[req.fhdr_cnt(x-l)]", c), "other 3");
});

Deno.test("per-connection parts of a value are those of the current connection", () => {
  const v = val("%ci:%cp_%fi:%fp_%rt:%pid");
  const buf = enc(REQ);
  const head = new HttpHead();
  parseRequestHead(buf, 0, buf.length, head);
  const c = new HeadSampleCtx();
  c.setConnection("192.0.2.7", 61000, "198.51.100.1", 443);
  c.setRequest(buf, head);
  const rt1 = c.vars.txnId;
  assert.equal(evalValue(v, c), `192.0.2.7:61000_198.51.100.1:443_${rt1}:${Deno.pid}`);
  c.setRequest(buf, head);
  assert.equal(evalValue(v, c), `192.0.2.7:61000_198.51.100.1:443_${rt1 + 1}:${Deno.pid}`);
  // The same context reused for another connection (a pooled transaction).
  c.setConnection("203.0.113.9", 1234, "198.51.100.2", 80);
  c.setRequest(buf, head);
  assert.equal(
    evalValue(v, c),
    `203.0.113.9:1234_198.51.100.2:80_${c.vars.txnId}:${Deno.pid}`,
  );
  // Converters are applied every time (a map may change at runtime).
  assert.equal(render("%[src,upper]:%cp", c), "203.0.113.9:1234");
});

Deno.test("captures of a transaction are gone in the next one", () => {
  const c = new HeadSampleCtx();
  c.vars.capture(false, 1, "b");
  c.vars.capture(true, 0, "r");
  assert.deepEqual([...c.vars.reqCaptures], [null, "b"]);
  c.vars.newTxn();
  assert.equal(c.vars.reqCaptures[0] ?? null, null);
  assert.equal(c.vars.reqCaptures[1] ?? null, null);
  assert.equal(c.vars.resCaptures[0] ?? null, null);
  c.vars.capture(false, 0, "a");
  assert.equal(c.vars.reqCaptures[0], "a");
  assert.equal(c.vars.reqCaptures[1] ?? null, null);
});
