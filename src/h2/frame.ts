// HTTP/2 frames (RFC 9113 §4, §6): types, flags, error codes, settings, the
// checks every frame must pass before its payload is read, and writers that
// serialize a frame into a caller's (pooled) buffer at an offset.
//
// Parsing never allocates: a frame header is read into a reused object and a
// payload is read in place. The checks return the RFC's error code and
// whether it is a connection error or a stream error; deciding what to do
// (GOAWAY, RST_STREAM, a log line) is the mux's. This file never holds a
// connection or a stream.

/** Size of a frame header. */
export const FRAME_HEADER_LEN = 9;

// Frame types (§6).
export const FT_DATA = 0x0;
export const FT_HEADERS = 0x1;
export const FT_PRIORITY = 0x2;
export const FT_RST_STREAM = 0x3;
export const FT_SETTINGS = 0x4;
export const FT_PUSH_PROMISE = 0x5;
export const FT_PING = 0x6;
export const FT_GOAWAY = 0x7;
export const FT_WINDOW_UPDATE = 0x8;
export const FT_CONTINUATION = 0x9;

const TYPE_NAMES = [
  "DATA",
  "HEADERS",
  "PRIORITY",
  "RST_STREAM",
  "SETTINGS",
  "PUSH_PROMISE",
  "PING",
  "GOAWAY",
  "WINDOW_UPDATE",
  "CONTINUATION",
];

export function frameTypeToString(t: number): string {
  return TYPE_NAMES[t] ?? `UNKNOWN(0x${t.toString(16)})`;
}

// Flags.
/** DATA, HEADERS: the last frame of the stream from this peer. */
export const FF_END_STREAM = 0x1;
/** SETTINGS, PING: an acknowledgement. */
export const FF_ACK = 0x1;
/** HEADERS, CONTINUATION: the header block ends here. */
export const FF_END_HEADERS = 0x4;
/** DATA, HEADERS: a pad length byte and padding are present. */
export const FF_PADDED = 0x8;
/** HEADERS: a priority block (5 bytes) is present. */
export const FF_PRIORITY = 0x20;

// Error codes (§7).
export const H2_NO_ERROR = 0x0;
export const H2_PROTOCOL_ERROR = 0x1;
export const H2_INTERNAL_ERROR = 0x2;
export const H2_FLOW_CONTROL_ERROR = 0x3;
export const H2_SETTINGS_TIMEOUT = 0x4;
export const H2_STREAM_CLOSED = 0x5;
export const H2_FRAME_SIZE_ERROR = 0x6;
export const H2_REFUSED_STREAM = 0x7;
export const H2_CANCEL = 0x8;
export const H2_COMPRESSION_ERROR = 0x9;
export const H2_CONNECT_ERROR = 0xa;
export const H2_ENHANCE_YOUR_CALM = 0xb;
export const H2_INADEQUATE_SECURITY = 0xc;
export const H2_HTTP_1_1_REQUIRED = 0xd;

const ERROR_NAMES = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

export function h2ErrorToString(code: number): string {
  return ERROR_NAMES[code] ?? `UNKNOWN(0x${code.toString(16)})`;
}

// Settings (§6.5.2).
export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

/** Smallest and largest SETTINGS_MAX_FRAME_SIZE (§6.5.2). */
export const MIN_MAX_FRAME_SIZE = 16384;
export const MAX_MAX_FRAME_SIZE = 16777215;
/** Largest flow-control window (§6.9.1). */
export const MAX_WINDOW = 0x7fffffff;
/** Window sizes before SETTINGS say otherwise (§6.9.2). */
export const DEFAULT_WINDOW = 65535;

/** The client connection preface (§3.4). */
export const PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** A frame header as read (reused: one per connection). */
export class FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;

  constructor() {
    this.length = 0;
    this.type = 0;
    this.flags = 0;
    this.streamId = 0;
  }
}

