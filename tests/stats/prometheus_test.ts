// renderPrometheus(): the output obeys the text exposition format 0.0.4,
// checked by a strict parser written here and, when installed, by promtool.

import assert from "node:assert/strict";
import {
  CHECK_STATES,
  escapeLabelValue,
  formatValue,
  renderPrometheus,
  SERVER_STATES,
} from "../../src/stats/prometheus.ts";
import { buildSnapshot, type StatsSnapshot } from "../../src/stats/snapshot.ts";
import { checks, makeProcess } from "./_fixture.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  help: string | null;
  type: string | null;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|NaN|Inf)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/**
 * A strict parser of the 0.0.4 text format. Throws, naming the line, on: a
 * line that is neither HELP, TYPE nor a sample (blank lines included), a bad
 * metric or label name, a bad escape in a label value, a value Go's
 * ParseFloat would refuse, a sample before its family's HELP and TYPE, a
 * family split in two runs, a second HELP/TYPE, a duplicate series, a counter
 * not ending in `_total`, a negative counter, a missing final line feed.
 */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "output must end with a line feed");
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current = "";
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    const family = (name: string): Family => {
      assert.match(name, NAME, where);
      let f = families.get(name);
      if (f === undefined) {
        f = { help: null, type: null, samples: [] };
        families.set(name, f);
      } else {
        assert.equal(name, current, `family split in two runs, ${where}`);
      }
      current = name;
      return f;
    };
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      assert.ok(m, `unexpected comment, ${where}`);
      const [, kw, name, rest] = m;
      const f = family(name!);
      assert.equal(f.samples.length, 0, `${kw} after samples, ${where}`);
      if (kw === "HELP") {
        assert.equal(f.help, null, `second HELP, ${where}`);
        assert.doesNotMatch(rest!, /\\[^\\n]/, `bad HELP escape, ${where}`);
        f.help = rest!;
      } else {
        assert.equal(f.type, null, `second TYPE, ${where}`);
        assert.ok(TYPES.has(rest!), `bad type, ${where}`);
        f.type = rest!;
      }
      return;
    }
    const s = parseSample(line, where);
    const f = family(s.name);
    assert.notEqual(f.help, null, `sample before HELP, ${where}`);
    assert.notEqual(f.type, null, `sample before TYPE, ${where}`);
    if (f.type === "counter") {
      assert.ok(s.name.endsWith("_total"), `counter without _total, ${where}`);
      assert.ok(s.value >= 0, `negative counter, ${where}`);
    } else {
      assert.ok(!s.name.endsWith("_total"), `_total on a ${f.type}, ${where}`);
    }
    const key = s.name + JSON.stringify(Object.entries(s.labels).sort());
    assert.ok(!series.has(key), `duplicate series, ${where}`);
    series.add(key);
    f.samples.push(s);
  });
  return families;
}

/** `name{a="x",b="y"} value [timestamp]`, label values unescaped. */
function parseSample(line: string, where: string): Sample {
  let i = 0;
  const nameEnd = line.search(/[{ ]/);
  assert.ok(nameEnd > 0, `no metric name, ${where}`);
  const name = line.slice(0, nameEnd);
  assert.match(name, NAME, where);
  i = nameEnd;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      const eq = line.indexOf("=", i);
      assert.ok(eq > i, `label without "=", ${where}`);
      const ln = line.slice(i, eq);
      assert.match(ln, LABEL_NAME, where);
      assert.ok(!(ln in labels), `repeated label ${ln}, ${where}`);
      assert.equal(line[eq + 1], '"', `unquoted label value, ${where}`);
      i = eq + 2;
      let v = "";
      for (;;) {
        const c = line[i];
        assert.ok(c !== undefined, `unterminated label value, ${where}`);
        i++;
        if (c === '"') break;
        if (c === "\\") {
          const e = line[i++];
          if (e === "\\") v += "\\";
          else if (e === '"') v += '"';
          else if (e === "n") v += "\n";
          else assert.fail(`bad escape \\${e}, ${where}`);
        } else {
          v += c;
        }
      }
      labels[ln] = v;
      if (line[i] === ",") i++;
      else assert.equal(line[i], "}", `expected , or }, ${where}`);
    }
    i++;
  }
  const rest = line.slice(i).split(" ");
  assert.equal(rest[0], "", `no space before the value, ${where}`);
  assert.ok(rest.length === 2 || rest.length === 3, `bad value part, ${where}`);
  assert.match(rest[1]!, FLOAT, `bad value, ${where}`);
  if (rest.length === 3) assert.match(rest[2]!, /^-?\d+$/, `bad timestamp, ${where}`);
  const raw = rest[1]!;
  const value = /Inf$/.test(raw) ? (raw.startsWith("-") ? -Infinity : Infinity) : Number(raw);
  return { name, labels, value };
}

