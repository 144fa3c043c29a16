// Unit tests of body framing (src/http/h1_body.ts): the chunked validator
// with extensions, trailers and errors, the Content-Length counter and the
// BodyParser dispatcher.

import assert from "node:assert/strict";
import {
  BodyParser,
  CHUNK_LINE_MAX,
  ChunkedParser,
  ContentLengthBody,
  TRAILERS_MAX,
} from "../../src/http/h1_body.ts";
import {
  BODY_CHUNKED,
  BODY_CL,
  BODY_NONE,
  BODY_TUNNEL,
  BODY_UNTIL_CLOSE,
  PARSE_ERROR,
} from "../../src/http/types.ts";

function bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** Parses `body` in one call; returns consumed, done, and the parser. */
function chunked(body: string) {
  const p = new ChunkedParser();
  const buf = bytes(body);
  const n = p.parse(buf, 0, buf.length);
  return { n, p };
}

const VALID: [string, string][] = [
  // [description, complete body]; each is parsed followed by the next message's bytes.
  ["a single chunk", "5\r\nhello\r\n0\r\n\r\n"],
  ["several chunks, hex sizes any case", "a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n"],
  ["leading zeros", "0005\r\nhello\r\n000\r\n\r\n"],
  ["extensions", '5;name=value;flag\r\nhello\r\n0;last="yes, \\"really\\""\r\n\r\n'],
  ["whitespace before extensions", "5 ;x=1\r\nhello\r\n0\t\r\n\r\n"],
  ["trailers", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:\r\n\r\n"],
  ["empty body", "0\r\n\r\n"],
  ["obs-text in extension", "1;x=\xe9\r\na\r\n0\r\n\r\n"],
  ["16 hex digits", "000000000000000" + "1\r\nx\r\n0\r\n\r\n"],
  ["a chunk of CRLFs", "4\r\n\r\n\r\n\r\n0\r\n\r\n"],
];

for (const [name, body] of VALID) {
  Deno.test(`ChunkedParser accepts ${name}`, () => {
    const raw = body + "GET / HTTP/1.1\r\n";
    const { n, p } = chunked(raw);
    assert.equal(n, body.length, p.errorReason);
    assert.equal(p.done, true);
    // Once done, nothing more is consumed.
    assert.equal(p.parse(bytes(raw), n, raw.length), 0);
  });
}

const INVALID: [string, string, string, number][] = [
  // [description, body, reason, offset]
  ["a non-hex size", "g\r\n", "bad chunk size", 0],
  ["an empty size", "\r\n", "bad chunk size", 0],
  ["a size with a sign", "+5\r\nhello\r\n", "bad chunk size", 0],
  ["0x prefix", "0x5\r\nhello\r\n", "bad chunk size", 1],
  ["a space inside the size", "1 2\r\n", "bad chunk size", 2],
  ["17 hex digits", "0".repeat(16) + "1\r\n", "chunk size overflow", 16],
  ["a size over MAX_SAFE_INTEGER", "20000000000000\r\n", "chunk size overflow", 13],
  ["a size of 2^64-1", "ffffffffffffffff\r\n", "chunk size overflow", 13],
  ["missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", "missing CRLF after chunk data", 8],
  ["CR without LF after data", "5\r\nhello\rX", "missing CRLF after chunk data", 9],
  ["data longer than its size", "3\r\nhello\r\n", "missing CRLF after chunk data", 6],
  ["a bare LF after the size", "5\nhello\r\n", "bare LF", 1],
  ["a bare CR after the size", "5\rhello\r\n", "bare CR", 1],
  ["a control byte in an extension", "5;a\x01b\r\nhello\r\n", "bad chunk extension", 3],
  ["a bare LF in an extension", "5;a\nb\r\n", "bare LF", 3],
  ["obs-fold in trailers", "0\r\nX: 1\r\n 2\r\n\r\n", "bad trailer", 9],
  ["a trailer without colon", "0\r\nX\r\n\r\n", "bad trailer", 4],
  ["a trailer with space before colon", "0\r\nX : 1\r\n\r\n", "bad trailer", 4],
  ["NUL in a trailer", "0\r\nX: \x001\r\n\r\n", "bad trailer", 6],
  ["a bare LF ending a trailer", "0\r\nX: 1\n\r\n", "bare LF", 7],
  ["a bare CR in a trailer", "0\r\nX: 1\rY\r\n\r\n", "bare CR", 7],
  ["a bare CR in the final line", "0\r\n\rX", "bare CR", 3],
];

for (const [name, body, reason, offset] of INVALID) {
  Deno.test(`ChunkedParser refuses ${name} ("${reason}")`, () => {
    const { n, p } = chunked(body);
    assert.equal(n, PARSE_ERROR);
    assert.equal(p.errorReason, reason);
    assert.equal(p.errorOffset, offset);
    assert.equal(p.done, false);
    // The error is sticky.
    assert.equal(p.parse(bytes("0\r\n\r\n"), 0, 5), PARSE_ERROR);
  });
}

Deno.test("ChunkedParser limits size lines and trailers", () => {
  const long = chunked("5;" + "x".repeat(CHUNK_LINE_MAX) + "\r\n");
  assert.equal(long.n, PARSE_ERROR);
  assert.equal(long.p.errorReason, "chunk line too long");
  const big = chunked("0\r\nX: " + "y".repeat(TRAILERS_MAX) + "\r\n\r\n");
  assert.equal(big.n, PARSE_ERROR);
  assert.equal(big.p.errorReason, "trailers too large");
});

Deno.test("ChunkedParser consumes data in O(1) and tracks what remains", () => {
  const p = new ChunkedParser();
  const head = bytes("100000\r\n");
  assert.equal(p.parse(head, 0, head.length), head.length);
  assert.equal(p.chunkRemaining, 0x100000);
  const data = new Uint8Array(0x10000);
  for (let i = 0; i < 16; i++) assert.equal(p.parse(data, 0, data.length), data.length);
  assert.equal(p.chunkRemaining, 0);
  assert.equal(p.dataBytes, 0x100000);
  const tail = bytes("\r\n0\r\n\r\nNEXT");
  assert.equal(p.parse(tail, 0, tail.length), 7);
  assert.equal(p.done, true);
  p.reset();
  assert.equal(p.done, false);
  assert.equal(p.stateName(), "SIZE_FIRST");
});

Deno.test("ChunkedParser works byte by byte", () => {
  const body = "3;e=1\r\nabc\r\n0\r\nT: v\r\n\r\n";
  const buf = bytes(body + "rest");
  const p = new ChunkedParser();
  let total = 0;
  for (let i = 0; i < buf.length && !p.done; i++) total += p.parse(buf, i, i + 1);
  assert.equal(total, body.length);
  assert.equal(p.done, true);
});

Deno.test("ContentLengthBody counts down and never over-consumes", () => {
  const c = new ContentLengthBody();
  c.reset(10);
  const buf = new Uint8Array(8);
  assert.equal(c.parse(buf, 0, 8), 8);
  assert.equal(c.done, false);
  assert.equal(c.parse(buf, 0, 8), 2);
  assert.equal(c.done, true);
  assert.equal(c.parse(buf, 0, 8), 0);
  c.reset(0);
  assert.equal(c.done, true);
});

Deno.test("BodyParser dispatches on bodyType", () => {
  const b = new BodyParser();
  const buf = bytes("2\r\nok\r\n0\r\n\r\nGET");
  b.reset(BODY_NONE, -1);
  assert.equal(b.done, true);
  assert.equal(b.parse(buf, 0, buf.length), 0);
  b.reset(BODY_CL, 4);
  assert.equal(b.parse(buf, 0, buf.length), 4);
  assert.equal(b.done, true);
  b.reset(BODY_CHUNKED, -1);
  assert.equal(b.parse(buf, 0, buf.length), buf.length - 3);
  assert.equal(b.done, true);
  b.reset(BODY_UNTIL_CLOSE, -1);
  assert.equal(b.parse(buf, 0, buf.length), buf.length);
  assert.equal(b.done, false);
  b.reset(BODY_TUNNEL, -1);
  assert.equal(b.parse(buf, 3, buf.length), buf.length - 3);
  b.reset(BODY_CHUNKED, -1);
  assert.equal(b.parse(bytes("zz"), 0, 2), PARSE_ERROR);
  assert.equal(b.chunked.errorReason, "bad chunk size");
});
