// Channel flags (HAProxy's channel-t.h CF_* bits).
//
// A channel carries bytes in one direction: `req` from client to server,
// `res` from server to client. These flags are set by the stream interfaces
// (I/O results) and by processStream() (decisions); each has a one-line
// meaning. This file holds only constants and the stringifier.

/** The producer side has shut (FIN or error): no more data will be read. */
export const CF_SHUTR = 0x0001;
// 0x0002 was CF_SHUTR_NOW (a requested read shutdown): Sluice shuts reads at once.
/** The consumer side has been shut: nothing more can be written. */
export const CF_SHUTW = 0x0004;
/** A write shutdown is requested; executed once the buffer is empty. */
export const CF_SHUTW_NOW = 0x0008;
/** The last read returned end of stream (FIN received). */
export const CF_READ_NULL = 0x0010;
/** A read failed (reset, or other socket error). */
export const CF_READ_ERROR = 0x0020;
/** A write failed (the peer reset or went away). */
export const CF_WRITE_ERROR = 0x0040;
/** The read side timed out. */
export const CF_READ_TIMEOUT = 0x0080;
/** The write side timed out. */
export const CF_WRITE_TIMEOUT = 0x0100;
/** A SHUTR automatically requests a SHUTW on the other side (TCP/tunnel forwarding). */
export const CF_AUTO_CLOSE = 0x0200;
/** Reads are paused by an analyser (e.g. a complete HTTP head is being processed). */
export const CF_DONT_READ = 0x0400;
/** Some data was read since the flag was last cleared. */
export const CF_READ_PARTIAL = 0x0800;
/** Some data was written since the flag was last cleared. */
export const CF_WRITE_PARTIAL = 0x1000;
/** The channel must not be read until a buffer is available (pool limit hit). */
export const CF_WAIT_BUFFER = 0x2000;

// Analysers (HAProxy's AN_* bits of channel-t.h): which analysers a channel
// still needs; each clears its own bit when done. The order they run in is
// the table in stream/analysers.ts.

/** Wait for a complete request head and parse it. */
export const AN_REQ_WAIT_HTTP = 0x0001;
/** Frontend http-request rules. */
export const AN_REQ_HTTP_PROCESS_FE = 0x0002;
/** use_backend / default_backend. */
export const AN_REQ_SWITCHING_RULES = 0x0004;
/** Backend http-request rules, forwardfor, head commit, server request. */
export const AN_REQ_HTTP_PROCESS_BE = 0x0008;
/** Forward the request body. */
export const AN_REQ_HTTP_XFER_BODY = 0x0010;
/** Frontend `tcp-request content` rules (TCP mode), until inspect-delay. */
export const AN_REQ_INSPECT_FE = 0x0020;
/** use_backend / default_backend in TCP mode (tcp/tcp_inspect.ts). */
export const AN_REQ_TCP_SWITCHING = 0x0040;
/** Backend `tcp-request content` rules and use-server, then connect (TCP mode). */
export const AN_REQ_INSPECT_BE = 0x0080;
/** Wait for a complete response head and parse it. */
export const AN_RES_WAIT_HTTP = 0x0100;
/** http-response rules (backend, then frontend), connection mode, head commit. */
export const AN_RES_HTTP_PROCESS_BE = 0x0200;
/** Forward the response body; ends the transaction. */
export const AN_RES_HTTP_XFER_BODY = 0x0400;

export const AN_REQ_ALL_HTTP = AN_REQ_WAIT_HTTP | AN_REQ_HTTP_PROCESS_FE | AN_REQ_SWITCHING_RULES |
  AN_REQ_HTTP_PROCESS_BE | AN_REQ_HTTP_XFER_BODY;
export const AN_RES_ALL_HTTP = AN_RES_WAIT_HTTP | AN_RES_HTTP_PROCESS_BE | AN_RES_HTTP_XFER_BODY;

/** Analyser result: stop here until the next wake. */
export const ANA_WAIT = 0;
/** Analyser result: run the next one. */
export const ANA_CONTINUE = 1;
/** Analyser result: it ended the stream (e.g. after an error reply). */
export const ANA_ABORT = -1;

/** toForward value meaning "forward everything, forever" (a tunnel). */
export const CHN_INFINITE_FORWARD = Number.MAX_SAFE_INTEGER;

const NAMES: Array<[number, string]> = [
  [CF_SHUTR, "SHUTR"],
  [CF_SHUTW, "SHUTW"],
  [CF_SHUTW_NOW, "SHUTW_NOW"],
  [CF_READ_NULL, "READ_NULL"],
  [CF_READ_ERROR, "READ_ERROR"],
  [CF_WRITE_ERROR, "WRITE_ERROR"],
  [CF_READ_TIMEOUT, "READ_TIMEOUT"],
  [CF_WRITE_TIMEOUT, "WRITE_TIMEOUT"],
  [CF_AUTO_CLOSE, "AUTO_CLOSE"],
  [CF_DONT_READ, "DONT_READ"],
  [CF_READ_PARTIAL, "READ_PARTIAL"],
  [CF_WRITE_PARTIAL, "WRITE_PARTIAL"],
  [CF_WAIT_BUFFER, "WAIT_BUFFER"],
];

/** Human-readable flag list, e.g. "SHUTR|AUTO_CLOSE", for debug output. */
export function channelFlagsToString(flags: number): string {
  const out: string[] = [];
  for (const [bit, name] of NAMES) if (flags & bit) out.push(name);
  return out.join("|") || "0";
}

const AN_NAMES: Array<[number, string]> = [
  [AN_REQ_WAIT_HTTP, "REQ_WAIT_HTTP"],
  [AN_REQ_HTTP_PROCESS_FE, "REQ_HTTP_PROCESS_FE"],
  [AN_REQ_SWITCHING_RULES, "REQ_SWITCHING_RULES"],
  [AN_REQ_HTTP_PROCESS_BE, "REQ_HTTP_PROCESS_BE"],
  [AN_REQ_HTTP_XFER_BODY, "REQ_HTTP_XFER_BODY"],
  [AN_REQ_INSPECT_FE, "REQ_INSPECT_FE"],
  [AN_REQ_TCP_SWITCHING, "REQ_TCP_SWITCHING"],
  [AN_REQ_INSPECT_BE, "REQ_INSPECT_BE"],
  [AN_RES_WAIT_HTTP, "RES_WAIT_HTTP"],
  [AN_RES_HTTP_PROCESS_BE, "RES_HTTP_PROCESS_BE"],
  [AN_RES_HTTP_XFER_BODY, "RES_HTTP_XFER_BODY"],
];

export function analysersToString(an: number): string {
  const out: string[] = [];
  for (const [bit, name] of AN_NAMES) if (an & bit) out.push(name);
  return out.join("|") || "0";
}

// Note about invariants: SHUTW implies no more writes; SHUTW_NOW is only
// turned into SHUTW when the channel holds no byte (nothing read is ever
// dropped); a channel never reads into a full buffer.
