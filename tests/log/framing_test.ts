// Log line framing (src/log/syslog.ts), `log` line parsing
// (src/config/log_target.ts), the cached log date (log_format.ts) and the
// JSON line (log_json.ts).

import assert from "node:assert/strict";
import { LogFramer } from "../../src/log/syslog.ts";
import { logTargetList, parseLogLine } from "../../src/config/log_target.ts";
import { formatLogDate, type LogContext } from "../../src/log/log_format.ts";
import { JsonLogFormat } from "../../src/log/log_json.ts";
import type { LogFraming } from "../../src/config/types.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

Deno.test("LogFramer: each format's header, priority from facility and level, a newline at the end", () => {
  const pid = Deno.pid;
  const f = (framing: LogFraming, level = 6, facility = 16) =>
    new LogFramer(framing, facility, 0, 0, "sluice").frame("LINE", level);
  assert.equal(f("raw"), "LINE\n");
  assert.equal(f("priority"), "<134>LINE\n");
  assert.equal(f("priority", 3, 3), "<27>LINE\n"); // daemon.err
  assert.equal(f("short", 4), "<4>LINE\n");
  assert.match(
    f("local"),
    new RegExp(`^<134>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d sluice\\[${pid}\\]: LINE\\n$`),
  );
  assert.match(
    f("rfc3164"),
    new RegExp(
      `^<134>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d localhost sluice\\[${pid}\\]: LINE\\n$`,
    ),
  );
  const iso = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}[+-]\\d\\d:\\d\\d";
  assert.match(f("rfc5424"), new RegExp(`^<134>1 ${iso} - sluice ${pid} - - LINE\\n$`));
  assert.match(f("timed"), new RegExp(`^<6>${iso} LINE\\n$`));
  assert.match(f("iso"), new RegExp(`^${iso} LINE\\n$`));
});

Deno.test("LogFramer: the rfc3164 date is the local date of now, day padded with a space", () => {
  const before = Date.now();
  const msg = new LogFramer("local", 16, 0, 0, "sluice").frame("x", 6);
  const d = new Date(before);
  const day = d.getDate();
  const want = `${MONTHS[d.getMonth()]} ${day < 10 ? " " + day : day} `;
  assert.equal(msg.slice(5, 12), want);
});

Deno.test("LogFramer: a minimum level caps more severe messages; len cuts the message, newline kept", () => {
  assert.equal(new LogFramer("priority", 16, 3, 0, "s").frame("x", 0), "<131>x\n");
  assert.equal(new LogFramer("priority", 16, 3, 0, "s").frame("x", 6), "<134>x\n");
  const long = "a".repeat(200);
  const m = new LogFramer("priority", 16, 0, 80, "s").frame(long, 6);
  assert.equal(m.length, 80);
  assert.equal(m, "<134>" + "a".repeat(74) + "\n");
});

Deno.test("parseLogLine: HAProxy's log line forms", () => {
  const t = (s: string) => {
    const r = parseLogLine(s, true);
    assert.ok(typeof r === "object" && !("error" in r), `${s}: ${JSON.stringify(r)}`);
    return r;
  };
  assert.deepEqual(t("127.0.0.1:514 local0 info"), {
    address: { kind: "tcp", host: "127.0.0.1", port: 514, family: 4 },
    framing: "local",
    facility: 16,
    maxLevel: 6,
    minLevel: 0,
    len: 1024,
    line: 0,
    col: 0,
  });
  assert.deepEqual(t("10.0.0.1 local7").address, {
    kind: "tcp",
    host: "10.0.0.1",
    port: 514,
    family: 4,
  });
  assert.deepEqual(t("udp@[::1]:1514 daemon").address, {
    kind: "tcp",
    host: "::1",
    port: 1514,
    family: 6,
  });
  assert.deepEqual(t("::1 daemon").address, { kind: "tcp", host: "::1", port: 514, family: 6 });
  assert.deepEqual(t("/dev/log local0").address, { kind: "unix", path: "/dev/log" });
  assert.deepEqual(t("unix@/run/log.sock user").address, { kind: "unix", path: "/run/log.sock" });
  const s = t("stdout format raw local0");
  assert.deepEqual([s.address, s.framing, s.len], [{ kind: "stdout" }, "raw", 1024]);
  const e = t("stderr len 4096 format rfc5424 daemon notice err");
  assert.deepEqual([e.address, e.framing, e.len, e.facility, e.maxLevel, e.minLevel], [
    { kind: "stderr" },
    "rfc5424",
    4096,
    3,
    5,
    3,
  ]);
  // The bare Sluice spellings.
  const bare = t("stdout");
  assert.deepEqual([bare.framing, bare.len], ["raw", 0]);
  assert.equal(parseLogLine("global", true), "global");
  assert.equal(parseLogLine("none", false), "none");
  assert.deepEqual(logTargetList("none"), []);
  assert.deepEqual(logTargetList("stderr").map((x) => x.address), [{ kind: "stderr" }]);
});

