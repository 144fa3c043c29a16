// Unit tests of src/regex/regex.ts: the accepted syntax, the constructs that
// are refused (and the ones that only look like them), the results of test()
// and exec(), `-i` folding byte for byte as V8's `i` did, linear time on
// inputs that make a backtracking engine explode, and the refusals reported
// by the configuration loader at file:line:col for every place a regex is
// written.

import assert from "node:assert/strict";
import { compileRegex, Regex } from "../../src/regex/regex.ts";
import { formatIssue, loadConfigText } from "../../src/proxy/load.ts";
import { compilePatterns, PAT_M_REG } from "../../src/acl/pattern.ts";
import { toByteString } from "../../src/sample/bytes.ts";

function re(src: string, icase = false): Regex {
  const r = compileRegex(src, { icase });
  if (!(r instanceof Regex)) throw new Error(`'${src}' refused: ${r.error}`);
  return r;
}

function refusal(src: string): string {
  const r = compileRegex(src);
  assert.ok("error" in r, `'${src}' should be refused`);
  return r.error;
}

Deno.test("compileRegex() accepts RE2 syntax: classes, groups, inline flags, counted repeats", () => {
  assert.ok(re("^/api/v[0-9]+/").test("/api/v2/users"));
  assert.ok(re("\\.(jpg|png|css)$").test("/a/b.css"));
  assert.ok(!re("\\.(jpg|png|css)$").test("/a/b.cssx"));
  assert.ok(re("^\\d{3}$").test("200"));
  assert.ok(re("^\\w+-\\w+$").test("ab-cd"));
  assert.ok(re("\\bfoo\\b").test("a foo b"));
  assert.ok(!re("\\bfoo\\b").test("afoob"));
  assert.ok(re("(?i)^curl/").test("CURL/8.0"));
  assert.ok(re("^[[:alpha:]]+$").test("abcXYZ"));
  assert.ok(re("^\\Qa.b\\E$").test("a.b"));
  assert.ok(!re("^\\Qa.b\\E$").test("axb"));
  assert.ok(re("^\\x41\\x{42}$").test("AB"));
  assert.ok(re("^a{2,1000}$").test("a".repeat(1000)));
  assert.ok(re("^\\/api\\/").test("/api/x"), "escaped slashes, as JavaScript users write them");
  assert.ok(re("^(?P<a>x)(?<b>y)$").test("xy"));
});

Deno.test("exec() returns the groups as RegExp.exec did, undefined for a group that did not take part", () => {
  const m = re("^([^:]+)(:([0-9]+))?$").exec("example.com");
  assert.ok(m !== null);
  assert.deepEqual(Array.from(m), ["example.com", "example.com", undefined, undefined]);
  const m2 = re("([0-9]+)").exec("id=42&x=7");
  assert.ok(m2 !== null);
  assert.deepEqual(Array.from(m2), ["42", "42"], "leftmost match, unanchored");
  assert.equal(re("^x").exec("yx"), null);
  // The same instance twice: no lastIndex, no state carried between calls.
  const r = re("a(b)");
  assert.equal(r.exec("ab")?.[1], "b");
  assert.equal(r.exec("ab")?.[1], "b");
  assert.ok(r.test("ab") && r.test("ab"));
});

Deno.test("exec() and test() agree with V8's RegExp on the syntax both accept, anchored or not", () => {
  const patterns = [
    "^([^:]+)(:[0-9]+)?$",
    "^/static/(.*)",
    "^a|b",
    "^(a|b)c",
    "(?:x|^y)(z)?",
    "\\.(jpg|png)$",
    "(bot|crawler)",
    "^(\\w+)-(\\w+)$",
    "^v([0-9]+)\\.([0-9]+)$",
    "(a*)(b*)",
    "^$",
  ];
  const subjects = [
    "www.example.com:8080",
    "example.com",
    "/static/css/a.css",
    "/x/static/",
    "ab",
    "xb",
    "bc",
    "y",
    "qyz",
    "a.png",
    "Googlebot/2.1",
    "left-right",
    "v1.22",
    "aab",
    "",
  ];
  for (const p of patterns) {
    const ours = re(p);
    const v8 = new RegExp(p);
    for (const s of subjects) {
      const a = ours.exec(s);
      const b = v8.exec(s);
      assert.deepEqual(
        a === null ? null : Array.from(a),
        b === null ? null : Array.from(b),
        `${p} on ${s}`,
      );
      assert.equal(ours.test(s), v8.test(s), `${p} on ${s}`);
    }
  }
});

