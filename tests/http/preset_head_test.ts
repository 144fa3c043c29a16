// A request head the h2 mux delimited (src/http/preset_head.ts) must give
// the analysers exactly what parseRequestHead() gives for the same bytes:
// every field of the HttpHead, accepted or refused.

import assert from "node:assert/strict";
import { HeaderList } from "../../src/h2/hpack.ts";
import { RequestHead, toRequestHead } from "../../src/mux/h2_request.ts";
import { parseRequestHead } from "../../src/http/h1_parse.ts";
import { adoptRequestHead, presetRequestHead } from "../../src/http/preset_head.ts";
import { HttpHead } from "../../src/http/types.ts";

function list(h: [string, string][]): HeaderList {
  const l = new HeaderList();
  for (const [n, v] of h) l.push(n, v);
  return l;
}

/** Every field of a head, its header table up to hdrCount included. */
function snapshot(h: HttpHead, r: number): Record<string, unknown> {
  const o: Record<string, unknown> = { r };
  for (const [k, v] of Object.entries(h)) {
    if (k === "hdrs" || k === "hdrIds" || k === "hdrFlags" || k === "capacity") continue;
    o[k] = v;
  }
  o.hdrs = Array.from(h.hdrs.subarray(0, h.hdrCount * 4));
  o.hdrIds = Array.from(h.hdrIds.subarray(0, h.hdrCount));
  o.hdrFlags = Array.from(h.hdrFlags.subarray(0, h.hdrCount));
  return o;
}

const MAXHDR = 101;

/**
 * Puts the mux's head for `fields` at offset `at` of a buffer (a body after
 * it), then parses it both ways; `tamper` may change the bytes first.
 * Returns both snapshots.
 */
function both(
  fields: [string, string][],
  opts: {
    endStream?: boolean;
    at?: number;
    maxhdr?: number;
    maxHead?: number;
    tamper?: (buf: Uint8Array, at: number) => void;
  } = {},
): { parsed: Record<string, unknown>; adopted: Record<string, unknown>; head: string } {
  const req = toRequestHead(list(fields), opts.endStream ?? true, new RequestHead());
  assert.equal(req.error, "", req.error);
  const at = opts.at ?? 5;
  const buf = new Uint8Array(16384);
  buf.fill(0x41, 0, at);
  buf.set(req.bytes.subarray(0, req.len), at);
  buf.fill(0x42, at + req.len, at + req.len + 10);
  opts.tamper?.(buf, at);
  const end = at + req.len + 10;
  const maxhdr = opts.maxhdr ?? MAXHDR, maxHead = opts.maxHead ?? 16384 - at;
  const a = new HttpHead(maxhdr), b = new HttpHead(maxhdr);
  const ra = parseRequestHead(buf, at, end, a, maxhdr, maxHead, 400);
  const count = presetRequestHead(b, req, maxhdr);
  const rb = adoptRequestHead(buf, at, end, b, req.len, count, maxhdr, maxHead, 400);
  return { parsed: snapshot(a, ra), adopted: snapshot(b, rb), head: req.head };
}

const BASE: [string, string][] = [
  [":method", "GET"],
  [":scheme", "http"],
  [":authority", "a.test:8080"],
  [":path", "/p/q?x=1&y=2"],
];

const CASES: [string, [string, string][], { endStream?: boolean }][] = [
  ["a plain GET", [...BASE, ["user-agent", "h2load nghttp2/1.59.0"], ["accept", "*/*"]], {}],
  ["no :authority (no host line)", [[":method", "GET"], [":scheme", "http"], [":path", "/"]], {}],
  ["host header instead of :authority", [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    ["host", "b.test"],
  ], {}],
  ["a POST with content-length", [
    ...BASE.map((f) => f[0] === ":method" ? [":method", "POST"] as [string, string] : f),
    ["content-length", "12"],
  ], { endStream: false }],
  ["a chunked POST", [
    ...BASE.map((f) => f[0] === ":method" ? [":method", "POST"] as [string, string] : f),
  ], { endStream: false }],
  ["a DELETE without body (content-length: 0 added)", [
    ...BASE.map((f) => f[0] === ":method" ? [":method", "DELETE"] as [string, string] : f),
  ], {}],
  ["HEAD, OPTIONS *, other methods", [
    [":method", "OPTIONS"],
    [":scheme", "http"],
    [":authority", "a"],
    [":path", "*"],
  ], {}],
  ["a custom method", [
    [":method", "PURGE"],
    [":scheme", "http"],
    [":authority", "a"],
    [":path", "/x"],
  ], {}],
  ["cookies joined, empty values, expect, te", [
    ...BASE,
    ["cookie", "a=1"],
    ["x-empty", ""],
    ["te", "trailers"],
    ["cookie", "b=2"],
    ["expect", "100-continue"],
  ], { endStream: false }],
  ["a cookie ending empty (trailing space: the parser trims it)", [
    ...BASE,
    ["cookie", "a=1"],
    ["cookie", ""],
  ], {}],
  ["repeated content-length merged by the mux", [
    ...BASE,
    ["content-length", "3"],
    ["content-length", "3"],
  ], { endStream: false }],
  ["values with inner spaces, tabs, controls and latin1", [
    ...BASE,
    ["x-a", "a \t b"],
    ["x-b", "\x01\x7f\xe9\xff"],
  ], {}],
  ["a host the HTTP/1.1 parser refuses", [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    ["host", "a b"],
  ], {}],
  ["a target the HTTP/1.1 parser refuses", [
    [":method", "GET"],
    [":scheme", "http"],
    [":authority", "a"],
    [":path", '/a"b{c}|^`'],
  ], {}],
  ["absolute path with double slash and encoded bytes", [
    ...BASE.slice(0, 3),
    [":path", "//a/%41?"],
  ], {}],
];