Deno.test("parseLogLine: refused lines say why", () => {
  const err = (s: string, inProxy = true) => {
    const r = parseLogLine(s, inProxy);
    assert.ok(typeof r === "object" && "error" in r, `${s} accepted`);
    return r.error;
  };
  assert.match(err("127.0.0.1"), /missing facility/);
  assert.match(err("127.0.0.1:0 local0"), /invalid port/);
  assert.match(err("127.0.0.1:99999 local0"), /invalid port/);
  assert.match(err("example.com local0"), /invalid log target "example.com"/);
  assert.match(err("ring@buf local0"), /unsupported log target/);
  assert.match(err("127.0.0.1 sample 1:2 local0"), /"sample" is not supported/);
  assert.match(err("127.0.0.1 local0 info debug extra"), /unexpected "extra"/);
  assert.match(err("global", false), /only valid in a frontend/);
});

Deno.test("formatLogDate: the cached date is the date of each millisecond, across seconds and back", () => {
  const base = Date.UTC(2026, 10, 24, 16, 20, 1, 998);
  const direct = (ms: number) => {
    const d = new Date(ms);
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    return `${p(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p(d.getHours())}:${
      p(d.getMinutes())
    }:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  };
  for (
    const ms of [base, base, base + 1, base + 2, base + 3, base - 1000, base + 86_400_000, base + 5]
  ) {
    assert.equal(formatLogDate(ms), direct(ms));
  }
});

function ctx(over: Partial<LogContext> = {}): LogContext {
  return {
    clientIp: "127.0.0.1",
    clientPort: 50412,
    frontendIp: "127.0.0.1",
    frontendPort: 8080,
    acceptDate: Date.UTC(2026, 10, 24, 16, 20, 1, 123),
    requestDate: Date.UTC(2026, 10, 24, 16, 20, 1, 124),
    frontend: "fe",
    backend: "be",
    server: "s1",
    serverIp: "10.0.0.1",
    serverPort: 80,
    tq: 1,
    tw: 0,
    tc: 2,
    tr: 3,
    ta: 7,
    tt: 7,
    status: 200,
    bytesOut: 153,
    bytesIn: 80,
    termState: "--",
    actconn: 1,
    feconn: 1,
    beconn: 0,
    srvconn: 0,
    retries: "+1",
    srvQueue: 0,
    beQueue: 0,
    requestLine: 'GET /a"b HTTP/1.1',
    pid: 42,
    ...over,
  };
}

Deno.test("JsonLogFormat: every field named, values as the text format renders them", () => {
  const j = JSON.parse(new JsonLogFormat("http").render(ctx()));
  assert.deepEqual(j, {
    accept_date: "2026-11-24T16:20:01.123Z",
    client_ip: "127.0.0.1",
    client_port: 50412,
    frontend_ip: "127.0.0.1",
    frontend_port: 8080,
    frontend: "fe",
    backend: "be",
    server: "s1",
    server_ip: "10.0.0.1",
    server_port: 80,
    tw: 0,
    tc: 2,
    tt: 7,
    request_date: "2026-11-24T16:20:01.124Z",
    tq: 1,
    tr: 3,
    ta: 7,
    status: 200,
    method: "GET",
    uri: "/a#22b",
    http_version: "HTTP/1.1",
    request: "GET /a#22b HTTP/1.1",
    bytes_out: 153,
    bytes_in: 80,
    termination_state: "--",
    actconn: 1,
    feconn: 1,
    beconn: 0,
    srvconn: 0,
    retries: 1,
    redispatched: true,
    srv_queue: 0,
    backend_queue: 0,
    pid: 42,
  });
});

Deno.test("JsonLogFormat: no request line and no server give nulls; TCP mode has no HTTP fields", () => {
  const bad = JSON.parse(
    new JsonLogFormat("http").render(ctx({ requestLine: "", serverIp: "", serverPort: null })),
  );
  assert.deepEqual([bad.method, bad.uri, bad.http_version, bad.request], [null, null, null, null]);
  assert.deepEqual([bad.server_ip, bad.server_port], [null, null]);
  const tcp = JSON.parse(new JsonLogFormat("tcp").render(ctx({ frontend: 'a"\\b' })));
  assert.equal(tcp.frontend, 'a"\\b');
  for (const k of ["status", "method", "request", "tq", "tr", "ta", "request_date"]) {
    assert.ok(!(k in tcp), k);
  }
});