Deno.test("compileRegex() refuses what cannot run in linear time, naming the construct", () => {
  const cases: Array<[string, string]> = [
    ["(a)\\1", "backreference '\\1' is not supported"],
    ["(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10", "backreference '\\10' is not supported"],
    ["(?<n>a)\\k<n>", "backreference '\\k' is not supported"],
    ["(a)\\g1", "backreference '\\g' is not supported"],
    ["(?P<n>a)(?P=n)", "backreference '(?P=' is not supported"],
    ["^(?=.*x)", "lookahead '(?=' is not supported"],
    ["^(?!x)", "lookahead '(?!' is not supported"],
    ["(?<=x)y", "lookbehind '(?<=' is not supported"],
    ["(?<!x)y", "lookbehind '(?<!' is not supported"],
    ["(?>a+)b", "atomic group '(?>' is not supported"],
    ["a++b", "possessive quantifier '++' is not supported"],
    ["a*+b", "possessive quantifier '*+' is not supported"],
    ["a{2}+b", "possessive quantifier '}+' is not supported"],
    ["(a|(?R))", "recursion '(?R' is not supported"],
    ["(a)(?1)", "recursion '(?1' is not supported"],
    ["(?P>n)", "subroutine call '(?P>' is not supported"],
    ["(a)?(?(1)b|c)", "conditional '(?(' is not supported"],
  ];
  for (const [src, want] of cases) {
    const e = refusal(src);
    assert.ok(e.startsWith(want), `'${src}': got ${JSON.stringify(e)}`);
    assert.match(e, /linear time/);
  }
});

Deno.test("look-alikes of refused constructs are accepted: escaped, in a class, quoted", () => {
  assert.ok(re("[(?=]").test("="));
  assert.ok(re("\\(?=").test("="), "an optional literal '(' then '='");
  assert.ok(re("^\\Q(?=\\1\\E$").test("(?=\\1"));
  assert.ok(re("^[\\]]+$").test("]]"));
  assert.ok(re("^[]a]+$").test("]a"));
  assert.ok(re("^[[:digit:]]+\\+$").test("12+"));
  assert.ok(re("^x}+$").test("x}}"), "a literal '}' repeated is not possessive");
  assert.ok(re("^\\0$").test("\0"), "\\0 is NUL, not a back-reference");
});

Deno.test("syntax errors keep the parser's message, which quotes the bad part", () => {
  assert.equal(refusal("("), "missing closing ): `(`");
  assert.equal(refusal("[a"), "missing closing ]: `[a`");
  assert.equal(refusal("a{1001}"), "invalid repeat count: `{1001}`");
  assert.equal(refusal("\\u0041"), "invalid escape sequence: `\\u`");
});

Deno.test("-i folds every byte exactly as V8's `i` flag did (ASCII and latin1 letters)", () => {
  const hex = (c: number) => "\\x" + c.toString(16).padStart(2, "0");
  let compared = 0;
  for (let a = 0; a < 256; a++) {
    const ours = re(`^${hex(a)}$`, true);
    const v8 = new RegExp(`^${hex(a)}$`, "i");
    for (let b = 0; b < 256; b++) {
      const s = String.fromCharCode(b);
      assert.equal(ours.test(s), v8.test(s), `pattern byte ${a}, subject byte ${b}`);
      compared++;
    }
  }
  assert.equal(compared, 65536);
  assert.ok(re("^Mozilla/", true).test("mozilla/5.0"));
  assert.ok(!re("^Mozilla/").test("mozilla/5.0"), "case-sensitive without -i");
});

