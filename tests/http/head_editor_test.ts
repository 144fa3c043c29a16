// Unit tests of src/http/head_editor.ts: every edit and the exact bytes of
// the serialized head (dropped lines, the add-only fast path, name case,
// several edits of one header, start-line rewrites).

import assert from "node:assert/strict";
import { parseRequestHead, parseResponseHead } from "../../src/http/h1_parse.ts";
import { HeadEditor } from "../../src/http/head_editor.ts";
import { ValuePieces } from "../../src/sample/value_pieces.ts";
import { HttpHead, METH_GET } from "../../src/http/types.ts";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

function edReq(text: string, pad = ""): HeadEditor {
  // `pad` before the head checks that offsets are honoured.
  const buf = enc(pad + text);
  const head = new HttpHead();
  const n = parseRequestHead(buf, pad.length, buf.length, head);
  assert.ok(n > 0, head.errorReason);
  const ed = new HeadEditor();
  ed.reset(buf, head);
  return ed;
}

function edRes(text: string): HeadEditor {
  const buf = enc(text);
  const head = new HttpHead();
  assert.ok(parseResponseHead(buf, 0, buf.length, head, 101, METH_GET) > 0, head.errorReason);
  const ed = new HeadEditor();
  ed.reset(buf, head);
  return ed;
}

function out(ed: HeadEditor): string {
  const s = dec(ed.serialize());
  assert.equal(ed.serializedLength(), s.length);
  // The result always parses again.
  const b = enc(s);
  const h = new HttpHead();
  const res = s.startsWith("HTTP/")
    ? parseResponseHead(b, 0, b.length, h, 101, METH_GET)
    : parseRequestHead(b, 0, b.length, h);
  assert.equal(res, b.length, `serialized head does not reparse: ${h.errorReason}\n${s}`);
  return s;
}

const REQ = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Custom-Case: Keep\r\n" +
  "Accept: */*\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n";

Deno.test("an unedited head serializes to the same bytes", () => {
  const ed = edReq(REQ, "xx");
  assert.equal(ed.modified, false);
  assert.equal(ed.needsSerialize(), false);
  assert.equal(out(ed), REQ);
});

Deno.test("leading empty lines are not reproduced", () => {
  assert.equal(out(edReq("\r\n" + REQ)), REQ);
});

Deno.test("add-header appends before the final CRLF (fast path), original bytes kept", () => {
  const ed = edReq("GET / HTTP/1.1\r\nhOsT:   h  \r\nX-A: 1\r\n\r\n", "junk");
  ed.addHeader("X-Forwarded-For", "10.0.0.1");
  ed.addHeader("X-Forwarded-For", "10.0.0.2");
  assert.ok(ed.modified && ed.needsSerialize());
  assert.equal(
    out(ed),
    "GET / HTTP/1.1\r\nhOsT:   h  \r\nX-A: 1\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\n\r\n",
  );
  assert.deepEqual(ed.headerValues("x-forwarded-for"), ["10.0.0.1", "10.0.0.2"]);
  assert.deepEqual(ed.headerValues("HOST"), ["h"]);
});

Deno.test("add-header on a head without headers", () => {
  const ed = edReq("GET / HTTP/1.0\r\n\r\n");
  ed.addHeader("X-A", "1");
  assert.equal(out(ed), "GET / HTTP/1.0\r\nX-A: 1\r\n\r\n");
});

Deno.test("lines the parser dropped are left out", () => {
  // Duplicate identical Content-Length and Host lines are marked dropped.
  const text = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-A: 1\r\n" +
    "Content-Length: 3\r\nHost: h\r\nX-B: 2\r\n\r\n";
  const ed = edReq(text);
  assert.equal(ed.modified, false);
  assert.equal(ed.needsSerialize(), true);
  assert.equal(
    out(ed),
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
  );
  // Also with appended lines, and after a materialising edit.
  ed.addHeader("X-C", "3");
  assert.equal(
    out(ed),
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\n\r\n",
  );
  ed.delHeader("x-a");
  assert.equal(
    out(ed),
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-B: 2\r\nX-C: 3\r\n\r\n",
  );
  assert.deepEqual(ed.headerValues("content-length"), ["3"]);
});

