// CONNECT over HTTP/2 (RFC 9113 §8.5): a CONNECT stream becomes an HTTP/1.1
// CONNECT for the analysers and the server; a 2xx opens a tunnel whose
// bytes travel as DATA both ways under flow control, each side's end
// (END_STREAM, FIN) is a half-close of its direction only, a server reset
// is RST_STREAM CONNECT_ERROR on that stream alone, and anything malformed
// (or extended CONNECT) is refused as a stream error.
//
// Each test asserts bytes (exact or SHA-256), statuses, frame types and
// codes, and the log line, as a client or an operator would see them.

import assert from "node:assert/strict";
import { H2_CANCEL, H2_CONNECT_ERROR, H2_PROTOCOL_ERROR } from "../../../src/h2/frame.ts";
import { closeWrite, delay, latin1, sha256Hex, te } from "../../_helpers/client.ts";
import { getHeaders, H2RawClient } from "../../_helpers/h2_client.ts";
import { logLineOf, parseHttpLog, startProxy } from "../../_helpers/proxy.ts";
import { makePki } from "../../_helpers/tls.ts";
import {
  connectHeaders,
  connectProxy,
  pattern,
  Pumped,
  sendWithinWindows,
  TunnelReader,
  tunnelServer,
} from "./_connect.ts";
import { run, startOrigin } from "./_h2.ts";

const OK_200 = "HTTP/1.1 200 Connection established\r\n\r\n";

/** The log line of the client connection `c` (the only request on it, or the first matching `what`). */
async function logOf(
  p: { waitForLog(re: RegExp, ms?: number): Promise<string> },
  c: H2RawClient,
  what = "",
) {
  const port = (c.conn.localAddr as Deno.NetAddr).port;
  const re = new RegExp(logLineOf(port).source + `.*${what}`);
  return parseHttpLog(await p.waitForLog(re, 10_000));
}

Deno.test("h2 CONNECT: 300 kB both ways through an echo tunnel, over many DATA frames and window updates; half-close each way", async () => {
  // The server echoes; once the client's FIN came it still sends a tail, then its own FIN.
  let got: Pumped | null = null;
  const srv = tunnelServer(OK_200, async (conn, _head, rest) => {
    got = new Pumped(conn, rest, async (b) => {
      await conn.write(b);
    });
    if (rest.length > 0) await conn.write(rest);
    await got.done;
    await conn.write(te.encode("TAIL-AFTER-CLIENT-FIN"));
    await closeWrite(conn, true);
  });
  const origin = startOrigin();
  const p = await connectProxy(srv.address, origin.port);
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await c.sendHeaders(1, connectHeaders("tun.test:443"), false);
    const rd = new TunnelReader(c, 1);
    const v = await rd.until((v) => v.status !== 0);
    assert.equal(v.status, 200);
    assert.equal(v.headersEnd, false, "a 2xx to CONNECT has no END_STREAM");
    assert.ok(!v.headers.some((h) => h[0] === "content-length" || h[0] === "transfer-encoding"));
    const up = pattern(300_000, 7);
    const tail = "TAIL-AFTER-CLIENT-FIN";
    // Sending and reading at once: the echo comes back while the upload goes on.
    const [, end] = await Promise.all([
      sendWithinWindows(c, 1, up, true),
      rd.until((v) => v.ended || v.reset >= 0, 20_000),
    ]);
    assert.equal(end.reset, -1, "no RST_STREAM");
    assert.equal(end.data.length, up.length + tail.length);
    assert.equal(sha256Hex(end.data.subarray(0, up.length)), sha256Hex(up));
    assert.equal(latin1(end.data.subarray(up.length)), tail);
    const server = got! as Pumped;
    await server.until(() => server.eof || server.error);
    assert.equal(server.eof, true, "the client's END_STREAM reached the server as a FIN");
    assert.equal(sha256Hex(server.bytes()), sha256Hex(up));
    // The server saw an HTTP/1.1 CONNECT.
    assert.match(srv.heads[0]!, /^CONNECT tun\.test:443 HTTP\/1\.1\r\nhost: tun\.test:443\r\n/);
    assert.doesNotMatch(srv.heads[0]!, /transfer-encoding|content-length/i);
    const log = await logOf(p, c);
    assert.equal(log.request, "CONNECT tun.test:443 HTTP/2.0");
    assert.equal(log.status, 200);
    assert.equal(log.backend, "tun");
    assert.equal(log.tsc, "----", log.line);
    assert.equal(log.bytes, OK_200.length + up.length + tail.length, log.line);
    // The connection goes on: another stream is served.
    await c.sendHeaders(3, getHeaders("/after"));
    assert.equal((await c.response(3)).status, 200);
  } finally {
    c.close();
    await p.stop();
    await srv.close();
    await origin.close();
  }
});

