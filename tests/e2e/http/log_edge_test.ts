// Log lines compared with HAProxy 2.6 (the reference peer, run side by side on
// the same traffic): the default httplog / tcplog layouts and the semantics of
// their fields, and `log-format` variables, which must render what HAProxy
// renders or be refused at config time, never silently differ. The expected
// values quoted in each test are HAProxy's output for the same exchange.
import assert from "node:assert/strict";
import { writeFull } from "../../_helpers/client.ts";
import { checkConfig, logLineOf, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { httpStub } from "./_http.ts";

const te = new TextEncoder();

/** HAProxy's %t / %tr: 06/Dec/2026:00:37:17.801 */
const DATE = String.raw`\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3}`;

/**
 * Sends `bytes` on a fresh connection to `port`, half-closes nothing, reads
 * until the proxy closes (or `deadlineMs`), and returns the client's port.
 */
async function exchange(port: number, bytes: Uint8Array, deadlineMs = 3_000): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const local = (conn.localAddr as Deno.NetAddr).port;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }, deadlineMs);
  try {
    await writeFull(conn, bytes);
    const buf = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the deadline
    }
  }
  return local;
}

function req(target: string, extra = ""): Uint8Array {
  return te.encode(`GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`);
}

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

function proxyFor(backendPort: number, frontends: string): Promise<ProxyProcess> {
  return startProxy(`
global: { log: stdout }
defaults:
  mode: http
  option: [httplog]
  timeout: { connect: 1s, client: 3s, server: 3s, http-request: 2s }
frontends:
${frontends}
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:${backendPort}" } ]
  bet:
    mode: tcp
    servers: [ { name: s1, address: "127.0.0.1:${backendPort}" } ]
`);
}

// ---------------------------------------------------------------------------
// Guards: what already matches HAProxy.

/** `sluice -c` on a one-frontend config in `mode` with `log-format: fmt`. */
function checkLogFormat(mode: string, fmt: string) {
  return checkConfig(`
defaults:
  mode: ${mode}
  timeout: { connect: 1s, client: 3s, server: 3s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: be, log-format: "${fmt}" }
backends:
  be:
    servers: [ { name: s1, address: "127.0.0.1:1" } ]
`);
}

