// Bind lines (HAProxy's `bind` keyword and its options, cfgparse-listen.c and
// the bind keyword tables of listener.c / proto_tcp.c).
//
// A bind is written as HAProxy writes it: an address, then options:
// `"127.0.0.1:8080 backlog 100"`. This file owns the option table and the
// parser of one bind line; it returns the parsed line or an error message
// quoting the bad text (the validator adds file:line:col). Options that the
// transport layers add later (ssl, crt, alpn, accept-proxy, proto) register
// here so that a bind line is parsed in one place.

import type { Address } from "./types.ts";
import { parseAddress } from "./units.ts";

/** A bind line as written, before defaults are applied. */
export interface BindLine {
  address: Address;
  /** `backlog N`: length of the kernel's accept queue; null when not given. */
  backlog: number | null;
  /** `accept-proxy`: a PROXY protocol header (v1 or v2) starts every connection. */
  acceptProxy: boolean;
  /** `proto h2`: HTTP/2 with prior knowledge on this bind; null when not given. */
  proto?: "h2" | null;
}

/** One bind option: its name, argument count and how it sets the line. */
interface BindOption {
  name: string;
  /** Number of arguments after the name. */
  args: number;
  doc: string;
  /** Applies the arguments; returns an error message or null. */
  apply(line: BindLine, args: readonly string[]): string | null;
}

/** Largest accepted `backlog` (the kernel caps it at net.core.somaxconn anyway). */
const MAX_BACKLOG = 65535;

/** The bind options Sluice knows, in HAProxy spelling. */
export const BIND_OPTIONS: readonly BindOption[] = [
  {
    name: "backlog",
    args: 1,
    doc: "length of the accept queue; default the frontend's maxconn, else global maxconn",
    apply(line, [v]) {
      const n = /^\d{1,9}$/.test(v!) ? Number(v) : NaN;
      if (!(n >= 1 && n <= MAX_BACKLOG)) {
        return `invalid backlog "${v}" (expected an integer from 1 to ${MAX_BACKLOG})`;
      }
      line.backlog = n;
      return null;
    },
  },
  {
    name: "accept-proxy",
    args: 0,
    doc: "every connection starts with a PROXY protocol header (v1 or v2); its addresses are " +
      "the client's (src, dst, logs, forwardfor)",
    apply(line) {
      line.acceptProxy = true;
      return null;
    },
  },
  {
    name: "proto",
    args: 1,
    doc: "mux forced on this bind: h2 (HTTP/2 with prior knowledge, cleartext)",
    apply(line, [v]) {
      if (v !== "h2") return `unsupported bind proto "${v}" (supported: h2)`;
      line.proto = "h2";
      return null;
    },
  },
];

/**
 * Parses `ADDRESS [OPTION ARGS...]...`. Returns the line, or an error
 * message: a bad address, an unknown option (with the known ones listed), a
 * missing argument, an option given twice.
 */
export function parseBindLine(text: string): BindLine | string {
  const words = text.trim().split(/\s+/);
  const addrText = words[0] ?? "";
  if (addrText === "") return 'empty bind line (expected an address such as "127.0.0.1:8080")';
  const address = parseAddress(addrText, true);
  if (typeof address === "string") return address;
  const line: BindLine = { address, backlog: null, acceptProxy: false };
  const seen = new Set<string>();
  for (let i = 1; i < words.length;) {
    const name = words[i]!;
    const opt = BIND_OPTIONS.find((o) => o.name === name);
    if (opt === undefined) {
      return `unknown bind option "${name}" in "${text.trim()}" (supported: ${
        BIND_OPTIONS.map((o) => o.name).join(", ")
      })`;
    }
    if (seen.has(name)) return `bind option "${name}" given twice in "${text.trim()}"`;
    seen.add(name);
    const args = words.slice(i + 1, i + 1 + opt.args);
    if (args.length < opt.args) {
      return `bind option "${name}" expects ${opt.args} argument(s) in "${text.trim()}"`;
    }
    const bad = opt.apply(line, args);
    if (bad !== null) return bad;
    i += 1 + opt.args;
  }
  return line;
}