Deno.test("h2 CONNECT: the server's FIN is END_STREAM; the client may still send, and its END_STREAM is the server's FIN", async () => {
  let got: Pumped | null = null;
  const srv = tunnelServer(OK_200, async (conn) => {
    await conn.write(te.encode("bye"));
    await closeWrite(conn, true);
    got = new Pumped(conn, new Uint8Array(0));
    await got.done;
  });
  const origin = startOrigin();
  const p = await connectProxy(srv.address, origin.port);
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await c.sendHeaders(1, connectHeaders("db.test:5432"), false);
    const rd = new TunnelReader(c, 1);
    const v = await rd.until((v) => v.ended || v.reset >= 0);
    assert.equal(v.status, 200);
    assert.equal(latin1(v.data), "bye");
    assert.equal(v.reset, -1);
    // Half-closed on the proxy's side only: the client's bytes still go through.
    await c.sendData(1, te.encode("late bytes"), false);
    await c.sendData(1, te.encode(" and the end"), true);
    const server = (() => got!)() as Pumped;
    await server.until(() => server.eof || server.error);
    assert.equal(latin1(server.bytes()), "late bytes and the end");
    assert.equal(server.eof, true);
    const log = await logOf(p, c);
    assert.equal(log.request, "CONNECT db.test:5432 HTTP/2.0");
    assert.equal(log.tsc, "----", log.line);
    await delay(100);
    assert.equal(rd.view.reset, -1, "no RST_STREAM after both ends");
  } finally {
    c.close();
    await p.stop();
    await srv.close();
    await origin.close();
  }
});

Deno.test("h2 CONNECT: DATA sent before the 2xx is held until the tunnel opens, then forwarded in order", async () => {
  let early = -1;
  let got: Pumped | null = null;
  // The server answers 300 ms after the head: it must not see a tunnel byte before its 200.
  const srv = tunnelServer(OK_200, async (conn, _head, rest) => {
    early = rest.length;
    got = new Pumped(conn, rest);
    await got.done;
  }, 300);
  const origin = startOrigin();
  const p = await connectProxy(srv.address, origin.port);
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await c.sendHeaders(1, connectHeaders("tun.test:443"), false);
    await c.sendData(1, te.encode("optimistic-1 "), false);
    await c.sendData(1, te.encode("optimistic-2"), false);
    const rd = new TunnelReader(c, 1);
    assert.equal((await rd.until((v) => v.status !== 0)).status, 200);
    await c.sendData(1, te.encode(" after"), true);
    const server = (() => got!)() as Pumped;
    await server.until(() => server.eof || server.error);
    assert.equal(early, 0, "no tunnel byte reached the server with (or before) the head");
    assert.equal(latin1(server.bytes()), "optimistic-1 optimistic-2 after");
  } finally {
    c.close();
    await p.stop();
    await srv.close();
    await origin.close();
  }
});

/**
 * A tunnel server on the unix socket `path` that answers the CONNECT with
 * 200, reads "ping", answers "pong", then closes as soon as more bytes are
 * in its receive queue, unread: a reset (python3: it can peek at them; a
 * Deno socket's close may shut it down first, which the proxy can read as
 * a clean FIN).
 */
