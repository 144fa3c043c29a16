// The HTTP/1.1 response → HTTP/2 fields translation (src/mux/h2_response_head.ts)
// and the H2Stream that feeds it from the Stream's writes (src/mux/h2_stream.ts).

import assert from "node:assert/strict";
import { createPools } from "../../src/buf/pool.ts";
import {
  parseResponseHead,
  ResponseFields,
  responseFromIndex,
} from "../../src/mux/h2_response_head.ts";
import { parseResponseHead as parseHttp1Response } from "../../src/http/h1_parse.ts";
import { HttpHead, METH_GET } from "../../src/http/types.ts";
import { type H2Sender, H2Stream } from "../../src/mux/h2_stream.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function fields(f: ResponseFields): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < f.count; i++) out.push([f.names[i]!, f.values[i]!]);
  return out;
}

Deno.test("h2 response: a head becomes :status and lowercase fields, hop-by-hop ones left out", () => {
  const b = enc(
    "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nX-Pad:  a b \t\r\nConnection: keep-alive, X-Gone\r\n" +
      "X-Gone: 1\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nProxy-Connection: close\r\n" +
      "Content-Length: 12\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
  );
  const f = new ResponseFields();
  parseResponseHead(b, 0, b.length, false, f);
  assert.equal(f.status, 404);
  assert.equal(f.length, 12);
  assert.equal(f.chunked, false);
  assert.deepEqual(fields(f), [
    [":status", "404"],
    ["server", "nginx"],
    ["x-pad", "a b"],
    ["content-length", "12"],
    ["set-cookie", "a=1"],
    ["set-cookie", "b=2"],
  ]);
});

Deno.test("h2 response: each head's connection header drops what it names, whatever the heads before", () => {
  const f = new ResponseFields();
  const names = (head: string) => {
    const b = enc(`HTTP/1.1 200 OK\r\n${head}X-Gone: 1\r\nX-Kept: 2\r\n\r\n`);
    parseResponseHead(b, 0, b.length, false, f);
    return fields(f).map(([n]) => n).join(" ");
  };
  assert.equal(names("Connection: keep-alive\r\n"), ":status x-gone x-kept");
  assert.equal(names("Connection: keep-alive\r\n"), ":status x-gone x-kept");
  assert.equal(names("Connection: X-Gone\r\n"), ":status x-kept");
  assert.equal(names("Connection: X-Gone\r\n"), ":status x-kept");
  assert.equal(names("Connection: keep-alive\r\n"), ":status x-gone x-kept");
  assert.equal(names("Connection: keep-alive\r\nConnection: x-gone\r\n"), ":status x-kept");
  assert.equal(names("Connection: close\r\n"), ":status x-gone x-kept");
});

Deno.test("h2 response: chunked framing, trailers, and the same strings for the same bytes", () => {
  const b = enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nDate: x\r\n\r\n");
  const f = new ResponseFields();
  parseResponseHead(b, 0, b.length, false, f);
  assert.equal(f.chunked, true);
  assert.equal(f.length, -1);
  assert.deepEqual(fields(f), [[":status", "200"], ["date", "x"]]);
  const date = f.values[1]!;
  parseResponseHead(b, 0, b.length, false, f);
  assert.equal(f.values[1], date);
  const t = enc("xxX-Sum: 42\r\nTransfer-Encoding: chunked\r\n\r\n");
  parseResponseHead(t, 2, t.length, true, f);
  assert.equal(f.status, 0);
  assert.deepEqual(fields(f), [["x-sum", "42"]]);
  const empty = enc("\r\n");
  parseResponseHead(empty, 0, 2, true, f);
  assert.equal(f.count, 0);
});

