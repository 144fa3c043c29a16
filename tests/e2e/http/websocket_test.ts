// WebSocket through the proxy (mode http): the Upgrade request is analysed
// like any request (rules apply), the 101 is relayed, then both directions are
// a tunnel that carries frames byte for byte, governed by `timeout tunnel`,
// until the closing handshake. One log line covers the whole exchange.

import assert from "node:assert/strict";
import { SeededBytes, sha256Hex } from "../../_helpers/client.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  headerValues,
  OP_BINARY,
  OP_TEXT,
  type WsClient,
  wsConnect,
  type WsEchoServer,
  wsEchoServer,
} from "../../_helpers/ws.ts";
import { delay } from "../../_helpers/client.ts";
import { logsOf } from "./_http.ts";

function config(serverPort: number, timeouts: string): string {
  return `
global: { log: stdout }
defaults:
  mode: http
  timeout: { ${timeouts} }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-request: ["set-header X-Proxied sluice"]
    default_backend: be
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${serverPort}" } ] }
`;
}

const NORMAL_TIMEOUTS =
  "connect: 1s, client: 5s, server: 5s, http-request: 2s, http-keep-alive: 2s, tunnel: 10s";

async function withWsProxy(
  timeouts: string,
  body: (proxy: ProxyProcess, server: WsEchoServer) => Promise<void>,
): Promise<void> {
  const server = wsEchoServer();
  let proxy: ProxyProcess | undefined;
  try {
    proxy = await startProxy(config(server.port, timeouts));
    await body(proxy, server);
  } finally {
    await proxy?.stop();
    await server.close();
  }
}

/** Sizes of the 100 messages: the frame-length boundaries, 70 KiB, and a spread. */
function messageSizes(): number[] {
  const fixed = [
    0,
    1,
    2,
    125,
    126,
    127,
    128,
    1000,
    4096,
    16383,
    16384,
    16385,
    65535,
    65536,
    65537,
    70 * 1024, // binary (odd index)
    70 * 1024, // text (even index)
  ];
  const out = [...fixed];
  const gen = new SeededBytes(7);
  while (out.length < 100) {
    const r = gen.bytes(4);
    out.push(((r[0]! << 8) | r[1]!) % 20000);
  }
  return out;
}

/** Message i: text for even i (UTF-8, multi-byte chars included), binary for odd i. */
function message(i: number, size: number): string | Uint8Array {
  if (i % 2 === 0) {
    const unit = `msg${i}-é€-`;
    const te = new TextEncoder();
    let s = unit.repeat(Math.ceil(size / te.encode(unit).length));
    // cut on a code-point boundary at or below `size` bytes
    while (te.encode(s).length > size) s = s.slice(0, -1);
    return s;
  }
  return new SeededBytes(1000 + i).bytes(size);
}

function bytesOf(m: string | Uint8Array): Uint8Array {
  return typeof m === "string" ? new TextEncoder().encode(m) : m;
}

/** Length of the unmasked frame that carries a payload of `n` bytes. */
function frameLen(n: number): number {
  return 2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + n;
}