async function resetServer(path: string): Promise<{ close(): Promise<void> }> {
  const script = `
import socket, sys, os
l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[1]); l.listen(4)
print("ready", flush=True)
c, _ = l.accept()
h = b""
while b"\\r\\n\\r\\n" not in h: h += c.recv(4096)
c.sendall(b"HTTP/1.1 200 Connection established\\r\\n\\r\\n")
p = b""
while len(p) < 4: p += c.recv(4 - len(p))
c.sendall(b"pong")
c.recv(1, socket.MSG_PEEK)
os._exit(0)
`;
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, path],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const rd = child.stdout.getReader();
  const first = await rd.read();
  assert.match(new TextDecoder().decode(first.value), /ready/);
  rd.releaseLock();
  return {
    close: async () => {
      try {
        child.kill();
      } catch { /* exited */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

Deno.test("h2 CONNECT: a server reset is RST_STREAM CONNECT_ERROR on that stream only (after the bytes it sent); the other streams go on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-h2connect-" });
  const srv = await resetServer(`${dir}/tun.sock`);
  const origin = startOrigin();
  const p = await connectProxy(`unix@${dir}/tun.sock`, origin.port);
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await c.sendHeaders(1, connectHeaders("tun.test:443"), false);
    const rd = new TunnelReader(c, 1);
    assert.equal((await rd.until((v) => v.status !== 0)).status, 200);
    // A slow request on another stream of the same connection, in flight across the reset.
    await c.sendHeaders(3, getHeaders("/slow/1500"));
    await c.sendData(1, te.encode("ping"), false);
    await rd.until((v) => v.data.length >= 4);
    await c.sendData(1, te.encode("never read"), false);
    const v = await rd.until((v) => v.reset >= 0 || v.ended);
    assert.equal(latin1(v.data), "pong");
    assert.equal(v.ended, false, "no END_STREAM: the tunnel failed");
    assert.equal(v.reset, H2_CONNECT_ERROR);
    const r3 = await c.response(3);
    assert.equal(r3.status, 200);
    assert.equal(latin1(r3.body), "slow 1500\n");
    await c.sendHeaders(5, getHeaders("/after"));
    assert.equal((await c.response(5)).status, 200);
    assert.equal(c.goaway, -1, "no GOAWAY");
    const log = await logOf(p, c, "CONNECT");
    assert.equal(log.status, 200);
    assert.equal(log.ts, "SD", log.line);
  } finally {
    c.close();
    await p.stop();
    await srv.close();
    await origin.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("h2 CONNECT: an idle tunnel past `timeout tunnel` is RST_STREAM CANCEL on that stream, no GOAWAY", async () => {
  const srv = tunnelServer(OK_200, async (conn) => {
    await new Pumped(conn, new Uint8Array(0)).done;
  });
  const origin = startOrigin();
  const p = await connectProxy(
    srv.address,
    origin.port,
    "",
    "connect: 2s, client: 20s, server: 20s, tunnel: 400ms",
  );
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await c.sendHeaders(1, connectHeaders("tun.test:443"), false);
    const rd = new TunnelReader(c, 1);
    assert.equal((await rd.until((v) => v.status !== 0)).status, 200);
    const v = await rd.until((v) => v.reset >= 0 || v.ended, 5_000);
    assert.equal(v.reset, H2_CANCEL);
    await c.sendHeaders(3, getHeaders("/after"));
    assert.equal((await c.response(3)).status, 200);
    assert.equal(c.goaway, -1);
    const log = await logOf(p, c, "CONNECT");
    assert.equal(log.status, 200);
    assert.match(log.tsc, /^[cs]D/, log.line);
  } finally {
    c.close();
    await p.stop();
    await srv.close();
    await origin.close();
  }
});

Deno.test("h2 CONNECT: `http-request deny if METH_CONNECT` answers 403 with its body and ends the stream; the server sees nothing", async () => {
  const srv = tunnelServer(OK_200, async () => {});
  const origin = startOrigin();
  const p = await connectProxy(
    srv.address,
    origin.port,
    `    http-request:\n      - "deny deny_status 403 if METH_CONNECT"`,
  );
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await c.sendHeaders(1, connectHeaders("tun.test:443"), false);
    await c.sendData(1, te.encode("optimistic"), false);
    const r = await c.response(1);
    assert.equal(r.status, 403);
    assert.match(latin1(r.body), /403 Forbidden/);
    const log = await logOf(p, c, "CONNECT");
    assert.equal(log.request, "CONNECT tun.test:443 HTTP/2.0");
    assert.equal(log.status, 403);
    assert.equal(log.tsc.slice(0, 2), "PR", log.line);
    await c.sendHeaders(3, getHeaders("/after"));
    assert.equal((await c.response(3)).status, 200);
    assert.deepEqual(srv.heads, []);
  } finally {
    c.close();
    await p.stop();
    await srv.close();
    await origin.close();
  }
});

