// Unit tests of src/acl/ip.ts: address parsing (IPv4, IPv6, IPv4-mapped),
// networks and list matching.

import assert from "node:assert/strict";
import {
  type CidrList,
  cidrListMatch,
  isIp,
  parseCidr,
  parseCidrList,
  parseIp,
} from "../../src/acl/ip.ts";

function list(...items: string[]): CidrList {
  const l = parseCidrList(items);
  if ("error" in l) throw new Error(l.error);
  return l;
}

function words(s: string): number[] {
  const w = new Int32Array(4);
  assert.ok(parseIp(s, w), s);
  return [...w].map((x) => x >>> 0);
}

Deno.test("parseIp() maps IPv4 into the IPv6 space", () => {
  assert.deepEqual(words("1.2.3.4"), [0, 0, 0xffff, 0x01020304]);
  assert.deepEqual(words("::ffff:1.2.3.4"), [0, 0, 0xffff, 0x01020304]);
  assert.deepEqual(words("255.255.255.255"), [0, 0, 0xffff, 0xffffffff]);
});

Deno.test("parseIp() reads IPv6 forms", () => {
  assert.deepEqual(words("::1"), [0, 0, 0, 1]);
  assert.deepEqual(words("::"), [0, 0, 0, 0]);
  assert.deepEqual(words("2001:db8::"), [0x20010db8, 0, 0, 0]);
  assert.deepEqual(words("2001:DB8:0:0:0:0:0:1"), [0x20010db8, 0, 0, 1]);
  assert.deepEqual(words("fe80::1%eth0"), [0xfe800000, 0, 0, 1]);
  assert.deepEqual(words("[::1]"), [0, 0, 0, 1]);
  assert.deepEqual(words("1:2:3:4:5:6:7:8"), [0x10002, 0x30004, 0x50006, 0x70008]);
  assert.deepEqual(words("1::8"), [0x10000, 0, 0, 8]);
});

Deno.test("parseIp() refuses what is not an address", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "1.2.3.4:80",
      "localhost",
      ":::",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "1:",
      ":1",
      "[1.2.3.4]",
      "01234.1.1.1",
    ]
  ) {
    assert.equal(isIp(bad), false, bad);
  }
});

Deno.test("parseCidr() clears host bits and accepts dotted masks", () => {
  const a = parseCidr("10.1.2.3/8");
  assert.ok(a !== null);
  assert.equal(a.prefix, 104);
  assert.equal(a.net[3]! >>> 0, 0x0a000000);
  const b = parseCidr("10.1.2.3/255.255.0.0");
  assert.ok(b !== null);
  assert.equal(b.prefix, 112);
  assert.equal(parseCidr("10.0.0.0/33"), null);
  assert.equal(parseCidr("10.0.0.0/255.0.255.0"), null);
  assert.equal(parseCidr("::/129"), null);
  assert.equal(parseCidr("2001:db8::/32")?.prefix, 32);
  assert.equal(parseCidr("nope/8"), null);
});

Deno.test("cidrListMatch() matches IPv4 networks, also as IPv4-mapped IPv6", () => {
  const l = list("127.0.0.0/8", "192.168.1.0/24", "10.0.0.1");
  assert.ok(cidrListMatch(l, "127.0.0.1"));
  assert.ok(cidrListMatch(l, "127.255.0.9"));
  assert.ok(cidrListMatch(l, "::ffff:127.0.0.1"));
  assert.ok(cidrListMatch(l, "192.168.1.200"));
  assert.ok(!cidrListMatch(l, "192.168.2.1"));
  assert.ok(cidrListMatch(l, "10.0.0.1"));
  assert.ok(!cidrListMatch(l, "10.0.0.2"));
  assert.ok(!cidrListMatch(l, "::1"));
  assert.ok(!cidrListMatch(l, "garbage"));
});

Deno.test("cidrListMatch() matches IPv6 networks", () => {
  const l = list("2001:db8::/32", "::1");
  assert.ok(cidrListMatch(l, "2001:db8::1"));
  assert.ok(cidrListMatch(l, "2001:db8:ffff::1"));
  assert.ok(!cidrListMatch(l, "2001:db9::1"));
  assert.ok(cidrListMatch(l, "::1"));
  assert.ok(!cidrListMatch(l, "::2"));
  assert.ok(!cidrListMatch(l, "127.0.0.1"));
  const all = list("0.0.0.0/0");
  assert.ok(cidrListMatch(all, "8.8.8.8"));
  assert.ok(!cidrListMatch(all, "2001:db8::1"));
  const any6 = list("::/0");
  assert.ok(cidrListMatch(any6, "2001:db8::1"));
  assert.ok(cidrListMatch(any6, "8.8.8.8"));
});

Deno.test("parseCidrList() names the bad entry", () => {
  const l = parseCidrList(["10.0.0.0/8", "10.0.0.0/40"]);
  assert.ok("error" in l);
  assert.match(l.error, /'10\.0\.0\.0\/40'/);
});
