// Unit tests of the HTTP/1 head parsers (src/http/h1_parse.ts): one table row
// per HTTP_RULES.md line for requests, response framing per RFC 9112 §6.3,
// incremental behaviour, limits and the header table.

import assert from "node:assert/strict";
import { parseRequestHead, parseResponseHead } from "../../src/http/h1_parse.ts";
import {
  BODY_CHUNKED,
  BODY_CL,
  BODY_NONE,
  BODY_TUNNEL,
  BODY_UNTIL_CLOSE,
  bodyTypeToString,
  HDR_F_DROP,
  HEAD_F_CHUNKED,
  HEAD_F_CL_DROPPED,
  HEAD_F_CL_MERGED,
  HEAD_F_CONN_CLOSE,
  HEAD_F_CONN_KEEPALIVE,
  HEAD_F_CONN_UPGRADE,
  HEAD_F_EXPECT_100,
  HEAD_F_HOST_MERGED,
  HEAD_F_RESPONSE,
  HEAD_F_TE_OTHER,
  headFlagsToString,
  HttpHead,
  METH_CONNECT,
  METH_DELETE,
  METH_GET,
  METH_HEAD,
  METH_OPTIONS,
  METH_OTHER,
  METH_PATCH,
  METH_POST,
  METH_PUT,
  METH_TRACE,
  PARSE_ERROR,
  PARSE_NEED_MORE,
  spanToString,
  TARGET_ABSOLUTE,
  TARGET_ASTERISK,
  TARGET_AUTHORITY,
  TARGET_ORIGIN,
} from "../../src/http/types.ts";
import {
  HDR_CONTENT_LENGTH,
  HDR_HOST,
  HDR_UNKNOWN,
  HDR_USER_AGENT,
} from "../../src/http/header_names.ts";

/** Latin1 bytes of a string (each char code is one byte). */
function bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

function req(s: string, maxhdr = 101, maxHead?: number, large = 400) {
  const buf = bytes(s);
  const head = new HttpHead();
  const r = parseRequestHead(buf, 0, buf.length, head, maxhdr, maxHead ?? buf.length, large);
  return { r, head, buf, str: (st: number, len: number) => spanToString(buf, st, len) };
}

function res(s: string, reqMethod = METH_GET) {
  const buf = bytes(s);
  const head = new HttpHead();
  const r = parseResponseHead(buf, 0, buf.length, head, 101, reqMethod);
  return { r, head, buf };
}

const H = "Host: example.com\r\n";

// ---------------------------------------------------------------------------
// Requests refused: [description, raw request, status, reason]

