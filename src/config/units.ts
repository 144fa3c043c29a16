// Units of the configuration: durations, sizes, addresses and host names.
//
// This file owns the text forms of values that are not YAML types of their
// own: "5s", "16k", "127.0.0.1:8080", "[::1]:8080", "unix@/run/x.sock". It
// turns them into numbers (milliseconds, bytes) and Address objects, and never
// reports issues itself: parsers return null or an error message and the
// validator (validate.ts) attaches file:line:col and the key path. It mirrors
// HAProxy's parse_time_err(), parse_size_err() and str2sa_range() (tools.c).

import type { Address } from "./types.ts";

/** Largest timeout HAProxy accepts: timers are signed 32-bit milliseconds. */
export const MAX_DURATION_MS = 2147483647;

/** Milliseconds per duration unit. "us" is handled apart (rounded up to 1 ms). */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_RE = /^(\d+)(us|ms|s|m|h|d)?$/;
const SIZE_RE = /^(\d+)([kmg])?$/i;

/**
 * Parses a duration into milliseconds.
 * Accepts a non-negative integer (milliseconds, as HAProxy does for a bare
 * number) or a string of digits followed by an optional unit: us, ms, s, m, h
 * or d ("500ms", "5s", "1h"). Microseconds are rounded up to a whole
 * millisecond so that "500us" does not silently become 0 ("no timeout").
 * Refuses decimals, signs, spaces, upper-case units and anything else: null.
 * The result is not range-checked (see MAX_DURATION_MS).
 */
export function parseDuration(s: string | number): number | null {
  if (typeof s === "number") return Number.isSafeInteger(s) && s >= 0 ? s : null;
  const m = DURATION_RE.exec(s);
  if (m === null) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? "ms";
  if (unit === "us") return Math.ceil(n / 1000);
  const v = n * (DURATION_UNITS[unit] ?? 1);
  return Number.isSafeInteger(v) ? v : null;
}

/**
 * Parses a size into bytes.
 * Accepts a non-negative integer (bytes) or digits followed by an optional
 * k, m or g (any case), each a power of 1024 as in HAProxy ("16k" = 16384).
 * Refuses decimals, signs, "kb"/"KiB" spellings and anything else: null.
 */
export function parseSize(s: string | number): number | null {
  if (typeof s === "number") return Number.isSafeInteger(s) && s >= 0 ? s : null;
  const m = SIZE_RE.exec(s);
  if (m === null) return null;
  const mult = m[2] === undefined ? 1 : 1024 ** ("kmg".indexOf(m[2].toLowerCase()) + 1);
  const v = Number(m[1]) * mult;
  return Number.isSafeInteger(v) ? v : null;
}

/** Formats a byte count the way a user would write it: 16384 → "16k", 1000 → "1000". */
export function formatSize(n: number): string {
  for (const [unit, mult] of [["g", 1024 ** 3], ["m", 1024 ** 2], ["k", 1024]] as const) {
    if (n >= mult && n % mult === 0) return `${n / mult}${unit}`;
  }
  return String(n);
}

/** Formats an address back into its configuration form ("[::1]:80", "unix@/x"). */
export function formatAddress(a: Address): string {
  if (a.kind === "unix") return `unix@${a.path}`;
  return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** True for a dotted-quad IPv4 address with every part in 0..255, no leading zeros. */
export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/**
 * True for an IPv6 address in text form: up to eight groups of 1..4 hex
 * digits, at most one "::", optionally ending with an embedded IPv4 address
 * ("::ffff:10.0.0.1"). Zone ids ("%eth0") are refused.
 */
export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return false;
  const halves = s.split("::");
  if (halves.length > 2) return false;
  let groups = 0;
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h] ?? "";
    if (half === "") continue;
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? "";
      const last = h === halves.length - 1 && i === parts.length - 1;
      if (last && p.includes(".")) {
        if (!isIPv4(p)) return false;
        groups += 2;
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        groups += 1;
      } else {
        return false;
      }
    }
  }
  return halves.length === 2 ? groups < 8 : groups === 8;
}

/** True for a DNS host name: dot-separated labels of letters, digits, '-' and '_'. */
export function isHostName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = (s.endsWith(".") ? s.slice(0, -1) : s).split(".");
  return labels.every((l) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l)) &&
    // An all-numeric name is a mistyped IPv4 address, not a host name.
    !/^[\d.]+$/.test(s);
}

/**
 * Parses a host without a port (a server's `addr`, or the part before ":port").
 * Accepts IPv4, IPv6 with or without brackets, and host names (kept as text,
 * family 4: they are resolved when connecting). Returns an error message for
 * anything else.
 */
export function parseHost(s: string): { host: string; family: 4 | 6 } | string {
  if (s.startsWith("[") && s.endsWith("]")) {
    const inner = s.slice(1, -1);
    return isIPv6(inner) ? { host: inner, family: 6 } : `invalid IPv6 address "${inner}"`;
  }
  if (s.includes(":")) return isIPv6(s) ? { host: s, family: 6 } : `invalid IPv6 address "${s}"`;
  if (/^[\d.]+$/.test(s)) return isIPv4(s) ? { host: s, family: 4 } : `invalid IPv4 address "${s}"`;
  return isHostName(s) ? { host: s, family: 4 } : `invalid host name "${s}"`;
}

const ADDRESS_FORMS = "expected HOST:PORT, [IPv6]:PORT or unix@PATH";

/**
 * Parses a listening (forBind = true) or server address.
 * Accepts `127.0.0.1:8080`, `localhost:9000` (host name kept as text, family
 * 4), `[::1]:8080`, `[::]:8080`, `unix@/path/sock`, and for a bind only
 * `:8080` and `*:8080` (both mean 0.0.0.0). Bind ports are 0..65535 (0 asks
 * the system for a free port), server ports 1..65535.
 * Returns the Address, or an error message quoting the bad text.
 */
export function parseAddress(s: string, forBind: boolean): Address | string {
  if (s.startsWith("unix@")) {
    const path = s.slice(5);
    if (path === "") return `missing path in unix socket address "${s}"`;
    return { kind: "unix", path };
  }
  let host: string;
  let family: 4 | 6 = 4;
  let portText: string;
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    if (end < 0) return `missing "]" in IPv6 address "${s}"`;
    host = s.slice(1, end);
    const rest = s.slice(end + 1);
    if (!rest.startsWith(":")) return `missing port in address "${s}" (${ADDRESS_FORMS})`;
    portText = rest.slice(1);
    if (!isIPv6(host)) return `invalid IPv6 address "${host}" in "${s}"`;
    family = 6;
  } else {
    const colon = s.lastIndexOf(":");
    if (colon < 0) return `missing port in address "${s}" (${ADDRESS_FORMS})`;
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(":")) {
      return `IPv6 address must be enclosed in brackets in "${s}" (e.g. "[::1]:8080")`;
    }
    if (host === "" || host === "*") {
      if (!forBind) return `missing host in server address "${s}"`;
      host = "0.0.0.0";
    } else if (/^[\d.]+$/.test(host)) {
      if (!isIPv4(host)) return `invalid IPv4 address "${host}" in "${s}"`;
    } else if (!isHostName(host)) {
      return `invalid host name "${host}" in "${s}"`;
    }
  }
  if (portText === "") return `missing port in address "${s}" (${ADDRESS_FORMS})`;
  const min = forBind ? 0 : 1;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= min && port <= 65535)) {
    return `invalid port "${portText}" in address "${s}" (expected ${min}..65535)`;
  }
  return { kind: "tcp", host, port, family };
}
