// HTTP/2 attacks and limits: each one ends the attacking connection with
// GOAWAY (ENHANCE_YOUR_CALM, or the error the RFC names) and a log line
// naming the limit, while another client on another connection is served;
// slow readers and fast uploaders cannot make the proxy buffer a whole body.

import assert from "node:assert/strict";
import {
  FF_END_HEADERS,
  FF_END_STREAM,
  FT_CONTINUATION,
  FT_DATA,
  FT_HEADERS,
  FT_SETTINGS,
  H2_ENHANCE_YOUR_CALM,
  H2_NO_ERROR,
  H2_SETTINGS_TIMEOUT,
} from "../../../src/h2/frame.ts";
import { HpackEncoder } from "../../../src/h2/hpack.ts";
import { pollUntil, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { getHeaders, H2RawClient } from "../../_helpers/h2_client.ts";
import { h2Proxy, startOrigin } from "./_h2.ts";

/** Another client gets its answer while (or right after) the attack runs. */
async function otherClientServed(p: ProxyProcess): Promise<void> {
  const c = await H2RawClient.connect(p.port("fe"));
  try {
    await c.sendHeaders(1, getHeaders("/bystander"));
    assert.equal((await c.response(1)).status, 200);
  } finally {
    c.close();
  }
}

async function attack(
  global: string,
  logRe: RegExp,
  code: number,
  f: (c: H2RawClient) => Promise<void>,
  fe = "",
): Promise<void> {
  const origin = startOrigin();
  const p = await h2Proxy(origin, global, fe);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    const bystander = otherClientServed(p);
    try {
      await f(c).catch(() => {}); // the proxy may close while we still send
      assert.equal(await c.waitGoaway(20_000), code);
      await c.waitClosed(20_000);
    } finally {
      c.close();
    }
    await p.waitForLog(logRe, 10_000);
    await bystander;
    await otherClientServed(p);
  } finally {
    await p.stop();
    await origin.close();
  }
}

Deno.test("h2 attack: rapid reset (CVE-2023-44487) is cut at h2.fe.max-resets-per-sec", () =>
  attack(
    "  h2.fe.max-resets-per-sec: 20",
    /h2: GOAWAY ENHANCE_YOUR_CALM: .*rapid reset/,
    H2_ENHANCE_YOUR_CALM,
    async (c) => {
      for (let sid = 1; sid < 400; sid += 2) {
        await c.sendHeaders(sid, getHeaders("/slow/2000"));
        await c.sendRst(sid, 8);
      }
    },
  ));

Deno.test("h2 attack: PING flood (CVE-2019-9512) is cut at h2.fe.max-pings-per-sec", () =>
  attack("", /h2: GOAWAY ENHANCE_YOUR_CALM: PING flood/, H2_ENHANCE_YOUR_CALM, async (c) => {
    for (let i = 0; i < 200; i++) await c.sendPing();
  }));

Deno.test("h2 attack: SETTINGS flood (CVE-2019-9515) is cut at h2.fe.max-settings-per-sec", () =>
  attack("", /h2: GOAWAY ENHANCE_YOUR_CALM: SETTINGS flood/, H2_ENHANCE_YOUR_CALM, async (c) => {
    for (let i = 0; i < 200; i++) await c.sendFrame(FT_SETTINGS, 0, 0, new Uint8Array(0));
  }));