function snapshot(): StatsSnapshot {
  return buildSnapshot(makeProcess(), checks);
}

/** The value of the one sample of `name` whose labels include `want`. */
function value(fams: Map<string, Family>, name: string, want: Record<string, string>): number {
  const f = fams.get(name);
  assert.ok(f, `no family ${name}`);
  const hits = f.samples.filter((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v));
  assert.equal(hits.length, 1, `${name} ${JSON.stringify(want)}`);
  return hits[0]!.value;
}

Deno.test("prometheus: the strict parser rejects what the format forbids", () => {
  const bad = [
    "x 1\n", // no HELP/TYPE
    "# HELP x h\n# TYPE x counter\nx 1\n", // counter without _total
    "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n", // duplicate series
    '# HELP x h\n# TYPE x gauge\nx{a="\\q"} 1\n', // bad escape
    "# HELP x h\n# TYPE x gauge\nx one\n", // bad value
    '# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a="b"} 1\n', // split
    "# HELP x h\n# TYPE x gauge\n\nx 1\n", // blank line
    "# HELP x h\n# TYPE x gauge\nx 1", // no final LF
  ];
  for (const t of bad) assert.throws(() => parseExposition(t), assert.AssertionError, t);
  parseExposition('# HELP x h\n# TYPE x gauge\nx{a="q\\"\\\\\\n"} +Inf\n');
});

Deno.test("prometheus: the output parses strictly and every family has samples", () => {
  const text = renderPrometheus(snapshot());
  const fams = parseExposition(text);
  for (const [name, f] of fams) {
    assert.ok(name.startsWith("sluice_"), name);
    assert.ok(f.samples.length > 0, `empty family ${name}`);
  }
  for (
    const name of [
      "sluice_process_current_connections",
      "sluice_process_max_connections",
      "sluice_process_pool_used_buffers",
      "sluice_frontend_current_sessions",
      "sluice_frontend_max_sessions",
      "sluice_frontend_sessions_total",
      "sluice_frontend_bytes_in_total",
      "sluice_frontend_bytes_out_total",
      "sluice_frontend_requests_denied_total",
      "sluice_frontend_request_errors_total",
      "sluice_frontend_http_requests_total",
      "sluice_frontend_http_responses_total",
      "sluice_backend_up",
      "sluice_backend_current_sessions",
      "sluice_backend_sessions_total",
      "sluice_backend_current_queue",
      "sluice_backend_connection_errors_total",
      "sluice_backend_response_errors_total",
      "sluice_backend_retry_warnings_total",
      "sluice_backend_redispatch_warnings_total",
      "sluice_backend_http_responses_total",
      "sluice_backend_connect_time_average_seconds",
      "sluice_server_up",
      "sluice_server_status",
      "sluice_server_check_status",
      "sluice_server_current_sessions",
      "sluice_server_sessions_total",
      "sluice_server_current_queue",
      "sluice_server_bytes_in_total",
      "sluice_server_bytes_out_total",
      "sluice_server_weight",
      "sluice_server_check_duration_seconds",
      "sluice_server_connection_errors_total",
      "sluice_server_http_responses_total",
    ]
  ) {
    assert.ok(fams.has(name), `missing ${name}`);
  }
});

Deno.test("prometheus: values come from the snapshot", () => {
  const fams = parseExposition(renderPrometheus(snapshot()));
  assert.equal(value(fams, "sluice_process_current_connections", {}), 7);
  assert.equal(value(fams, "sluice_process_pool_used_buffers", { pool: "big" }), 0);
  assert.equal(value(fams, "sluice_process_pool_used_buffers", { pool: "bulk" }), 0);
  assert.equal(value(fams, "sluice_frontend_sessions_total", { proxy: "fe_http" }), 1000);
  assert.equal(value(fams, "sluice_frontend_bytes_out_total", { proxy: "fe_http" }), 7654321);
  assert.equal(
    value(fams, "sluice_frontend_http_responses_total", { proxy: "fe_http", code: "2xx" }),
    1900,
  );
  assert.equal(value(fams, "sluice_frontend_http_requests_total", { proxy: "fe_http" }), 2000);
  // TCP proxies have no HTTP series.
  const tcpHttp = fams.get("sluice_frontend_http_requests_total")!.samples
    .filter((s) => s.labels.proxy === "fe_tcp");
  assert.equal(tcpHttp.length, 0);
  assert.equal(value(fams, "sluice_backend_up", { proxy: "be_app" }), 1);
  assert.equal(value(fams, "sluice_backend_up", { proxy: "db" }), 0);
  assert.equal(value(fams, "sluice_backend_current_queue", { proxy: "be_app" }), 1);
  assert.equal(
    value(fams, "sluice_backend_connect_time_average_seconds", { proxy: "be_app" }),
    0.003,
  );
  assert.equal(value(fams, "sluice_server_weight", { proxy: "be_app", server: "web1" }), 3);
  assert.equal(
    value(fams, "sluice_server_check_duration_seconds", { proxy: "be_app", server: "web1" }),
    0.012,
  );
  assert.equal(
    value(fams, "sluice_server_http_responses_total", {
      proxy: "be_app",
      server: "web1",
      code: "5xx",
    }),
    15,
  );
  assert.equal(value(fams, "sluice_server_up", { proxy: "be_app", server: "web1" }), 1);
  assert.equal(value(fams, "sluice_server_up", { proxy: "be_app", server: "web3" }), 0);
});

