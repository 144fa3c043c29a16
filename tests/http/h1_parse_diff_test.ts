// Differential test of the HTTP/1 head parser: the one pass
// (src/http/h1_parse.ts, parseOnePass()) against the scan and full parse
// alone, which the parser falls back to and which it was before the one pass
// (setOnePassForTest(false)), on generated heads: valid requests and
// responses, one head per error kind, random byte mutations, random limits
// (maxhdr, maxHead, 400/431), and every head fed in two pieces at every byte
// boundary and byte by byte. The result, every field of an accepted head and
// the status, reason and offset of a refused one must be identical.
//
// Seeded: SLUICE_SEED=<n> replays a run; failures print the seed and input.

import assert from "node:assert/strict";
import { parseRequestHead, parseResponseHead, setOnePassForTest } from "../../src/http/h1_parse.ts";
import {
  HttpHead,
  METH_CONNECT,
  METH_GET,
  METH_HEAD,
  METH_OTHER,
  METH_POST,
  PARSE_NEED_MORE,
} from "../../src/http/types.ts";

import { bytes, prng, show } from "../_helpers/fuzz.ts";
import { headFields } from "./_head_fields.ts";

const SEED = Number(Deno.env.get("SLUICE_SEED") ?? "20261207") >>> 0;

/** Every field of a head after a call that returned `r` (whatever the result). */
function snapshot(h: HttpHead, r: number): unknown {
  return {
    r,
    ...headFields(h),
    hdrCount: h.hdrCount,
    error: [h.errorStatus, h.errorReason, h.errorOffset],
    // Where a call that did not finish resumes is the parser's own business.
    resume: r > 0 ? [h.scanPos, h.lineChecked] : null,
  };
}

/** How one case is parsed: request or response, and the limits. */
interface Opts {
  resp: boolean;
  method: number;
  maxhdr: number;
  maxHead: number;
  large: number;
}

function parseNew(buf: Uint8Array, s: number, e: number, h: HttpHead, o: Opts): number {
  return o.resp
    ? parseResponseHead(buf, s, e, h, o.maxhdr, o.method, o.maxHead)
    : parseRequestHead(buf, s, e, h, o.maxhdr, o.maxHead, o.large);
}

/** The scan and full parse alone: the parser as it was before the one pass. */
function parseRef(buf: Uint8Array, s: number, e: number, h: HttpHead, o: Opts): number {
  setOnePassForTest(false);
  try {
    return parseNew(buf, s, e, h, o);
  } finally {
    setOnePassForTest(true);
  }
}

const refHead = new HttpHead();
const newHead = new HttpHead();
let compared = 0;

/**
 * Parses buf[s, e) with both parsers (fresh heads), then, when `splits`, in
 * two pieces at every cut and byte by byte; asserts identical snapshots.
 */
function same(buf: Uint8Array, s: number, e: number, o: Opts, ctx: string, splits: boolean) {
  const what = () => `${ctx} ${JSON.stringify(o)} seed ${SEED}: ${show(buf.subarray(s, e))}`;
  refHead.reset();
  newHead.reset();
  const want = snapshot(refHead, parseRef(buf, s, e, refHead, o));
  assert.deepEqual(snapshot(newHead, parseNew(buf, s, e, newHead, o)), want, what());
  compared++;
  if (!splits) return;
  for (let k = s; k < e; k++) {
    refHead.reset();
    newHead.reset();
    const a = snapshot(refHead, parseRef(buf, s, k, refHead, o));
    assert.deepEqual(
      snapshot(newHead, parseNew(buf, s, k, newHead, o)),
      a,
      `prefix ${k - s} ${what()}`,
    );
    const b = snapshot(refHead, parseRef(buf, s, e, refHead, o));
    assert.deepEqual(
      snapshot(newHead, parseNew(buf, s, e, newHead, o)),
      b,
      `after ${k - s} ${what()}`,
    );
  }
  refHead.reset();
  newHead.reset();
  for (let k = s; k <= e; k++) {
    const a = snapshot(refHead, parseRef(buf, s, k, refHead, o));
    assert.deepEqual(
      snapshot(newHead, parseNew(buf, s, k, newHead, o)),
      a,
      `byte ${k - s} ${what()}`,
    );
    if ((a as { r: number }).r !== PARSE_NEED_MORE) break;
  }
}