/** Reads the 9-byte frame header at `at` (the caller checked there are 9 bytes). */
export function readFrameHeader(b: Uint8Array, at: number, fh: FrameHeader): void {
  fh.length = (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
  fh.type = b[at + 3]!;
  fh.flags = b[at + 4]!;
  fh.streamId = readU31(b, at + 5);
}

/** A 31-bit value (the reserved bit ignored). */
export function readU31(b: Uint8Array, at: number): number {
  return ((b[at]! & 0x7f) * 0x1000000) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** A 32-bit value. */
export function readU32(b: Uint8Array, at: number): number {
  return (b[at]! * 0x1000000) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** The result of a frame check: 0 when fine, else an error code, with its scope. */
export const CHECK_OK = 0;

/**
 * Checks a frame's header against the size and stream-id rules of §4.2 and
 * §6 (before its payload is read). Returns CHECK_OK, or an error code; the
 * error is a connection error unless `streamError(fh)` says otherwise.
 * `maxFrameSize` is our SETTINGS_MAX_FRAME_SIZE.
 */
export function checkFrame(fh: FrameHeader, maxFrameSize: number): number {
  if (fh.length > maxFrameSize) return H2_FRAME_SIZE_ERROR;
  switch (fh.type) {
    case FT_DATA:
    case FT_HEADERS:
    case FT_CONTINUATION:
      return fh.streamId === 0 ? H2_PROTOCOL_ERROR : CHECK_OK;
    case FT_PRIORITY:
      if (fh.streamId === 0) return H2_PROTOCOL_ERROR;
      return fh.length !== 5 ? H2_FRAME_SIZE_ERROR : CHECK_OK;
    case FT_RST_STREAM:
      if (fh.streamId === 0) return H2_PROTOCOL_ERROR;
      return fh.length !== 4 ? H2_FRAME_SIZE_ERROR : CHECK_OK;
    case FT_SETTINGS:
      if (fh.streamId !== 0) return H2_PROTOCOL_ERROR;
      if ((fh.flags & FF_ACK) && fh.length !== 0) return H2_FRAME_SIZE_ERROR;
      return fh.length % 6 !== 0 ? H2_FRAME_SIZE_ERROR : CHECK_OK;
    case FT_PUSH_PROMISE:
      // A client never pushes (§8.4): it would be a server's frame.
      return H2_PROTOCOL_ERROR;
    case FT_PING:
      if (fh.streamId !== 0) return H2_PROTOCOL_ERROR;
      return fh.length !== 8 ? H2_FRAME_SIZE_ERROR : CHECK_OK;
    case FT_GOAWAY:
      if (fh.streamId !== 0) return H2_PROTOCOL_ERROR;
      return fh.length < 8 ? H2_FRAME_SIZE_ERROR : CHECK_OK;
    case FT_WINDOW_UPDATE:
      return fh.length !== 4 ? H2_FRAME_SIZE_ERROR : CHECK_OK;
    default:
      return CHECK_OK; // unknown types are ignored (§4.1)
  }
}

/** Whether a failed checkFrame() is a stream error (RST_STREAM) rather than a connection error. */
export function streamError(fh: FrameHeader, code: number): boolean {
  // PRIORITY of the wrong length: a stream error (§6.3).
  return fh.type === FT_PRIORITY && code === H2_FRAME_SIZE_ERROR;
}

/**
 * The payload of a DATA or HEADERS frame without padding (and without the
 * priority block of HEADERS): sets `span[0]` and `span[1]` to its bounds.
 * Returns false when the padding is as long as the payload or longer
 * (PROTOCOL_ERROR, §6.1, §6.2).
 */
export function framePayload(
  b: Uint8Array,
  at: number,
  fh: FrameHeader,
  span: Int32Array,
): boolean {
  let start = at, end = at + fh.length;
  if (fh.flags & FF_PADDED) {
    if (fh.length < 1) return false;
    const pad = b[start]!;
    start++;
    if (pad > end - start) return false;
    end -= pad;
  }
  if (fh.type === FT_HEADERS && (fh.flags & FF_PRIORITY)) {
    if (end - start < 5) return false;
    start += 5;
  }
  span[0] = start;
  span[1] = end;
  return true;
}

/** Writes a frame header; returns the offset after it. */
export function writeFrameHeader(
  out: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): number {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  writeU32(out, at + 5, streamId);
  return at + FRAME_HEADER_LEN;
}

export function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 24) & 0xff;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** SETTINGS with `pairs` (id, value, id, value...); returns the offset after it. */
export function writeSettings(out: Uint8Array, at: number, pairs: readonly number[]): number {
  at = writeFrameHeader(out, at, (pairs.length / 2) * 6, FT_SETTINGS, 0, 0);
  for (let i = 0; i < pairs.length; i += 2) {
    out[at] = (pairs[i]! >>> 8) & 0xff;
    out[at + 1] = pairs[i]! & 0xff;
    writeU32(out, at + 2, pairs[i + 1]!);
    at += 6;
  }
  return at;
}

export function writeSettingsAck(out: Uint8Array, at: number): number {
  return writeFrameHeader(out, at, 0, FT_SETTINGS, FF_ACK, 0);
}

/** PING (or its ACK) with the 8 opaque bytes at `src[from]`. */
export function writePing(
  out: Uint8Array,
  at: number,
  ack: boolean,
  src: Uint8Array,
  from: number,
): number {
  at = writeFrameHeader(out, at, 8, FT_PING, ack ? FF_ACK : 0, 0);
  out.set(src.subarray(from, from + 8), at);
  return at + 8;
}

export function writeGoaway(out: Uint8Array, at: number, lastId: number, code: number): number {
  at = writeFrameHeader(out, at, 8, FT_GOAWAY, 0, 0);
  writeU32(out, at, lastId);
  writeU32(out, at + 4, code);
  return at + 8;
}

export function writeRstStream(
  out: Uint8Array,
  at: number,
  streamId: number,
  code: number,
): number {
  at = writeFrameHeader(out, at, 4, FT_RST_STREAM, 0, streamId);
  writeU32(out, at, code);
  return at + 4;
}

export function writeWindowUpdate(
  out: Uint8Array,
  at: number,
  streamId: number,
  increment: number,
): number {
  at = writeFrameHeader(out, at, 4, FT_WINDOW_UPDATE, 0, streamId);
  writeU32(out, at, increment);
  return at + 4;
}
