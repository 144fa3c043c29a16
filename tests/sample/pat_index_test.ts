// Unit tests of src/sample/pat_index.ts and pat_ref.ts: every index kind
// finds the entry a linear scan in file order finds (longest key for beg and
// ip), on random keys and samples; runtime add/del/set/clear keep the
// indexes in step; map files parse as HAProxy's do.

import assert from "node:assert/strict";
import { compilePatterns, type PatternSet } from "../../src/acl/pattern.ts";
import {
  newPatIndex,
  PAT_IDX_BEG,
  PAT_IDX_DIR,
  PAT_IDX_DOM,
  PAT_IDX_END,
  PAT_IDX_INT,
  PAT_IDX_IP,
  PAT_IDX_STR,
  PAT_IDX_SUB,
  PatEntry,
} from "../../src/sample/pat_index.ts";
import { currentPatternStore, parsePatternText, PatRef } from "../../src/sample/pat_ref.ts";
import { loadConfigText } from "../../src/proxy/load.ts";

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
}

const ALPHA = "ab./?:";

function word(rnd: () => number, max: number): string {
  let s = "";
  const n = 1 + (rnd() % max);
  for (let i = 0; i < n; i++) s += ALPHA[rnd() % ALPHA.length];
  return s;
}

/** The linear-scan reference: the first entry (file order) whose single-pattern set matches. */
function linear(match: number, keys: string[], s: string): number {
  for (let i = 0; i < keys.length; i++) {
    const p = compilePatterns(match, false, [keys[i]!]) as PatternSet;
    if (p.matchString(s)) return i;
  }
  return -1;
}

// acl/pattern.ts method ids for the same kinds.
const KINDS: Array<[string, number, number]> = [
  ["str", PAT_IDX_STR, 0],
  ["end", PAT_IDX_END, 2],
  ["sub", PAT_IDX_SUB, 3],
  ["dom", PAT_IDX_DOM, 8],
  ["dir", PAT_IDX_DIR, 9],
];

for (const [name, kind, method] of KINDS) {
  Deno.test(`${name} index finds the first entry in file order, as a linear scan does`, () => {
    const rnd = lcg(kind + 7);
    for (let round = 0; round < 30; round++) {
      const keys = [...Array(1 + (rnd() % 12))].map(() => word(rnd, 4));
      const ix = newPatIndex(kind, false);
      keys.forEach((k, i) => ix.add(new PatEntry(k, `v${i}`, i, i + 1)));
      for (let t = 0; t < 60; t++) {
        const s = word(rnd, 10);
        const want = linear(method, keys, s);
        const got = ix.lookup(s);
        assert.equal(
          got === null ? -1 : got.seq,
          want,
          `${name} keys=${JSON.stringify(keys)} s=${s}`,
        );
      }
    }
  });
}

Deno.test("beg index picks the longest matching key", () => {
  const rnd = lcg(3);
  for (let round = 0; round < 30; round++) {
    const keys = [...Array(1 + (rnd() % 12))].map(() => word(rnd, 4));
    const ix = newPatIndex(PAT_IDX_BEG, false);
    keys.forEach((k, i) => ix.add(new PatEntry(k, `v${i}`, i, i + 1)));
    for (let t = 0; t < 60; t++) {
      const s = word(rnd, 8);
      let want = -1;
      for (let i = 0; i < keys.length; i++) {
        if (s.startsWith(keys[i]!) && (want < 0 || keys[i]!.length > keys[want]!.length)) want = i;
      }
      const got = ix.lookup(s);
      assert.equal(got === null ? null : got.key, want < 0 ? null : keys[want]);
    }
  }
});

Deno.test("ip index: longest prefix, IPv4 and IPv6, IPv4-mapped samples", () => {
  const ix = newPatIndex(PAT_IDX_IP, false);
  const keys = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "::1", "2001:db8::/32", "0.0.0.0/0"];
  keys.forEach((k, i) => assert.equal(ix.add(new PatEntry(k, k, i, i + 1)), null));
  const at = (s: string) => ix.lookup(s)?.key ?? null;
  assert.equal(at("10.1.2.3"), "10.1.2.3");
  assert.equal(at("::ffff:10.1.2.4"), "10.1.0.0/16");
  assert.equal(at("10.200.0.1"), "10.0.0.0/8");
  assert.equal(at("192.168.1.1"), "0.0.0.0/0");
  assert.equal(at("2001:db8:1::5"), "2001:db8::/32");
  assert.equal(at("::1"), "::1");
  assert.equal(at("2001:db9::1"), null);
  assert.equal(at("not an ip"), null);
  assert.match(ix.add(new PatEntry("nope", "", 9, 9)) ?? "", /invalid IP address/);
});