Deno.test("prometheus: status and check status are one-hot per server", () => {
  const fams = parseExposition(renderPrometheus(snapshot()));
  const hot = (name: string, server: string): string[] =>
    fams.get(name)!.samples.filter((s) => s.labels.server === server && s.value === 1)
      .map((s) => s.labels.state!);
  const count = (name: string, server: string): number =>
    fams.get(name)!.samples.filter((s) => s.labels.server === server).length;
  assert.deepEqual(hot("sluice_server_status", "web1"), ["UP"]); // "UP 2/3"
  assert.deepEqual(hot("sluice_server_status", "web2"), ["DRAIN"]);
  assert.deepEqual(hot("sluice_server_status", "web3"), ["MAINT"]);
  assert.equal(count("sluice_server_status", "web1"), SERVER_STATES.length);
  assert.deepEqual(hot("sluice_server_check_status", "web1"), ["L7STS"]);
  assert.deepEqual(hot("sluice_server_check_status", "web2"), ["L4OK"]);
  assert.equal(count("sluice_server_check_status", "web1"), CHECK_STATES.length);
  // Unchecked servers have no check series.
  assert.equal(count("sluice_server_check_status", "web3"), 0);
  assert.equal(count("sluice_server_check_duration_seconds", "spare"), 0);
});

Deno.test("prometheus: an unknown check code gets its own series", () => {
  const snap = snapshot();
  snap.backends[0]!.servers[0]!.check!.status = "* L7XYZ";
  const fams = parseExposition(renderPrometheus(snap));
  const on = fams.get("sluice_server_check_status")!.samples
    .filter((s) => s.labels.server === "web1" && s.value === 1).map((s) => s.labels.state);
  assert.deepEqual(on, ["L7XYZ"]);
});

Deno.test("prometheus: label values are escaped and read back intact", () => {
  const snap = snapshot();
  const weird = 'be "odd"\\name\nx';
  snap.backends[0]!.name = weird;
  snap.backends[0]!.servers[0]!.name = "s\\1";
  const fams = parseExposition(renderPrometheus(snap));
  assert.equal(value(fams, "sluice_backend_sessions_total", { proxy: weird }), 990);
  assert.equal(value(fams, "sluice_server_weight", { proxy: weird, server: "s\\1" }), 3);
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});

Deno.test("prometheus: values are formatted as Go reads them", () => {
  assert.equal(formatValue(0), "0");
  assert.equal(formatValue(0.012), "0.012");
  assert.equal(formatValue(1e-7), "1e-7");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
});

Deno.test("prometheus: an empty process still renders the process families", () => {
  const snap = snapshot();
  snap.frontends = [];
  snap.backends = [];
  const fams = parseExposition(renderPrometheus(snap));
  assert.ok(fams.has("sluice_process_current_connections"));
  assert.ok(![...fams.keys()].some((n) => n.startsWith("sluice_server_")));
});

/** promtool, when the Debian package `prometheus` is installed. */
function promtoolAvailable(): boolean {
  try {
    new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    return true;
  } catch {
    return false;
  }
}

const HAVE_PROMTOOL = promtoolAvailable();
if (!HAVE_PROMTOOL) {
  console.log("promtool not found (apt-get install prometheus): promtool test skipped");
}

Deno.test({
  name: "prometheus: promtool check metrics accepts the output",
  ignore: !HAVE_PROMTOOL,
  async fn() {
    const snap = snapshot();
    snap.backends[0]!.name = 'be "odd"\\name';
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(renderPrometheus(snap)));
    await w.close();
    const out = await child.output();
    const msg = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, msg);
    assert.equal(msg.trim(), "");
  },
});
