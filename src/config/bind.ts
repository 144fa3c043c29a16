// Bind lines (HAProxy's `bind` keyword and its options, cfgparse-listen.c and
// the bind keyword tables of listener.c / proto_tcp.c).
//
// A bind is written as HAProxy writes it: an address, then options:
// `"127.0.0.1:8080 backlog 100"`. This file owns the option table and the
// parser of one bind line; it returns the parsed line or an error message
// quoting the bad text (the validator adds file:line:col). The TLS options
// (ssl, crt, crt-list, alpn, ssl-min-ver, verify, ca-file) are parsed here too; their
// files are read by the compile pass (src/proxy/tls_load.ts), which reports
// file problems at the bind's position. Options that other transport layers
// add (accept-proxy, proto) register here so that a bind line is parsed in
// one place.

import type { Address, BindSsl } from "./types.ts";
import { parseAddress } from "./units.ts";

/** A bind line as written, before defaults are applied. */
export interface BindLine {
  address: Address;
  /** `backlog N`: length of the kernel's accept queue; null when not given. */
  backlog: number | null;
  /** `ssl` and its options (`crt`, `alpn`, `ssl-min-ver`, `verify`, `ca-file`); null without `ssl`. */
  ssl: BindSsl | null;
  /** `accept-proxy`: a PROXY protocol header (v1 or v2) starts every connection. */
  acceptProxy: boolean;
  /** `proto h2`: HTTP/2 with prior knowledge on this bind; null when not given. */
  proto?: "h2" | null;
}

/** TLS options as the parser collects them, before the line is checked as a whole. */
interface SslWords {
  ssl: boolean;
  crt: string[];
  crtList: { path: string; pos: number }[];
  alpn: string[] | null;
  minVer: "TLSv1.2" | "TLSv1.3" | null;
  verify: "none" | "optional" | "required" | null;
  caFile: string | null;
}

/** One bind option: its name, argument count and how it sets the line. */
interface BindOption {
  name: string;
  /** Number of arguments after the name. */
  args: number;
  doc: string;
  /** May be given more than once (`crt`). */
  repeat?: boolean;
  /** Applies the arguments; returns an error message or null. */
  apply(line: BindLine, args: readonly string[], tls: SslWords): string | null;
}

/** ALPN protocol names: printable ASCII, no comma, 1..255 bytes (RFC 7301). */
const ALPN_NAME = /^[\x21-\x2b\x2d-\x7e]{1,255}$/;

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
    name: "ssl",
    args: 0,
    doc: "terminate TLS on this address (needs `crt`)",
    apply(_line, _args, tls) {
      tls.ssl = true;
      return null;
    },
  },
  {
    name: "crt",
    args: 1,
    repeat: true,
    doc:
      "PEM file (certificate chain + key) or directory of them; repeatable; the first loaded is the default",
    apply(_line, [v], tls) {
      tls.crt.push(v!);
      return null;
    },
  },
  {
    name: "crt-list",
    args: 1,
    repeat: true,
    doc: "file listing certificates, one per line: `PATH [SNI filter...]`; repeatable",
    apply(_line, [v], tls) {
      tls.crtList.push({ path: v!, pos: tls.crt.length });
      return null;
    },
  },
  {
    name: "alpn",
    args: 1,
    doc: 'protocols offered by ALPN, comma-separated, preferred first (e.g. "h2,http/1.1")',
    apply(_line, [v], tls) {
      const names = v!.split(",");
      const bad = names.find((n) => !ALPN_NAME.test(n));
      if (bad !== undefined) return `invalid alpn protocol name "${bad}" in "${v}"`;
      tls.alpn = names;
      return null;
    },
  },
  {
    name: "ssl-min-ver",
    args: 1,
    doc: "lowest TLS version accepted: TLSv1.2 (default) or TLSv1.3",
    apply(_line, [v], tls) {
      if (v !== "TLSv1.2" && v !== "TLSv1.3") {
        const old = /^(SSLv3|TLSv1\.[01])$/.test(v!);
        return `${old ? "unsupported" : "unknown"} ssl-min-ver "${v}" (expected TLSv1.2 or TLSv1.3${
          old ? "; versions below TLS 1.2 are not available" : ""
        })`;
      }
      tls.minVer = v;
      return null;
    },
  },
  {
    name: "verify",
    args: 1,
    doc: "client certificates: none (default), optional or required (needs `ca-file`)",
    apply(_line, [v], tls) {
      if (v !== "none" && v !== "optional" && v !== "required") {
        return `unknown verify mode "${v}" (expected none, optional or required)`;
      }
      tls.verify = v;
      return null;
    },
  },
  {
    name: "ca-file",
    args: 1,
    doc: "PEM file of the CAs that sign accepted client certificates",
    apply(_line, [v], tls) {
      tls.caFile = v!;
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

/** The options that mean nothing without `ssl`. */
const SSL_ONLY = ["crt", "crt-list", "alpn", "ssl-min-ver", "verify", "ca-file"];

/** Checks the TLS options of a line as a whole; returns the BindSsl, null, or an error. */
function sslOf(
  words: SslWords,
  seen: ReadonlySet<string>,
  address: Address,
): BindSsl | null | string {
  if (!words.ssl) {
    const stray = SSL_ONLY.find((o) => seen.has(o));
    return stray === undefined ? null : `bind option "${stray}" needs "ssl" on the same line`;
  }
  if (address.kind === "unix") return '"ssl" on a unix socket bind is not supported';
  if (words.crt.length === 0 && words.crtList.length === 0) {
    return '"ssl" needs at least one certificate: add "crt FILE", "crt DIRECTORY" or "crt-list FILE"';
  }
  const verify = words.verify ?? "none";
  if (verify !== "none" && words.caFile === null) {
    return `"verify ${verify}" needs "ca-file" (the CAs that sign client certificates)`;
  }
  return {
    crt: words.crt,
    ...(words.crtList.length > 0 ? { crtList: words.crtList } : {}),
    alpn: words.alpn ?? [],
    minVer: words.minVer ?? "TLSv1.2",
    verify,
    caFile: words.caFile,
  };
}

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
  const line: BindLine = { address, backlog: null, ssl: null, acceptProxy: false };
  const tls: SslWords = {
    ssl: false,
    crt: [],
    crtList: [],
    alpn: null,
    minVer: null,
    verify: null,
    caFile: null,
  };
  const seen = new Set<string>();
  for (let i = 1; i < words.length;) {
    const name = words[i]!;
    const opt = BIND_OPTIONS.find((o) => o.name === name);
    if (opt === undefined) {
      return `unknown bind option "${name}" in "${text.trim()}" (supported: ${
        BIND_OPTIONS.map((o) => o.name).join(", ")
      })`;
    }
    if (seen.has(name) && opt.repeat !== true) {
      return `bind option "${name}" given twice in "${text.trim()}"`;
    }
    seen.add(name);
    const args = words.slice(i + 1, i + 1 + opt.args);
    if (args.length < opt.args) {
      return `bind option "${name}" expects ${opt.args} argument(s) in "${text.trim()}"`;
    }
    const bad = opt.apply(line, args, tls);
    if (bad !== null) return bad;
    i += 1 + opt.args;
  }
  const ssl = sslOf(tls, seen, address);
  if (typeof ssl === "string") return ssl;
  line.ssl = ssl;
  return line;
}