Deno.test("h2 CONNECT: a non-2xx answer from the server is an ordinary response that ends the stream; held bytes never reach a server", async () => {
  const srv = tunnelServer(
    "HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 6\r\n\r\nlogin!",
    async (conn) => {
      await new Pumped(conn, new Uint8Array(0)).done;
    },
  );
  const origin = startOrigin();
  const p = await connectProxy(srv.address, origin.port);
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await c.sendHeaders(1, connectHeaders("tun.test:443"), false);
    await c.sendData(1, te.encode("GET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n"), false);
    const r = await c.response(1);
    assert.equal(r.status, 407);
    assert.equal(latin1(r.body), "login!");
    await delay(200);
    assert.deepEqual(origin.seen, []);
    assert.equal(srv.heads.length, 1);
    const log = await logOf(p, c, "CONNECT");
    assert.equal(log.status, 407);
  } finally {
    c.close();
    await p.stop();
    await srv.close();
    await origin.close();
  }
});

Deno.test("h2 CONNECT: malformed CONNECTs and extended CONNECT are RST_STREAM PROTOCOL_ERROR, logged, never forwarded", async () => {
  const srv = tunnelServer(OK_200, async () => {});
  const origin = startOrigin();
  const p = await connectProxy(srv.address, origin.port);
  const c = await H2RawClient.connect(p.port("fe"));
  const cases: [string, [string, string][], RegExp][] = [
    ["with :path", connectHeaders("h.test:443", [[":path", "/"]]), /":path" in a CONNECT/],
    [
      "with :scheme",
      connectHeaders("h.test:443", [[":scheme", "https"]]),
      /":scheme" in a CONNECT/,
    ],
    ["without :authority", connectHeaders(null), /missing ":authority"/],
    [
      "extended CONNECT",
      connectHeaders("h.test:443", [[":scheme", "https"], [":path", "/chat"], [
        ":protocol",
        "websocket",
      ]]),
      /extended CONNECT/,
    ],
    ["without a port", connectHeaders("h.test"), /host:port expected/],
    [
      "with a body length",
      connectHeaders("h.test:443", [["content-length", "3"]]),
      /content-length in a CONNECT/,
    ],
  ];
  try {
    // SETTINGS_ENABLE_CONNECT_PROTOCOL (8) is never announced.
    const settings = await c.waitFrame((f) => f.type === 4 && (f.flags & 1) === 0);
    for (let i = 0; i + 6 <= settings.payload.length; i += 6) {
      assert.notEqual((settings.payload[i]! << 8) | settings.payload[i + 1]!, 8);
    }
    let sid = 1;
    for (const [what, headers, why] of cases) {
      await c.sendHeaders(sid, headers, false);
      assert.equal(await c.waitReset(sid), H2_PROTOCOL_ERROR, what);
      await p.waitForLog(
        new RegExp(
          `h2: stream ${sid} malformed request, reset \\(PROTOCOL_ERROR\\): .*${why.source}`,
        ),
        10_000,
      );
      sid += 2;
    }
    await c.sendHeaders(sid, getHeaders("/after"));
    assert.equal((await c.response(sid)).status, 200);
    assert.deepEqual(srv.heads, []);
    assert.deepEqual(origin.seen, ["GET /after"]);
  } finally {
    c.close();
    await p.stop();
    await srv.close();
    await origin.close();
  }
});