/** A stub origin and a proxy with `frontends` in front of it, for `fn`; both stopped after. */
async function withStubProxy(
  frontends: string,
  fn: (proxy: ProxyProcess) => Promise<void>,
): Promise<void> {
  const stub = httpStub("s1");
  let proxy: ProxyProcess | null = null;
  try {
    proxy = await proxyFor(stub.port, frontends);
    await fn(proxy);
  } finally {
    await proxy?.stop();
    await stub.close();
  }
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

Deno.test("httplog: layout, date with ms, timers, ---- and quoted request line", async () => {
  await withStubProxy(`  fe: { bind: "127.0.0.1:0", default_backend: be }`, async (proxy) => {
    const cp = await exchange(proxy.port("fe"), req("/a?b=1"));
    const line = await proxy.waitForLog(logLineOf(cp));
    // HAProxy: 127.0.0.1:49314 [06/Dec/2026:00:37:17.801] fe be/s1 0/0/0/3/3 200 54 - - ---- 1/1/0/0/0 0/0 "GET /a?b=1 HTTP/1.1"
    const re = new RegExp(
      String
        .raw`^127\.0\.0\.1:${cp} \[${DATE}\] fe be/s1 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- \d+/\d+/\d+/\d+/0 0/0 "GET /a\?b=1 HTTP/1\.1"$`,
    );
    assert.match(line, re);
  });
});

Deno.test('httplog: an invalid request is fe/<NOSRV> -1/-1/-1/-1 400 PR-- "<BADREQ>"', async () => {
  await withStubProxy(`  fe: { bind: "127.0.0.1:0", default_backend: be }`, async (proxy) => {
    const cp = await exchange(proxy.port("fe"), te.encode("GARBAGE\r\n\r\n"));
    const line = await proxy.waitForLog(logLineOf(cp));
    // HAProxy: ... fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"
    // (%B differs: HAProxy 2.6 counts 0 for an error its mux sent; not asserted.)
    assert.match(
      line,
      new RegExp(
        String.raw`\] fe fe/<NOSRV> -1/-1/-1/-1/\d+ 400 \d+ - - PR-- \d+/\d+/0/0/0 0/0 "<BADREQ>"$`,
      ),
    );
  });
});

Deno.test("tcplog: layout and a refused server is <b>/<s> Tw/-1/Tt SC with 1 retry", async () => {
  let proxy: ProxyProcess | null = null;
  // A port that refuses: listen, note it, close.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dead = (l.addr as Deno.NetAddr).port;
  l.close();
  try {
    proxy = await startProxy(`
global: { log: stdout }
defaults:
  mode: tcp
  option: [tcplog]
  retries: 1
  timeout: { connect: 1s, client: 5s, server: 3s }
frontends:
  fe: { bind: "127.0.0.1:0", default_backend: bet }
backends:
  bet:
    servers: [ { name: s1, address: "127.0.0.1:${dead}" } ]
`);
    const cp = await exchange(proxy.port("fe"), te.encode("x"), 4_000);
    const line = await proxy.waitForLog(logLineOf(cp), 5_000);
    // HAProxy: 127.0.0.1:41264 [..] fe bet/s1 0/-1/1003 0 SC 1/1/0/0/1 0/0
    assert.match(
      line,
      new RegExp(
        String
          .raw`^127\.0\.0\.1:${cp} \[${DATE}\] fe bet/s1 \d+/-1/\d+ 0 SC \d+/\d+/\d+/\d+/1 0/0$`,
      ),
    );
  } finally {
    await proxy?.stop();
  }
});

Deno.test("log-format: variables HAProxy has but Sluice lacks are config errors", async () => {
  for (const v of ["%Th", "%Ti", "%HP", "%HQ", "%[src]", "%o", "abc%"]) {
    const r = await checkLogFormat("http", `x ${v}`);
    assert.equal(r.code, 1, `${v} accepted:\n${r.stderr}`);
    assert.match(r.stderr, /log-format/);
  }
});

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

// ---------------------------------------------------------------------------
// Differences.

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

Deno.test("httplog/tcplog: %bc and %sc no longer count the logged stream once it released its server", async () => {
  await withStubProxy(
    `  fe: { bind: "127.0.0.1:0", default_backend: be }
  ft:
    mode: tcp
    option: [tcplog]
    bind: "127.0.0.1:0"
    default_backend: bet`,
    async (proxy) => {
      const cp = await exchange(proxy.port("fe"), req("/"));
      const line = await proxy.waitForLog(logLineOf(cp));
      // HAProxy: ... ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"   Sluice: 1/1/1/1/0
      assert.match(line, / ---- 1\/1\/0\/0\/0 0\/0 "GET \/ HTTP\/1\.1"$/);
      const cp2 = await exchange(proxy.port("ft"), req("/"));
      const tline = await proxy.waitForLog(logLineOf(cp2));
      // HAProxy: ... ft bet/s1 1/0/307 43 -- 1/1/0/0/0 0/0   Sluice: 1/1/1/1/0
      assert.match(tline, / -- 1\/1\/0\/0\/0 0\/0$/);
    },
  );
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

Deno.test("log-format in tcp mode: HTTP-only variables are config errors", async () => {
  // HAProxy: "failed to parse log-format : format variable 'r' is reserved for HTTP mode."
  for (const v of ["%r", "%HM", "%TR", "%Ta", "%CC"]) {
    const r = await checkLogFormat("tcp", `x ${v}`);
    assert.equal(r.code, 1, `${v} accepted in tcp mode (renders empty/-1 silently)`);
  }
});

Deno.test("log-format: %{+X} renders hex (or is refused), never the plain value", async () => {
  const line = await logLineFor("cp=%cp X=%{+X}ci", req("/"));
  // HAProxy: X=7F000001 (Sluice rendered 127.0.0.1 before it supported +X)
  assert.equal(field(line, "X"), "7F000001", line);
});
