// Property tests of the HTTP/1 parsers: (a) random mutations and random bytes
// never make a parser throw or break its invariants; (b) feeding a message
// split at any byte boundary gives exactly the one-piece result.
//
// The PRNG is seeded: set SLUICE_SEED=<n> to replay a run; every failure
// message names the seed and the input.

import assert from "node:assert/strict";
import { parseRequestHead, parseResponseHead } from "../../src/http/h1_parse.ts";
import { ChunkedParser } from "../../src/http/h1_body.ts";
import {
  BODY_CL,
  HttpHead,
  METH_CONNECT,
  METH_GET,
  METH_HEAD,
  PARSE_ERROR,
  PARSE_NEED_MORE,
} from "../../src/http/types.ts";

import { bytes, prng, show } from "../_helpers/fuzz.ts";
import { headFields } from "./_head_fields.ts";

const SEED = Number(Deno.env.get("SLUICE_SEED") ?? "20240611") >>> 0;

const VALID_REQUESTS = [
  "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
  "GET /search?q=sluice&lang=en HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
  "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n" +
  "Accept-Encoding: gzip, deflate, br\r\nCookie: a=1; b=2\r\nConnection: keep-alive\r\n\r\n",
  "\r\n\r\nPOST /api/v1/items HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n" +
  "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
  "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 7\r\n" +
  "Expect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "GET http://Example.com:8080/x?y HTTP/1.1\r\nHost: example.com:8080\r\nHost: EXAMPLE.com:8080\r\n\r\n",
  "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic eDp5\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Spaces: \t v \t\r\n\r\n",
  "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n",
  "HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\nX-Obs: caf\xe9\r\n\r\n",
];

/** Requests that are refused: splitting must give the same error. */
const INVALID_REQUESTS = [
  "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
  "GET / HTTP/1.1\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
  "G\x01T / HTTP/1.1\r\n\r\n",
  "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.3\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
  "GET / HTTP/1.1\r\n\r\n",
  "\r\n\r\r\nGET / HTTP/1.1\r\n\r\n",
];

const VALID_RESPONSES: [string, number][] = [
  ["HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello", METH_GET],
  ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", METH_GET],
  ['HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n', METH_GET],
  ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", METH_HEAD],
  [
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    METH_GET,
  ],
  ["HTTP/1.1 200 Connection established\r\n\r\n", METH_CONNECT],
  ["HTTP/1.0 404\r\nServer: x\r\n\r\n", METH_GET],
];

const VALID_CHUNKED = [
  "5\r\nhello\r\n0\r\n\r\n",
  'a;ext=1;q="a b"\r\n0123456789\r\n1\r\nx\r\n0\r\nTrailer-A: 1\r\nB: two words\r\n\r\n',
  "000F\r\n0123456789abcde\r\n0;last\r\n\r\n",
];

const INVALID_CHUNKED = [
  "5\r\nhelloXX\r\n",
  "5\nhello\r\n",
  "0000000000000000001\r\n",
  "5;a\x01\r\n",
  "0\r\nX : 1\r\n\r\n",
  "0\r\n\rx",
];

/** Every observable field of a head, for deep comparison. */
function snapshot(h: HttpHead, r: number): unknown {
  if (r <= 0) {
    return {
      r,
      errorStatus: h.errorStatus,
      errorReason: h.errorReason,
      errorOffset: h.errorOffset,
    };
  }
  return { r, ...headFields(h) };
}

type HeadParser = (
  buf: Uint8Array,
  start: number,
  end: number,
  head: HttpHead,
  maxHead: number,
) => number;

const parseReq: HeadParser = (buf, start, end, head, maxHead) =>
  parseRequestHead(buf, start, end, head, 101, maxHead);

function parseRes(method: number): HeadParser {
  return (buf, start, end, head, maxHead) =>
    parseResponseHead(buf, start, end, head, 101, method, maxHead);
}

/** Checks the invariants of one parse result; throws with context on failure. */
function checkInvariants(
  buf: Uint8Array,
  r: number,
  h: HttpHead,
  start: number,
  end: number,
  isResp: boolean,
  ctx: string,
): void {
  assert.ok(Number.isInteger(r) && r >= PARSE_ERROR, `${ctx}: result ${r}`);
  if (r === PARSE_ERROR) {
    assert.ok(h.errorReason.length > 0, `${ctx}: empty reason`);
    assert.ok(
      isResp ? h.errorStatus === 502 : [400, 414, 431].includes(h.errorStatus),
      `${ctx}: status`,
    );
    assert.ok(h.errorOffset >= start && h.errorOffset <= end, `${ctx}: offset ${h.errorOffset}`);
    return;
  }
  if (r === PARSE_NEED_MORE) return;
  assert.ok(start + r <= end, `${ctx}: result past end`);
  assert.equal(h.end, start + r, `${ctx}: head.end`);
  assert.ok(h.hdrCount <= 101, `${ctx}: hdrCount`);
  assert.equal(h.bodyType === BODY_CL, h.contentLength >= 0, `${ctx}: CL invariant`);
  for (let i = 0; i < h.hdrCount; i++) {
    const ns = h.nameStart(i), nl = h.nameLen(i), vs = h.valueStart(i), vl = h.valueLen(i);
    assert.ok(ns >= h.start && nl > 0 && ns + nl < h.end, `${ctx}: name span ${i}`);
    assert.ok(vs > ns + nl && vs + vl < h.end, `${ctx}: value span ${i}`);
    if (vl > 0) {
      for (const c of [buf[vs], buf[vs + vl - 1]]) {
        assert.ok(c !== 0x20 && c !== 0x09, `${ctx}: OWS in value ${i}`);
      }
    }
  }
}

