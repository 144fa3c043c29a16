// Log lines (HAProxy's `log` keyword, cfgparse-global.c / log.c
// parse_logsrv()).
//
// A log target is written as HAProxy writes it, one string per target:
// `"127.0.0.1:514 local0 info"`, `"/dev/log len 2048 format rfc5424 daemon"`,
// `"stdout format raw local0"`. This file owns the parser of one such line
// and the tables of facilities, levels and formats; it returns the parsed
// target or an error message quoting the bad word (the validator adds
// file:line:col). Sluice additions: a bare `stdout` / `stderr` (no facility)
// is the raw line Sluice always wrote there, and `none` means no target.
// It never opens a socket (the logger does).

import type { GlobalConfig, LogFraming, LogTarget } from "./types.ts";
import { isIPv4, isIPv6 } from "./units.ts";

/** The 24 syslog facilities, in their numeric order (HAProxy's log_facilities). */
export const LOG_FACILITIES: readonly string[] = [
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "syslog",
  "lpr",
  "news",
  "uucp",
  "cron",
  "auth2",
  "ftp",
  "ntp",
  "audit",
  "alert",
  "cron2",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
];

/** The 8 syslog levels, most severe first (0 emerg .. 7 debug). */
export const LOG_LEVELS: readonly string[] = [
  "emerg",
  "alert",
  "crit",
  "err",
  "warning",
  "notice",
  "info",
  "debug",
];

/** The level of session lines (HAProxy logs traffic at "info"). */
export const LOG_INFO = 6;

/** The `format` values HAProxy 2.6 knows. */
export const LOG_FRAMINGS: readonly LogFraming[] = [
  "local",
  "rfc3164",
  "rfc5424",
  "priority",
  "short",
  "timed",
  "iso",
  "raw",
];

/** HAProxy's default line length for a target without `len`. */
export const LOG_DEFAULT_LEN = 1024;

/** A parsed `log` value: a target, `global` (the global targets) or `none`. */
export type LogLine = LogTarget | "global" | "none";

const SYSLOG_PORT = 514;

/**
 * Parses one `log` line. `inProxy`: a frontend or defaults line, where
 * `global` is accepted. Returns the target, "global", "none", or an error
 * message in `error`. A bare `stdout`/`stderr` is raw with no length limit; with a
 * facility it is HAProxy's `fd@1`/`fd@2` (default format `local`, `len`
 * 1024 unless given).
 */
export function parseLogLine(text: string, inProxy: boolean): LogLine | { error: string } {
  const r = parseLine(text, inProxy);
  return typeof r === "string" && r !== "global" && r !== "none" ? { error: r } : r;
}

function parseLine(text: string, inProxy: boolean): LogLine | string {
  const words = text.trim().split(/\s+/);
  const first = words[0] ?? "";
  if (words.length === 1 && first === "global") {
    return inProxy ? "global" : `"log global" is only valid in a frontend or in defaults`;
  }
  if (words.length === 1 && first === "none") return "none";
  const address = parseLogAddress(first);
  if (typeof address === "string") return address;
  const std = address.kind === "stdout" || address.kind === "stderr";
  if (words.length === 1 && std) return rawStd(address.kind);
  const t: LogTarget = {
    address,
    framing: "local",
    facility: -1,
    maxLevel: 7,
    minLevel: 0,
    len: LOG_DEFAULT_LEN,
    line: 0,
    col: 0,
  };
  let i = 1;
  for (; i < words.length; i += 2) {
    const w = words[i]!;
    const arg = words[i + 1];
    if (w === "len") {
      const n = arg !== undefined && /^\d{1,5}$/.test(arg) ? Number(arg) : NaN;
      if (!(n >= 80 && n <= 65535)) {
        return `invalid "len" value "${arg ?? ""}" (expected 80..65535)`;
      }
      t.len = n;
    } else if (w === "format") {
      if (arg === undefined || !(LOG_FRAMINGS as readonly string[]).includes(arg)) {
        return `unknown log format "${arg ?? ""}" (expected ${LOG_FRAMINGS.join(", ")})`;
      }
      t.framing = arg as LogFraming;
    } else if (w === "sample") {
      return `"sample" is not supported in log lines`;
    } else break;
  }
  const fac = words[i];
  if (fac === undefined) {
    return `missing facility after "${first}" (e.g. "${first} local0"; one of ${
      LOG_FACILITIES.join(", ")
    })`;
  }
  t.facility = LOG_FACILITIES.indexOf(fac);
  if (t.facility < 0) return `unknown log facility "${fac}"`;
  const max = words[i + 1];
  if (max !== undefined) {
    t.maxLevel = LOG_LEVELS.indexOf(max);
    if (t.maxLevel < 0) return `unknown log level "${max}" (expected ${LOG_LEVELS.join(", ")})`;
  }
  const min = words[i + 2];
  if (min !== undefined) {
    t.minLevel = LOG_LEVELS.indexOf(min);
    if (t.minLevel < 0) return `unknown log level "${min}" (expected ${LOG_LEVELS.join(", ")})`;
  }
  if (words.length > i + 3) return `unexpected "${words[i + 3]}" after the log levels`;
  return t;
}