Deno.test("ACL byte strings: a UTF-8 pattern matches the request's bytes, -i included", () => {
  // "Café" arrives as 43 61 66 C3 A9; the config text is converted the same way.
  const s = compilePatterns(PAT_M_REG, false, ["^Caf(é|e)$"]);
  assert.ok(!("error" in s));
  assert.ok(s.matchString(toByteString("Café")));
  assert.ok(s.matchString("Cafe"));
  assert.ok(!s.matchString("Café"), "a UTF-16 'é' is not the two bytes C3 A9");
  const i = compilePatterns(PAT_M_REG, true, ["^café$"]);
  assert.ok(!("error" in i));
  assert.ok(i.matchString(toByteString("CAFé")));
  const bad = compilePatterns(PAT_M_REG, false, ["^(a)\\1$"]);
  assert.ok("error" in bad);
  assert.match(bad.error, /^invalid regex '\^\(a\)\\1\$': backreference '\\1' is not supported/);
});

Deno.test("patterns that make a backtracking engine explode run in linear time", () => {
  // Each of these needs longer than the age of the universe on V8's RegExp
  // at this length (2^n steps); here they answer as fast as a plain scan.
  const n = 5_000;
  const evil = "a".repeat(n) + "!";
  assert.equal(re("^(a+)+$").test(evil), false);
  assert.equal(re("^(a|aa)+$").test(evil), false);
  assert.equal(re("^(a|a)*$", true).test(evil), false);
  assert.equal(re("^(.*a){20}$").test(evil), false);
  assert.equal(re("^(a+)+$").exec(evil), null);
  assert.equal(re("^(a+)+$").exec("a".repeat(n))?.[0]?.length, n);
});

Deno.test("the loader refuses an unsupported pattern at file:line:col, wherever it is written", () => {
  const yaml = [
    /* 1 */ "defaults:",
    /* 2 */ "  mode: http",
    /* 3 */ "  timeout: { connect: 5s, client: 30s, server: 30s }",
    /* 4 */ "frontends:",
    /* 5 */ "  fe:",
    /* 6 */ '    bind: ":8080"',
    /* 7 */ "    acl:",
    /* 8 */ "      twice: 'hdr_reg(x-a) -i ^(a+)\\1$'",
    /* 9 */ "    http-request:",
    /* 10 */ "      - 'replace-path ^(?=/x)(.*)$ /y\\1'",
    /* 11 */ "      - 'del-header ^x-(?!keep) -m reg'",
    /* 12 */ "      - 'deny if twice'",
    /* 13 */ "    default_backend: be",
    /* 14 */ "backends:",
    /* 15 */ "  be:",
    /* 16 */ "    option: [httpchk]",
    /* 17 */ "    http-check: ['expect rstring ^(?>ok)']",
    /* 18 */ "    http-response:",
    /* 19 */ "      - 'replace-value X-V ^a++$ b'",
    /* 20 */ "    servers:",
    /* 21 */ "      - { name: s1, address: 127.0.0.1:9001 }",
  ].join("\n") + "\n";
  // Columns point at the ACL text, the rule line, and the http-check pattern itself.
  const { config, issues } = loadConfigText(yaml, "cfg.yaml");
  assert.equal(config, null);
  const why = "(regexes run in linear time, RE2 syntax; see docs/acl_and_rules.md)";
  assert.deepEqual(issues.map(formatIssue), [
    `cfg.yaml:8:15: error: frontends.fe.acl: acl 'twice': invalid regex '^(a+)\\1$': backreference '\\1' is not supported ${why} in 'hdr_reg(x-a)'`,
    `cfg.yaml:10:10: error: frontends.fe.http-request: http-request: invalid regex '^(?=/x)(.*)$' in 'replace-path': lookahead '(?=' is not supported ${why}`,
    `cfg.yaml:11:10: error: frontends.fe.http-request: http-request: invalid regex '^x-(?!keep)' in 'del-header': lookahead '(?!' is not supported ${why}`,
    `cfg.yaml:17:34: error: backends.be.http-check: invalid regular expression "^(?>ok)": atomic group '(?>' is not supported ${why}`,
    `cfg.yaml:19:10: error: backends.be.http-response: http-response: invalid regex '^a++$' in 'replace-value': possessive quantifier '++' is not supported ${why}`,
  ]);
});
