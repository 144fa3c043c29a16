// Frames on streams that are no longer open (RFC 9113 §5.1, §5.1.1): the
// ones a client sent before it saw our RST_STREAM are ignored, not answered
// frame for frame (a client could make the proxy write a reset for every
// frame it sent), and they count as empty frames; a closed stream reused,
// or a new stream id below the last one, ends the connection.

import assert from "node:assert/strict";
import {
  FF_END_HEADERS,
  FT_HEADERS,
  FT_PING,
  FT_RST_STREAM,
  H2_ENHANCE_YOUR_CALM,
  H2_PROTOCOL_ERROR,
  H2_STREAM_CLOSED,
} from "../../../src/h2/frame.ts";
import { getHeaders, H2RawClient } from "../../_helpers/h2_client.ts";
import { SharedH2Proxy } from "./_h2.ts";

/** One proxy for the file, its empty-frame limit lowered to 50 a second. */
const shared = new SharedH2Proxy("  h2.fe.max-empty-frames-per-sec: 50");
const port = () => shared.port();

/** A request with a connection-specific header: malformed, reset with PROTOCOL_ERROR. */
function malformed(c: H2RawClient, sid: number): Promise<void> {
  return c.sendFrame(
    FT_HEADERS,
    FF_END_HEADERS,
    sid,
    c.block([...getHeaders("/up"), ["connection", "x"]]),
  );
}

/** RST_STREAM frames received for `sid` so far. */
function resets(c: H2RawClient, sid: number): number {
  return c.frames.filter((f) => f.type === FT_RST_STREAM && f.streamId === sid).length;
}

Deno.test("RFC 9113 §5.1: DATA and trailers the client sent on a stream the proxy reset are ignored", async () => {
  const c = await H2RawClient.connect(await port());
  try {
    await malformed(c, 1);
    assert.equal(await c.waitReset(1), H2_PROTOCOL_ERROR);
    // The body and trailers the client had queued, under the flood limit.
    for (let i = 0; i < 30; i++) await c.sendData(1, new Uint8Array(1));
    await c.sendHeaders(1, [["x-trailer", "1"]], true);
    // A PING after them: its ACK comes once they were all read.
    await c.sendPing(Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9));
    await c.waitFrame((f) => f.type === FT_PING && f.payload[0] === 9);
    assert.equal(resets(c, 1), 1, "one RST_STREAM, not one per frame");
    // The connection goes on.
    await c.sendHeaders(3, getHeaders("/after"));
    assert.equal((await c.response(3)).status, 200);
  } finally {
    c.close();
  }
});

Deno.test("RFC 9113 §5.1: a flood of frames on a reset stream ends the connection with ENHANCE_YOUR_CALM", async () => {
  const c = await H2RawClient.connect(await port());
  const p = shared.proxy!;
  const from = p.logs.length;
  try {
    await malformed(c, 1);
    assert.equal(await c.waitReset(1), H2_PROTOCOL_ERROR);
    for (let i = 0; i < 200 && !c.closed; i++) {
      await c.sendData(1, new Uint8Array(1)).catch(() => {});
    }
    assert.equal(await c.waitGoaway(), H2_ENHANCE_YOUR_CALM);
    await c.waitClosed();
    assert.equal(resets(c, 1), 1);
    await p.waitForLog(
      /frames on reset streams flood \(tune\.h2\.fe\.max-empty-frames-per-sec\)/,
      5_000,
      from,
    );
  } finally {
    c.close();
  }
});

Deno.test("RFC 9113 §5.1: DATA on a stream that ended normally is a connection error STREAM_CLOSED", async () => {
  const c = await H2RawClient.connect(await port());
  try {
    await c.sendHeaders(1, getHeaders("/x"));
    assert.equal((await c.response(1)).status, 200);
    await c.sendData(1, new Uint8Array(1));
    assert.equal(await c.waitGoaway(), H2_STREAM_CLOSED);
    await c.waitClosed();
    assert.equal(resets(c, 1), 0);
  } finally {
    c.close();
  }
});

Deno.test("RFC 9113 §5.1.1: HEADERS on a stream id below the last one is a connection error PROTOCOL_ERROR", async () => {
  for (const reused of [false, true]) {
    const c = await H2RawClient.connect(await port());
    try {
      await c.sendHeaders(5, getHeaders("/x"));
      assert.equal((await c.response(5)).status, 200);
      // A lower id never used, or the finished stream's own id.
      await c.sendHeaders(reused ? 5 : 3, getHeaders("/x"));
      assert.equal(await c.waitGoaway(), H2_PROTOCOL_ERROR);
      await c.waitClosed();
      assert.equal(c.frames.filter((f) => f.type === FT_RST_STREAM).length, 0);
    } finally {
      c.close();
    }
  }
});

Deno.test("h2 closed streams: close the shared proxy", async () => {
  await shared.close();
});
