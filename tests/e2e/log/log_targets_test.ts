// Log targets as HAProxy's `log` lines: UDP syslog and unix datagram
// sockets (real receivers), the framings (`format local|rfc3164|rfc5424|
// priority|short|timed|iso|raw`), several targets at once, per frontend with
// `log global`, level filters, and the JSON line.
//
// The reference peer is HAProxy 2.6, run on the same `log` lines: each
// Sluice message must have the frame HAProxy's has (same priority, same
// header layout, same date forms, a newline at the end), tag and pid aside.

import assert from "node:assert/strict";
import { checkConfig, MAIN_TS, REPO_ROOT, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, get, HTTP_DEFAULTS } from "../http/_http.ts";
import { httpStub } from "../../_helpers/http_stub.ts";
import { delay } from "../../_helpers/client.ts";
import { freePort, startHaproxyConfig } from "../../_helpers/haproxy.ts";
import { frameShape, Receiver } from "./_receivers.ts";

const FORMATS = ["local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw"];

/** One GET through `port`, answered 200. */
async function oneRequest(port: number, path = "/x"): Promise<void> {
  const c = await connectHttp(port);
  try {
    const r = await c.request(get(path));
    assert.equal(r.status, 200);
  } finally {
    c.close();
  }
}

/**
 * Sluice's configuration: HTTP_DEFAULTS with the global `log` value `log`
 * when given (YAML: a string stands inline, a list as a block of its raw
 * items), `frontends` (one `fe` by default) in front of `origin`.
 */
function logConfig(
  originPort: number,
  o: { log?: string | string[]; frontends?: string } = {},
): string {
  const log = typeof o.log === "string"
    ? ` ${o.log}`
    : (o.log ?? []).map((l) => `\n    - ${l}`).join("");
  const head = o.log === undefined
    ? HTTP_DEFAULTS
    : `\nglobal:\n  log:${log}\n${HTTP_DEFAULTS.replace(/^global:.*$/m, "")}`;
  return `${head}
frontends:
${o.frontends ?? '  fe: { bind: "127.0.0.1:0", default_backend: be }'}
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:${originPort}" } ]
`;
}

/**
 * Runs HAProxy 2.6 with `logLines` as global `log` lines in front of
 * `origin`, sends one request, and returns once `receivers` each got one
 * message.
 */
async function haproxyMessages(logLines: string[], originPort: number, receivers: Receiver[]) {
  const port = freePort();
  const cfg = `global
${logLines.map((l) => `  log ${l}`).join("\n")}
defaults
  mode http
  timeout client 5s
  timeout server 5s
  timeout connect 5s
frontend fe
  bind 127.0.0.1:${port}
  log global
  option httplog
  # the readiness probe (connect, close) is not logged
  option dontlognull
  default_backend be
backend be
  server s1 127.0.0.1:${originPort}
`;
  const hp = await startHaproxyConfig(cfg, [port], { deadlineMs: 30_000 });
  try {
    await oneRequest(port);
    for (const r of receivers) await r.wait(1);
  } finally {
    await hp.stop();
  }
}

Deno.test("log targets: every framing over UDP is framed as HAProxy 2.6 frames it", async () => {
  const origin = httpStub();
  const ours = FORMATS.map(() => Receiver.udp());
  const theirs = FORMATS.map(() => Receiver.udp());
  const line = (r: Receiver, i: number) => `127.0.0.1:${r.port} format ${FORMATS[i]} local0 info`;
  const p = await startProxy(
    logConfig(origin.port, { log: ours.map((r, i) => `"${line(r, i)}"`) }),
  );
  try {
    await oneRequest(p.port("fe"));
    for (const r of ours) await r.wait(1);
    await haproxyMessages(theirs.map(line), origin.port, theirs);
    FORMATS.forEach((f, i) => {
      const mine = ours[i]!.messages[0]!;
      const ref = theirs[i]!.messages[0]!;
      assert.equal(
        frameShape(mine),
        frameShape(ref),
        `format ${f}:\n  sluice  ${mine}  haproxy ${ref}`,
      );
      assert.ok(mine.endsWith('"GET /x HTTP/1.1"\n'), `format ${f}: ${mine}`);
      assert.ok(ref.endsWith('"GET /x HTTP/1.1"\n'), `format ${f}: ${ref}`);
    });
    // The pieces HAProxy leaves to the sender: tag and pid.
    assert.match(
      ours[0]!.messages[0]!,
      new RegExp(`^<134>... .\\d \\d\\d:\\d\\d:\\d\\d sluice\\[${p.pid}\\]: `),
    );
    assert.match(ours[2]!.messages[0]!, new RegExp(`^<134>1 \\S+ - sluice ${p.pid} - - 127`));
  } finally {
    await p.stop();
    for (const r of [...ours, ...theirs]) await r.close();
    await origin.close();
  }
});