/** Places `head` at a random offset of a buffer whose other bytes are noise that must not matter. */
function place(rand: () => number, head: Uint8Array): { buf: Uint8Array; s: number; e: number } {
  const s = Math.floor(rand() * 8);
  const tail = Math.floor(rand() * 64);
  const buf = new Uint8Array(s + head.length + tail);
  const kind = Math.floor(rand() * 4);
  for (let i = 0; i < buf.length; i++) {
    buf[i] = kind === 0 ? 0 : kind === 1 ? pick(rand, NOISE) : Math.floor(rand() * 256);
  }
  if (kind === 3) {
    for (let i = s + head.length; i + 1 < buf.length; i += 2) {
      buf.set([13, 10], i);
    }
  }
  buf.set(head, s);
  return { buf, s, e: s + head.length };
}

const NOISE = [13, 10, 0, 0x20, 0x09, 0x3a, 0x61, 0x41];

function pick<T>(rand: () => number, a: readonly T[]): T {
  return a[Math.floor(rand() * a.length)] as T;
}

function randCase(rand: () => number, s: string): string {
  let o = "";
  for (const c of s) o += rand() < 0.3 ? c.toUpperCase() : c;
  return o;
}

const METHODS = [
  "GET",
  "PUT",
  "HEAD",
  "POST",
  "TRACE",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "CONNECT",
  "PURGE",
  "get",
  "M-SEARCH",
];
const TARGETS = [
  "/",
  "/a/b?c=d&e",
  "/x?",
  "*",
  "http://example.com/p?q",
  "https://[::1]:8443",
  "http://a:80?x",
  "example.com:443",
  "[::1]:443",
  "/%41%7e;p=1",
  "ftp+x.y://h/",
];
const NAMES = [
  "Host",
  "Content-Length",
  "Transfer-Encoding",
  "Connection",
  "Upgrade",
  "Expect",
  "User-Agent",
  "Accept",
  "Cookie",
  "X-Forwarded-For",
  "Sec-WebSocket-Key",
  "sec-ch-ua-platform",
  "content-security-policy",
  "X-Custom",
  "X-Very-Long-Header-Name-That-Is-Longer-Than-Any-Known",
  "a",
  "te",
  "Dnt",
  "Link",
  "Hostx",
  "Hos",
  "!#$%&'*+-.^_`|~09",
];
const VALUES: Record<string, string[]> = {
  "host": [
    "example.com",
    "EXAMPLE.com:8080",
    "example.com:443",
    "a",
    "",
    "[::1]:443",
    "b:1:2",
    "a b",
  ],
  "content-length": [
    "0",
    "5",
    "5",
    "128",
    "",
    "1,1",
    "9007199254740991",
    "9007199254740992",
    "-1",
    " 7 ",
  ],
  "transfer-encoding": [
    "chunked",
    "gzip, chunked",
    "chunked, gzip",
    "identity, chunked",
    "chunked;x=1",
    'gzip;q="a,b", chunked',
    "chunked, chunked",
    ",,chunked",
    "ch@nked",
    'gzip;q="x',
    "",
  ],
  "connection": ["keep-alive", "close", "Upgrade", "keep-alive, Upgrade", "close,,foo", ""],
  "upgrade": ["websocket", "h2c"],
  "expect": ["100-continue", "100-Continue", "200-ok"],
};
const PLAIN_VALUES = [
  "v",
  "",
  " \t padded \t ",
  "a\tb",
  "caf\xe9",
  "\x01ctl",
  "text/html, */*;q=0.8",
  "x".repeat(90),
];

function genValue(rand: () => number, name: string): string {
  const known = VALUES[name.toLowerCase()];
  const v = known !== undefined && rand() < 0.85 ? pick(rand, known) : pick(rand, PLAIN_VALUES);
  const ows = ["", "", " ", "  ", "\t", " \t"];
  return pick(rand, ows) + v + (rand() < 0.2 ? pick(rand, ows) : "");
}