const REFUSED: [string, string, number, string][] = [
  // Method
  ["method with a non-tchar", "G(T / HTTP/1.1\r\n" + H + "\r\n", 400, "bad method"],
  ["method ending the line", "GET\r\n" + H + "\r\n", 400, "bad method"],
  ["TLS client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "not HTTP"],
  ["leading space", " GET / HTTP/1.1\r\n" + H + "\r\n", 400, "not HTTP"],
  ["binary garbage", "\x00\x01\x02\x03\r\n\r\n", 400, "not HTTP"],
  // Target
  ["space in target (extra token)", "GET /a b HTTP/1.1\r\n" + H + "\r\n", 400, "bad version"],
  ["double space before target", "GET  / HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["control char in target", "GET /a\x01b HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["tab in target", "GET /a\tb HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["DEL in target", "GET /a\x7f HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["byte >= 0x80 in target", "GET /caf\xe9 HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["fragment in target", "GET /a#frag HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["asterisk for GET", "GET * HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["asterisk with more", "OPTIONS *x HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["CONNECT with origin-form", "CONNECT / HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["CONNECT without port", "CONNECT example.com HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["CONNECT with empty port", "CONNECT example.com: HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  [
    "CONNECT with absolute-form",
    "CONNECT http://a:1/ HTTP/1.1\r\nHost: a:1\r\n\r\n",
    400,
    "bad target",
  ],
  ["authority-form for GET", "GET example.com:80 HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["relative target", "GET index.html HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  [
    "absolute-form with userinfo",
    "GET http://u@example.com/ HTTP/1.1\r\n" + H + "\r\n",
    400,
    "bad target",
  ],
  ["absolute-form without authority", "GET http:///x HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  ["scheme without //", "GET http:x HTTP/1.1\r\n" + H + "\r\n", 400, "bad target"],
  // Version
  ["HTTP/0.9 request line", "GET /\r\n\r\n", 400, "bad version"],
  ["HTTP/1.2", "GET / HTTP/1.2\r\n" + H + "\r\n", 400, "bad version"],
  ["HTTP/2.0", "GET / HTTP/2.0\r\n" + H + "\r\n", 400, "bad version"],
  ["HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "bad version"],
  ["lower-case version", "GET / http/1.1\r\n" + H + "\r\n", 400, "bad version"],
  ["version with trailing space", "GET / HTTP/1.1 \r\n" + H + "\r\n", 400, "bad version"],
  ["version HTTP/1.10", "GET / HTTP/1.10\r\n" + H + "\r\n", 400, "bad version"],
  // Header names
  [
    "space inside a header name",
    "GET / HTTP/1.1\r\n" + H + "Foo Bar: x\r\n\r\n",
    400,
    "bad header name",
  ],
  [
    "space before colon",
    "GET / HTTP/1.1\r\n" + H + "Foo : x\r\n\r\n",
    400,
    "whitespace before colon",
  ],
  [
    "tab before colon",
    "GET / HTTP/1.1\r\n" + H + "Foo\t: x\r\n\r\n",
    400,
    "whitespace before colon",
  ],
  ["empty header name", "GET / HTTP/1.1\r\n" + H + ": x\r\n\r\n", 400, "bad header name"],
  ["header line without colon", "GET / HTTP/1.1\r\n" + H + "Foo\r\n\r\n", 400, "bad header name"],
  ["non-token byte in name", "GET / HTTP/1.1\r\n" + H + "Fo@o: x\r\n\r\n", 400, "bad header name"],
  ["byte >= 0x80 in name", "GET / HTTP/1.1\r\n" + H + "F\xf6o: x\r\n\r\n", 400, "bad header name"],
  // Header values and line endings
  ["NUL in a value", "GET / HTTP/1.1\r\n" + H + "X: a\x00b\r\n\r\n", 400, "bad header value"],
  ["bare CR in a value", "GET / HTTP/1.1\r\n" + H + "X: a\rb\r\n\r\n", 400, "bare CR"],
  ["bare CR in the request line", "GET /\r HTTP/1.1\r\n" + H + "\r\n", 400, "bare CR"],
  ["bare CR before the final LF", "GET / HTTP/1.1\r\n" + H + "\r\r\n", 400, "bare CR"],
  ["bare LF in a value", "GET / HTTP/1.1\r\n" + H + "X: a\nb\r\n\r\n", 400, "bare LF"],
  ["bare LF line ends", "GET / HTTP/1.1\n" + H + "\n", 400, "bare LF"],
  ["bare LF final line", "GET / HTTP/1.1\r\n" + H + "\n", 400, "bare LF"],
  ["leading bare LF", "\nGET / HTTP/1.1\r\n" + H + "\r\n", 400, "bare LF"],
  ["leading bare CR", "\rGET / HTTP/1.1\r\n" + H + "\r\n", 400, "bare CR"],
  ["obs-fold", "GET / HTTP/1.1\r\n" + H + "X: a\r\n b\r\n\r\n", 400, "obs-fold"],
  ["obs-fold with tab", "GET / HTTP/1.1\r\n" + H + "X: a\r\n\tb\r\n\r\n", 400, "obs-fold"],
  ["whitespace line after start line", "GET / HTTP/1.1\r\n X: a\r\n" + H + "\r\n", 400, "obs-fold"],
  // Content-Length
  [
    "empty Content-Length",
    "POST / HTTP/1.1\r\n" + H + "Content-Length:\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "Content-Length +5",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "Content-Length -1",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "Content-Length 5x",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: 5x\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "Content-Length 0x10",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: 0x10\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "Content-Length 1 2",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: 1 2\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "Content-Length list",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: 5, 5\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "Content-Length overflow",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: 9007199254740992\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "Content-Length huge",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: 99999999999999999999999\r\n\r\n",
    400,
    "bad content-length",
  ],
  [
    "two different Content-Length",
    "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
    400,
    "conflicting content-length",
  ],
  // Transfer-Encoding
  [
    "TE last coding not chunked",
    "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\n\r\n",
    400,
    "bad transfer-encoding",
  ],
  [
    "TE chunked then gzip",
    "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, gzip\r\n\r\n",
    400,
    "bad transfer-encoding",
  ],
  [
    "TE chunked twice",
    "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, chunked\r\n\r\n",
    400,
    "duplicate chunked",
  ],
  [
    "TE chunked in two headers",
    "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
    "duplicate chunked",
  ],
  [
    "TE unknown coding before chunked",
    "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: foo, chunked\r\n\r\n",
    400,
    "unknown transfer-coding",
  ],
  [
    "TE chunked with parameters",
    "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked;x=1\r\n\r\n",
    400,
    "bad transfer-encoding",
  ],
  [
    "TE empty",
    "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding:\r\n\r\n",
    400,
    "bad transfer-encoding",
  ],
  [
    "TE not a token list",
    "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked x\r\n\r\n",
    400,
    "bad transfer-encoding",
  ],
  [
    "TE in HTTP/1.0",
    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
    "transfer-encoding in HTTP/1.0",
  ],
  // Host
  ["two different Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "conflicting host"],
  ["Host vs absolute-form", "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", 400, "host mismatch"],
  [
    "Host vs absolute-form port",
    "GET http://a:8080/ HTTP/1.1\r\nHost: a\r\n\r\n",
    400,
    "host mismatch",
  ],
  [
    "Host vs CONNECT authority",
    "CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n",
    400,
    "host mismatch",
  ],
  ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "missing host"],
  ["absolute-form without Host", "GET http://a/ HTTP/1.1\r\n\r\n", 400, "missing host"],
  ["Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad host"],
  ["Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "bad host"],
  ["Host with a bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400, "bad host"],
];

for (const [name, raw, status, reason] of REFUSED) {
  Deno.test(`parseRequestHead() refuses ${name} (${status} "${reason}")`, () => {
    const { r, head } = req(raw);
    assert.equal(r, PARSE_ERROR, `result for ${JSON.stringify(raw)}`);
    assert.equal(head.errorReason, reason, `reason for ${JSON.stringify(raw)}`);
    assert.equal(head.errorStatus, status);
    assert.ok(
      head.errorOffset >= 0 && head.errorOffset <= raw.length,
      `offset ${head.errorOffset}`,
    );
  });
}

Deno.test("parseRequestHead() reports the offset of the offending byte", () => {
  assert.equal(req("GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n").head.errorOffset, 29);
  assert.equal(req("G(T / HTTP/1.1\r\n\r\n").head.errorOffset, 1);
  assert.equal(req("GET / HTTP/1.1\r\nHost: a\r\nFoo : x\r\n\r\n").head.errorOffset, 28);
  assert.equal(req("GET / HTTP/1.1\nHost: a\r\n\r\n").head.errorOffset, 14);
});

// ---------------------------------------------------------------------------
// Requests accepted

Deno.test("parseRequestHead() parses a simple GET with spans", () => {
  const raw =
    "GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8 \t\r\nX-Empty:\r\n\r\nBODY";
  const { r, head, str } = req(raw);
  assert.equal(r, raw.length - 4);
  assert.equal(head.start, 0);
  assert.equal(head.end, raw.length - 4);
  assert.equal(head.method, METH_GET);
  assert.equal(str(head.methodStart, head.methodLen), "GET");
  assert.equal(str(head.targetStart, head.targetLen), "/a/b?x=1&y");
  assert.equal(head.targetForm, TARGET_ORIGIN);
  assert.equal(str(head.pathStart, head.pathLen), "/a/b");
  assert.equal(str(head.queryStart, head.queryLen), "x=1&y");
  assert.equal(head.version, 11);
  assert.equal(head.hdrCount, 3);
  assert.equal(str(head.nameStart(0), head.nameLen(0)), "Host");
  assert.equal(head.nameId(0), HDR_HOST);
  assert.equal(str(head.valueStart(1), head.valueLen(1)), "curl/8");
  assert.equal(head.nameId(1), HDR_USER_AGENT);
  assert.equal(head.valueLen(2), 0);
  assert.equal(head.nameId(2), HDR_UNKNOWN);
  assert.equal(head.bodyType, BODY_NONE);
  assert.equal(head.contentLength, -1);
  assert.ok(head.keepAlive());
});

Deno.test("parseRequestHead() without a query leaves the query span empty", () => {
  const { head, str } = req("GET /p HTTP/1.1\r\n" + H + "\r\n");
  assert.equal(str(head.pathStart, head.pathLen), "/p");
  assert.equal(head.queryStart, -1);
  assert.equal(head.queryLen, 0);
  const q = req("GET /p? HTTP/1.1\r\n" + H + "\r\n");
  assert.equal(q.head.queryLen, 0);
  assert.ok(q.head.queryStart > 0);
});

Deno.test("parseRequestHead() skips leading empty lines and reports them in head.start", () => {
  const raw = "\r\n\r\nGET / HTTP/1.1\r\n" + H + "\r\n";
  const { r, head } = req(raw);
  assert.equal(r, raw.length);
  assert.equal(head.start, 4);
  assert.equal(head.methodStart, 4);
});

Deno.test("parseRequestHead() knows the common methods, case-sensitively", () => {
  const cases: [string, number][] = [
    ["GET", METH_GET],
    ["HEAD", METH_HEAD],
    ["POST", METH_POST],
    ["PUT", METH_PUT],
    ["DELETE", METH_DELETE],
    ["TRACE", METH_TRACE],
    ["PATCH", METH_PATCH],
    ["PROPFIND", METH_OTHER],
    ["get", METH_OTHER],
    ["GETS", METH_OTHER],
  ];
  for (const [m, id] of cases) {
    const { r, head } = req(`${m} / HTTP/1.1\r\n${H}\r\n`);
    assert.ok(r > 0, m);
    assert.equal(head.method, id, m);
  }
  const o = req("OPTIONS * HTTP/1.1\r\n" + H + "\r\n");
  assert.ok(o.r > 0);
  assert.equal(o.head.method, METH_OPTIONS);
  assert.equal(o.head.targetForm, TARGET_ASTERISK);
  assert.equal(o.head.pathLen, 0);
});

Deno.test("parseRequestHead() accepts absolute-form with a matching Host (any case)", () => {
  const { r, head, str } = req(
    "GET http://Example.COM:8080/p?q HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
  );
  assert.ok(r > 0);
  assert.equal(head.targetForm, TARGET_ABSOLUTE);
  assert.equal(str(head.authStart, head.authLen), "Example.COM:8080");
  assert.equal(str(head.pathStart, head.pathLen), "/p");
  assert.equal(str(head.queryStart, head.queryLen), "q");
  const bare = req("GET https://a HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.ok(bare.r > 0);
  assert.equal(bare.head.pathLen, 0);
  const v6 = req("GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
  assert.ok(v6.r > 0, v6.head.errorReason);
});

Deno.test("parseRequestHead() accepts CONNECT host:port", () => {
  const { r, head, str } = req("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  assert.ok(r > 0);
  assert.equal(head.method, METH_CONNECT);
  assert.equal(head.targetForm, TARGET_AUTHORITY);
  assert.equal(str(head.authStart, head.authLen), "example.com:443");
  assert.equal(head.bodyType, BODY_NONE);
});

Deno.test("parseRequestHead() accepts HTTP/1.0 without Host, closing by default", () => {
  const { r, head } = req("GET / HTTP/1.0\r\n\r\n");
  assert.ok(r > 0);
  assert.equal(head.version, 10);
  assert.equal(head.keepAlive(), false);
  const ka = req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  assert.ok(ka.head.flags & HEAD_F_CONN_KEEPALIVE);
  assert.equal(ka.head.keepAlive(), true);
});

Deno.test("parseRequestHead() merges identical Content-Length repeats", () => {
  const { r, head, buf } = req(
    "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 005\r\n\r\n",
  );
  assert.ok(r > 0);
  assert.equal(head.bodyType, BODY_CL);
  assert.equal(head.contentLength, 5);
  assert.ok(head.flags & HEAD_F_CL_MERGED);
  assert.equal(head.isDropped(1), false);
  assert.equal(head.isDropped(2), true);
  assert.equal(head.findHeader(buf, HDR_CONTENT_LENGTH), 1);
  assert.equal(head.findHeader(buf, HDR_CONTENT_LENGTH, 2), -1);
});

Deno.test("parseRequestHead() takes Content-Length up to MAX_SAFE_INTEGER and 0", () => {
  const big = req("POST / HTTP/1.1\r\n" + H + "Content-Length: 9007199254740991\r\n\r\n");
  assert.equal(big.head.contentLength, Number.MAX_SAFE_INTEGER);
  const zero = req("POST / HTTP/1.1\r\n" + H + "Content-Length: 0\r\n\r\n");
  assert.equal(zero.head.bodyType, BODY_CL);
  assert.equal(zero.head.contentLength, 0);
});

Deno.test("parseRequestHead() repairs TE + CL: drops CL, forces close", () => {
  const raw = "POST / HTTP/1.1\r\n" + H +
    "Content-Length: 10\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 10\r\n\r\n";
  const { r, head } = req(raw);
  assert.ok(r > 0, head.errorReason);
  assert.equal(head.bodyType, BODY_CHUNKED);
  assert.equal(head.contentLength, -1);
  assert.ok(head.flags & HEAD_F_CL_DROPPED);
  assert.ok(head.flags & HEAD_F_CHUNKED);
  assert.equal(head.hdrFlags[1], HDR_F_DROP);
  assert.equal(head.hdrFlags[2], 0);
  assert.equal(head.hdrFlags[3], HDR_F_DROP);
  assert.equal(head.keepAlive(), false);
});

Deno.test("parseRequestHead() reads Transfer-Encoding across headers, any case", () => {
  const { r, head } = req(
    "POST / HTTP/1.1\r\n" + H +
      'Transfer-Encoding: gzip;level="1,2"\r\nTransfer-Encoding: , CHUNKED ,\r\n\r\n',
  );
  assert.ok(r > 0, head.errorReason);
  assert.equal(head.bodyType, BODY_CHUNKED);
});

Deno.test("parseRequestHead() merges identical Host repeats", () => {
  const { r, head, buf } = req("GET / HTTP/1.1\r\nHost: a.b\r\nHost: A.B\r\n\r\n");
  assert.ok(r > 0);
  assert.ok(head.flags & HEAD_F_HOST_MERGED);
  assert.equal(head.hostIdx, 0);
  assert.equal(head.isDropped(1), true);
  assert.equal(head.headerValue(buf, "host"), "a.b");
});

Deno.test("parseRequestHead() sets connection flags", () => {
  const up = req(
    "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
  );
  assert.ok(up.head.flags & HEAD_F_CONN_UPGRADE, headFlagsToString(up.head.flags));
  const noUp = req("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
  assert.equal(noUp.head.flags & HEAD_F_CONN_UPGRADE, 0);
  const close = req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo,CLOSE\r\n\r\n");
  assert.ok(close.head.flags & HEAD_F_CONN_CLOSE);
  assert.equal(close.head.keepAlive(), false);
  const exp = req(
    "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
  );
  assert.ok(exp.head.flags & HEAD_F_EXPECT_100);
  const exp10 = req("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  assert.equal(exp10.head.flags & HEAD_F_EXPECT_100, 0);
});

Deno.test("parseRequestHead() keeps obs-text and other controls in values, trims OWS", () => {
  const { r, head, str } = req("GET / HTTP/1.1\r\nHost: a\r\nX: \t caf\xe9 \x01 x\x7f \t\r\n\r\n");
  assert.ok(r > 0, head.errorReason);
  assert.equal(str(head.valueStart(1), head.valueLen(1)), "caf\xe9 \x01 x\x7f");
});

Deno.test("headerValue() decodes on request, by id or name in any case", () => {
  const { head, buf } = req(
    "GET / HTTP/1.1\r\nHost: a\r\nX-Custom-Thing: v1\r\nx-custom-thing: v2\r\n\r\n",
  );
  assert.equal(head.headerValue(buf, HDR_HOST), "a");
  assert.equal(head.headerValue(buf, "x-custom-thing"), "v1");
  assert.equal(head.headerValue(buf, "X-Custom-Thing"), "v1");
  assert.equal(head.findHeader(buf, "x-custom-thing", 2), 2);
  assert.equal(head.headerValue(buf, "cookie"), null);
  assert.equal(head.headerValue(buf, "x-other"), null);
});

// ---------------------------------------------------------------------------
// Limits

Deno.test("parseRequestHead() refuses more than maxhdr headers (400, or 431)", () => {
  const raw = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
  assert.ok(req(raw, 3).r > 0);
  const over = req(raw, 2);
  assert.equal(over.r, PARSE_ERROR);
  assert.equal(over.head.errorReason, "too many headers");
  assert.equal(over.head.errorStatus, 400);
  assert.equal(req(raw, 2, undefined, 431).head.errorStatus, 431);
});

Deno.test("parseRequestHead() with a fresh head takes exactly maxhdr (101) headers, values intact", () => {
  const head = new HttpHead();
  const make = (n: number) => {
    let raw = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (let i = 1; i < n; i++) raw += `X-${i}: v${i}\r\n`;
    return bytes(raw + "\r\n");
  };
  const buf = make(101);
  assert.ok(parseRequestHead(buf, 0, buf.length, head) > 0);
  assert.equal(head.hdrCount, 101);
  assert.equal(head.headerValue(buf, "host"), "a");
  for (const i of [1, 16, 17, 33, 100]) assert.equal(head.headerValue(buf, `x-${i}`), `v${i}`);
  head.reset();
  const over = make(102);
  assert.equal(parseRequestHead(over, 0, over.length, head), PARSE_ERROR);
  assert.equal(head.errorReason, "too many headers");
});

Deno.test("parseRequestHead() grows the header table when maxhdr exceeds its capacity", () => {
  let raw = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (let i = 0; i < 150; i++) raw += `X-${i}: ${i}\r\n`;
  raw += "\r\n";
  const buf = bytes(raw);
  const head = new HttpHead(10);
  assert.ok(parseRequestHead(buf, 0, buf.length, head, 200) > 0);
  assert.equal(head.hdrCount, 151);
  assert.equal(head.headerValue(buf, "x-149"), "149");
  head.reset();
  assert.equal(parseRequestHead(buf, 0, buf.length, head), PARSE_ERROR);
  assert.equal(head.errorReason, "too many headers");
});

Deno.test("parseRequestHead() refuses a head larger than maxHead (400, or 414/431)", () => {
  const raw = "GET /" + "a".repeat(100) + " HTTP/1.1\r\nHost: a\r\nX: " + "b".repeat(100) +
    "\r\n\r\n";
  assert.ok(req(raw, 101, raw.length).r > 0);
  const small = req(raw, 101, raw.length - 1);
  assert.equal(small.r, PARSE_ERROR);
  assert.equal(small.head.errorReason, "head too large");
  assert.equal(small.head.errorStatus, 400);
  assert.equal(req(raw, 101, 50, 431).head.errorStatus, 414);
  assert.equal(req(raw, 101, 150, 431).head.errorStatus, 431);
  // Incomplete and within the limit: wait.
  const buf = new Uint8Array(1000);
  buf.set(bytes(raw.slice(0, 50)));
  const head = new HttpHead();
  assert.equal(parseRequestHead(buf, 0, 50, head), PARSE_NEED_MORE);
  // The limit defaults to the room left in the buffer.
  assert.equal(parseRequestHead(buf.subarray(0, 50), 0, 50, head), PARSE_ERROR);
  assert.equal(head.errorReason, "head too large");
});

// ---------------------------------------------------------------------------
// Incremental parsing

Deno.test("parseRequestHead() resumes its scan and gives the same head", () => {
  const raw = "\r\nPOST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody";
  const full = bytes(raw);
  const buf = new Uint8Array(4096);
  buf.set(full);
  const head = new HttpHead();
  for (let end = 1; end < raw.length - 4; end++) {
    assert.equal(parseRequestHead(buf, 0, end, head), PARSE_NEED_MORE, `end=${end}`);
    assert.ok(head.scanPos <= end);
  }
  assert.equal(parseRequestHead(buf, 0, raw.length, head), raw.length - 4);
  assert.equal(head.contentLength, 4);
  // Calling again after success is harmless and gives the same answer.
  assert.equal(parseRequestHead(buf, 0, raw.length, head), raw.length - 4);
  assert.equal(head.contentLength, 4);
});

Deno.test("parseRequestHead() refuses garbage and bad start lines before the head is complete", () => {
  const buf = new Uint8Array(4096);
  const head = new HttpHead();
  buf.set([0x16, 0x03, 0x01]);
  assert.equal(parseRequestHead(buf, 0, 3, head), PARSE_ERROR);
  assert.equal(head.errorReason, "not HTTP");
  head.reset();
  buf.set(bytes("GET / HTTP/1.7\r\nHost: a\r\n"));
  assert.equal(parseRequestHead(buf, 0, 25, head), PARSE_ERROR);
  assert.equal(head.errorReason, "bad version");
  head.reset();
  buf.set(bytes("GET / HTTP/1.1\r\nX: a\rb"));
  assert.equal(parseRequestHead(buf, 0, 23, head), PARSE_ERROR);
  assert.equal(head.errorReason, "bare CR");
});

Deno.test("parseRequestHead() parses pipelined requests from successive offsets", () => {
  const raw = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  const buf = bytes(raw);
  const head = new HttpHead();
  const n1 = parseRequestHead(buf, 0, buf.length, head);
  assert.equal(n1, raw.length / 2);
  head.reset();
  const n2 = parseRequestHead(buf, n1, buf.length, head);
  assert.equal(n2, raw.length / 2);
  assert.equal(spanToString(buf, head.pathStart, head.pathLen), "/2");
});

// ---------------------------------------------------------------------------
// Responses

const FRAMING: [string, string, number, number, number][] = [
  // [description, raw, request method, bodyType, contentLength]
  [
    "200 with Content-Length",
    "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n",
    METH_GET,
    BODY_CL,
    12,
  ],
  [
    "200 chunked",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    METH_GET,
    BODY_CHUNKED,
    -1,
  ],
  ["200 without framing", "HTTP/1.1 200 OK\r\n\r\n", METH_GET, BODY_UNTIL_CLOSE, -1],
  ["HTTP/1.0 200", "HTTP/1.0 200 OK\r\n\r\n", METH_GET, BODY_UNTIL_CLOSE, -1],
  [
    "HEAD response with CL",
    "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
    METH_HEAD,
    BODY_NONE,
    -1,
  ],
  [
    "HEAD response chunked",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    METH_HEAD,
    BODY_NONE,
    -1,
  ],
  ["100 Continue", "HTTP/1.1 100 Continue\r\n\r\n", METH_POST, BODY_NONE, -1],
  ["103 with CL", "HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\n\r\n", METH_GET, BODY_NONE, -1],
  ["204 with CL", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", METH_GET, BODY_NONE, -1],
  [
    "304 chunked",
    "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
    METH_GET,
    BODY_NONE,
    -1,
  ],
  [
    "101 Switching Protocols",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    METH_GET,
    BODY_TUNNEL,
    -1,
  ],
  ["200 to CONNECT", "HTTP/1.1 200 Connection established\r\n\r\n", METH_CONNECT, BODY_TUNNEL, -1],
  [
    "407 to CONNECT",
    "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\n",
    METH_CONNECT,
    BODY_CL,
    3,
  ],
  [
    "TE not ending in chunked",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    METH_GET,
    BODY_UNTIL_CLOSE,
    -1,
  ],
  [
    "HTTP/1.0 with chunked",
    "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    METH_GET,
    BODY_UNTIL_CLOSE,
    -1,
  ],
  [
    "unknown coding before chunked",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked\r\n\r\n",
    METH_GET,
    BODY_CHUNKED,
    -1,
  ],
  ["no reason phrase", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", METH_GET, BODY_CL, 0],
  ["empty reason phrase", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", METH_GET, BODY_CL, 0],
];

for (const [name, raw, meth, body, cl] of FRAMING) {
  Deno.test(`parseResponseHead() frames ${name} as ${bodyTypeToString(body)}`, () => {
    const { r, head } = res(raw, meth);
    assert.equal(r, raw.length, head.errorReason);
    assert.equal(bodyTypeToString(head.bodyType), bodyTypeToString(body));
    assert.equal(head.contentLength, cl);
    assert.ok(head.flags & HEAD_F_RESPONSE);
  });
}

Deno.test("parseResponseHead() fills status, reason and flags", () => {
  const { head, buf } = res("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
  assert.equal(head.status, 503);
  assert.equal(head.version, 11);
  assert.equal(spanToString(buf, head.reasonStart, head.reasonLen), "Service Unavailable");
  assert.equal(head.keepAlive(), false);
  const te = res("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n");
  assert.ok(te.head.flags & HEAD_F_TE_OTHER);
  assert.ok(te.head.flags & HEAD_F_CL_DROPPED);
  assert.ok(te.head.isDropped(0));
  assert.equal(te.head.keepAlive(), false);
});

const RES_REFUSED: [string, string, string][] = [
  ["two-digit status", "HTTP/1.1 20 OK\r\n\r\n", "bad status"],
  ["status 600", "HTTP/1.1 600 X\r\n\r\n", "bad status"],
  ["status 099", "HTTP/1.1 099 X\r\n\r\n", "bad status"],
  ["no status", "HTTP/1.1\r\n\r\n", "bad status"],
  ["status glued to reason", "HTTP/1.1 200OK\r\n\r\n", "bad status"],
  ["HTTP/2", "HTTP/2 200 OK\r\n\r\n", "bad version"],
  ["HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", "bad version"],
  ["not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", "not HTTP"],
  ["NUL in reason", "HTTP/1.1 200 O\x00K\r\n\r\n", "bad reason"],
  ["bad header name", "HTTP/1.1 200 OK\r\nX Y: 1\r\n\r\n", "bad header name"],
  ["obs-fold", "HTTP/1.1 200 OK\r\nX: 1\r\n 2\r\n\r\n", "obs-fold"],
  ["bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", "bare LF"],
  [
    "conflicting CL",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "conflicting content-length",
  ],
  ["bad CL", "HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n", "bad content-length"],
  [
    "chunked twice",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    "duplicate chunked",
  ],
];

for (const [name, raw, reason] of RES_REFUSED) {
  Deno.test(`parseResponseHead() refuses ${name} (502 "${reason}")`, () => {
    const { r, head } = res(raw);
    assert.equal(r, PARSE_ERROR);
    assert.equal(head.errorReason, reason);
    assert.equal(head.errorStatus, 502);
  });
}

Deno.test("parseResponseHead() refuses garbage early and handles 1xx then final", () => {
  const buf = new Uint8Array(256);
  const head = new HttpHead();
  buf.set(bytes("<html>"));
  assert.equal(parseResponseHead(buf, 0, 6, head, 101, METH_GET), PARSE_ERROR);
  assert.equal(head.errorReason, "not HTTP");

  const raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const b = bytes(raw);
  head.reset();
  const n = parseResponseHead(b, 0, b.length, head, 101, METH_POST);
  assert.equal(head.status, 100);
  head.reset();
  const m = parseResponseHead(b, n, b.length, head, 101, METH_POST);
  assert.equal(head.status, 200);
  assert.equal(n + m, raw.length - 2);
});

Deno.test("reset() clears a head for the next message", () => {
  const { head } = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
  head.reset();
  assert.equal(head.hdrCount, 0);
  assert.equal(head.flags, 0);
  assert.equal(head.contentLength, -1);
  assert.equal(head.scanPos, 0);
  assert.equal(head.errorReason, "");
});
