// Configuration files with awkward encodings or several errors: every error
// is reported in one run, each at the right line and column (BOM, CRLF,
// tabs, flow/block mixes, log-format, rules, errorfiles, units).
//
// Everything goes through `main.ts` in a child process; every process and
// socket a test opens is closed in `finally`.

import assert from "node:assert/strict";
import { checkConfig, runCli } from "../../_helpers/proxy.ts";

// src/config/load.ts parseConfigText(): a UTF-8 BOM (editors on Windows) is
// kept in the text handed to the YAML parser and its LineCounter, so every
// column on line 1 is one too far.
Deno.test("process: a UTF-8 BOM does not shift the columns of line 1", async () => {
  const file = await Deno.makeTempFile({ prefix: "sluice-pe-", suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      file,
      '\uFEFFglobal: { maxconn: x }\nfrontends:\n  fe: { bind: ":0" }\n',
    );
    const r = await runCli(["-c", "-q", "-f", file]);
    assert.equal(r.code, 1, r.stderr);
    // "global: { maxconn: x }": the x is column 20
    assert.ok(
      r.stderr.includes(`${file}:1:20: error: global.maxconn:`),
      `wrong position:\n${r.stderr}`,
    );
  } finally {
    await Deno.remove(file).catch(() => {});
  }
});

// src/proxy/load.ts loadConfigText(): compileConfig() (ACLs, http-request
// rules, log-format, errorfile, forwardfor) only runs when validation and
// resolution found no error, so a file with a bad timeout AND a bad rule
// reports the timeout only; the rule error shows up on the next run (docs:
// "Every problem of a file is reported in one run").
Deno.test("process: rule and errorfile errors are reported in the same run as the others", async () => {
  const r = await checkConfig(`global: { maxconn: x }
defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-request: "frobnicate now"
    errorfile: "503 /nonexistent/sluice-503.html"
    default_backend: be
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:9" }
`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /:1:20: error: global\.maxconn/);
  assert.match(r.stderr, /:8:20: error: frontends\.fe\.http-request: .*frobnicate/, r.stderr);
  assert.match(r.stderr, /:9:\d+: error: frontends\.fe\.errorfile\[0\]/, r.stderr);
});

// src/proxy/compile.ts (log-format, and option forwardfor): a log-format
// error is reported with line 0, so it prints as "FILE: error: ..." with no
// line:col, first in the list (docs: LINE and COL point at the offending key
// or value); resolve.ts:316 drops the position of `log-format`.
Deno.test("process: a log-format error points at its line and column", async () => {
  const r = await checkConfig(`defaults:
  mode: http
  timeout: { connect: 1s, client: 5s, server: 5s }
frontends:
  fe:
    bind: "127.0.0.1:0"
    log-format: "%{bogus"
`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`${r.file.replace(/[.]/g, "\\.")}:7:\\d+: error: frontends\\.fe\\.log-format`),
    r.stderr,
  );
});

Deno.test("process: CRLF line endings and flow/block mixes keep line:col right", async () => {
  const r = await checkConfig(
    "global:\r\n  maxconn: x\r\nfrontends:\r\n  fe: { bind: ':0', maxconn: y }\r\n",
  );
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(`${r.file}:2:12: error: global.maxconn`), r.stderr);
  assert.ok(r.stderr.includes(`${r.file}:4:30: error: frontends.fe.maxconn`), r.stderr);
});

Deno.test("process: every unit error of a file is reported at once, in file order", async () => {
  const r = await checkConfig(`global: { bufsize: 1.5k, maxrewrite: -1, maxaccept: 0 }
frontends:
  fe:
    bind: ":0"
    timeout: { client: 1m30s, http-request: 1.5s, client-fin: -1, tarpit: 1e400 }
`);
  assert.equal(r.code, 1, r.stderr);
  const errs = r.stderr.split("\n").filter((l) => l.includes(": error: "));
  const paths = errs.map((l) => /: error: (\S+):/.exec(l)?.[1]);
  assert.deepEqual(paths, [
    "global.bufsize",
    "global.maxrewrite",
    "global.maxaccept",
    "frontends.fe.timeout.client",
    "frontends.fe.timeout.http-request",
    "frontends.fe.timeout.client-fin",
    "frontends.fe.timeout.tarpit",
  ], r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

Deno.test("process: tabs, a second document and duplicate keys are errors with a position", async () => {
  const tabs = await checkConfig("frontends:\n\tfe:\n\t\tbind: ':0'\n");
  assert.equal(tabs.code, 1);
  assert.ok(tabs.stderr.includes(`${tabs.file}:2:1: error: YAML syntax error`), tabs.stderr);
  const multi = await checkConfig("frontends:\n  fe: { bind: ':0' }\n---\nfoo: 1\n");
  assert.equal(multi.code, 1);
  assert.ok(multi.stderr.includes(`${multi.file}:3:1: error:`), multi.stderr);
  const dup = await checkConfig("frontends: { fe: { bind: ':0' }, fe: { bind: ':1' } }\n");
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /:1:34: error: frontends\.fe: duplicate key "fe"/);
});