/**
 * A browser's CONNECT to an HTTPS proxy that negotiated h2 by ALPN, played
 * by python3-h2: CONNECT `authority`, then `payload` through the tunnel and
 * END_STREAM; prints the status, then what came back until END_STREAM.
 */
const H2_TLS_CLIENT = `
import socket, ssl, sys, h2.connection, h2.events, h2.config
port, ca, authority, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
assert s.selected_alpn_protocol() == "h2", s.selected_alpn_protocol()
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, validate_outbound_headers=False))
c.initiate_connection()
c.send_headers(1, [(":method", "CONNECT"), (":authority", authority)])
s.sendall(c.data_to_send())
out, status, sent = b"", None, False
while True:
    d = s.recv(65536)
    if not d: break
    for e in c.receive_data(d):
        if isinstance(e, h2.events.ResponseReceived):
            status = dict(e.headers)[b":status"].decode()
            if not sent:
                c.send_data(1, payload, end_stream=True)
                sent = True
        elif isinstance(e, h2.events.DataReceived):
            out += e.data
            c.acknowledge_received_data(e.flow_controlled_length, 1)
        elif isinstance(e, h2.events.StreamReset):
            print(status); print("RESET", e.error_code); sys.exit(0)
        elif isinstance(e, h2.events.StreamEnded):
            print(status); sys.stdout.flush(); sys.stdout.buffer.write(out); sys.exit(0)
    s.sendall(c.data_to_send())
print(status); print("CLOSED")
`;

Deno.test("h2 CONNECT over TLS with ALPN h2 (an HTTPS forward proxy): an HTTP/1.1 exchange through the tunnel", async () => {
  // The tunnel's far end: a server that answers the CONNECT, then relays to a site.
  const site = startOrigin();
  const srv = tunnelServer(OK_200, async (conn, _head, rest) => {
    const up = await Deno.connect({ hostname: "127.0.0.1", port: site.port });
    if (rest.length > 0) await up.write(rest);
    const a = new Pumped(conn, new Uint8Array(0), async (b) => {
      await up.write(b);
    });
    const b = new Pumped(up, new Uint8Array(0), async (d) => {
      await conn.write(d);
    });
    await b.done;
    await closeWrite(conn, true);
    await a.done;
    up.close();
  });
  const pki = await makePki();
  const leaf = await pki.leaf("localhost", ["localhost"]);
  const p = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 20s, server: 20s, http-request: 10s, http-keep-alive: 10s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0 ssl crt ${leaf.pem} alpn h2,http/1.1"
    default_backend: tun
backends:
  tun:
    servers: [{ name: t1, address: "${srv.address}" }]
`);
  try {
    const r = await run("/usr/bin/python3", [
      "-c",
      H2_TLS_CLIENT,
      String(p.port("fe")),
      pki.caCrt,
      `site.test:${site.port}`,
      "GET /through HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = latin1(r.stdout);
    assert.match(out, /^200\nHTTP\/1\.1 200 OK\r\n/);
    assert.match(out, /\r\n\r\nhello \/through\n$/);
    assert.deepEqual(site.seen, ["GET /through"]);
    const line = await p.waitForLog(/"CONNECT site\.test:\d+ HTTP\/2\.0"/, 10_000);
    const log = parseHttpLog(line);
    assert.equal(log.status, 200);
    assert.equal(log.tsc, "----", log.line);
  } finally {
    await p.stop();
    await srv.close();
    await site.close();
  }
});
