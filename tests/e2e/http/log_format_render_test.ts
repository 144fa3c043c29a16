// How log-format variables render, as HAProxy renders them: %% and literal
// braces, %r escaping and length limit, the request fields of a <BADREQ>,
// %{+Q} quoting, %{+X} hex, and %ST in tcp mode.
//
// The reference peer is HAProxy 2.6, run side by side on the same traffic:
// the expected values quoted in each test are HAProxy's output for the same
// exchange.

import assert from "node:assert/strict";
import { logLineOf } from "../../_helpers/proxy.ts";
import { te } from "../../_helpers/client.ts";
import { exchange, req, withStubProxy } from "./_log.ts";

/** A log line of a client port for a custom format starting with `cp=PORT `. */
function cpLine(port: number): RegExp {
  return new RegExp(`^cp=${port} `);
}

/** The value of `key=` in a custom line made of `key=value` words. */
function field(line: string, key: string): string {
  const m = new RegExp(`(?:^| )${key}=(\\S*)`).exec(line);
  assert.ok(m !== null, `no ${key}= in ${line}`);
  return m[1]!;
}

/** The log line of one request `bytes` through a frontend with `log-format: "FMT"` (fmt starts with cp=%cp). */
function logLineFor(fmt: string, bytes: Uint8Array): Promise<string> {
  let line = "";
  return withStubProxy(
    `  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    log-format: "${fmt}"`,
    async (proxy) => {
      const cp = await exchange(proxy.port("fe"), bytes);
      line = await proxy.waitForLog(cpLine(cp));
    },
  ).then(() => line);
}

Deno.test("log-format: %% and literal braces render as HAProxy renders them", async () => {
  const line = await logLineFor(
    "cp=%cp pct=%% lit={x} Qr=%{+Q}r HM=%HM HU=%HU HV=%HV",
    req("/a?b=1"),
  );
  // HAProxy: pct=% lit={x} Qr="GET /a?b=1 HTTP/1.1" HM=GET HU=/a?b=1 HV=HTTP/1.1
  assert.match(
    line,
    /^cp=\d+ pct=% lit=\{x\} Qr="GET \/a\?b=1 HTTP\/1\.1" HM=GET HU=\/a\?b=1 HV=HTTP\/1\.1$/,
  );
});

Deno.test("%r escapes a '\"' in the request line as #22 (a quoted field stays parseable)", async () => {
  await withStubProxy(`  fe: { bind: "127.0.0.1:0", default_backend: be }`, async (proxy) => {
    const cp = await exchange(proxy.port("fe"), req('/q"x'));
    const line = await proxy.waitForLog(logLineOf(cp));
    // HAProxy: ... 200 54 - - ---- 1/1/0/0/0 0/0 "GET /q#22x HTTP/1.1"
    // Sluice:  ... 200 62 - - ---- 1/1/1/1/0 0/0 "GET /q"x HTTP/1.1"
    assert.ok(line.endsWith(` "GET /q#22x HTTP/1.1"`), line);
  });
});

Deno.test("%r keeps at most 1023 characters of the request line, as HAProxy", async () => {
  await withStubProxy(`  fe: { bind: "127.0.0.1:0", default_backend: be }`, async (proxy) => {
    const cp = await exchange(proxy.port("fe"), req("/" + "a".repeat(1500)));
    const line = await proxy.waitForLog(logLineOf(cp));
    // HAProxy (tune.http.logurilen 1024): "GET /aaaa…a" — 1023 characters between the quotes.
    const m = /"([^"]*)"$/.exec(line);
    assert.ok(m !== null, line);
    assert.equal(m[1]!.length, 1023);
  });
});

Deno.test("log-format on <BADREQ>: %HM %HU %HV are <BADREQ>, %si %sp are '-'", async () => {
  const line = await logLineFor(
    "cp=%cp si=%si sp=%sp HM=%HM HU=%HU HV=%HV QHM=%{+Q}HM",
    te.encode("GARBAGE\r\n\r\n"),
  );
  // HAProxy: si=- sp=- HM=<BADREQ> HU=<BADREQ> HV=<BADREQ> QHM="<BADREQ>"
  // Sluice:  si=- sp=0 HM= HU= HV= QHM=""
  assert.deepEqual(
    ["si", "sp", "HM", "HU", "HV", "QHM"].map((k) => field(line, k)),
    ["-", "-", "<BADREQ>", "<BADREQ>", "<BADREQ>", '"<BADREQ>"'],
    line,
  );
});

Deno.test("log-format: %{+Q} quotes text, not numbers (%{+Q}B, %{+Q}ST)", async () => {
  const line = await logLineFor("cp=%cp QB=%{+Q}B QST=%{+Q}ST Qci=%{+Q}ci Qs=%{+Q}s", req("/"));
  // HAProxy: QB=54 QST=200 Qci="127.0.0.1" Qs="s1"   Sluice: QB="62" QST="200"
  assert.match(line, /^cp=\d+ QB=\d+ QST=200 Qci="127\.0\.0\.1" Qs="s1"$/);
});

Deno.test("log-format in tcp mode: %ST is 0", async () => {
  await withStubProxy(
    `  ft:
    mode: tcp
    bind: "127.0.0.1:0"
    default_backend: bet
    log-format: "cp=%cp ST=%ST ts=%ts"`,
    async (proxy) => {
      const cp = await exchange(proxy.port("ft"), req("/"));
      const line = await proxy.waitForLog(cpLine(cp));
      // HAProxy: ST=0 ts=--   Sluice: ST=-1 ts=--
      assert.equal(line, `cp=${cp} ST=0 ts=--`);
    },
  );
});

Deno.test("log-format: %{+X} renders hex (or is refused), never the plain value", async () => {
  const line = await logLineFor("cp=%cp X=%{+X}ci", req("/"));
  // HAProxy: X=7F000001 (Sluice rendered 127.0.0.1 before it supported +X)
  assert.equal(field(line, "X"), "7F000001", line);
});
