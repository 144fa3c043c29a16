// Unit tests of src/http/http_fetch.ts HeadSampleCtx across the requests of
// one keep-alive connection: header values decoded for a request are served
// again only while their bytes stay the same (the buffer is the channel's,
// rewritten by every request), and `%Ts` reads the request's date.

import assert from "node:assert/strict";
import { parseRequestHead } from "../../src/http/h1_parse.ts";
import { HeadEditor } from "../../src/http/head_editor.ts";
import { HeadSampleCtx } from "../../src/http/http_fetch.ts";
import { HttpHead } from "../../src/http/types.ts";
import { compileValue, evalValue, renderValueInto } from "../../src/sample/value.ts";
import { ValuePieces } from "../../src/sample/value_pieces.ts";
import type { ValueExpr } from "../../src/sample/types.ts";

/** One buffer for every request, as a channel's. */
const BUF = new Uint8Array(1024);

/** Binds `text` (written at the start of BUF) as the connection's next request. */
function next(ctx: HeadSampleCtx, text: string, date = 0): void {
  BUF.fill(0x58);
  for (let i = 0; i < text.length; i++) BUF[i] = text.charCodeAt(i);
  const head = new HttpHead();
  assert.ok(parseRequestHead(BUF, 0, text.length, head) > 0, head.errorReason);
  const ed = new HeadEditor();
  ed.reset(BUF, head);
  ctx.setRequest(BUF, head, ed, date);
}

function value(text: string): ValueExpr {
  const v = compileValue(text);
  if ("error" in v) throw new Error(v.error);
  return v;
}

Deno.test("header values follow each request of a connection, same bytes or not", () => {
  const ctx = new HeadSampleCtx();
  ctx.setConnection("10.0.0.1", 40000, "10.0.0.2", 80);
  const req = (hdrs: string) => `GET / HTTP/1.1\r\n${hdrs}\r\n`;
  const seen: string[][] = [];
  for (
    const hdrs of [
      "Host: a.example\r\nX-Multi: 1\r\nX-Multi: 2\r\n",
      "Host: a.example\r\nX-Multi: 1\r\nX-Multi: 2\r\n", // the same bytes again
      "Host: b.example\r\nX-Multi: 1\r\n", // same length, other bytes; a line less
      "Host: b.example\r\nX-Multi: 1\r\nX-Multi: 3\r\nX-Multi: 4\r\n", // a line more
      "Host: b.example\r\nX-Multi: 1\r\nX-Multi: 5\r\n",
      "Host: b.example.org\r\n", // no X-Multi
      "Host: b.example.org\r\nX-Multi: 1\r\n",
    ]
  ) {
    next(ctx, req(hdrs));
    // Read twice: the second read comes from the request's own cache.
    assert.deepEqual(ctx.reqHeader("x-multi"), ctx.reqHeader("x-multi"));
    seen.push([...ctx.reqHeader("host"), "|", ...ctx.reqHeader("x-multi")]);
  }
  assert.deepEqual(seen, [
    ["a.example", "|", "1", "2"],
    ["a.example", "|", "1", "2"],
    ["b.example", "|", "1"],
    ["b.example", "|", "1", "3", "4"],
    ["b.example", "|", "1", "5"],
    ["b.example.org", "|"],
    ["b.example.org", "|", "1"],
  ]);
});

Deno.test("a request that reads no header leaves the earlier values to compare with", () => {
  const ctx = new HeadSampleCtx();
  ctx.setConnection("10.0.0.1", 40000, "10.0.0.2", 80);
  next(ctx, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  assert.deepEqual(ctx.reqHeader("host"), ["a.example"]);
  next(ctx, "GET / HTTP/1.1\r\nHost: c.example\r\n\r\n"); // nothing read
  next(ctx, "GET / HTTP/1.1\r\nHost: d.example\r\n\r\n");
  assert.deepEqual(ctx.reqHeader("host"), ["d.example"]);
  next(ctx, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
  assert.deepEqual(ctx.reqHeader("host"), ["a.example"]);
});

Deno.test("values over header fetches and converters follow the Host of each request", () => {
  const ctx = new HeadSampleCtx();
  ctx.setConnection("10.0.0.1", 40000, "10.0.0.2", 80);
  const v = value("%[req.hdr(host),lower]/%[req.fhdr(host)]");
  const out: string[] = [];
  for (const host of ["A.example", "A.example", "a.example", "B.example", "B.example"]) {
    next(ctx, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    out.push(evalValue(v, ctx));
  }
  assert.deepEqual(out, [
    "a.example/A.example",
    "a.example/A.example",
    "a.example/a.example",
    "b.example/B.example",
    "b.example/B.example",
  ]);
});

Deno.test("%Ts is the request's date when the stream gives it, else the clock's", () => {
  const ctx = new HeadSampleCtx();
  ctx.setConnection("10.0.0.1", 40000, "10.0.0.2", 80);
  const v = value("%Ts_%ci:%cp");
  next(ctx, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1_700_000_000_999);
  assert.equal(evalValue(v, ctx), "1700000000_10.0.0.1:40000");
  next(ctx, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1_700_000_001_000);
  assert.equal(evalValue(v, ctx), "1700000001_10.0.0.1:40000");
  const before = Math.floor(Date.now() / 1000);
  next(ctx, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  const ts = Number(evalValue(v, ctx).split("_")[0]);
  assert.ok(ts >= before && ts <= Math.floor(Date.now() / 1000), String(ts));
});

Deno.test("a unique id written from its pieces: the same line on each request of a connection", () => {
  // The per-connection part is written from its text on the first request,
  // from bytes made once on the later ones: the header must not tell.
  const ctx = new HeadSampleCtx();
  ctx.setConnection("10.0.0.1", 40000, "10.0.0.2", 80);
  const v = value("%ci:%cp_%fi:%fp_%Ts_%[req.hdr(x-t)]:%ci");
  const lines: string[] = [];
  for (const t of ["one", "two", "three"]) {
    const text = `GET / HTTP/1.1\r\nHost: a\r\nX-T: ${t}\r\n\r\n`;
    next(ctx, text, 1_700_000_000_999);
    const head = new HttpHead();
    assert.ok(parseRequestHead(BUF, 0, text.length, head) > 0);
    const ed = new HeadEditor();
    ed.reset(BUF, head);
    const pieces = new ValuePieces();
    renderValueInto(v, ctx, pieces);
    assert.equal(pieces.text(), evalValue(v, ctx));
    ed.addHeaderPieces("X-Unique-ID", pieces);
    const end = ed.appendInPlace(head.end);
    lines.push(new TextDecoder().decode(BUF.subarray(head.end - 2, end)));
  }
  assert.deepEqual(lines, [
    "X-Unique-ID: 10.0.0.1:40000_10.0.0.2:80_1700000000_one:10.0.0.1\r\n\r\n",
    "X-Unique-ID: 10.0.0.1:40000_10.0.0.2:80_1700000000_two:10.0.0.1\r\n\r\n",
    "X-Unique-ID: 10.0.0.1:40000_10.0.0.2:80_1700000000_three:10.0.0.1\r\n\r\n",
  ]);
});