Deno.test("websocket: 101 relayed, 100 messages (0 B to 70 KiB) echoed exactly, close handshake, one log line", async () => {
  await withWsProxy(NORMAL_TIMEOUTS, async (proxy, server) => {
    let ws: WsClient | undefined;
    try {
      ws = await wsConnect(proxy.port("fe"), "/chat?room=1");
      // The handshake reached the server with the Upgrade headers intact and
      // the frontend's rule applied.
      assert.equal(server.handshakes.length, 1);
      const hs = server.handshakes[0]!;
      assert.match(hs, /^GET \/chat\?room=1 HTTP\/1\.1\r\n/);
      assert.deepEqual(headerValues(hs, "upgrade"), ["websocket"]);
      assert.ok(
        headerValues(hs, "connection").some((v) => /\bupgrade\b/i.test(v)),
        `Connection: Upgrade lost on the way: ${JSON.stringify(hs)}`,
      );
      assert.deepEqual(headerValues(hs, "x-proxied"), ["sluice"]);
      assert.match(ws.responseHead, /^HTTP\/1\.1 101 /);
      assert.deepEqual(headerValues(ws.responseHead, "upgrade"), ["websocket"]);

      const sizes = messageSizes();
      let echoedFrameBytes = 0;
      // First half one by one, second half written in a burst while reading.
      for (let i = 0; i < 50; i++) {
        const m = message(i, sizes[i]!);
        await ws.send(m);
        const got = await ws.receive();
        assert.equal(got.opcode, typeof m === "string" ? OP_TEXT : OP_BINARY, `message ${i}`);
        assert.equal(got.data.length, bytesOf(m).length, `message ${i} length`);
        assert.equal(sha256Hex(got.data), sha256Hex(bytesOf(m)), `message ${i} content`);
        echoedFrameBytes += frameLen(got.data.length);
      }
      const burst = sizes.slice(50).map((n, k) => message(50 + k, n));
      const client = ws;
      const sending = (async () => {
        for (const m of burst) await client.send(m);
      })();
      try {
        for (let k = 0; k < burst.length; k++) {
          const m = burst[k]!;
          const got = await ws.receive();
          assert.equal(
            got.opcode,
            typeof m === "string" ? OP_TEXT : OP_BINARY,
            `message ${50 + k}`,
          );
          assert.equal(sha256Hex(got.data), sha256Hex(bytesOf(m)), `message ${50 + k} content`);
          echoedFrameBytes += frameLen(got.data.length);
        }
      } finally {
        await sending;
      }
      assert.equal(server.echoed[0]?.length, 100);
      assert.equal(sizes.filter((n) => n === 70 * 1024).length, 2, "70 KiB as text and binary");

      const closed = await ws.close(1000);
      assert.equal(closed.code, 1000, "the server's close frame carries the code");
      assert.ok(closed.eof, "the connection ends with EOF after the close handshake");
      assert.deepEqual(server.closeCodes, [1000]);
      assert.deepEqual(server.errors, []);

      const [log] = await logsOf(proxy, ws.localPort, 1);
      assert.equal(log!.status, 101, log!.line);
      assert.equal(log!.request, "GET /chat?room=1 HTTP/1.1", log!.line);
      assert.equal(`${log!.backend}/${log!.server}`, "be/s1", log!.line);
      assert.equal(log!.tsc, "----", `normal end of the tunnel: ${log!.line}`);
      // The line is written when the tunnel ends and counts what went through it
      // (HAProxy logs a tunnelled stream once, at its end).
      const head101 = new TextEncoder().encode(ws.responseHead).length;
      assert.ok(
        log!.bytes >= head101 + echoedFrameBytes + frameLen(2),
        `%B = ${log!.bytes} should count the 101 head (${head101}) + echoed frames ` +
          `(${echoedFrameBytes}) + close frame (4): ${log!.line}`,
      );
      assert.equal(
        proxy.logs.filter((l) => l.includes(`:${ws!.localPort} [`)).length,
        1,
        "one log line for the whole WebSocket session",
      );
    } finally {
      ws?.abort();
    }
  });
});

Deno.test("websocket: an idle tunnel lives by timeout tunnel, not timeout client/server", async () => {
  await withWsProxy(
    "connect: 1s, client: 700ms, server: 700ms, http-request: 2s, tunnel: 10s",
    async (proxy, server) => {
      let ws: WsClient | undefined;
      try {
        ws = await wsConnect(proxy.port("fe"), "/idle");
        await ws.send("before");
        assert.equal(new TextDecoder().decode((await ws.receive()).data), "before");
        await delay(1_500); // > client and server timeouts, < tunnel
        await ws.send("after the pause");
        const got = await ws.receive();
        assert.equal(new TextDecoder().decode(got.data), "after the pause");
        const closed = await ws.close(1000);
        assert.equal(closed.code, 1000);
        assert.deepEqual(server.errors, []);
        const [log] = await logsOf(proxy, ws.localPort, 1);
        assert.equal(log!.status, 101, log!.line);
        assert.equal(log!.tsc, "----", log!.line);
        // %Ta of a tunnelled request covers the tunnel (HAProxy logs it at the end).
        assert.ok(
          log!.ta >= 1_500,
          `%Ta = ${log!.ta} ms should include the 1.5 s tunnel: ${log!.line}`,
        );
      } finally {
        ws?.abort();
      }
    },
  );
});
