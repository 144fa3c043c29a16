// The bytes a log line is built in (src/log/line_buf.ts) and the compiled
// format writing into it (src/log/log_format.ts): what a reader of the log
// sees, byte for byte.

import assert from "node:assert/strict";
import { LINE_MAX_BYTES, LineBuf } from "../../src/log/line_buf.ts";
import { escapeLogUri, HTTPLOG_FORMAT, LogFormat } from "../../src/log/log_format.ts";
import { newLogContext } from "../../src/log/session_log.ts";

Deno.test("LineBuf: integers in decimal, negative and large ones too", () => {
  const b = new LineBuf(4);
  for (const n of [0, 7, 10, 99, 100, 12345, 2147483647, -1, 2 ** 40, 1.5]) {
    b.reset();
    b.int(n);
    assert.equal(b.text(), String(n));
  }
});

Deno.test("LineBuf: text is UTF-8, a line grows past its first size and stops at the maximum", () => {
  const b = new LineBuf(8);
  b.str("abc");
  b.str("é→😀");
  b.byte(0x21);
  assert.equal(b.text(), "abcé→😀!");
  b.reset();
  const long = "x".repeat(LINE_MAX_BYTES + 100);
  b.str(long);
  assert.equal(b.len, LINE_MAX_BYTES);
  b.int(5); // no room: nothing written
  assert.equal(b.len, LINE_MAX_BYTES);
});

Deno.test("LineBuf: escaped() writes what escapeLogUri() returns, for every kind of character", () => {
  const cases = [
    "GET / HTTP/1.1",
    'GET /a"b#c HTTP/1.1',
    "GET /\x01\x1f\x7f\xff HTTP/1.1",
    "GET /é→😀 HTTP/1.1",
    "",
  ];
  for (const s of cases) {
    const b = new LineBuf(4);
    b.escaped(s);
    assert.equal(b.text(), escapeLogUri(s), JSON.stringify(s));
  }
});

Deno.test("LogFormat: the compiled line writes HAProxy's httplog, quoting, hex and empty values", () => {
  const c = newLogContext();
  Object.assign(c, {
    clientIp: "10.0.0.1",
    clientPort: 4660,
    frontendIp: "::1",
    frontendPort: 80,
    acceptDate: Date.UTC(2026, 11, 7, 10, 0, 0, 5),
    requestDate: Date.UTC(2026, 11, 7, 10, 0, 0, 5),
    frontend: "fe",
    backend: "be",
    server: "s1",
    tq: 0,
    tw: 0,
    tc: 1,
    tr: -1,
    ta: 12,
    status: 200,
    bytesOut: 345,
    termState: "--",
    actconn: 3,
    feconn: 2,
    beconn: 1,
    srvconn: 1,
    retries: "+1",
    requestLine: 'GET /a"b HTTP/1.1',
  });
  const date = new LogFormat("%tr").render(c);
  assert.match(date, /^07\/Dec\/2026:\d\d:00:00\.005$/);
  assert.equal(
    new LogFormat(HTTPLOG_FORMAT).render(c),
    `10.0.0.1:4660 [${date}] fe be/s1 0/0/1/-1/12 200 345 - - ---- 3/2/1/1/+1 0/0 "GET /a#22b HTTP/1.1"`,
  );
  assert.equal(
    new LogFormat("%{+X}ci:%{+X}cp %{+X}fi %{+Q}b %{+Q}sslv %sslv %si:%sp %{+Q}ID|%%|%pid").render(
      c,
    ),
    `0A000001:1234 00000000000000000000000000000001 "be" "" - -:- ""|%|${Deno.pid}`,
  );
  // Literals longer than a few characters, and non-ASCII ones.
  assert.equal(
    new LogFormat("status=%ST → done, bytes=%B").render(c),
    "status=200 → done, bytes=345",
  );
});