/** A sender that records what the stream sends, with unlimited room. */
class Recorder implements H2Sender {
  frames: string[] = [];
  sendHeaders(
    _s: H2Stream,
    names: readonly string[],
    values: readonly string[],
    count: number,
    end: boolean,
  ): boolean {
    const f: string[] = [];
    for (let i = 0; i < count; i++) f.push(`${names[i]}=${values[i]}`);
    this.frames.push(`HEADERS${end ? "+END" : ""} ${f.join(" ")}`);
    return true;
  }
  sendData(s: H2Stream, src: Uint8Array, start: number, len: number, last: boolean): number {
    const text = new TextDecoder().decode(src.subarray(start, start + len));
    this.frames.push(`DATA${last ? "+END" : ""} ${text}`);
    if (last) s.markDone();
    return len;
  }
  consumed(): void {}
  responseDone(): void {}
  resetStream(_s: H2Stream, _code: number, why: string): void {
    this.frames.push(`RST ${why}`);
  }
  streamClosed(): void {}
}

Deno.test("h2 response: a head and trailers split over many writes give the same frames", async () => {
  const response = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\n" +
    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 2\r\n\r\n";
  const expected = [
    "HEADERS :status=100",
    "HEADERS :status=200 x-a=1",
    "DATA hello",
    "HEADERS+END x-t=2",
  ];
  for (const step of [response.length, 1, 2, 3, 7]) {
    const rec = new Recorder();
    const s = new H2Stream(1, rec, createPools(1024).big, 65535, 65535, 0);
    const bytes = enc(response);
    for (let i = 0; i < bytes.length; i += step) {
      const part = bytes.subarray(i, Math.min(bytes.length, i + step));
      let off = 0;
      while (off < part.length) off += await s.write(part.subarray(off));
    }
    // Split writes may cut a DATA frame in pieces: join them for the comparison.
    const joined: string[] = [];
    for (const f of rec.frames) {
      const last = joined[joined.length - 1];
      if (f.startsWith("DATA ") && last?.startsWith("DATA ")) {
        joined[joined.length - 1] = last + f.slice(5);
      } else joined.push(f);
    }
    assert.deepEqual(joined, expected, `writes of ${step} bytes`);
    assert.equal(s.resDone, true);
  }
});

Deno.test("h2 response: a head over the size limit resets the stream", async () => {
  const rec = new Recorder();
  const s = new H2Stream(1, rec, createPools(1024).big, 65535, 65535, 0);
  await s.write(enc("HTTP/1.1 200 OK\r\n"));
  const line = enc(`X-Big: ${"a".repeat(1000)}\r\n`);
  for (let i = 0; i < 70; i++) await s.write(line);
  assert.deepEqual(rec.frames, ["RST response head too large"]);
});

/** The analysers' parse of `text`, put at `at` in a larger buffer. */
function analysed(text: string, at: number): { buf: Uint8Array; head: HttpHead } {
  const buf = new Uint8Array(at + text.length + 16);
  for (let i = 0; i < text.length; i++) buf[at + i] = text.charCodeAt(i);
  const head = new HttpHead();
  const r = parseHttp1Response(buf, at, at + text.length, head, 101, METH_GET);
  assert.equal(r, text.length, head.errorReason);
  return { buf, head };
}

const HEADS = [
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 14:00:00 GMT\r\n" +
  "Content-Type: text/html\r\nContent-Length: 6\r\nLast-Modified: Mon, 07 Dec 2026 13:00:00 GMT\r\n" +
  'Connection: keep-alive\r\nETag: "6937d9c0-6"\r\nAccept-Ranges: bytes\r\n\r\n',
  "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nX-Pad:  a b \t\r\nConnection: keep-alive, X-Gone, Set-Cookie\r\n" +
  "X-Gone: 1\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nProxy-Connection: close\r\n" +
  "Content-Length: 12\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Empty:\r\n\r\n",
  "HTTP/1.0 200\r\nTransfer-Encoding: gzip, chunked\r\nx-UNKNOWN-name: V\r\nDATE: x\r\n\r\n",
  "HTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.1 302 Found\r\nLocation: /x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
];