Deno.test("log targets: UDP, a unix datagram socket and stdout at once, each line once per target", async () => {
  const origin = httpStub();
  const dir = await Deno.makeTempDir({ prefix: "sluice-log-" });
  const udp = Receiver.udp();
  const unix = Receiver.unix(dir, "log");
  const p = await startProxy(logConfig(origin.port, {
    log: ["stdout", `"127.0.0.1:${udp.port} local0 info"`, `"${unix.path} format rfc5424 local2"`],
  }));
  try {
    for (let i = 0; i < 3; i++) await oneRequest(p.port("fe"), `/r${i}`);
    const out = await p.waitForLogs(/"GET \/r\d HTTP\/1\.1"$/, 3);
    await udp.wait(3);
    await unix.wait(3);
    // local2.info = 150; the line is the stdout line, byte for byte.
    for (let i = 0; i < 3; i++) {
      assert.equal(
        udp.messages[i],
        `<134>${udp.messages[i]!.slice(5, 21)}sluice[${p.pid}]: ${out[i]}\n`,
      );
      assert.match(
        unix.messages[i]!,
        /^<150>1 \d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d - sluice \d+ - - /,
      );
      assert.ok(unix.messages[i]!.endsWith(` - - ${out[i]}\n`));
    }
  } finally {
    await p.stop();
    await udp.close();
    await unix.close();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log targets: per frontend, `log global` adds the global targets, own lines add theirs, false logs nothing", async () => {
  const origin = httpStub();
  const g = Receiver.udp();
  const own = Receiver.udp();
  const p = await startProxy(logConfig(origin.port, {
    log: `"127.0.0.1:${g.port} local0"`,
    frontends: `  a: { bind: "127.0.0.1:0", default_backend: be }
  b:
    bind: "127.0.0.1:0"
    default_backend: be
    log: "127.0.0.1:${own.port} format raw local0"
  c:
    bind: "127.0.0.1:0"
    default_backend: be
    log: [global, "127.0.0.1:${own.port} format short daemon"]
  d: { bind: "127.0.0.1:0", default_backend: be, log: false }`,
  }));
  try {
    for (const fe of ["a", "b", "c", "d"]) await oneRequest(p.port(fe), `/${fe}`);
    await g.wait(2);
    await own.wait(2);
    // Give a wrong extra line (from d, or a duplicate) time to arrive before counting.
    await delay(300);
    assert.deepEqual(g.messages.map((m) => /"GET \/(\w)/.exec(m)?.[1]).sort(), ["a", "c"]);
    assert.deepEqual(own.messages.map((m) => /"GET \/(\w)/.exec(m)?.[1]).sort(), ["b", "c"]);
    const b = own.messages.find((m) => m.includes("/b "))!;
    assert.match(b, /^127\.0\.0\.1:\d+ \[/, "format raw: no header");
    const c = own.messages.find((m) => m.includes("/c "))!;
    assert.match(c, /^<6>127\.0\.0\.1:\d+ \[/, "format short: <level>");
    assert.equal(p.logs.length, 0, "no stdout target: nothing on stdout");
  } finally {
    await p.stop();
    await g.close();
    await own.close();
    await origin.close();
  }
});

Deno.test("log targets: a max level below info sends no session line; a len cuts the message", async () => {
  const origin = httpStub();
  const quiet = Receiver.udp();
  const short = Receiver.udp();
  const p = await startProxy(logConfig(origin.port, {
    log: [
      `"127.0.0.1:${quiet.port} local0 notice"`,
      `"127.0.0.1:${short.port} len 80 local0 info"`,
    ],
  }));
  try {
    await oneRequest(p.port("fe"));
    const [m] = await short.wait(1);
    assert.equal(m!.length, 80);
    assert.ok(m!.endsWith("\n"));
    await delay(300);
    assert.equal(quiet.messages.length, 0);
  } finally {
    await p.stop();
    await quiet.close();
    await short.close();
    await origin.close();
  }
});

Deno.test("log targets: a syslog server that is not there costs dropped messages, not requests", async () => {
  const origin = httpStub();
  const dir = await Deno.makeTempDir({ prefix: "sluice-log-" });
  const p = await startProxy(logConfig(origin.port, {
    log: `["${dir}/nobody.sock local0", stdout]`,
    frontends: '  fe: { bind: "127.0.0.1:0", default_backend: be, stats: { uri: /stats } }',
  }));
  try {
    for (let i = 0; i < 5; i++) await oneRequest(p.port("fe"), `/n${i}`);
    await p.waitForLogs(/"GET \/n\d/, 5);
    const c = await connectHttp(p.port("fe"));
    const page = (await c.request(get("/stats"))).text;
    c.close();
    const m = /log messages = <\/b>(\d+) sent, <span class="log-dropped">(\d+) dropped/.exec(page);
    assert.ok(m !== null);
    assert.ok(Number(m[2]) >= 5, `the 5 datagrams to a missing socket are dropped: ${m[0]}`);
  } finally {
    await p.stop();
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log-format: json writes one JSON object per request with every field named", async () => {
  const origin = httpStub();
  const p = await startProxy(logConfig(origin.port, {
    frontends: '  fe: { bind: "127.0.0.1:0", default_backend: be, log-format: json }',
  }));
  try {
    await oneRequest(p.port("fe"), "/a?b=%22c");
    const [line] = await p.waitForLogs(/^\{/, 1);
    const j = JSON.parse(line!);
    assert.equal(j.frontend, "fe");
    assert.equal(j.backend, "be");
    assert.equal(j.server, "s1");
    assert.equal(j.status, 200);
    assert.equal(j.method, "GET");
    assert.equal(j.uri, "/a?b=%22c");
    assert.equal(j.http_version, "HTTP/1.1");
    assert.equal(j.request, "GET /a?b=%22c HTTP/1.1");
    assert.equal(j.termination_state, "--");
    assert.equal(j.client_ip, "127.0.0.1");
    assert.equal(j.server_ip, "127.0.0.1");
    assert.equal(j.server_port, origin.port);
    assert.equal(j.pid, p.pid);
    assert.equal(j.retries, 0);
    assert.equal(j.redispatched, false);
    assert.ok(j.bytes_out > 0);
    assert.match(j.accept_date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    for (const k of ["tq", "tw", "tc", "tr", "ta", "tt"]) assert.equal(typeof j[k], "number", k);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("log lines: a bad log line is a config error at its line and column", async () => {
  const cases: Array<[string, RegExp]> = [
    ['"127.0.0.1:514"', /missing facility/],
    ['"127.0.0.1:514 local9"', /unknown log facility "local9"/],
    ['"127.0.0.1:514 local0 loud"', /unknown log level "loud"/],
    ['"syslog.example.com local0"', /invalid log target/],
    ['"127.0.0.1 format xml local0"', /unknown log format "xml"/],
    ['"127.0.0.1 len 10 local0"', /invalid "len" value "10"/],
    ["global", /only valid in a frontend/],
    ["[none, stdout]", /"none" cannot be combined/],
  ];
  for (const [value, re] of cases) {
    const r = await checkConfig(`global:
  log: ${value}
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be }
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:1" } ]
`);
    assert.equal(r.code, 1, `${value} accepted`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, new RegExp(`${r.file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:2:\\d+`));
  }
});

Deno.test("log targets: stdout redirected to a file gets every line", async () => {
  const origin = httpStub();
  const dir = await Deno.makeTempDir({ prefix: "sluice-log-" });
  await Deno.writeTextFile(
    `${dir}/s.yaml`,
    logConfig(origin.port),
  );
  // The shell redirects stdout to a file; stderr stays a pipe (the ready notice).
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `exec "$0" run -A "$1" -f "$2" > "$3"`,
      Deno.execPath(),
      MAIN_TS,
      `${dir}/s.yaml`,
      `${dir}/out.log`,
    ],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const dec = new TextDecoder();
  let err = "";
  const pump = (async () => {
    for await (const c of child.stderr) err += dec.decode(c);
  })();
  try {
    const end = Date.now() + 30_000;
    let port = 0;
    while (port === 0) {
      const m = /listening fe \S+:(\d+)/.exec(err);
      if (m !== null && / ready/.test(err)) port = Number(m[1]);
      else if (Date.now() > end) throw new Error(`no ready notice: ${err}`);
      else await delay(20);
    }
    for (let i = 0; i < 20; i++) await oneRequest(port, `/f${i}`);
    const lines = async () =>
      (await Deno.readTextFile(`${dir}/out.log`)).split("\n").filter((l) => l !== "");
    const until = Date.now() + 10_000;
    while ((await lines()).length < 20 && Date.now() < until) await delay(20);
    const got = await lines();
    assert.equal(got.length, 20);
    got.forEach((l, i) => assert.match(l, new RegExp(`"GET /f${i} HTTP/1.1"$`)));
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await pump;
    await origin.close();
    await Deno.remove(dir, { recursive: true });
  }
});