Deno.test(`parsers never throw on 2,000 mutated requests (seed ${SEED})`, () => {
  const rand = prng(SEED);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)] as T;
  const INTERESTING = [
    0x0d,
    0x0a,
    0x20,
    0x09,
    0x3a,
    0x2c,
    0x3b,
    0x00,
    0x80,
    0xff,
    0x23,
    0x2f,
    0x3f,
    0x30,
    0x39,
  ];
  const head = new HttpHead();
  const chunked = new ChunkedParser();
  let errors = 0, ok = 0;
  for (let n = 0; n < 2000; n++) {
    const base = pick([
      ...VALID_REQUESTS,
      ...INVALID_REQUESTS,
      ...VALID_RESPONSES.map((x) => x[0]),
    ]);
    const arr = Array.from(bytes(base));
    const muts = 1 + Math.floor(rand() * 4);
    for (let m = 0; m < muts; m++) {
      const pos = Math.floor(rand() * (arr.length + 1));
      const b = rand() < 0.5 ? pick(INTERESTING) : Math.floor(rand() * 256);
      switch (Math.floor(rand() * 5)) {
        case 0:
          if (pos < arr.length) arr[pos] = b;
          break;
        case 1:
          if (pos < arr.length) arr[pos] = (arr[pos] as number) ^ (1 << Math.floor(rand() * 8));
          break;
        case 2:
          arr.splice(pos, 0, b);
          break;
        case 3:
          arr.splice(pos, 1 + Math.floor(rand() * 3));
          break;
        case 4:
          arr.length = Math.min(arr.length, pos);
          break;
      }
    }
    // Place the input at a random offset of a bigger buffer, after junk.
    const off = Math.floor(rand() * 8);
    const buf = new Uint8Array(off + arr.length + Math.floor(rand() * 64));
    buf.fill(0x41);
    buf.set(arr, off);
    const end = off + arr.length;
    const maxHead = rand() < 0.2 ? Math.floor(rand() * (arr.length + 1)) : buf.length - off;
    const ctx = `seed ${SEED} #${n} input ${show(Uint8Array.from(arr))} maxHead ${maxHead}`;
    try {
      head.reset();
      const r = parseRequestHead(buf, off, end, head, 101, maxHead);
      checkInvariants(buf, r, head, off, end, false, ctx + " (request)");
      if (r < 0) errors++;
      else ok++;
      head.reset();
      const r2 = parseResponseHead(
        buf,
        off,
        end,
        head,
        101,
        pick([METH_GET, METH_HEAD, METH_CONNECT]),
        maxHead,
      );
      checkInvariants(buf, r2, head, off, end, true, ctx + " (response)");
      chunked.reset();
      const r3 = chunked.parse(buf, off, end);
      assert.ok(r3 === PARSE_ERROR || (r3 >= 0 && r3 <= end - off), `${ctx}: chunked ${r3}`);
      // Split consistency on a few random cut points.
      if (n % 4 === 0) checkSplits(buf, off, end, maxHead, parseReq, ctx, rand, 6);
    } catch (e) {
      if (e instanceof Error && e.message.includes(ctx)) throw e;
      throw new Error(`${ctx}: ${e instanceof Error ? e.message : e}`);
    }
  }
  // The mutations must exercise both outcomes.
  assert.ok(errors > 200 && ok > 50, `errors ${errors} ok ${ok}`);
});

Deno.test(`parsers never throw on 2,000 random byte strings (seed ${SEED})`, () => {
  const rand = prng(SEED ^ 0x5eed);
  const head = new HttpHead();
  const chunked = new ChunkedParser();
  const ALPHABET = bytes("GET /HTP1.0\r\n:; \tHost,chunked0123456789abcdef\x00\x80\xff");
  for (let n = 0; n < 2000; n++) {
    const len = Math.floor(rand() * 300);
    const buf = new Uint8Array(len);
    const dense = rand() < 0.5;
    for (let i = 0; i < len; i++) {
      buf[i] = dense
        ? (ALPHABET[Math.floor(rand() * ALPHABET.length)] as number)
        : Math.floor(rand() * 256);
    }
    const ctx = `seed ${SEED} #${n} input ${show(buf)}`;
    try {
      head.reset();
      checkInvariants(buf, parseRequestHead(buf, 0, len, head), head, 0, len, false, ctx);
      head.reset();
      checkInvariants(
        buf,
        parseResponseHead(buf, 0, len, head, 101, METH_GET),
        head,
        0,
        len,
        true,
        ctx,
      );
      chunked.reset();
      const r = chunked.parse(buf, 0, len);
      assert.ok(r === PARSE_ERROR || (r >= 0 && r <= len), `${ctx}: chunked ${r}`);
    } catch (e) {
      if (e instanceof Error && e.message.includes(ctx)) throw e;
      throw new Error(`${ctx}: ${e instanceof Error ? e.message : e}`);
    }
  }
});

