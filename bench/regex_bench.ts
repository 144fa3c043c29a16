// Micro benchmarks of the regex engines a configured pattern could run on
// (src/regex/regex.ts): time per test() / exec() for rule patterns as users
// write them, and for the catastrophic `^(a+)+$` on `a…a!`.
//
//   v8       V8's RegExp (backtracking, what Sluice used before): the baseline.
//   sluice   compileRegex(): re2js, what Sluice runs now.
//   re2js    RE2JS.exec() used directly (two Matcher runs, no DFA pre-pass):
//            what Regex.exec() improves on.
//   linear   V8's own linear engine (`l` flag). Only when the process started
//            with --enable-experimental-regexp-engine; otherwise "ignored".
//
// Run:
//   deno bench bench/regex_bench.ts
//   deno bench --v8-flags=--enable-experimental-regexp-engine bench/regex_bench.ts
//   deno bench --v8-flags=--enable-experimental-regexp-engine-on-excessive-backtracks \
//     bench/regex_bench.ts      (V8 falls back to the linear engine after 50,000
//                                backtracks: see the `v8` rows of the evil groups)
//
// The evil subject has EVIL_V8 `a`s for V8's RegExp (2^n steps: 20 is already
// milliseconds, and each `a` doubles it) and EVIL_LINEAR for the linear engines.

import { RE2JS } from "re2js";
import { compileRegex, Regex } from "../src/regex/regex.ts";

const EVIL_V8 = 20;
const EVIL_LINEAR = 40;

/** True when this process has V8's linear engine (the `l` flag). */
const HAS_LINEAR = (() => {
  try {
    new RegExp("a", "l");
    return true;
  } catch {
    return false;
  }
})();

const CHROME_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

interface Case {
  /** Group name: where such a pattern is written, and the subject. */
  name: string;
  pattern: string;
  icase: boolean;
  subject: string;
  /** Subject for V8's backtracking engine, when it must be shorter. */
  v8Subject?: string;
  /** Whether the result is a match (checked once, so that every engine agrees). */
  matches: boolean;
}

const CASES: Case[] = [
  {
    name: "path_reg ^/api/v[0-9]+/ (match)",
    pattern: "^/api/v[0-9]+/",
    icase: false,
    subject: "/api/v2/users/123",
    matches: true,
  },
  {
    name: "path_reg \\.(jpg|…|js)$ (match)",
    pattern: "\\.(jpg|jpeg|png|gif|css|js)$",
    icase: false,
    subject: "/static/img/logo.png",
    matches: true,
  },
  {
    name: "hdr_reg(user-agent) -i (bot|crawler|spider|slurp) (no match, 111 B)",
    pattern: "(bot|crawler|spider|slurp)",
    icase: true,
    subject: CHROME_UA,
    matches: false,
  },
  {
    name: "replace-header Host ^([^:]+)(:[0-9]+)?$ (match)",
    pattern: "^([^:]+)(:[0-9]+)?$",
    icase: false,
    subject: "www.example.com:8080",
    matches: true,
  },
  {
    name: "replace-path ^/static/(.*) (match)",
    pattern: "^/static/(.*)",
    icase: false,
    subject: "/static/css/site.css",
    matches: true,
  },
  {
    name: `evil ^(a+)+$ (linear: ${EVIL_LINEAR} a + !, v8: ${EVIL_V8} a + !)`,
    pattern: "^(a+)+$",
    icase: false,
    subject: "a".repeat(EVIL_LINEAR) + "!",
    v8Subject: "a".repeat(EVIL_V8) + "!",
    matches: false,
  },
  {
    name: `evil -i ^(a+)+$ (linear: ${EVIL_LINEAR} a + !, v8: ${EVIL_V8} a + !)`,
    pattern: "^(a+)+$",
    icase: true,
    subject: "a".repeat(EVIL_LINEAR) + "!",
    v8Subject: "a".repeat(EVIL_V8) + "!",
    matches: false,
  },
];

for (const c of CASES) {
  const ours = compileRegex(c.pattern, { icase: c.icase });
  if (!(ours instanceof Regex)) throw new Error(`${c.pattern}: ${ours.error}`);
  const raw = RE2JS.compile(c.pattern, c.icase ? RE2JS.CASE_INSENSITIVE : 0);
  const v8 = new RegExp(c.pattern, c.icase ? "i" : "");
  const v8s = c.v8Subject ?? c.subject;
  // The `l` flag refuses `i` ("cannot be executed in linear time").
  let linear: RegExp | null = null;
  if (HAS_LINEAR && !c.icase) linear = new RegExp(c.pattern, "l");
  const s = c.subject;
  for (const r of [ours.test(s), raw.test(s), v8.test(v8s), linear?.test(s) ?? c.matches]) {
    if (r !== c.matches) throw new Error(`${c.name}: an engine disagrees`);
  }

  const group = c.name;
  Deno.bench("v8 test", { group, baseline: true }, () => {
    v8.test(v8s);
  });
  Deno.bench("sluice test", { group }, () => {
    ours.test(s);
  });
  Deno.bench("linear test", { group, ignore: linear === null }, () => {
    linear!.test(s);
  });
  Deno.bench("v8 exec", { group }, () => {
    v8.exec(v8s);
  });
  Deno.bench("sluice exec", { group }, () => {
    ours.exec(s);
  });
  Deno.bench("re2js exec (RE2JS.exec)", { group }, () => {
    raw.exec(s);
  });
  Deno.bench("linear exec", { group, ignore: linear === null }, () => {
    linear!.exec(s);
  });
}
