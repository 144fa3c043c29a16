// HTTP/2 frames (src/h2/frame.ts): header round trip, the size and
// stream-id checks of RFC 9113 §4.2 and §6 for every frame type, padding.

import assert from "node:assert/strict";
import {
  checkFrame,
  FF_ACK,
  FF_PADDED,
  FF_PRIORITY,
  FrameHeader,
  framePayload,
  FT_CONTINUATION,
  FT_DATA,
  FT_GOAWAY,
  FT_HEADERS,
  FT_PING,
  FT_PRIORITY,
  FT_PUSH_PROMISE,
  FT_RST_STREAM,
  FT_SETTINGS,
  FT_WINDOW_UPDATE,
  H2_FRAME_SIZE_ERROR,
  H2_PROTOCOL_ERROR,
  readFrameHeader,
  streamError,
  writeFrameHeader,
  writeGoaway,
  writeRstStream,
  writeSettings,
  writeWindowUpdate,
} from "../../src/h2/frame.ts";

function fh(type: number, length: number, streamId: number, flags = 0): FrameHeader {
  const h = new FrameHeader();
  h.type = type;
  h.length = length;
  h.streamId = streamId;
  h.flags = flags;
  return h;
}

Deno.test("frame: a header round trips, the reserved bit is ignored", () => {
  const b = new Uint8Array(9);
  writeFrameHeader(b, 0, 0x123456, FT_HEADERS, 0x25, 0x7fffffff);
  const h = new FrameHeader();
  readFrameHeader(b, 0, h);
  assert.deepEqual([h.length, h.type, h.flags, h.streamId], [
    0x123456,
    FT_HEADERS,
    0x25,
    0x7fffffff,
  ]);
  b[5] = b[5]! | 0x80;
  readFrameHeader(b, 0, h);
  assert.equal(h.streamId, 0x7fffffff);
});

Deno.test("frame: checkFrame() applies §4.2 and §6 to every type", () => {
  const cases: [string, FrameHeader, number][] = [
    ["DATA on 0", fh(FT_DATA, 1, 0), H2_PROTOCOL_ERROR],
    ["DATA over max size", fh(FT_DATA, 16385, 1), H2_FRAME_SIZE_ERROR],
    ["HEADERS on 0", fh(FT_HEADERS, 1, 0), H2_PROTOCOL_ERROR],
    ["PRIORITY on 0", fh(FT_PRIORITY, 5, 0), H2_PROTOCOL_ERROR],
    ["PRIORITY of 4", fh(FT_PRIORITY, 4, 1), H2_FRAME_SIZE_ERROR],
    ["RST_STREAM on 0", fh(FT_RST_STREAM, 4, 0), H2_PROTOCOL_ERROR],
    ["RST_STREAM of 5", fh(FT_RST_STREAM, 5, 1), H2_FRAME_SIZE_ERROR],
    ["SETTINGS on 1", fh(FT_SETTINGS, 0, 1), H2_PROTOCOL_ERROR],
    ["SETTINGS ACK with payload", fh(FT_SETTINGS, 6, 0, FF_ACK), H2_FRAME_SIZE_ERROR],
    ["SETTINGS of 7", fh(FT_SETTINGS, 7, 0), H2_FRAME_SIZE_ERROR],
    ["PUSH_PROMISE from a client", fh(FT_PUSH_PROMISE, 4, 1), H2_PROTOCOL_ERROR],
    ["PING on 1", fh(FT_PING, 8, 1), H2_PROTOCOL_ERROR],
    ["PING of 9", fh(FT_PING, 9, 0), H2_FRAME_SIZE_ERROR],
    ["GOAWAY on 1", fh(FT_GOAWAY, 8, 1), H2_PROTOCOL_ERROR],
    ["GOAWAY of 7", fh(FT_GOAWAY, 7, 0), H2_FRAME_SIZE_ERROR],
    ["WINDOW_UPDATE of 3", fh(FT_WINDOW_UPDATE, 3, 0), H2_FRAME_SIZE_ERROR],
    ["CONTINUATION on 0", fh(FT_CONTINUATION, 1, 0), H2_PROTOCOL_ERROR],
  ];
  for (const [what, h, code] of cases) assert.equal(checkFrame(h, 16384), code, what);
  for (
    const ok of [
      fh(FT_DATA, 16384, 1),
      fh(FT_SETTINGS, 12, 0),
      fh(FT_SETTINGS, 0, 0, FF_ACK),
      fh(FT_PING, 8, 0),
      fh(FT_GOAWAY, 20, 0),
      fh(FT_WINDOW_UPDATE, 4, 3),
      fh(0x42, 100, 7),
    ]
  ) assert.equal(checkFrame(ok, 16384), 0);
  // Only PRIORITY's bad length is a stream error.
  assert.equal(streamError(fh(FT_PRIORITY, 4, 1), H2_FRAME_SIZE_ERROR), true);
  assert.equal(streamError(fh(FT_RST_STREAM, 5, 1), H2_FRAME_SIZE_ERROR), false);
});

Deno.test("frame: padding and the priority block are taken off the payload", () => {
  const span = new Int32Array(2);
  const b = Uint8Array.of(2, 0x61, 0x62, 0, 0);
  assert.equal(framePayload(b, 0, fh(FT_DATA, 5, 1, FF_PADDED), span), true);
  assert.deepEqual([span[0], span[1]], [1, 3]);
  assert.equal(
    framePayload(Uint8Array.of(4, 1, 2, 3), 0, fh(FT_DATA, 4, 1, FF_PADDED), span),
    false,
  );
  assert.equal(framePayload(new Uint8Array(0), 0, fh(FT_DATA, 0, 1, FF_PADDED), span), false);
  const hp = Uint8Array.of(1, 0, 0, 0, 3, 16, 0x82, 0);
  assert.equal(framePayload(hp, 0, fh(FT_HEADERS, 8, 1, FF_PADDED | FF_PRIORITY), span), true);
  assert.deepEqual([span[0], span[1]], [6, 7]);
  assert.equal(
    framePayload(Uint8Array.of(0, 0), 0, fh(FT_HEADERS, 2, 1, FF_PRIORITY), span),
    false,
  );
});

Deno.test("frame: writers produce the RFC's layouts", () => {
  const b = new Uint8Array(64);
  let n = writeSettings(b, 0, [4, 100, 3, 7]);
  assert.deepEqual(Array.from(b.subarray(0, n)), [
    0,
    0,
    12,
    FT_SETTINGS,
    0,
    0,
    0,
    0,
    0,
    0,
    4,
    0,
    0,
    0,
    100,
    0,
    3,
    0,
    0,
    0,
    7,
  ]);
  n = writeGoaway(b, 0, 5, 0xb);
  assert.deepEqual(Array.from(b.subarray(9, n)), [0, 0, 0, 5, 0, 0, 0, 0xb]);
  n = writeRstStream(b, 0, 3, 8);
  assert.deepEqual(Array.from(b.subarray(0, n)), [
    0,
    0,
    4,
    FT_RST_STREAM,
    0,
    0,
    0,
    0,
    3,
    0,
    0,
    0,
    8,
  ]);
  n = writeWindowUpdate(b, 0, 0, 65535);
  assert.deepEqual(Array.from(b.subarray(9, n)), [0, 0, 0xff, 0xff]);
});
