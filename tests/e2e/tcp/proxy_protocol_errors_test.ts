// A bind with `accept-proxy` facing clients that send no header, a broken
// one, or one that never ends: each is closed with HAProxy's log line for
// it, while a connection in progress on the same bind goes on untouched.
// Also `tcp-request connection` rules: reject closes without a log line,
// `expect-proxy layer4` asks for a header from the sources it names only.

import assert from "node:assert/strict";
import {
  closeQuietly,
  closeWrite,
  connect,
  readAll,
  readExactly,
  te,
  writeAll,
} from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { echoServer } from "../../_helpers/servers.ts";

const CONFIG = (echo: number) => `
global: { log: stdout }
defaults:
  mode: tcp
  timeout: { connect: 2s, client: 10s, server: 10s }
  option: [tcplog]
frontends:
  fe:
    bind: "127.0.0.1:0 accept-proxy"
    default_backend: be
  fe_slow:
    bind: "127.0.0.1:0 accept-proxy"
    timeout: { client: 1s }
    default_backend: be
  fe_rules:
    bind: "127.0.0.1:0"
    default_backend: be
    tcp-request:
      - "connection reject if { src_port 1:1023 }"
      - "connection expect-proxy layer4 if { src 127.0.0.1 }"
  fe_reject:
    bind: "127.0.0.1:0"
    default_backend: be
    tcp-request: ["connection accept if { src 10.0.0.0/8 }", "connection reject if { src 127.0.0.0/8 }"]
  fe_stats:
    bind: "127.0.0.1:0"
    mode: http
    timeout: { http-request: 5s }
    stats: { uri: /stats, prometheus: /metrics }
backends:
  be:
    servers: [{ name: echo, address: "127.0.0.1:${echo}" }]
`;

function hex(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
}

/** Sends `bytes` on a new connection to `port`; returns its local port and what came back until the close. */
async function sendAndClose(port: number, bytes: Uint8Array, fin = true) {
  const c = await connect(port);
  const me = (c.localAddr as Deno.NetAddr).port;
  await writeAll(c, bytes);
  if (fin) await closeWrite(c, true);
  const r = await readAll(c, 10_000);
  closeQuietly(c);
  return { me, got: r.data.length };
}

Deno.test("accept-proxy: missing, malformed and late headers are logged and closed; others go on", async () => {
  const echo = echoServer();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(CONFIG(echo.port));
    const fe = proxy.port("fe");
    // A good connection, left open in the middle of its exchange.
    const good = await connect(fe);
    await writeAll(good, te.encode("PROXY TCP4 192.0.2.10 192.0.2.20 4000 80\r\nping"));
    assert.equal(new TextDecoder().decode(await readExactly(good, 4)), "ping");

    const cases: Array<[Uint8Array, boolean, string]> = [
      [
        te.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        true,
        "Received something which does not look like a PROXY protocol header",
      ],
      [
        te.encode("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
        true,
        "Received an unhandled protocol in the PROXY protocol header",
      ],
      [
        te.encode("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n"),
        true,
        "Received an invalid PROXY protocol header",
      ],
      [
        // v2, TCP/IPv4, then a TLV whose length runs past the header.
        hex("0d0a0d0a000d0a515549540a2111001001020304050607080001000205000900"),
        true,
        "Received an invalid PROXY protocol header",
      ],
      [te.encode("PROXY TCP4 1.2.3.4 5.6"), true, "Truncated PROXY protocol header received"],
    ];
    // Never completed, never closed: timeout client (1s on fe_slow) ends it.
    const slow: Array<[number, Uint8Array, boolean, string]> = [[
      proxy.port("fe_slow"),
      te.encode("PROXY TCP4 1.2.3.4 5.6"),
      false,
      "fe_slow/1: Timeout while waiting for PROXY protocol header",
    ]];
    for (
      const [port, bytes, fin, msg] of [
        ...cases.map(([b, f, m]) => [fe, b, f, `fe/1: ${m}`] as const),
        ...slow,
      ]
    ) {
      const { me, got } = await sendAndClose(port, bytes, fin);
      assert.equal(got, 0, `${msg}: nothing may reach the client`);
      const line = await proxy.waitForLog(new RegExp(`^127\\.0\\.0\\.1:${me} `), 10_000);
      assert.match(line, new RegExp(`^127\\.0\\.0\\.1:${me} \\[[^\\]]+\\] ${msg}$`), line);
    }
    assert.equal(echo.accepted, 1, "only the good connection reached the server");

    // The good connection still works, and is logged with its header's address.
    await writeAll(good, te.encode("pong"));
    assert.equal(new TextDecoder().decode(await readExactly(good, 4)), "pong");
    await closeWrite(good);
    assert.equal((await readAll(good)).data.length, 0);
    closeQuietly(good);
    const line = await proxy.waitForLog(/^192\.0\.2\.10:4000 /, 10_000);
    assert.match(line, / fe be\/echo .* 8 -- /);
  } finally {
    await proxy?.stop();
    await echo.close();
  }
});

Deno.test("tcp-request connection: reject closes silently, expect-proxy layer4 asks for a header", async () => {
  const echo = echoServer();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(CONFIG(echo.port));
    const port = proxy.port("fe_rules");
    // From 127.0.0.1 the rules want a header: one given is used...
    const c = await connect(port);
    await writeAll(c, te.encode("PROXY TCP6 2001:db8::7 2001:db8::1 5555 443\r\nabc"));
    assert.equal(new TextDecoder().decode(await readExactly(c, 3)), "abc");
    await closeWrite(c);
    await readAll(c);
    closeQuietly(c);
    await proxy.waitForLog(/^2001:db8::7:5555 \[.* fe_rules be\/echo /, 10_000);
    // ... and data without one is refused with the log line.
    const rej = await sendAndClose(proxy.port("fe_reject"), te.encode("abc"));
    assert.equal(rej.got, 0);
    const { me } = await sendAndClose(port, te.encode("abc"));
    await proxy.waitForLog(
      new RegExp(
        `^127\\.0\\.0\\.1:${me} \\[.*\\] fe_rules/1: Received something which does not look like a PROXY protocol header$`,
      ),
      10_000,
    );
    // The rejected connection left no line (the one above was written after it).
    assert.ok(!proxy.logs.some((l) => l.startsWith(`127.0.0.1:${rej.me} `)), proxy.logs.join("\n"));
    assert.equal(echo.accepted, 1);
    // Counted as HAProxy's denied connections.
    const m = await fetch(`http://127.0.0.1:${proxy.port("fe_stats")}/metrics`);
    const text = await m.text();
    assert.match(text, /\nsluice_frontend_denied_connections_total\{proxy="fe_reject"\} 1\n/);
    assert.match(text, /\nsluice_frontend_denied_connections_total\{proxy="fe_rules"\} 0\n/);
  } finally {
    await proxy?.stop();
    await echo.close();
  }
});
