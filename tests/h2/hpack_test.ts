// HPACK (src/h2/hpack.ts): the RFC 7541 Appendix C examples, round trips
// through our encoder and decoder, and every error path of the decoder.

import assert from "node:assert/strict";

function assertEquals<T>(a: T, b: T, msg?: string): void {
  assert.deepStrictEqual(a, b, msg);
}
import {
  HeaderList,
  HPACK_COMPRESSION,
  HPACK_OK,
  HPACK_TOO_LARGE,
  HpackDecoder,
  HpackEncoder,
} from "../../src/h2/hpack.ts";
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from "../../src/h2/huffman.ts";

function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function pairs(l: HeaderList): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < l.count; i++) out.push([l.names[i]!, l.values[i]!]);
  return out;
}

function decodeOk(d: HpackDecoder, block: Uint8Array): [string, string][] {
  const l = new HeaderList();
  const r = d.decode(block, 0, block.length, l);
  assertEquals(r, HPACK_OK, d.error);
  return pairs(l);
}

function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const REQ1: [string, string][] = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "www.example.com"],
];
const REQ2: [string, string][] = [...REQ1, ["cache-control", "no-cache"]];
const REQ3: [string, string][] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/index.html"],
  [":authority", "www.example.com"],
  ["custom-key", "custom-value"],
];
const RES1: [string, string][] = [
  [":status", "302"],
  ["cache-control", "private"],
  ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
  ["location", "https://www.example.com"],
];
const RES2: [string, string][] = [[":status", "307"], ...RES1.slice(1)];
const RES3: [string, string][] = [
  [":status", "200"],
  ["cache-control", "private"],
  ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ["location", "https://www.example.com"],
  ["content-encoding", "gzip"],
  ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
];

