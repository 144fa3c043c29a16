// Types the log subsystem shares with the layers above it.
//
// Only interfaces: what a compiled line format offers the stream, and the
// counters the logger keeps for the stats page and the runtime API.

import type { LogContext } from "./log_format.ts";
import type { LineBuf } from "./line_buf.ts";

/**
 * A compiled session line format: HAProxy's log-format (log_format.ts) or
 * the JSON line (log_json.ts). Compiled once at startup; `write` puts the
 * whole line (without a newline) into the logger's line buffer once per
 * logged session or request.
 */
export interface LogLineFormat {
  /** The configured text (`json` for the JSON line). */
  readonly source: string;
  write(c: LogContext, out: LineBuf): void;
  /** The line as text (tests). */
  render(c: LogContext): string;
}

/**
 * Messages the logger handed to its targets (HAProxy's `show info`
 * `DroppedLogs`). A line sent to two targets counts twice.
 */
export interface LogCounters {
  /** Messages fully written to their target (stdout/stderr) or sent (datagram). */
  sent: number;
  /**
   * Messages dropped: the target's queue was full (a stalled reader), its
   * write failed (stdout closed, no syslog socket), or it was still queued
   * when the process exited.
   */
  dropped: number;
}

// Note about invariants: sent + dropped + (messages still queued) equals the
// messages offered to targets; a message is counted once, when its fate is
// known. The counters only grow (no `clear counters` on them, as HAProxy).