for (const [name, fields, o] of CASES) {
  Deno.test(`preset head: ${name} gives what the parser gives`, () => {
    for (const at of [0, 5, 1000]) {
      const { parsed, adopted } = both(fields, { ...o, at });
      assert.deepEqual(adopted, parsed);
    }
  });
}

Deno.test("preset head: the tests above cover accepted and refused heads", () => {
  const ok = both(CASES[0]![1]);
  assert.ok((ok.parsed.r as number) > 0);
  assert.equal(ok.parsed.hdrCount, 3);
  const bad = both(CASES[12]![1]);
  assert.equal(bad.parsed.r, -1);
  assert.equal(bad.adopted.errorReason, bad.parsed.errorReason);
});

Deno.test("preset head: more headers than maxhdr are refused as the parser refuses them", () => {
  const many: [string, string][] = [...BASE];
  for (let i = 0; i < 12; i++) many.push([`x-h${i}`, `${i}`]);
  for (const maxhdr of [5, 12, 13, 14]) {
    const { parsed, adopted } = both(many, { maxhdr });
    assert.deepEqual(adopted, parsed);
  }
  assert.equal(both(many, { maxhdr: 5 }).adopted.errorStatus, 400);
});

Deno.test("preset head: a head at the size limit is refused as the parser refuses it", () => {
  const fields: [string, string][] = [...BASE, ["x-big", "v".repeat(300)]];
  const len = toRequestHead(list(fields), true, new RequestHead()).len;
  for (const maxHead of [len - 1, len, len + 1, len + 20]) {
    const { parsed, adopted } = both(fields, { maxHead });
    assert.deepEqual(adopted, parsed, `maxHead ${maxHead} (head ${len})`);
  }
});

Deno.test("preset head: bytes that do not match the bounds are parsed instead", () => {
  const fields: [string, string][] = [...BASE, ["x-a", "1"], ["x-b", "2"]];
  const tampers: ((buf: Uint8Array, at: number) => void)[] = [
    (b, at) => b[b.indexOf(0x3a, at + 20)] = 0x20, // a colon becomes a space
    (b, at) => b[b.indexOf(0x0d, at + 20)] = 0x0a, // a bare LF
    (b, at) => b[b.indexOf(0x0d, at)] = 0x00, // the request line's CR
    (b, at) => b.copyWithin(at + 16, at + 17), // every line moves by one
  ];
  for (const t of tampers) {
    const { parsed, adopted } = both(fields, { tamper: t });
    assert.deepEqual(adopted, parsed);
  }
});

Deno.test("preset head: a head not yet all in the buffer waits", () => {
  const req = toRequestHead(list(BASE), true, new RequestHead());
  const h = new HttpHead(MAXHDR);
  const count = presetRequestHead(h, req, MAXHDR);
  const buf = new Uint8Array(4096);
  buf.set(req.bytes.subarray(0, req.len), 0);
  assert.equal(adoptRequestHead(buf, 0, req.len - 1, h, req.len, count, MAXHDR, 4096, 400), 0);
  assert.equal(adoptRequestHead(buf, 0, req.len, h, req.len, count, MAXHDR, 4096, 400), req.len);
});

Deno.test("preset head: random requests the mux accepts give what the parser gives", () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed % n;
  };
  const NAMES = ["host", "cookie", "content-length", "expect", "x-a", "accept", "te", "via", "a"];
  const CHARS = 'ab019 \t,;:=/"%\x01\x7f\xe9@[]';
  const str = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) s += CHARS[rnd(CHARS.length)];
    return s;
  };
  const METHODS = ["GET", "POST", "HEAD", "PUT", "OPTIONS", "X-Y"];
  let accepted = 0, refused = 0;
  for (let t = 0; t < 3000; t++) {
    const f: [string, string][] = [
      [":method", METHODS[rnd(METHODS.length)]!],
      [":scheme", "http"],
    ];
    if (rnd(4) > 0) f.push([":authority", rnd(2) ? "a.test" : str(rnd(6))]);
    f.push([":path", rnd(3) ? "/" + str(rnd(5)).replace(/[\s"]/g, "") : "*"]);
    for (let i = rnd(6); i > 0; i--) {
      const name = NAMES[rnd(NAMES.length)]!;
      const v = name === "content-length" ? String(rnd(3)) : str(rnd(8));
      f.push([name, v]);
    }
    const endStream = rnd(2) === 0;
    if (toRequestHead(list(f), endStream, new RequestHead()).error !== "") continue;
    accepted++;
    const { parsed, adopted, head } = both(f, { endStream, at: rnd(50) });
    if (parsed.r === -1) refused++;
    assert.deepEqual(adopted, parsed, JSON.stringify(head));
  }
  assert.ok(accepted > 300, `only ${accepted} accepted`);
  assert.ok(refused > 30, `only ${refused} refused by the parser`);
});

Deno.test("preset head: the bounds are taken, not found again (a NUL the mux refuses is not looked for)", () => {
  // Proves the comparisons above ran the adopting path: the parser refuses a
  // NUL in a value, adoption trusts the mux to have refused it (RFC 9113 §8.2.1).
  const { parsed, adopted } = both([...BASE, ["x-a", "1"]], {
    tamper: (b, at) => b[b.indexOf(0x31, b.indexOf(0x78, at + 20))] = 0,
  });
  assert.equal(parsed.r, -1);
  assert.ok((adopted.r as number) > 0);
});