function genHeaders(rand: () => number, n: number): string {
  let h = "";
  for (let i = 0; i < n; i++) {
    const name = randCase(rand, pick(rand, NAMES));
    h += `${name}:${genValue(rand, name)}\r\n`;
  }
  return h;
}

function genRequest(rand: () => number): string {
  const lead = rand() < 0.1 ? "\r\n".repeat(1 + Math.floor(rand() * 2)) : "";
  const m = pick(rand, METHODS);
  const t = pick(rand, TARGETS);
  const v = rand() < 0.85 ? "HTTP/1.1" : "HTTP/1.0";
  let h = rand() < 0.8 ? `Host: ${pick(rand, VALUES.host!)}\r\n` : "";
  h += genHeaders(rand, Math.floor(rand() * 9));
  return `${lead}${m} ${t} ${v}\r\n${h}\r\n`;
}

const STATUS_LINES = [
  "HTTP/1.1 200 OK",
  "HTTP/1.1 204 No Content",
  "HTTP/1.1 304 Not Modified",
  "HTTP/1.1 101 Switching Protocols",
  "HTTP/1.1 100 Continue",
  "HTTP/1.0 404",
  "HTTP/1.1 500 ",
  "HTTP/1.1 502 Bad \x80 Gateway",
  "HTTP/1.1 599 x",
  "HTTP/1.1 200 OK\tok",
];

function genResponse(rand: () => number): string {
  const lead = rand() < 0.05 ? "\r\n" : "";
  return `${lead}${pick(rand, STATUS_LINES)}\r\n${genHeaders(rand, Math.floor(rand() * 9))}\r\n`;
}

function genOpts(rand: () => number, resp: boolean, len: number): Opts {
  const r = rand();
  return {
    resp,
    method: pick(rand, [METH_GET, METH_HEAD, METH_CONNECT, METH_POST, METH_OTHER]),
    maxhdr: r < 0.8 ? 101 : pick(rand, [0, 1, 2, 3, 5]),
    maxHead: rand() < 0.75 ? 1 << 20 : Math.floor(rand() * (len + 8)),
    large: rand() < 0.5 ? 400 : 431,
  };
}

/** One to three random edits: replace, insert or delete a byte (often CR, LF, NUL, SP, HTAB, ':'). */
function mutate(rand: () => number, b: Uint8Array): Uint8Array {
  let a = Array.from(b);
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n && a.length > 0; k++) {
    const at = Math.floor(rand() * a.length);
    const c = rand() < 0.6 ? pick(rand, NOISE) : Math.floor(rand() * 256);
    const op = rand();
    if (op < 0.5) a[at] = c;
    else if (op < 0.8) a.splice(at, 0, c);
    else a = a.slice(0, at).concat(a.slice(at + 1));
  }
  return Uint8Array.from(a);
}

/** Heads that each hit one refusal (and a few that nearly do). */
const ERROR_REQUESTS = [
  "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
  "\r\n\r\r\nGET / HTTP/1.1\r\n\r\n",
  "\r\n\nGET / HTTP/1.1\r\n\r\n",
  "GET / HTTP/1.1\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n\rX",
  "G\x01T / HTTP/1.1\r\n\r\n",
  "GET\r\n\r\n",
  "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.3\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
  "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
  "GET /\r\n\r\n",
  "GET / http/1.1\r\nHost: a\r\n\r\n",
  "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
  "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET http://u@h/ HTTP/1.1\r\nHost: u@h\r\n\r\n",
  "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
  "GET / HTTP/1.1\r\n\tX: 1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX : 1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX \t: 1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX@: a\rb\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX@: a\r\nY: b\nc\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX@: a\r\nY: b\r\n",
  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br, chunked\r\n\r\n",
  "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
  "GET / HTTP/1.1\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
  "GET /" + "a".repeat(200) + " HTTP/1.1\r\nHost: a\r\n\r\n",
];