Deno.test("int index: exact values and ranges, first in file order", () => {
  const ix = newPatIndex(PAT_IDX_INT, false);
  ["10:20", "15", "30:", ":-5"].forEach((k, i) => ix.add(new PatEntry(k, k, i, i + 1)));
  assert.equal(ix.lookup("15")?.key, "10:20");
  assert.equal(ix.lookup("12abc")?.key, "10:20");
  assert.equal(ix.lookup("99")?.key, "30:");
  assert.equal(ix.lookup("-7")?.key, ":-5");
  assert.equal(ix.lookup("25"), null);
  assert.equal(ix.lookup("x"), null);
});

Deno.test("map files: comments, blanks, values with spaces, empty values, CRLF", () => {
  const ref = new PatRef("t.map", "t.map", true);
  parsePatternText(ref, "# c\r\n\r\n  k1   v one  \r\nk2\n\tk3\tv3\n#k4 v4\nk5 v5");
  assert.deepEqual(
    ref.entries.map((e) => [e.key, e.value, e.line]),
    [["k1", "v one", 3], ["k2", "", 4], ["k3", "v3", 5], ["k5", "v5", 7]],
  );
});

Deno.test("runtime add/del/set/clear reach every index of a reference", () => {
  const ref = new PatRef("h.map", "h.map", true);
  parsePatternText(ref, "example.com be1\n10.0.0.0/8 be2\n");
  const dom = ref.index(PAT_IDX_DOM, false);
  const str = ref.index(PAT_IDX_STR, false);
  assert.ok(!("error" in dom) && !("error" in str));
  // An ip index cannot be built: example.com is no network.
  const ip = ref.index(PAT_IDX_IP, false);
  assert.ok("error" in ip);
  assert.match(ip.error, /map file 'h\.map' line 1: invalid IP address or network 'example\.com'/);
  assert.equal(dom.lookup("www.example.com")?.value, "be1");
  assert.equal(ref.add("other.org", "be3"), null);
  assert.equal(dom.lookup("a.other.org")?.value, "be3");
  assert.equal(str.lookup("other.org")?.value, "be3");
  assert.equal(ref.set("example.com", "be9"), 1);
  assert.equal(dom.lookup("www.example.com")?.value, "be9");
  assert.equal(ref.del("example.com"), 1);
  assert.equal(dom.lookup("www.example.com"), null);
  assert.equal(ref.entries.length, 2);
  ref.clear();
  assert.equal(dom.lookup("a.other.org"), null);
  assert.equal(ref.entries.length, 0);
});

Deno.test("a key refused by one index is not added to any", () => {
  const ref = new PatRef("n.map", "n.map", true);
  parsePatternText(ref, "10.0.0.0/8 a\n");
  const ip = ref.index(PAT_IDX_IP, false);
  const str = ref.index(PAT_IDX_STR, false);
  assert.ok(!("error" in ip) && !("error" in str));
  assert.match(ref.add("bad", "x") ?? "", /invalid IP/);
  assert.equal(str.lookup("bad"), null);
  assert.equal(ref.entries.length, 1);
});

Deno.test("a 100,000-entry dom index answers from a handful of probes", () => {
  const ix = newPatIndex(PAT_IDX_DOM, false);
  for (let i = 0; i < 100_000; i++) ix.add(new PatEntry(`host${i}.example.com`, `b${i % 7}`, i, i));
  assert.equal(ix.lookup("host99999.example.com")?.value, `b${99999 % 7}`);
  assert.equal(ix.lookup("a.host5.example.com:80")?.value, "b5");
  assert.equal(ix.lookup("host100000.example.com"), null);
});

Deno.test("the runtime API's store is the last configuration that compiled", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.map`, "k v\n");
    const cfg = (extra: string) =>
      [
        "defaults: { mode: http, timeout: { connect: 5s, client: 30s, server: 30s } }",
        "frontends:",
        "  fe:",
        '    bind: "127.0.0.1:0"',
        "    default_backend: be",
        `    http-request: ["set-header X %[path,map(${dir}/a.map)]"${extra}]`,
        "backends:",
        "  be: { servers: [ { name: s1, address: 127.0.0.1:9001 } ] }",
        "",
      ].join("\n");
    const ok = loadConfigText(cfg(""), "ok.yaml");
    assert.equal(ok.issues.filter((i) => i.severity === "error").length, 0);
    const first = currentPatternStore();
    assert.equal(first.get(`${dir}/a.map`)?.entries.length, 1);
    const bad = loadConfigText(cfg(', "nosuchaction"'), "bad.yaml");
    assert.ok(bad.issues.some((i) => i.severity === "error"));
    assert.equal(currentPatternStore(), first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a dom lookup on a sample of thousands of components stays bounded by the longest key", () => {
  const ix = newPatIndex(PAT_IDX_DOM, false);
  ix.add(new PatEntry("a.b", "v", 0, 1));
  const s = "x.".repeat(20_000) + "a.b";
  assert.equal(ix.lookup(s)?.value, "v");
  assert.equal(ix.lookup("x.".repeat(20_000)), null);
});