/**
 * Feeds buf[start, k) then buf[start, end) to one head, for cut points k
 * (all of them, or `samples` random ones), and compares with a one-piece parse.
 */
function checkSplits(
  buf: Uint8Array,
  start: number,
  end: number,
  maxHead: number,
  parse: HeadParser,
  ctx: string,
  rand: (() => number) | null = null,
  samples = 0,
): void {
  const ref = new HttpHead();
  const rRef = parse(buf, start, end, ref, maxHead);
  const want = snapshot(ref, rRef);
  const head = new HttpHead();
  const n = rand === null ? end - start : samples;
  for (let s = 0; s <= n; s++) {
    const k = rand === null ? start + s : start + Math.floor(rand() * (end - start + 1));
    head.reset();
    const r1 = parse(buf, start, k, head, maxHead);
    if (r1 !== PARSE_NEED_MORE) {
      // An answer on a prefix must be the final answer.
      assert.deepEqual(
        snapshot(head, r1),
        want,
        `${ctx}: prefix ${k - start} answered differently`,
      );
      continue;
    }
    const r2 = parse(buf, start, end, head, maxHead);
    assert.deepEqual(snapshot(head, r2), want, `${ctx}: split at ${k - start}`);
  }
  // And byte by byte on one head.
  head.reset();
  let r = PARSE_NEED_MORE;
  for (let k = start; k <= end && r === PARSE_NEED_MORE; k++) {
    r = parse(buf, start, k, head, maxHead);
  }
  assert.deepEqual(snapshot(head, r), want, `${ctx}: byte by byte`);
}

/** A copy of `s` at offset 3 of a roomy buffer (so maxHead is not the limit). */
function roomy(s: string): { buf: Uint8Array; start: number; end: number } {
  const b = bytes(s);
  const buf = new Uint8Array(b.length + 512).fill(0x0a);
  buf.set(b, 3);
  return { buf, start: 3, end: 3 + b.length };
}

Deno.test("request heads split at every byte give the one-piece parse", () => {
  for (const s of [...VALID_REQUESTS, ...INVALID_REQUESTS]) {
    const { buf, start, end } = roomy(s);
    checkSplits(buf, start, end, buf.length - start, parseReq, `request ${show(bytes(s))}`);
  }
});

Deno.test("request heads split at every byte with a tight maxHead give the one-piece parse", () => {
  for (const s of VALID_REQUESTS) {
    const { buf, start, end } = roomy(s);
    for (const maxHead of [10, 40, (end - start) >> 1]) {
      checkSplits(
        buf,
        start,
        end,
        maxHead,
        parseReq,
        `request ${show(bytes(s))} maxHead ${maxHead}`,
      );
    }
  }
});

Deno.test("response heads split at every byte give the one-piece parse", () => {
  for (const [s, m] of VALID_RESPONSES) {
    const { buf, start, end } = roomy(s);
    checkSplits(buf, start, end, buf.length - start, parseRes(m), `response ${show(bytes(s))}`);
  }
  for (const s of ["HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\nX: 1\r\n\r\n", "<html>\r\n\r\n"]) {
    const { buf, start, end } = roomy(s);
    checkSplits(
      buf,
      start,
      end,
      buf.length - start,
      parseRes(METH_GET),
      `response ${show(bytes(s))}`,
    );
  }
});

Deno.test("chunked bodies split at every byte (and in three) give the one-piece result", () => {
  const rand = prng(SEED ^ 0xc0ffee);
  for (const s of [...VALID_CHUNKED, ...INVALID_CHUNKED]) {
    const full = bytes(s + "NEXT");
    const ref = new ChunkedParser();
    const want = ref.parse(full, 0, full.length);
    const wantState = [want, ref.done, ref.errorReason, ref.errorOffset, ref.dataBytes];
    const p = new ChunkedParser();
    const ctx = `chunked ${show(full)} seed ${SEED}`;
    const run = (cuts: number[]) => {
      p.reset();
      let total = 0;
      let prev = 0;
      for (const k of [...cuts, full.length]) {
        const r = p.parse(full, prev, k);
        if (r === PARSE_ERROR) {
          total = PARSE_ERROR;
          break;
        }
        total += r;
        prev = k;
        if (p.done) break;
      }
      return [total, p.done, p.errorReason, p.errorOffset, p.dataBytes];
    };
    for (let k = 0; k <= full.length; k++) {
      assert.deepEqual(run([k]), wantState, `${ctx}: split at ${k}`);
    }
    for (let t = 0; t < 50; t++) {
      const a = Math.floor(rand() * (full.length + 1));
      const b = a + Math.floor(rand() * (full.length - a + 1));
      assert.deepEqual(run([a, b]), wantState, `${ctx}: splits at ${a},${b}`);
    }
  }
});