Deno.test("hpack: C.2 literal field representations", () => {
  let d = new HpackDecoder(4096, 65536);
  assertEquals(
    decodeOk(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")),
    [["custom-key", "custom-header"]],
  );
  assertEquals(d.table.size, 55);
  d = new HpackDecoder(4096, 65536);
  assertEquals(decodeOk(d, hex("040c 2f73 616d 706c 652f 7061 7468")), [[":path", "/sample/path"]]);
  assertEquals(d.table.length, 0);
  d = new HpackDecoder(4096, 65536);
  assertEquals(decodeOk(d, hex("1008 7061 7373 776f 7264 0673 6563 7265 74")), [[
    "password",
    "secret",
  ]]);
  assertEquals(d.table.length, 0);
  assertEquals(decodeOk(d, hex("82")), [[":method", "GET"]]);
});

Deno.test("hpack: C.3 requests without Huffman share one dynamic table", () => {
  const d = new HpackDecoder(4096, 65536);
  assertEquals(decodeOk(d, hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")), REQ1);
  assertEquals(d.table.size, 57);
  assertEquals(decodeOk(d, hex("8286 84be 5808 6e6f 2d63 6163 6865")), REQ2);
  assertEquals(d.table.size, 110);
  assertEquals(
    decodeOk(d, hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")),
    REQ3,
  );
  assertEquals(d.table.size, 164);
});

Deno.test("hpack: C.4 requests with Huffman", () => {
  const d = new HpackDecoder(4096, 65536);
  assertEquals(decodeOk(d, hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")), REQ1);
  assertEquals(decodeOk(d, hex("8286 84be 5886 a8eb 1064 9cbf")), REQ2);
  assertEquals(
    decodeOk(d, hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")),
    REQ3,
  );
  assertEquals(d.table.size, 164);
});

Deno.test("hpack: C.5 responses without Huffman, 256-octet table with evictions", () => {
  const d = new HpackDecoder(256, 65536);
  assertEquals(
    decodeOk(
      d,
      hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
        2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
        6c65 2e63 6f6d`),
    ),
    RES1,
  );
  assertEquals(d.table.size, 222);
  assertEquals(decodeOk(d, hex("4803 3330 37c1 c0bf")), RES2);
  assertEquals(d.table.size, 222);
  assertEquals(
    decodeOk(
      d,
      hex(`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
        54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
        5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`),
    ),
    RES3,
  );
  assertEquals(d.table.size, 215);
  assertEquals(d.table.length, 3);
  assertEquals(d.table.name(0), "set-cookie");
});

Deno.test("hpack: C.6 responses with Huffman", () => {
  const d = new HpackDecoder(256, 65536);
  assertEquals(
    decodeOk(
      d,
      hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
        2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
    ),
    RES1,
  );
  assertEquals(decodeOk(d, hex("4883 640e ffc1 c0bf")), RES2);
  assertEquals(
    decodeOk(
      d,
      hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
        77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
        9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
    ),
    RES3,
  );
  assertEquals(d.table.size, 215);
});

Deno.test("huffman: the RFC's encodings, both ways", () => {
  const cases: [string, string][] = [
    ["www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"],
    ["no-cache", "a8eb10649cbf"],
    ["custom-key", "25a849e95ba97d7f"],
    ["302", "6402"],
    ["Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"],
  ];
  for (const [text, code] of cases) {
    const src = bytes(text);
    const out = new Uint8Array(64);
    assertEquals(huffmanEncodedLength(src, 0, src.length), code.length / 2);
    const end = huffmanEncode(src, 0, src.length, out, 0);
    assertEquals(toHex(out.subarray(0, end)), code);
    const c = hex(code);
    const n = huffmanDecode(c, 0, c.length, out);
    assertEquals(String.fromCharCode(...out.subarray(0, n)), text);
  }
});

Deno.test("huffman: every byte value round trips", () => {
  const src = new Uint8Array(256 * 3);
  for (let i = 0; i < src.length; i++) src[i] = (i * 7 + (i >> 8)) & 0xff;
  const enc = new Uint8Array(huffmanEncodedLength(src, 0, src.length));
  assertEquals(huffmanEncode(src, 0, src.length, enc, 0), enc.length);
  const dec = new Uint8Array(src.length);
  assertEquals(huffmanDecode(enc, 0, enc.length, dec), src.length);
  assertEquals(dec, src);
});

Deno.test("huffman: bad padding, EOS and a too small output are refused", () => {
  const out = new Uint8Array(16);
  // "a" is 00011 (5 bits): padding must be ones.
  assertEquals(huffmanDecode(Uint8Array.of(0b00011111), 0, 1, out), 1);
  assertEquals(huffmanDecode(Uint8Array.of(0b00011000), 0, 1, out), -1);
  // A whole byte of padding (8 ones) is over 7 bits.
  assertEquals(huffmanDecode(Uint8Array.of(0b00011111, 0xff), 0, 2, out), -1);
  // EOS (30 ones) in the data.
  assertEquals(huffmanDecode(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 4, out), -1);
  const www = hex("f1e3c2e5f23a6ba0ab90f4ff");
  assertEquals(huffmanDecode(www, 0, www.length, new Uint8Array(5)), -2);
});

Deno.test("hpack: our encoder's blocks decode to the same lists, table in step", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder(4096, 65536);
  const out = new Uint8Array(4096);
  const lists: [string, string][][] = [
    RES1,
    RES2,
    RES3,
    [[":status", "200"], ["content-type", "text/html"], ["x-custom", "a".repeat(300)]],
    [[":status", "599"], ["content-type", "text/html"], ["authorization", "secret"]],
    [[":status", "200"], ["x-bytes", "\x00\x7f\x80\xff é"]],
  ];
  let firstSize = 0;
  for (const [i, list] of lists.entries()) {
    const end = enc.encode(list.map((p) => p[0]), list.map((p) => p[1]), list.length, out, 0);
    if (i === 0) firstSize = end;
    assertEquals(decodeOk(dec, out.subarray(0, end)), list);
    assertEquals(dec.table.size, enc.table.size);
  }
  // The second time the same list is only indexes.
  const again = enc.encode(RES1.map((p) => p[0]), RES1.map((p) => p[1]), RES1.length, out, 0);
  assertEquals(again < firstSize, true);
  assertEquals(decodeOk(dec, out.subarray(0, again)), RES1);
});

Deno.test("hpack: a list sent again is the same block only while the table has not changed", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder(4096, 65536);
  const out = new Uint8Array(4096);
  const names = [":status", "server", "date", "content-length"];
  const values = ["200", "nginx", "Mon, 07 Dec 2026 11:30:00 GMT", "6"];
  const list = names.map((n, i): [string, string] => [n, values[i]!]);
  const send = (at: number): Uint8Array => {
    const end = enc.encode(names, values, names.length, out, at);
    const block = out.slice(at, end);
    assertEquals(decodeOk(dec, block), list);
    assertEquals(dec.table.size, enc.table.size);
    return block;
  };
  send(0); // adds "server: nginx" to the table
  const second = toHex(send(100)); // indexes it: no change to the table
  assertEquals(toHex(send(7)), second);
  assertEquals(toHex(send(0)), second);
  // Another list moves the table: the same fields then index another entry.
  const end = enc.encode(["x-other"], ["1"], 1, out, 0);
  assertEquals(decodeOk(dec, out.subarray(0, end)), [["x-other", "1"]]);
  const moved = toHex(send(0));
  assertEquals(moved === second, false);
  assertEquals(toHex(send(0)), moved);
  // A size change: the next block starts with the update, the one after does not.
  enc.setPeerTableSize(0);
  const updated = send(0);
  assertEquals(updated[0], 0x20);
  assertEquals(dec.table.length, 0);
  const after = send(0);
  assertEquals(after[0] === 0x20, false);
  assertEquals(toHex(send(0)), toHex(after));
});

Deno.test("hpack: a block sent again decodes to the same list only while the table has not changed", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder(4096, 65536);
  const out = new Uint8Array(4096);
  const list = new HeaderList();
  const names = [":method", ":path", "user-agent"];
  const send = (values: string[]): Uint8Array => {
    const end = enc.encode(names, values, names.length, out, 0);
    return out.slice(0, end);
  };
  const decode = (block: Uint8Array, into = list): [string, string][] => {
    assertEquals(dec.decode(block, 0, block.length, into), HPACK_OK, dec.error);
    return pairs(into);
  };
  const a = ["GET", "/", "ua-1"];
  const first = send(a); // adds user-agent to both tables
  assertEquals(decode(first), [[":method", "GET"], [":path", "/"], ["user-agent", "ua-1"]]);
  const indexed = send(a); // indexes only: the same bytes every time now
  assertEquals(toHex(send(a)), toHex(indexed));
  assertEquals(decode(indexed), pairs(list));
  assertEquals(decode(indexed), [[":method", "GET"], [":path", "/"], ["user-agent", "ua-1"]]);
  // Into another list: decoded there.
  const other = new HeaderList();
  assertEquals(decode(indexed, other), [[":method", "GET"], [":path", "/"], [
    "user-agent",
    "ua-1",
  ]]);
  // A block that adds an entry moves the dynamic index the old bytes name.
  assertEquals(decode(send(["GET", "/", "ua-2"])), [
    [":method", "GET"],
    [":path", "/"],
    ["user-agent", "ua-2"],
  ]);
  assertEquals(decode(indexed), [[":method", "GET"], [":path", "/"], ["user-agent", "ua-2"]]);
  // A block that adds an entry adds it each time it comes (the client's table grows so).
  const literal = send(["GET", "/", "ua-3"]);
  const before = dec.table.length;
  decode(literal);
  decode(literal);
  assertEquals(dec.table.length, before + 2);
  // A size update empties the table: the same bytes now name no entry.
  assertEquals(dec.decode(Uint8Array.of(0x20), 0, 1, list), HPACK_OK);
  assertEquals(dec.decode(indexed, 0, indexed.length, list) === HPACK_OK, false);
});

Deno.test("hpack: values new with every response stay right while the kept literals fill and are emptied", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder(4096, 65536);
  const out = new Uint8Array(4096);
  // Unindexed names (content-length, etag): their values are literals each
  // time, kept by the encoder; 700 of up to 96 chars fill its buffer and its
  // count of entries several times over, and come back after being dropped.
  for (let i = 0; i < 700; i++) {
    const k = i % 350;
    const names = [":status", "content-length", "etag"];
    const values = ["200", String(k * 7919), `"${"e".repeat(k % 90)}${k}"`];
    const end = enc.encode(names, values, 3, out, 0);
    assertEquals(decodeOk(dec, out.subarray(0, end)), names.map((n, j) => [n, values[j]!]));
  }
});

Deno.test("hpack: a peer table size change is announced at the start of the next block", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder(4096, 65536);
  const out = new Uint8Array(1024);
  let end = enc.encode(["x-a"], ["1"], 1, out, 0);
  decodeOk(dec, out.subarray(0, end));
  assertEquals(dec.table.length, 1);
  enc.setPeerTableSize(0);
  enc.setPeerTableSize(100);
  end = enc.encode(["x-b"], ["2"], 1, out, 0);
  // 0x20 (size 0) then 0x3f 0x45 (size 100), then the field.
  assertEquals(toHex(out.subarray(0, 3)), "203f45");
  assertEquals(decodeOk(dec, out.subarray(0, end)), [["x-b", "2"]]);
  assertEquals(dec.table.maxSize, 100);
  assertEquals(dec.table.length, 1);
});

Deno.test("hpack: integers of every prefix round trip, long ones refused", () => {
  for (const v of [0, 1, 30, 31, 126, 127, 128, 1337, 65535, 2 ** 31 - 1]) {
    for (const prefix of [4, 5, 6, 7]) {
      const out = new Uint8Array(8);
      const end = HpackEncoder.writeInt(out, 0, v, prefix, 0);
      // Decode through a size update (prefix 5) or an index: use a literal name index check.
      if (prefix === 5 && v <= 4096) {
        out[0]! |= 0x20;
        const d = new HpackDecoder(4096, 65536);
        assertEquals(d.decode(out, 0, end, new HeaderList()), HPACK_OK);
        assertEquals(d.table.maxSize, v);
      }
    }
  }
});

function decodeErr(block: Uint8Array, maxList = 65536, table = 4096): [number, string] {
  const d = new HpackDecoder(table, maxList);
  const r = d.decode(block, 0, block.length, new HeaderList());
  return [r, d.error];
}

Deno.test("hpack: every decoder error path", () => {
  const cases: [string, string, number][] = [
    ["index 0", "80", HPACK_COMPRESSION],
    ["index beyond both tables", "be", HPACK_COMPRESSION],
    ["literal name index beyond", "7f 20 01 61", HPACK_COMPRESSION],
    ["integer without its last byte", "ff", HPACK_COMPRESSION],
    ["integer over 5 continuation bytes", "ff ff ff ff ff ff 01", HPACK_COMPRESSION],
    ["integer above 2^31-1", "ff ff ff ff ff 0f", HPACK_COMPRESSION],
    ["string longer than the block", "40 05 61 62", HPACK_COMPRESSION],
    ["string length missing", "40", HPACK_COMPRESSION],
    ["value missing", "40 01 61", HPACK_COMPRESSION],
    ["Huffman EOS", "40 01 61 84 ff ff ff ff", HPACK_COMPRESSION],
    ["Huffman padding of zeros", "40 01 61 81 18", HPACK_COMPRESSION],
    ["table size update above the announced size", "3f e2 1f", HPACK_COMPRESSION],
    ["table size update after a field", "82 20", HPACK_COMPRESSION],
  ];
  for (const [what, h, code] of cases) {
    const [r, why] = decodeErr(hex(h));
    assertEquals(r, code, `${what}: ${why}`);
    assertEquals(why.length > 0, true);
  }
  // Two updates at the start are fine.
  assertEquals(decodeErr(hex("20 3f e1 1f 82"))[0], HPACK_OK);
});

Deno.test("hpack: the header list limit stops an HPACK bomb before building it", () => {
  // One 4000-octet value put in the table, then referred to 10,000 times:
  // a 10 KB block that would decode to 40 MB of headers.
  const enc = new Uint8Array(4 + 4000 + 10_000);
  let at = 0;
  enc[at++] = 0x40;
  enc[at++] = 1;
  enc[at++] = 0x78; // name "x"
  at = HpackEncoder.writeInt(enc, at, 4000, 7, 0);
  enc.fill(0x61, at, at + 4000);
  at += 4000;
  const first = at;
  for (let i = 0; i < 10_000 && at < enc.length; i++) enc[at++] = 0x80 | 62;
  const d = new HpackDecoder(4096, 16384);
  const l = new HeaderList();
  assertEquals(d.decode(enc, 0, at, l), HPACK_TOO_LARGE);
  // It stopped at the limit: at most 16384 octets of fields were built.
  assertEquals(l.listSize <= 16384, true);
  assertEquals(l.count <= 4, true);
  assertEquals(first > 0, true);
  // A single literal longer than the limit, raw or Huffman-coded.
  const big = new Uint8Array(8 + 20_000);
  big.set([0x00, 0x01, 0x78], 0);
  let e = HpackEncoder.writeInt(big, 3, 20_000, 7, 0);
  assertEquals(decodeErr(big.subarray(0, e + 20_000), 16384)[0], HPACK_TOO_LARGE);
  // '0' is 00000 (5 bits): 15,000 Huffman bytes decode to 24,000.
  const huff = new Uint8Array(8 + 15_000);
  huff.set([0x00, 0x01, 0x78], 0);
  e = HpackEncoder.writeInt(huff, 3, 15_000, 7, 0x80);
  huff.fill(0, e, e + 15_000);
  assertEquals(decodeErr(huff.subarray(0, e + 15_000), 16384)[0], HPACK_TOO_LARGE);
  // Under a large limit the same block decodes.
  assertEquals(decodeErr(huff.subarray(0, e + 15_000), 65536)[0], HPACK_OK);
});
