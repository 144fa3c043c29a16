// HTTP/2 message rules (RFC 9113 §8, ../shared/HTTP_RULES.md): a malformed
// request is reset with PROTOCOL_ERROR, logged with its reason, and never
// reaches a server; the same connection goes on serving valid requests.

import assert from "node:assert/strict";
import { H2_PROTOCOL_ERROR } from "../../../src/h2/frame.ts";
import { getHeaders, H2RawClient } from "../../_helpers/h2_client.ts";
import { h2Proxy, startOrigin } from "./_h2.ts";

const BASE: [string, string][] = [[":method", "GET"], [":scheme", "http"], [
  ":authority",
  "example.test",
]];

const CASES: [string, [string, string][], RegExp][] = [
  ["missing :path", [...BASE], /missing ":path"/],
  ["missing :method", [[":scheme", "http"], [":path", "/m1"]], /missing ":method"/],
  ["missing :scheme", [[":method", "GET"], [":path", "/m2"]], /missing ":scheme"/],
  ["duplicate :path", [...BASE, [":path", "/m3"], [":path", "/m3"]], /duplicate ":path"/],
  ["unknown pseudo-header", [...BASE, [":path", "/m4"], [":foo", "x"]], /unknown pseudo-header/],
  ["response pseudo-header", [...BASE, [":path", "/m5"], [":status", "200"]], /unknown pseudo/],
  ["pseudo after regular", [[":method", "GET"], ["x-a", "1"], [":path", "/m6"]], /after a regular/],
  ["uppercase name", [...BASE, [":path", "/m7"], ["X-Upper", "1"]], /invalid header name/],
  [
    "connection header",
    [...BASE, [":path", "/m8"], ["connection", "close"]],
    /connection-specific/,
  ],
  ["keep-alive header", [...BASE, [":path", "/m9"], ["keep-alive", "5"]], /connection-specific/],
  [
    "transfer-encoding",
    [...BASE, [":path", "/m10"], ["transfer-encoding", "chunked"]],
    /connection-specific/,
  ],
  ["upgrade", [...BASE, [":path", "/m11"], ["upgrade", "websocket"]], /connection-specific/],
  ["te other than trailers", [...BASE, [":path", "/m12"], ["te", "gzip"]], /"te: gzip"/],
  ["CR in a value", [...BASE, [":path", "/m13"], ["x-a", "a\rb"]], /invalid value/],
  ["value with leading space", [...BASE, [":path", "/m14"], ["x-a", " a"]], /invalid value/],
  [
    "bad content-length",
    [...BASE, [":path", "/m15"], ["content-length", "+5"]],
    /invalid content-length/,
  ],
  ["two content-lengths", [[":method", "POST"], ...BASE.slice(1), [":path", "/m16"], [
    "content-length",
    "1",
  ], ["content-length", "2"]], /content-length given twice/],
  [
    "host differs from :authority",
    [...BASE, [":path", "/m17"], ["host", "other.test"]],
    /differs from :authority/,
  ],
  ["userinfo in :authority", [[":method", "GET"], [":scheme", "http"], [":authority", "u@h"], [
    ":path",
    "/m18",
  ]], /userinfo/],
  ["space in :path", [...BASE, [":path", "/m 19"]], /invalid character in :path/],
  ["relative :path", [...BASE, [":path", "m20"]], /invalid :path/],
  [
    "CONNECT with :path",
    [[":method", "CONNECT"], [":authority", "h:443"], [":path", "/"]],
    /":path" in a CONNECT request/,
  ],
];

Deno.test("h2 rules: each malformed request is RST_STREAM PROTOCOL_ERROR, logged, never forwarded", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(origin);
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    let sid = 1;
    for (const [what, headers, why] of CASES) {
      await c.sendHeaders(sid, headers);
      assert.equal(await c.waitReset(sid), H2_PROTOCOL_ERROR, what);
      await p.waitForLog(
        new RegExp(
          `h2: stream ${sid} malformed request, reset \\(PROTOCOL_ERROR\\): .*${why.source}`,
        ),
        10_000,
      );
      sid += 2;
    }
    // The connection still serves a valid request, with te: trailers allowed.
    await c.sendHeaders(sid, getHeaders("/ok", [["te", "trailers"]]));
    const r = await c.response(sid);
    assert.equal(r.status, 200);
    c.close();
    // Not one malformed request reached the server.
    assert.deepEqual(origin.seen, ["GET /ok"]);
  } finally {
    await p.stop();
    await origin.close();
  }
});

Deno.test("h2 rules: response headers a server sends for HTTP/1.1 only are not sent over HTTP/2", async () => {
  const origin = startOrigin();
  const p = await h2Proxy(
    origin,
    "",
    `    http-response: ["set-header connection keep-alive", "set-header keep-alive timeout=5", "set-header x-kept yes"]`,
  );
  try {
    const c = await H2RawClient.connect(p.port("fe"));
    await c.sendHeaders(1, getHeaders("/x"));
    const r = await c.response(1);
    c.close();
    const names = r.headers.map((h) => h[0]);
    assert.equal(r.status, 200);
    assert.ok(names.includes("x-kept"));
    assert.ok(!names.includes("connection") && !names.includes("keep-alive"), names.join(","));
    assert.ok(names.every((n) => n === n.toLowerCase()));
  } finally {
    await p.stop();
    await origin.close();
  }
});