Deno.test("h2 attack: empty DATA frames (CVE-2019-9518) are cut at h2.fe.max-empty-frames-per-sec", () =>
  attack(
    "",
    /h2: GOAWAY ENHANCE_YOUR_CALM: empty DATA frames flood/,
    H2_ENHANCE_YOUR_CALM,
    async (c) => {
      await c.sendFrame(
        FT_HEADERS,
        FF_END_HEADERS,
        1,
        c.block([[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/up"]]),
      );
      for (let i = 0; i < 300; i++) await c.sendFrame(FT_DATA, 0, 1, new Uint8Array(0));
    },
  ));

Deno.test("h2 attack: a CONTINUATION flood is cut at h2.fe.max-continuations", () =>
  attack(
    "",
    /h2: GOAWAY ENHANCE_YOUR_CALM: more than 16 CONTINUATION frames/,
    H2_ENHANCE_YOUR_CALM,
    async (c) => {
      await c.sendFrame(FT_HEADERS, 0, 1, c.block(getHeaders("/x")));
      for (let i = 0; i < 100; i++) {
        await c.sendFrame(FT_CONTINUATION, 0, 1, c.block([["x-a", "b"]]));
      }
    },
  ));

Deno.test("h2 attack: an endless header block is cut before it is stored", () =>
  attack(
    "  h2.fe.max-continuations: 1000",
    /h2: GOAWAY ENHANCE_YOUR_CALM: header block larger than tune\.h2\.max-header-list-size/,
    H2_ENHANCE_YOUR_CALM,
    async (c) => {
      await c.sendFrame(FT_HEADERS, 0, 1, c.block(getHeaders("/x")));
      const junk = new Uint8Array(16000).fill(0x82);
      for (let i = 0; i < 20; i++) await c.sendFrame(FT_CONTINUATION, 0, 1, junk);
    },
  ));

Deno.test("h2 attack: an HPACK bomb stops at h2.max-header-list-size", () =>
  attack(
    "",
    /h2: GOAWAY ENHANCE_YOUR_CALM: header list larger than tune\.h2\.max-header-list-size \(16384\)/,
    H2_ENHANCE_YOUR_CALM,
    async (c) => {
      // One 4 KB field in the table, then 4,000 one-byte references to it:
      // a 8 KB block that would decode to 16 MB.
      const enc = new HpackEncoder();
      const out = new Uint8Array(8192);
      let n = enc.encode(
        [":method", ":scheme", ":authority", ":path"],
        ["GET", "http", "a", "/"],
        4,
        out,
        0,
      );
      out[n++] = 0x40;
      out[n++] = 1;
      out[n++] = 0x78;
      n = HpackEncoder.writeInt(out, n, 4000, 7, 0);
      out.fill(0x61, n, n + 4000);
      n += 4000;
      const block = new Uint8Array(n + 4000);
      block.set(out.subarray(0, n));
      block.fill(0x80 | 62, n);
      await c.sendFrame(FT_HEADERS, FF_END_HEADERS | FF_END_STREAM, 1, block.subarray(0, 8000));
    },
  ));

Deno.test("h2 limit: a client that never acknowledges SETTINGS gets SETTINGS_TIMEOUT", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin, "  h2.settings-timeout: 300ms");
  try {
    const c = await H2RawClient.connect(p.port("fe"), [], true, false);
    assert.equal(await c.waitGoaway(), H2_SETTINGS_TIMEOUT);
    await c.waitClosed();
    c.close();
    await p.waitForLog(/h2: GOAWAY SETTINGS_TIMEOUT: no SETTINGS acknowledgement/, 10_000);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2 limit: an idle connection ends with GOAWAY NO_ERROR after timeout http-keep-alive", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin, "", `    timeout: { http-keep-alive: 300ms }`);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    await c.sendHeaders(1, getHeaders("/x"));
    assert.equal((await c.response(1)).status, 200);
    assert.equal(await c.waitGoaway(), H2_NO_ERROR);
    await c.waitClosed();
    c.close();
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2 memory: a client that never reads cannot make the proxy take a whole response", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    // 500 MB asked; no WINDOW_UPDATE ever sent: 65,535 bytes reach us.
    await c.sendHeaders(1, getHeaders("/big/500000000"));
    await new Promise((r) => setTimeout(r, 2000));
    const got = c.frames.filter((f) => f.type === FT_DATA).reduce(
      (n, f) => n + f.payload.length,
      0,
    );
    assert.equal(got, 65535);
    // The origin could only write what the socket buffers and a few proxy
    // buffers hold, far from the whole body.
    assert.ok(origin.produced.bytes < 64 * 1024 * 1024, `${origin.produced.bytes} bytes produced`);
    const stats = await fetch(`http://127.0.0.1:${p.port("plain")}/x`).then((r) => r.text());
    assert.equal(stats, "hello /x\n");
    c.close();
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2 memory: a fast uploader to a server that does not read is held by flow control", async () => {
  // A server that accepts and never reads.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const c of l) held.push(c);
    } catch { /* closed */ }
  })();
  const origin = { port: l.addr.port, seen: [], produced: { bytes: 0 }, close: async () => {} };
  const p = await h2Proxy(origin);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    await c.sendFrame(
      FT_HEADERS,
      FF_END_HEADERS,
      1,
      c.block([[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/up"]]),
    );
    // Send as much as the windows allow for 2 s.
    const chunk = new Uint8Array(16384);
    let sent = 0;
    const windowOf = (sid: number) =>
      65535 + c.frames.filter((f) => f.type === 0x8 && f.streamId === sid)
        .reduce(
          (n, f) =>
            n +
            ((f.payload[0]! << 24) | (f.payload[1]! << 16) | (f.payload[2]! << 8) | f.payload[3]!),
          0,
        );
    const end = Date.now() + 2000;
    while (Date.now() < end) {
      const room = Math.min(windowOf(0), windowOf(1)) - sent;
      if (room <= 0) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const n = Math.min(room, chunk.length);
      await c.sendData(1, chunk.subarray(0, n));
      sent += n;
    }
    // Whatever the socket buffers took, the proxy stopped granting window
    // long before the 2 s at full speed would have sent (hundreds of MB).
    assert.ok(sent < 64 * 1024 * 1024, `${sent} bytes accepted`);
    assert.ok(sent >= 65535);
    c.close();
  } finally {
    await p.stop();
    l.close();
    for (const h of held) h.close();
    await accepting;
  }
});

Deno.test("h2 fuzz: random frames never stop the proxy; other clients are served", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin);
  try {
    // A fixed seed: the same sequences every run.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 40; round++) {
      const c = await H2RawClient.connect(p.port("fe"));
      try {
        for (let i = 0; i < 20; i++) {
          const type = rnd(12);
          const len = rnd(4) === 0 ? rnd(300) : rnd(20);
          const payload = new Uint8Array(len);
          for (let k = 0; k < len; k++) payload[k] = rnd(256);
          await c.sendFrame(type, rnd(256), rnd(8), payload);
        }
      } catch { /* the proxy closed: fine */ }
      c.close();
    }
    await otherClientServed(p);
    assert.equal(p.exitStatus, null);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2 limit: a stream left idle mid-upload is answered 504 after timeout server, as in HTTP/1.1", async () => {
  const origin = startOrigin();
  const p = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 20s, server: 500ms }
  option: [httplog]