const ERROR_RESPONSES = [
  "<html>\r\n\r\n",
  "HTTP/1.1 2000 OK\r\n\r\n",
  "HTTP/1.1 200 OK\nX: 1\r\n\r\n",
  "HTTP/1.1 200 O\nK\r\n\r\n",
  "HTTP/1.1 200 O\rK\r\n\r\n",
  "HTTP/1.1 200 O\x00K\r\n\r\n",
  "HTTP/1.1 600 OK\r\n\r\n",
  "HTTP/1.1 099 OK\r\n\r\n",
  "HTTP/1.1 20x OK\r\n\r\n",
  "HTTP/1.1\r\n\r\n",
  "HTTP/1.1x200 OK\r\n\r\n",
  "HTTP/1.2 200 OK\r\n\r\n",
  "HTTP/2 200 OK\r\n\r\n",
  "HTTX/1.1 200 OK\r\n\r\n",
  "HTTP/1.1 200OK\r\n\r\n",
  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n",
  "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
  "HTTP/1.1 200 OK\r\nHost: a b\r\n\r\n",
  "HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n",
];

const ALL_OPTS: Opts[] = [];
for (const maxhdr of [101, 2]) {
  for (const large of [400, 431]) {
    for (const maxHead of [1 << 20, 30, 12]) {
      ALL_OPTS.push({ resp: false, method: METH_GET, maxhdr, maxHead, large });
    }
  }
}

Deno.test("diff: refusals give the reference's status, reason and offset, in every piece size", () => {
  for (const s of ERROR_REQUESTS) {
    const b = bytes(s);
    for (const o of ALL_OPTS) same(b, 0, b.length, o, "error request", true);
  }
  for (const s of ERROR_RESPONSES) {
    const b = bytes(s);
    for (const method of [METH_GET, METH_HEAD, METH_CONNECT]) {
      for (const maxHead of [1 << 20, 10]) {
        same(
          b,
          0,
          b.length,
          { resp: true, method, maxhdr: 101, maxHead, large: 502 },
          "error response",
          true,
        );
      }
    }
  }
});

Deno.test(`diff: 3,000 generated requests and responses, split at every byte (seed ${SEED})`, () => {
  const rand = prng(SEED);
  for (let n = 0; n < 3000; n++) {
    const resp = rand() < 0.35;
    const head = bytes(resp ? genResponse(rand) : genRequest(rand));
    const { buf, s, e } = place(rand, head);
    same(buf, s, e, genOpts(rand, resp, head.length), resp ? "response" : "request", n < 600);
  }
});

Deno.test(`diff: 20,000 mutated heads (seed ${SEED})`, () => {
  const rand = prng(SEED ^ 0x5bd1e995);
  for (let n = 0; n < 20000; n++) {
    const resp = rand() < 0.35;
    const head = mutate(rand, bytes(resp ? genResponse(rand) : genRequest(rand)));
    const { buf, s, e } = place(rand, head);
    same(
      buf,
      s,
      e,
      genOpts(rand, resp, head.length),
      resp ? "mutated response" : "mutated request",
      n < 1500,
    );
  }
  assert.ok(compared > 20000);
});

Deno.test("diff: heads with more headers than the table holds (it grows) or than maxhdr allows", () => {
  const rand = prng(SEED ^ 0x1234567);
  for (const n of [5, 20, 130]) {
    for (const maxhdr of [4, 19, 20, 101, 129, 130, 200]) {
      const resp = rand() < 0.5;
      let s = resp ? "HTTP/1.1 200 OK\r\n" : "GET / HTTP/1.1\r\nHost: a\r\n";
      for (let i = 0; i < n; i++) s += `X-H${i}: ${i}\r\n`;
      const b = bytes(s + "\r\n");
      const o: Opts = { resp, method: METH_GET, maxhdr, maxHead: 1 << 20, large: 431 };
      // Small tables, so that both parsers grow them.
      for (const cap of [1, 8, 101]) {
        const r = new HttpHead(cap), h = new HttpHead(cap);
        const want = snapshot(r, parseRef(b, 0, b.length, r, o));
        assert.deepEqual(
          snapshot(h, parseNew(b, 0, b.length, h, o)),
          want,
          `${n} ${maxhdr} ${cap}`,
        );
      }
      same(b, 0, b.length, o, `${n} headers`, n < 30);
    }
  }
});
