// Resolution of `global: { stats: ... }`, the runtime API socket (HAProxy's
// `stats socket <addr> mode <m> level <l>`, `stats timeout`, `stats maxconn`).
//
// The validator has already checked each key's kind and bounds; this file
// reads the socket address (a unix path, or a TCP address that must be a
// loopback one: the API can change every server, so it is never exposed on
// the network) and the octal mode. It never reads YAML and never opens the
// socket (src/cli/ does).

import type { Address, CliLevel, StatsSocketConfig } from "./types.ts";
import { parseAddress } from "./units.ts";
import type { Reporter, Section, Val } from "./validate.ts";

/** HAProxy's defaults: operator level, 10 s idle timeout, 10 connections, mode 600. */
export const STATS_SOCKET_DEFAULTS = {
  mode: 0o600,
  level: "operator" as CliLevel,
  timeout: 10_000,
  maxconn: 10,
};

/**
 * The socket configuration of a validated `stats` section, or undefined when
 * its `socket` is refused (reported at its position). A path is a path
 * whether written "/run/x.sock" or "unix@/run/x.sock"; a TCP address may be
 * prefixed "ipv4@"/"ipv6@" as in HAProxy and must be 127.0.0.0/8 or ::1.
 */
export function resolveStatsSocket(sec: Section, rep: Reporter): StatsSocketConfig | undefined {
  let mode = STATS_SOCKET_DEFAULTS.mode;
  const m = sec.values.get("mode") as Val<number> | undefined;
  if (m !== undefined) {
    const text = String(m.value);
    if (!/^[0-7]{1,3}$/.test(text)) {
      rep.error(m, `mode must be octal digits (e.g. 600), got ${text}`);
    } else mode = parseInt(text, 8);
  }
  const sock = sec.values.get("socket") as Val<string> | undefined;
  if (sock === undefined) return undefined;
  const address = socketAddress(sock.value);
  if (typeof address === "string") {
    rep.error(sock, address);
    return undefined;
  }
  const v = <T>(k: string) => (sec.values.get(k) as Val<T> | undefined)?.value;
  return {
    address,
    mode,
    level: v<CliLevel>("level") ?? STATS_SOCKET_DEFAULTS.level,
    timeout: v<number>("timeout") ?? STATS_SOCKET_DEFAULTS.timeout,
    maxconn: v<number>("maxconn") ?? STATS_SOCKET_DEFAULTS.maxconn,
  };
}

/** Parses a socket address; a string is the error. */
export function socketAddress(s: string): Address | string {
  if (s.startsWith("/")) return { kind: "unix", path: s };
  if (s.startsWith("unix@")) return parseAddress(s, false);
  const text = s.replace(/^ipv[46]@/, "");
  const a = parseAddress(text, true); // as a bind: port 0 lets the system choose
  if (typeof a === "string") return a;
  if (a.kind === "tcp" && !(a.family === 4 ? a.host.startsWith("127.") : a.host === "::1")) {
    return `the stats socket listens on loopback only (127.0.0.1 or [::1]), got "${s}"`;
  }
  return a;
}