Deno.test("TE + CL: every Content-Length line is dropped", () => {
  const ed = edReq(
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
  );
  assert.equal(out(ed), "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
});

Deno.test("set-header replaces every occurrence with one line at the end", () => {
  const ed = edReq(REQ);
  ed.setHeader("cookie", "c=3");
  assert.equal(
    out(ed),
    "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Custom-Case: Keep\r\nAccept: */*\r\ncookie: c=3\r\n\r\n",
  );
});

Deno.test("set-header of an absent header stays on the append path", () => {
  const ed = edReq(REQ);
  ed.setHeader("X-New", "v");
  ed.setHeader("X-New", "w"); // replaces the appended one
  assert.deepEqual(ed.headerValues("x-new"), ["w"]);
  assert.equal(out(ed), REQ.slice(0, -2) + "X-New: w\r\n\r\n");
});

Deno.test("del-header by exact name, case-insensitive; absent name changes nothing", () => {
  const ed = edReq(REQ);
  assert.equal(ed.delHeader("nope"), 0);
  assert.equal(ed.modified, false);
  assert.equal(ed.delHeader("COOKIE"), 2);
  assert.equal(
    out(ed),
    "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Custom-Case: Keep\r\nAccept: */*\r\n\r\n",
  );
});

Deno.test("del-header by beg / end / sub / regex on the name; framing headers are kept", () => {
  const text = "GET / HTTP/1.1\r\nHost: h\r\nX-Debug-A: 1\r\nX-Debug-B: 2\r\nA-Trace: 3\r\n" +
    "Content-Length: 0\r\n\r\n";
  let ed = edReq(text);
  assert.equal(ed.delHeader("x-debug-", "beg"), 2);
  assert.equal(out(ed), "GET / HTTP/1.1\r\nHost: h\r\nA-Trace: 3\r\nContent-Length: 0\r\n\r\n");
  ed = edReq(text);
  assert.equal(ed.delHeader("-trace", "end"), 1);
  ed = edReq(text);
  assert.equal(ed.delHeader("debug", "sub"), 2);
  ed = edReq(text);
  assert.equal(ed.delHeader(/^x-|length/), 2);
  assert.match(out(ed), /Content-Length: 0/);
  ed = edReq(text);
  assert.equal(ed.delHeader("content", "beg"), 0);
});

Deno.test("replace-header rewrites the whole value with back-references", () => {
  const ed = edReq("GET / HTTP/1.1\r\nHost: h\r\nCookie: SESSION=abc; lang=en\r\n\r\n");
  assert.equal(ed.replaceHeader("cookie", /(.*)SESSION=[^;]*;?\s*(.*)/, "\\1\\2"), 1);
  assert.equal(out(ed), "GET / HTTP/1.1\r\nHost: h\r\nCookie: lang=en\r\n\r\n");
  // No match: unchanged.
  const ed2 = edReq(REQ);
  assert.equal(ed2.replaceHeader("host", /^nomatch$/, "x"), 0);
  assert.equal(ed2.modified, false);
  // The regex need not cover the value: the whole value is replaced (HAProxy).
  const ed3 = edReq("GET / HTTP/1.1\r\nHost: h\r\nX-A: hello world\r\n\r\n");
  ed3.replaceHeader("x-a", /wor/, "<\\0>");
  assert.deepEqual(ed3.headerValues("x-a"), ["<wor>"]);
});

Deno.test("replace-value rewrites each comma-separated element, separators kept", () => {
  const ed = edReq('GET / HTTP/1.1\r\nHost: h\r\nX-List: a1,  b2 ,c3, "q,1"\r\n\r\n');
  assert.equal(ed.replaceValue("x-list", /^([a-z])([0-9])$/, "\\2\\1"), 3);
  assert.deepEqual(ed.headerValues("x-list"), ['1a,  2b ,3c, "q,1"']);
  assert.equal(out(ed), 'GET / HTTP/1.1\r\nHost: h\r\nX-List: 1a,  2b ,3c, "q,1"\r\n\r\n');
});

Deno.test("several edits on one header, original name case preserved for untouched lines", () => {
  const ed = edReq("GET / HTTP/1.1\r\nHOST: h\r\nx-tag: one\r\nX-Other: o\r\nX-TAG: two\r\n\r\n");
  ed.replaceHeader("X-Tag", /^one$/, "uno");
  ed.addHeader("X-Tag", "three");
  ed.replaceValue("x-tag", /^two$/, "dos");
  assert.deepEqual(ed.headerValues("x-tag"), ["uno", "dos", "three"]);
  assert.equal(
    out(ed),
    "GET / HTTP/1.1\r\nHOST: h\r\nx-tag: uno\r\nX-Other: o\r\nX-TAG: dos\r\nX-Tag: three\r\n\r\n",
  );
  ed.delHeader("x-tag");
  ed.setHeader("X-Tag", "final");
  assert.equal(out(ed), "GET / HTTP/1.1\r\nHOST: h\r\nX-Other: o\r\nX-Tag: final\r\n\r\n");
});

Deno.test("set-path keeps the query; set-query keeps the path; set-uri replaces both", () => {
  let ed = edReq(REQ);
  ed.setPath("/new/path");
  assert.equal(ed.path(), "/new/path");
  assert.equal(ed.query(), "x=1");
  assert.equal(ed.url(), "/new/path?x=1");
  assert.ok(out(ed).startsWith("GET /new/path?x=1 HTTP/1.1\r\nHost: example.com\r\n"));
  ed.setQuery("y=2&z");
  assert.equal(ed.url(), "/new/path?y=2&z");
  ed.setQuery(null);
  assert.equal(ed.url(), "/new/path");
  ed.setQuery("?q");
  assert.equal(ed.url(), "/new/path?q");
  ed = edReq(REQ);
  assert.ok(ed.setUri("/other?k=v"));
  assert.equal(ed.path(), "/other");
  assert.equal(ed.query(), "k=v");
  assert.equal(out(ed), REQ.replace("/a/b?x=1", "/other?k=v"));
  assert.equal(ed.setUri(""), false);
});

Deno.test("set-path on an absolute-form target keeps scheme and authority", () => {
  const ed = edReq("GET http://example.com/a?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  assert.equal(ed.path(), "/a");
  ed.setPath("/b");
  assert.equal(ed.url(), "http://example.com/b?q=1");
  assert.equal(ed.path(), "/b");
  assert.ok(out(ed).startsWith("GET http://example.com/b?q=1 HTTP/1.1\r\n"));
});

Deno.test("set-path adds a missing '/'; set-uri refuses non-URIs and keeps Host in sync", () => {
  let ed = edReq(REQ);
  ed.setPath("rel");
  assert.equal(ed.url(), "/rel?x=1");
  out(ed);
  ed = edReq(REQ);
  assert.equal(ed.setUri("*"), false);
  assert.equal(ed.setUri("foo/bar"), false);
  assert.equal(ed.setUri("http:/x"), false);
  assert.equal(ed.modified, false);
  assert.ok(ed.setUri("http://other.example:8080/p?q"));
  assert.deepEqual(ed.headerValues("host"), ["other.example:8080"]);
  assert.equal(
    out(ed),
    "GET http://other.example:8080/p?q HTTP/1.1\r\nHost: other.example:8080\r\nX-Custom-Case: Keep\r\n" +
      "Accept: */*\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
  );
  // HTTP/1.0 without Host: one is added.
  ed = edReq("GET / HTTP/1.0\r\n\r\n");
  ed.setUri("http://h/x");
  assert.equal(out(ed), "GET http://h/x HTTP/1.0\r\nHost: h\r\n\r\n");
});

Deno.test("URI setters percent-encode bytes not allowed in a target", () => {
  const ed = edReq(REQ);
  ed.setPath("/a b#c\x01é");
  assert.equal(ed.path(), "/a%20b%23c%01%E9");
  out(ed);
});

Deno.test("set-method accepts tokens only", () => {
  const ed = edReq(REQ);
  assert.ok(ed.setMethod("POST"));
  assert.equal(ed.method(), "POST");
  assert.equal(ed.setMethod("BAD METHOD"), false);
  assert.equal(ed.method(), "POST");
  assert.ok(out(ed).startsWith("POST /a/b?x=1 HTTP/1.1\r\n"));
});

Deno.test("set-status rewrites the status line with the standard or given reason", () => {
  const text = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\n\r\n";
  let ed = edRes(text);
  assert.equal(ed.status(), 200);
  assert.ok(ed.setStatus(503));
  assert.equal(ed.status(), 503);
  assert.equal(
    out(ed),
    "HTTP/1.1 503 Service Unavailable\r\nServer: x\r\nContent-Length: 0\r\n\r\n",
  );
  ed = edRes(text);
  ed.setStatus(299, "Custom Thing");
  assert.equal(out(ed), "HTTP/1.1 299 Custom Thing\r\nServer: x\r\nContent-Length: 0\r\n\r\n");
  ed = edRes(text);
  ed.setStatus(599);
  assert.equal(out(ed).split("\r\n")[0], "HTTP/1.1 599 ");
  assert.equal(ed.setStatus(99), false);
  assert.equal(ed.setStatus(600), false);
  // Response header edits.
  ed = edRes("HTTP/1.0 404 Nope\r\nServer: apache\r\n\r\n");
  ed.delHeader("server");
  ed.addHeader("X-A", "1");
  assert.equal(out(ed), "HTTP/1.0 404 Nope\r\nX-A: 1\r\n\r\n");
});

Deno.test("values with CR, LF or NUL cannot inject lines", () => {
  const ed = edReq(REQ);
  ed.addHeader("X-Evil", "a\r\nInjected: yes\0");
  const s = out(ed);
  assert.ok(s.includes("X-Evil: a  Injected: yes \r\n"));
  assert.ok(!/\r\nInjected/.test(s));
});

Deno.test("serializeInto() writes at an offset and refuses a short buffer", () => {
  const ed = edReq(REQ);
  ed.addHeader("X-A", "1");
  const n = ed.serializedLength();
  const dst = new Uint8Array(n + 10);
  assert.equal(ed.serializeInto(dst, 10), n);
  assert.equal(dec(dst.subarray(10)), dec(ed.serialize()));
  assert.equal(ed.serializeInto(new Uint8Array(n - 1), 0), -1);
});

Deno.test("reset() forgets previous edits", () => {
  const ed = edReq(REQ);
  ed.setMethod("PUT");
  ed.delHeader("host");
  ed.addHeader("X", "y");
  const buf = enc(REQ);
  const head = new HttpHead();
  parseRequestHead(buf, 0, buf.length, head);
  ed.reset(buf, head);
  assert.equal(ed.modified, false);
  assert.equal(out(ed), REQ);
  assert.deepEqual(ed.headerValues("x"), []);
});

Deno.test("allHeaders() lists the edited header lines", () => {
  const ed = edReq("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n");
  ed.addHeader("X-B", "2");
  assert.deepEqual(ed.allHeaders(), [["host", "h"], ["x-a", "1"], ["x-b", "2"]]);
  ed.delHeader("x-a");
  assert.deepEqual(ed.allHeaders(), [["host", "h"], ["x-b", "2"]]);
});

/** Builds a buffer holding `pad`, a head, `body`, then free room up to `size`. */
function inPlace(text: string, body: string, size: number, pad = "") {
  const buf = new Uint8Array(size);
  buf.set(enc(pad + text + body));
  const head = new HttpHead();
  assert.ok(
    parseRequestHead(buf, pad.length, pad.length + text.length, head) > 0,
    head.errorReason,
  );
  const ed = new HeadEditor();
  ed.reset(buf, head);
  return { buf, head, ed, dataEnd: pad.length + text.length + body.length };
}

Deno.test("rewriteInPlace(): append fast path moves the body and writes the new lines", () => {
  const { buf, ed, dataEnd } = inPlace("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "BODY", 200, "__");
  ed.addHeader("X-Forwarded-For", "1.2.3.4");
  const want = "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
  const end = ed.rewriteInPlace(dataEnd);
  assert.equal(end, 2 + want.length);
  assert.equal(dec(buf.subarray(0, end + 4)), "__" + want + "BODY");
  assert.throws(() => ed.headerValues("host"), /after rewriteInPlace/);
});

Deno.test("rewriteInPlace(): growing and shrinking edits, dropped lines", () => {
  const text = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nX-Big: 0123456789\r\n" +
    "Content-Length: 4\r\n\r\n";
  let t = inPlace(text, "DATA", 300);
  t.ed.delHeader("x-big");
  let end = t.ed.rewriteInPlace(t.dataEnd);
  assert.equal(
    dec(t.buf.subarray(0, end + 4)),
    "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nDATA",
  );
  t = inPlace(text, "DATA", 300);
  t.ed.setPath("/a/much/longer/path");
  t.ed.setHeader("X-Big", "replaced");
  end = t.ed.rewriteInPlace(t.dataEnd);
  assert.equal(
    dec(t.buf.subarray(0, end + 4)),
    "POST /a/much/longer/path HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nX-Big: replaced\r\n\r\nDATA",
  );
  // Only dropped lines: still rewritten.
  t = inPlace(text, "", 300);
  end = t.ed.rewriteInPlace(t.dataEnd);
  assert.equal(
    dec(t.buf.subarray(0, end)),
    "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nX-Big: 0123456789\r\n\r\n",
  );
});

Deno.test("rewriteInPlace(): refuses when the buffer lacks room, changing nothing", () => {
  const text = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  const t = inPlace(text, "xy", text.length + 2 + 5);
  const before = dec(t.buf);
  t.ed.addHeader("X-Long", "does not fit");
  assert.equal(t.ed.rewriteInPlace(t.dataEnd), -1);
  assert.equal(dec(t.buf), before);
  // The editor is still usable after a refusal.
  assert.deepEqual(t.ed.headerValues("x-long"), ["does not fit"]);
});

Deno.test("a header value added as pieces: written piece by piece, read as one value", () => {
  const pieces = new ValuePieces();
  for (const p of ["10.0.0.1:4000_", "", "1700000000", "_", "7", ":bad\r\nX-Injected: 1"]) {
    pieces.add(p);
  }
  const text = "10.0.0.1:4000_1700000000_7:bad\r\nX-Injected: 1";
  const written = "10.0.0.1:4000_1700000000_7:bad  X-Injected: 1";
  const head = "GET / HTTP/1.1\r\nHost: a\r\n";
  // Serialized, never read as text.
  let ed = edReq(head + "\r\n");
  ed.addHeaderPieces("X-Unique-ID", pieces);
  ed.addHeader("X-After", "b");
  assert.equal(out(ed), `${head}X-Unique-ID: ${written}\r\nX-After: b\r\n\r\n`);
  // Written in place after the original lines (room behind the head).
  const buf = new Uint8Array(256);
  buf.set(enc(head + "\r\n"));
  const h = new HttpHead();
  assert.ok(parseRequestHead(buf, 0, head.length + 2, h) > 0);
  ed = new HeadEditor();
  ed.reset(buf, h);
  ed.addHeaderPieces("X-Unique-ID", pieces);
  const end = ed.appendInPlace(h.end);
  assert.equal(dec(buf.subarray(0, end)), `${head}X-Unique-ID: ${written}\r\n\r\n`);
  // Read as text by a rule: the joined value, and the same bytes written.
  ed = edReq(head + "\r\n");
  ed.addHeaderPieces("X-Unique-ID", pieces);
  assert.deepEqual(ed.headerValues("x-unique-id"), [text]);
  assert.deepEqual(ed.withAppended("X-UNIQUE-ID", ["x"]), ["x", text]);
  assert.equal(out(ed), `${head}X-Unique-ID: ${written}\r\n\r\n`);
  // Other edits materialise the list: the value goes with it.
  ed = edReq(head + "X-Drop: z\r\n\r\n");
  ed.addHeaderPieces("X-Unique-ID", pieces);
  ed.delHeader("x-drop");
  assert.equal(out(ed), `${head}X-Unique-ID: ${written}\r\n\r\n`);
  ed.addHeaderPieces("X-Again", pieces);
  assert.equal(out(ed), `${head}X-Unique-ID: ${written}\r\nX-Again: ${written}\r\n\r\n`);
});

Deno.test("integer pieces: written as their digits, read as String(n)", () => {
  const pieces = new ValuePieces();
  const ints = [0, 7, 9, 10, 1_700_000_000, 2 ** 31 - 1, 2 ** 31, -3, 1.5];
  for (const v of ints) {
    pieces.addInt(v);
    pieces.add("_");
  }
  pieces.addBytes(new Uint8Array([0x61, 0x62]));
  const text = ints.map((v) => `${String(v)}_`).join("") + "ab";
  assert.equal(pieces.length, text.length);
  const head = "GET / HTTP/1.1\r\nHost: a\r\n";
  const buf = new Uint8Array(256);
  buf.set(enc(head + "\r\n"));
  const h = new HttpHead();
  assert.ok(parseRequestHead(buf, 0, head.length + 2, h) > 0);
  const ed = new HeadEditor();
  ed.reset(buf, h);
  ed.addHeaderPieces("X-Id", pieces);
  const end = ed.appendInPlace(h.end);
  assert.equal(dec(buf.subarray(0, end)), `${head}X-Id: ${text}\r\n\r\n`);
  assert.equal(pieces.text(), text);
});