/**
 * A log target's address: `stdout`, `stderr` (or `fd@1`, `fd@2`), an IP
 * literal with an optional UDP port (`udp@`, `udp4@`, `udp6@`, `ipv4@`,
 * `ipv6@` prefixes accepted; IPv6 in brackets when a port follows), or a
 * unix datagram socket path (`/dev/log`, `unix@/path`). Host names are
 * refused: a line per request must not wait for a resolver.
 */
export function parseLogAddress(s: string): LogTarget["address"] | string {
  if (s === "stdout" || s === "fd@1") return { kind: "stdout" };
  if (s === "stderr" || s === "fd@2") return { kind: "stderr" };
  if (s.startsWith("/")) return { kind: "unix", path: s };
  if (s.startsWith("unix@")) {
    const path = s.slice(5);
    return path === "" ? `missing path in "${s}"` : { kind: "unix", path };
  }
  if (s.startsWith("ring@") || s.startsWith("fd@")) return `unsupported log target "${s}"`;
  const at = /^(udp[46]?|ipv[46])@/.exec(s);
  const rest = at === null ? s : s.slice(at[0].length);
  let host = rest;
  let port = SYSLOG_PORT;
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end < 0) return `missing "]" in "${s}"`;
    host = rest.slice(1, end);
    const tail = rest.slice(end + 1);
    if (tail !== "") {
      if (!/^:\d{1,5}$/.test(tail)) return `invalid port in log address "${s}"`;
      port = Number(tail.slice(1));
    }
  } else if (!isIPv6(rest)) {
    const colon = rest.lastIndexOf(":");
    if (colon >= 0) {
      host = rest.slice(0, colon);
      const p = rest.slice(colon + 1);
      if (!/^\d{1,5}$/.test(p)) return `invalid port in log address "${s}"`;
      port = Number(p);
    }
  }
  if (port < 1 || port > 65535) return `invalid port in log address "${s}" (expected 1..65535)`;
  if (isIPv4(host)) return { kind: "tcp", host, port, family: 4 };
  if (isIPv6(host)) return { kind: "tcp", host, port, family: 6 };
  return `invalid log target "${s}" (expected stdout, stderr, an IP address[:port] or a unix socket path)`;
}

/** A bare `stdout` / `stderr` target: the raw line, no length limit. */
function rawStd(kind: "stdout" | "stderr"): LogTarget {
  return {
    address: { kind },
    framing: "raw",
    facility: 16,
    maxLevel: 7,
    minLevel: 0,
    len: 0,
    line: 0,
    col: 0,
  };
}

/** The targets of `global.log`, short spellings expanded ("none": no target). */
export function logTargetList(log: GlobalConfig["log"]): readonly LogTarget[] {
  if (typeof log !== "string") return log;
  return log === "none" ? [] : [rawStd(log)];
}