frontends:
  fe: { bind: "127.0.0.1:0 proto h2", default_backend: be }
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${origin.port}" } ] }
`);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    await c.sendHeaders(
      1,
      [[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/up"], [
        "content-length",
        "10",
      ]],
      false,
    );
    await c.sendData(1, new Uint8Array(3));
    const r = await c.response(1, 20_000);
    assert.equal(r.status, 504);
    const line = await p.waitForLog(/"POST \/up HTTP\/2\.0"/, 10_000);
    assert.match(line, / 504 .* sH-- /);
    // The connection itself goes on.
    await c.sendHeaders(3, getHeaders("/x"));
    assert.equal((await c.response(3)).status, 200);
    c.close();
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2 limit: a client that stops reading is not read either, and is closed after its timeouts", async () => {
  const origin = startOrigin();
  const p = await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 1s, server: 10s, http-keep-alive: 1s }
  option: [httplog]
frontends:
  fe: { bind: "127.0.0.1:0 proto h2", default_backend: be }
  plain: { bind: "127.0.0.1:0", default_backend: be, stats: { uri: /stats } }
backends:
  be: { servers: [ { name: s1, address: "127.0.0.1:${origin.port}" } ] }
`);
  try {
    // A raw socket that never reads: its receive buffer fills with a large
    // response, then it floods PINGs, which the proxy does not even read
    // (nothing it would answer could be sent).
    const s = await Deno.connect({ hostname: "127.0.0.1", port: p.port("fe") });
    const enc = new HpackEncoder();
    const hb = new Uint8Array(256);
    const n = enc.encode(
      [":method", ":scheme", ":authority", ":path"],
      ["GET", "http", "a", "/big/200000000"],
      4,
      hb,
      0,
    );
    const frames: number[] = [...new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")];
    frames.push(0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff); // initial window 2^31-1
    frames.push(0, 0, 4, 8, 0, 0, 0, 0, 0, 0x7f, 0xff, 0, 0); // connection window +2^31-65536-1
    frames.push(0, 0, n, 1, 5, 0, 0, 0, 1, ...hb.subarray(0, n));
    await s.write(Uint8Array.from(frames));
    await new Promise((r) => setTimeout(r, 1000));
    const ping = Uint8Array.of(0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8);
    for (let i = 0; i < 100; i++) await s.write(ping).catch(() => {});
    // The response's Stream ends on timeout client, the idle connection on
    // timeout http-keep-alive (its GOAWAY cannot be delivered: closed after
    // the grace), although the client never read anything.
    await pollUntil(
      async () => {
        const csv = await fetch(`http://127.0.0.1:${p.port("plain")}/stats;csv`).then((r) =>
          r.text()
        );
        const fe = csv.split("\n").find((l) => l.startsWith("fe,FRONTEND,"))!;
        return Number(fe.split(",")[4]) === 0 ? true : undefined;
      },
      15_000,
      "the flooding connection to be closed",
      100,
    );
    s.close();
  } finally {
    await p.stop();
    await origin.close();
  }
});
