// Unit tests of src/http/http_errors.ts: buildReply() writes a byte-string
// head byte for byte (never UTF-8 encoded a second time).

import assert from "node:assert/strict";
import { buildReply } from "../../src/http/http_errors.ts";
import { bytesOf } from "../../src/http/types.ts";

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);

Deno.test("buildReply: head bytes >= 0x80 are sent as they are", () => {
  const r = buildReply(302, null, new Uint8Array(0), ["location: /caf\xc3\xa9/\xe9"]);
  const s = latin1(r);
  assert.ok(s.startsWith("HTTP/1.1 302 "), s);
  assert.ok(s.includes("\r\nlocation: /caf\xc3\xa9/\xe9\r\n"), s);
  assert.ok(s.endsWith("\r\n\r\n"));
});

Deno.test("buildReply: the body is copied as given and counted in bytes", () => {
  const body = new Uint8Array([0x63, 0xc3, 0xa9, 0xff]);
  const r = buildReply(200, "text/plain; x=\xe9", body, ["x-a: \xff"]);
  const s = latin1(r);
  assert.ok(s.includes("\r\ncontent-length: 4\r\n"), s);
  assert.ok(s.includes("\r\ncontent-type: text/plain; x=\xe9\r\n"), s);
  assert.ok(s.includes("\r\nx-a: \xff\r\n"), s);
  assert.deepEqual(r.subarray(r.length - 4), body);
});

Deno.test("bytesOf: one byte per code unit", () => {
  assert.deepEqual(bytesOf("a\xe9\xff"), new Uint8Array([0x61, 0xe9, 0xff]));
  assert.deepEqual(bytesOf(""), new Uint8Array(0));
});
