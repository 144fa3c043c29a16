// Unit tests of src/acl/pattern.ts: every matching method, -i, integer
// ranges and operators, and pattern compile errors.

import assert from "node:assert/strict";
import {
  compilePatterns,
  leadingInt,
  PAT_M_BEG,
  PAT_M_BOOL,
  PAT_M_DIR,
  PAT_M_DOM,
  PAT_M_END,
  PAT_M_FOUND,
  PAT_M_INT,
  PAT_M_IP,
  PAT_M_LEN,
  PAT_M_REG,
  PAT_M_STR,
  PAT_M_SUB,
  type PatternSet,
} from "../../src/acl/pattern.ts";
import { toByteString } from "../../src/sample/bytes.ts";

function set(match: number, pats: string[], icase = false): PatternSet {
  const s = compilePatterns(match, icase, pats);
  if ("error" in s) throw new Error(s.error);
  return s;
}

function err(match: number, pats: string[]): string {
  const s = compilePatterns(match, false, pats);
  assert.ok("error" in s, "expected an error");
  return s.error;
}

Deno.test("str: exact, OR of patterns, -i", () => {
  const s = set(PAT_M_STR, ["GET", "HEAD"]);
  assert.ok(s.matchString("GET"));
  assert.ok(s.matchString("HEAD"));
  assert.ok(!s.matchString("get"));
  assert.ok(!s.matchString("GETX"));
  const i = set(PAT_M_STR, ["Example.COM"], true);
  assert.ok(i.matchString("example.com"));
  assert.ok(i.matchString("EXAMPLE.com"));
  assert.ok(!i.matchString("example.co"));
});

Deno.test("str: large sets use a lookup and still honour -i", () => {
  const pats = Array.from({ length: 20 }, (_, k) => `Host${k}`);
  const s = set(PAT_M_STR, pats);
  assert.ok(s.strSet !== null);
  assert.ok(s.matchString("Host7"));
  assert.ok(!s.matchString("host7"));
  const i = set(PAT_M_STR, pats, true);
  assert.ok(i.matchString("HOST19"));
});

Deno.test("beg / end / sub with and without -i", () => {
  assert.ok(set(PAT_M_BEG, ["/api"]).matchString("/api/v1"));
  assert.ok(!set(PAT_M_BEG, ["/api"]).matchString("/API/v1"));
  assert.ok(set(PAT_M_BEG, ["/api"], true).matchString("/API/v1"));
  assert.ok(set(PAT_M_END, [".jpg", ".png"]).matchString("/a/b.png"));
  assert.ok(!set(PAT_M_END, [".jpg"]).matchString("/a/b.JPG"));
  assert.ok(set(PAT_M_END, [".jpg"], true).matchString("/a/b.JPG"));
  assert.ok(!set(PAT_M_END, ["long-suffix"]).matchString("x"));
  assert.ok(set(PAT_M_SUB, ["admin"]).matchString("/x/admin/y"));
  assert.ok(set(PAT_M_SUB, ["ADMIN"], true).matchString("/x/Admin/y"));
  assert.ok(!set(PAT_M_SUB, ["admin"]).matchString("/x/adm/y"));
});

Deno.test("reg: JavaScript regex, -i adds the i flag", () => {
  const s = set(PAT_M_REG, ["^/api/v[0-9]+/", "\\.php$"]);
  assert.ok(s.matchString("/api/v2/users"));
  assert.ok(s.matchString("/index.php"));
  assert.ok(!s.matchString("/api/vx/"));
  assert.ok(set(PAT_M_REG, ["^/API"], true).matchString("/api"));
  assert.match(err(PAT_M_REG, ["(unclosed"]), /invalid regex '\(unclosed'/);
});

Deno.test("dom: delimited by / ? . : or the ends", () => {
  const s = set(PAT_M_DOM, ["example.com"]);
  assert.ok(s.matchString("example.com"));
  assert.ok(s.matchString("www.example.com"));
  assert.ok(s.matchString("www.example.com:8080"));
  assert.ok(!s.matchString("www.myexample.com"));
  assert.ok(!s.matchString("example.community"));
  assert.ok(set(PAT_M_DOM, ["WWW"], true).matchString("www.example.com"));
  // The pattern's own delimiters are ignored.
  assert.ok(set(PAT_M_DOM, [".example."]).matchString("a.example.org"));
});

Deno.test("dir: delimited by / ? or the ends", () => {
  const s = set(PAT_M_DIR, ["images"]);
  assert.ok(s.matchString("/images/a.png"));
  assert.ok(s.matchString("/static/images"));
  assert.ok(s.matchString("/static/images?x=1"));
  assert.ok(!s.matchString("/myimages/a.png"));
  assert.ok(!s.matchString("/images.old/a"));
  assert.ok(set(PAT_M_DIR, ["/img/"]).matchString("/a/img/b"));
  assert.ok(set(PAT_M_DIR, ["a/b"]).matchString("/x/a/b/c"));
});

