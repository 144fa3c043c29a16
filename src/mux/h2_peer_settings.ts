// A client's SETTINGS frame read and checked (RFC 9113 §6.5.2): the values
// the mux applies, or the connection error a bad value is. Unknown settings
// and those that concern a server only as a sender of pushes
// (MAX_CONCURRENT_STREAMS) or of requests (MAX_HEADER_LIST_SIZE) are
// ignored.

import {
  H2_FLOW_CONTROL_ERROR,
  H2_PROTOCOL_ERROR,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW,
  MIN_MAX_FRAME_SIZE,
  readU32,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_FRAME_SIZE,
} from "../h2/frame.ts";

/** The values of one SETTINGS frame (-1: not in it; the last one given wins). */
export class PeerSettings {
  headerTableSize: number;
  initialWindowSize: number;
  maxFrameSize: number;
  /** The error code of a bad value (0: none) and why. */
  error: number;
  why: string;

  constructor() {
    this.headerTableSize = -1;
    this.initialWindowSize = -1;
    this.maxFrameSize = -1;
    this.error = 0;
    this.why = "";
  }
}

/** Reads the settings of the payload `b[at, at + len)` into `out`; false on a bad value. */
export function readPeerSettings(
  b: Uint8Array,
  at: number,
  len: number,
  out: PeerSettings,
): boolean {
  out.headerTableSize = out.initialWindowSize = out.maxFrameSize = -1;
  out.error = 0;
  for (let p = at; p < at + len; p += 6) {
    const id = (b[p]! << 8) | b[p + 1]!;
    const v = readU32(b, p + 2);
    if (id === SETTINGS_HEADER_TABLE_SIZE) out.headerTableSize = v;
    else if (id === SETTINGS_ENABLE_PUSH && v > 1) {
      return fail(out, H2_PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1");
    } else if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
      if (v > MAX_WINDOW) {
        return fail(out, H2_FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE too large");
      }
      out.initialWindowSize = v;
    } else if (id === SETTINGS_MAX_FRAME_SIZE) {
      if (v < MIN_MAX_FRAME_SIZE || v > MAX_MAX_FRAME_SIZE) {
        return fail(out, H2_PROTOCOL_ERROR, "invalid SETTINGS_MAX_FRAME_SIZE");
      }
      out.maxFrameSize = v;
    }
  }
  return true;
}

function fail(out: PeerSettings, code: number, why: string): boolean {
  out.error = code;
  out.why = why;
  return false;
}