/** The head `text` at buf[at] read from its bytes and from the analysers' parse: the same fields. */
function bothWays(
  buf: Uint8Array,
  head: Parameters<typeof responseFromIndex>[1],
  at: number,
  text: string,
): [ResponseFields, ResponseFields] {
  const a = new ResponseFields(), b = new ResponseFields();
  parseResponseHead(buf, at, at + text.length, false, a);
  responseFromIndex(buf, head, at, text.length, b);
  assert.deepEqual(
    [b.status, b.chunked, b.length, fields(b)],
    [a.status, a.chunked, a.length, fields(a)],
    JSON.stringify(text),
  );
  return [a, b];
}

Deno.test("h2 response: fields from the analysers' parse are the fields read from the bytes", () => {
  for (const text of HEADS) {
    for (const at of [0, 3, 100]) {
      const { buf, head } = analysed(text, at);
      // Three times each: the second run finds the names through their
      // ids, the third takes the fields of the same bytes seen last.
      for (let round = 0; round < 3; round++) {
        const [a, b] = bothWays(buf, head, at, text);
        for (let i = 0; i < a.count; i++) assert.equal(b.names[i], a.names[i]);
      }
    }
  }
});

Deno.test("h2 response: a head of the same length as the last one but other bytes is read anew", () => {
  const base = "HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 14:00:00 GMT\r\nContent-Length: 16\r\n" +
    "X-Tail: abc\r\n\r\n";
  const variants = [
    base,
    base.replace("14:00:00", "14:00:01"),
    base.replace("Length: 16", "Length: 61"),
    base.replace("abc", "abd"),
    base.replace("200 OK", "201 OK"),
    base,
  ];
  for (const text of variants) assert.equal(text.length, base.length);
  for (const text of variants) {
    for (const at of [0, 1, 2, 3]) {
      const { buf, head } = analysed(text, at);
      bothWays(buf, head, at, text);
    }
  }
});

Deno.test("h2 response: a committed head is sent from its parse, in one write or split", async () => {
  const text = HEADS[0]!;
  const body = "hello\n";
  for (const step of [1000, 1, 7, 50]) {
    const at = 10;
    const { buf, head } = analysed(text, at);
    buf.set(enc(body), at + text.length);
    const rec = new Recorder();
    const s = new H2Stream(1, rec, createPools(1024).big, 65535, 65535, 0);
    s.headCommitted(buf, head, at, text.length);
    // The translation was done from the parse: the bytes are only counted.
    buf[at + 9] = 0x35; // "HTTP/1.1 500": not read again
    const end = at + text.length + body.length;
    for (let i = at; i < end;) i += await s.write(buf.subarray(i, Math.min(end, i + step)));
    const data = rec.frames.slice(1).map((f) => f.replace(/^DATA(\+END)? /, "")).join("");
    assert.deepEqual([rec.frames[0], data, rec.frames.at(-1)!.startsWith("DATA+END")], [
      "HEADERS :status=200 server=nginx/1.22.1 date=Mon, 07 Dec 2026 14:00:00 GMT " +
      "content-type=text/html content-length=6 last-modified=Mon, 07 Dec 2026 13:00:00 GMT " +
      'etag="6937d9c0-6" accept-ranges=bytes',
      body,
      true,
    ], `writes of ${step} bytes`);
  }
});

Deno.test("h2 response: bytes written from elsewhere than the committed head are read", async () => {
  const { buf, head } = analysed(HEADS[0]!, 0);
  const rec = new Recorder();
  const s = new H2Stream(1, rec, createPools(1024).big, 65535, 65535, 0);
  s.headCommitted(buf, head, 0, HEADS[0]!.length);
  // The head was dropped (a body error) and an error reply goes out instead.
  const reply = enc("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 2\r\n\r\nno");
  for (let i = 0; i < reply.length;) i += await s.write(reply.subarray(i));
  assert.deepEqual(rec.frames, ["HEADERS :status=502 content-length=2", "DATA+END no"]);
});