Deno.test("int: values, ranges and operators", () => {
  const s = set(PAT_M_INT, ["200:299", "404"]);
  assert.ok(s.matchInt(200) && s.matchInt(250) && s.matchInt(299) && s.matchInt(404));
  assert.ok(!s.matchInt(300) && !s.matchInt(199) && !s.matchInt(405));
  assert.ok(set(PAT_M_INT, [":10"]).matchInt(-5));
  assert.ok(set(PAT_M_INT, ["10:"]).matchInt(1e9));
  assert.ok(set(PAT_M_INT, ["gt", "5"]).matchInt(6));
  assert.ok(!set(PAT_M_INT, ["gt", "5"]).matchInt(5));
  assert.ok(set(PAT_M_INT, ["ge", "5"]).matchInt(5));
  assert.ok(set(PAT_M_INT, ["lt", "5"]).matchInt(4));
  assert.ok(!set(PAT_M_INT, ["lt", "5"]).matchInt(5));
  assert.ok(set(PAT_M_INT, ["le", "5"]).matchInt(5));
  assert.ok(set(PAT_M_INT, ["eq", "5"]).matchInt(5));
  assert.ok(!set(PAT_M_INT, ["eq", "5"]).matchInt(6));
  assert.ok(set(PAT_M_INT, ["-3"]).matchInt(-3));
});

Deno.test("int: compile errors name the pattern", () => {
  assert.match(err(PAT_M_INT, ["abc"]), /invalid integer pattern 'abc'/);
  assert.match(err(PAT_M_INT, ["gt"]), /missing integer after operator 'gt'/);
  assert.match(err(PAT_M_INT, ["gt", "x"]), /invalid integer 'x' after operator 'gt'/);
  assert.match(err(PAT_M_INT, ["9:1"]), /invalid integer range '9:1'/);
  assert.match(err(PAT_M_INT, [":"]), /invalid integer range ':'/);
  assert.match(err(PAT_M_LEN, ["1:x"]), /invalid integer range '1:x'/);
});

Deno.test("len uses integer ranges", () => {
  const s = set(PAT_M_LEN, ["0:3"]);
  assert.ok(s.matchInt(3));
  assert.ok(!s.matchInt(4));
});

Deno.test("ip: networks, IPv6, IPv4-mapped", () => {
  const s = set(PAT_M_IP, ["10.0.0.0/8", "2001:db8::/32"]);
  assert.ok(s.matchString("10.1.2.3"));
  assert.ok(s.matchString("::ffff:10.1.2.3"));
  assert.ok(s.matchString("2001:db8:1::5"));
  assert.ok(!s.matchString("11.0.0.1"));
  assert.match(err(PAT_M_IP, ["10.0.0.0/99"]), /invalid IP address or network '10\.0\.0\.0\/99'/);
});

Deno.test("found and bool take no pattern; other methods need one", () => {
  assert.ok(!("error" in compilePatterns(PAT_M_FOUND, false, [])));
  assert.ok(!("error" in compilePatterns(PAT_M_BOOL, false, [])));
  assert.match(err(PAT_M_FOUND, ["x"]), /'-m found' takes no pattern, got 'x'/);
  assert.match(err(PAT_M_STR, []), /no pattern to match/);
});

Deno.test("leadingInt() reads a leading integer like strl2ic", () => {
  assert.equal(leadingInt("123"), 123);
  assert.equal(leadingInt("12abc"), 12);
  assert.equal(leadingInt("-7"), -7);
  assert.equal(leadingInt("+7"), 7);
  assert.equal(leadingInt("abc"), null);
  assert.equal(leadingInt(""), null);
});

Deno.test("toByteString() turns non-ASCII config text into UTF-8 bytes", () => {
  assert.equal(toByteString("abc"), "abc");
  assert.equal(toByteString("é"), "\xc3\xa9");
  assert.ok(set(PAT_M_SUB, ["é"]).matchString("caf\xc3\xa9"));
});

Deno.test("-i folds ASCII only: non-ASCII bytes match themselves, in scans and in large sets", () => {
  // Patterns are configuration text, converted to UTF-8 bytes; samples are
  // byte strings. "Café" is 43 61 66 C3 A9.
  const cafe = toByteString("Café");
  for (const n of [1, 20]) {
    const pats = ["Café", ...Array.from({ length: n - 1 }, (_, k) => `p${k}`)];
    const s = set(PAT_M_STR, pats, true);
    assert.equal(s.strSet !== null, n > 8);
    assert.ok(s.matchString(cafe), `identical bytes, ${n} patterns`);
    assert.ok(s.matchString("CAF\xc3\xa9"), `ASCII folded, ${n} patterns`);
    assert.ok(!s.matchString("caf\xe3\xa9"), `0xC3 is not folded to 0xE3, ${n} patterns`);
    // A sample byte 0xC3 followed by 0x89 ("É") must not fold to 0xE3 0x89 or to "é".
    assert.ok(!set(PAT_M_STR, ["é", ...pats], true).matchString("\xc3\x89"), `${n} patterns`);
    assert.ok(set(PAT_M_STR, ["É", ...pats], true).matchString("\xc3\x89"), `${n} patterns`);
  }
  assert.ok(set(PAT_M_BEG, ["Café"], true).matchString(cafe + "/x"));
  assert.ok(set(PAT_M_END, ["É"], true).matchString("x\xc3\x89"));
  assert.ok(set(PAT_M_SUB, ["ÉX"], true).matchString("a\xc3\x89xb"));
  assert.ok(set(PAT_M_DOM, ["Éx"], true).matchString("a.\xc3\x89X.b"));
  assert.ok(set(PAT_M_DIR, ["Éx"], true).matchString("/a/\xc3\x89X/b"));
});
