// The PROXY protocol, versions 1 (text) and 2 (binary) (HAProxy's
// connection.c: conn_recv_proxy(), make_proxy_line_v1/v2(); the
// specification is HAProxy's doc/proxy-protocol.txt).
//
// Owns: parsing a header at the start of an accepted connection
// (parseProxyHeader(), pure, over the bytes received so far), reading one
// from a Conn without consuming a byte of what follows it when it can
// (readProxyHeader()), and building the header a server connection starts
// with (buildProxyV1/V2()). It never times out by itself: the caller bounds
// the read (`timeout client`) by closing the connection, and it never logs:
// failures are PP_ERR_* codes with HAProxy's messages (proxyErrorText()).

import type { Conn, PeerAddr } from "./protocol.ts";

// ---------------------------------------------------------------------------
// Failures (HAProxy's CO_ER_PRX_*), in the order of conn_err_code_str().

/** The client closed before sending a complete header. */
export const PP_ERR_EMPTY = 1;
/** A read failed (reset) before the header was complete. */
export const PP_ERR_ABORT = 2;
/** `timeout client` struck before the header was complete. */
export const PP_ERR_TIMEOUT = 3;
/** The client closed in the middle of a header. */
export const PP_ERR_TRUNCATED = 4;
/** The first bytes are neither "PROXY " nor the v2 signature. */
export const PP_ERR_NOT_HDR = 5;
/** A v1 line or a v2 block that breaks the grammar. */
export const PP_ERR_BAD_HDR = 6;
/** A v1 protocol other than TCP4, TCP6 or UNKNOWN. */
export const PP_ERR_BAD_PROTO = 7;

const ERR_TEXT = [
  "",
  "Connection closed while waiting for PROXY protocol header",
  "Connection error while waiting for PROXY protocol header",
  "Timeout while waiting for PROXY protocol header",
  "Truncated PROXY protocol header received",
  "Received something which does not look like a PROXY protocol header",
  "Received an invalid PROXY protocol header",
  "Received an unhandled protocol in the PROXY protocol header",
];

/** HAProxy's log message for a PP_ERR_* code. */
export function proxyErrorText(code: number): string {
  return ERR_TEXT[code] ?? `unknown PROXY protocol error ${code}`;
}

// ---------------------------------------------------------------------------
// Wire constants.

/** The 12-byte signature every v2 header starts with. */
export const PP2_SIGNATURE = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);
/** Signature + version/command + family + length. */
const PP2_HEADER_LEN = 16;
/** Longest v1 line, CRLF included (the specification's 107 bytes). */
const PP1_MAX_LEN = 107;
/** Largest v2 header read (HAProxy needs it to fit its buffer; its tune.bufsize default). */
const PP2_MAX_LEN = 16384;
const PP2_VERSION = 0x20;
const PP2_CMD_LOCAL = 0x00;
const PP2_CMD_PROXY = 0x01;
const PP2_FAM_INET_STREAM = 0x11;
const PP2_FAM_INET6_STREAM = 0x21;
const PP2_FAM_UNSPEC = 0x00;
/** TLV types (only those Sluice writes; every other one is skipped on input). */
const PP2_TYPE_SSL = 0x20;
const PP2_SUBTYPE_SSL_VERSION = 0x21;
/** PP2_TYPE_SSL client flag: the client connection used TLS. */
const PP2_CLIENT_SSL = 0x01;

const CH_CR = 0x0d;
const CH_LF = 0x0a;
const CH_0 = 0x30;
const CH_DOT = 0x2e;

const ENC = new TextEncoder();
/** Decodes a v1 line (only ASCII is valid in one; anything else fails its checks). */
const LINE_DEC = new TextDecoder("latin1");

// ---------------------------------------------------------------------------
// Parsing.

/** A complete header. */
export interface ProxyHeader {
  /** 1 or 2. */
  version: number;
  /**
   * The addresses it carries; null when it carries none (v1 UNKNOWN, v2
   * LOCAL, AF_UNSPEC or a family Sluice does not handle): the connection's
   * own addresses stay in use, as in HAProxy.
   */
  src: PeerAddr | null;
  dst: PeerAddr | null;
  /** Bytes the header took. */
  length: number;
}

/** parseProxyHeader(): more bytes are needed. */
export const PP_NEED_MORE = 0;

/**
 * Parses a header at the start of `b` (the bytes received so far). Returns
 * the header, PP_NEED_MORE when `b` is a valid beginning of one, or a
 * PP_ERR_* code. TLVs of a v2 header are walked and skipped (their lengths
 * must tile the block exactly).
 */
export function parseProxyHeader(b: Uint8Array): ProxyHeader | number {
  const n = b.length;
  if (n === 0) return PP_NEED_MORE;
  if (b[0] === 0x50) return parseV1(b); // 'P'
  const m = Math.min(n, PP2_SIGNATURE.length);
  for (let i = 0; i < m; i++) if (b[i] !== PP2_SIGNATURE[i]) return PP_ERR_NOT_HDR;
  if (n < PP2_HEADER_LEN) return PP_NEED_MORE;
  if ((b[12]! & 0xf0) !== PP2_VERSION) return PP_ERR_NOT_HDR;
  const len = (b[14]! << 8) | b[15]!;
  const total = PP2_HEADER_LEN + len;
  if (total > PP2_MAX_LEN) return PP_ERR_BAD_HDR;
  if (n < total) return PP_NEED_MORE;
  const cmd = b[12]! & 0x0f;
  if (cmd === PP2_CMD_LOCAL) return { version: 2, src: null, dst: null, length: total };
  if (cmd !== PP2_CMD_PROXY) return PP_ERR_BAD_HDR;
  let src: PeerAddr | null = null, dst: PeerAddr | null = null;
  let tlv = PP2_HEADER_LEN;
  const fam = b[13]!;
  if (fam === PP2_FAM_INET_STREAM) {
    if (len < 12) return PP_ERR_BAD_HDR;
    src = { ip: ipv4Text(b, 16), port: (b[24]! << 8) | b[25]! };
    dst = { ip: ipv4Text(b, 20), port: (b[26]! << 8) | b[27]! };
    tlv += 12;
  } else if (fam === PP2_FAM_INET6_STREAM) {
    if (len < 36) return PP_ERR_BAD_HDR;
    src = { ip: ipv6Text(b, 16), port: (b[48]! << 8) | b[49]! };
    dst = { ip: ipv6Text(b, 32), port: (b[50]! << 8) | b[51]! };
    tlv += 36;
  } else {
    // AF_UNSPEC, AF_UNIX, datagrams: the addresses are not used, the
    // block holds no TLV we could find the start of.
    return { version: 2, src: null, dst: null, length: total };
  }
  // TLVs: type (1), length (2), value; none may run past the block.
  while (tlv < total) {
    if (tlv + 3 > total) return PP_ERR_BAD_HDR;
    tlv += 3 + ((b[tlv + 1]! << 8) | b[tlv + 2]!);
    if (tlv > total) return PP_ERR_BAD_HDR;
  }
  return { version: 2, src, dst, length: total };
}

const V1_PREFIX = "PROXY ";

function parseV1(b: Uint8Array): ProxyHeader | number {
  const n = b.length;
  const m = Math.min(n, V1_PREFIX.length);
  for (let i = 0; i < m; i++) if (b[i] !== V1_PREFIX.charCodeAt(i)) return PP_ERR_NOT_HDR;
  let end = -1;
  const lim = Math.min(n, PP1_MAX_LEN);
  for (let i = 0; i < lim; i++) {
    if (b[i] === CH_LF) {
      end = i;
      break;
    }
  }
  if (end < 0) return n >= PP1_MAX_LEN ? PP_ERR_BAD_HDR : PP_NEED_MORE;
  if (end === 0 || b[end - 1] !== CH_CR) return PP_ERR_BAD_HDR;
  const line = LINE_DEC.decode(b.subarray(V1_PREFIX.length, end - 1));
  const length = end + 1;
  if (line === "UNKNOWN" || line.startsWith("UNKNOWN ")) {
    return { version: 1, src: null, dst: null, length };
  }
  const f = line.split(" ");
  if (f[0] !== "TCP4" && f[0] !== "TCP6") return PP_ERR_BAD_PROTO;
  if (f.length !== 5) return PP_ERR_BAD_HDR;
  const v4 = f[0] === "TCP4";
  const sip = v4 ? (isV4(f[1]!) ? f[1]! : null) : canonIPv6(f[1]!);
  const dip = v4 ? (isV4(f[2]!) ? f[2]! : null) : canonIPv6(f[2]!);
  const sp = parsePort(f[3]!), dp = parsePort(f[4]!);
  if (sip === null || dip === null || sp < 0 || dp < 0) return PP_ERR_BAD_HDR;
  return { version: 1, src: { ip: sip, port: sp }, dst: { ip: dip, port: dp }, length };
}

/** A decimal port 0..65535 without sign or leading zeros beyond "0"; -1 otherwise. */
function parsePort(s: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(s)) return -1;
  const p = Number(s);
  return p <= 65535 ? p : -1;
}

/** The 4 bytes of a dotted-quad IPv4 address (no leading zeros), or null. */
export function parseIPv4(s: string): Uint8Array | null {
  const out = new Uint8Array(4);
  return ipv4Into(s, out) ? out : null;
}

/** Parses a dotted quad into `out`; false when `s` is not one. */
function ipv4Into(s: string, out: Uint8Array): boolean {
  let part = 0, v = 0, digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : CH_DOT;
    if (c === CH_DOT) {
      if (digits === 0 || part > 3) return false;
      out[part++] = v;
      v = 0;
      digits = 0;
      continue;
    }
    const d = c - CH_0;
    if (d < 0 || d > 9 || (digits === 1 && v === 0)) return false;
    v = v * 10 + d;
    if (v > 255) return false;
    digits++;
  }
  return part === 4;
}

/** Scratch for the address checks of the builders (consumed at once). */
const V4_SCRATCH = new Uint8Array(4);

/** The 16 bytes of an IPv6 address (`::` compression, trailing dotted quad), or null. */
export function parseIPv6(s: string): Uint8Array | null {
  if (s.length < 2 || s.length > 45) return null;
  const out = new Uint8Array(16);
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return null;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : "";
  const groups = (t: string): number[] | null => {
    if (t === "") return [];
    const g: number[] = [];
    const parts = t.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (v4 === null) return null;
        g.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        g.push(parseInt(p, 16));
      }
    }
    return g;
  };
  const h = groups(head), t = groups(tail);
  if (h === null || t === null) return null;
  if (dbl < 0 ? h.length !== 8 : h.length + t.length > 7) return null;
  h.forEach((v, i) => {
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  t.forEach((v, i) => {
    const k = 8 - t.length + i;
    out[2 * k] = v >> 8;
    out[2 * k + 1] = v & 0xff;
  });
  return out;
}

function canonIPv6(s: string): string | null {
  const b = parseIPv6(s);
  return b === null ? null : ipv6Text(b, 0);
}

function ipv4Text(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text of the 16 bytes at `o` (longest zero run of 2+ groups as `::`). */
export function ipv6Text(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((v) => v.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

// ---------------------------------------------------------------------------
// Reading from a connection.

/** What readProxyHeader() resolves to. */
export interface ProxyReadResult {
  /** The header, or null on failure. */
  header: ProxyHeader | null;
  /** PP_ERR_* on failure, 0 on success. */
  error: number;
  /**
   * The connection to go on with: `conn` itself, or, when the last read
   * took bytes beyond the header (a v1 line and data in one segment), a Conn
   * that returns those bytes first.
   */
  conn: Conn;
}

/**
 * Reads a PROXY header from `conn`. It never reads past a v2 header (the
 * first read asks for 16 bytes, then exactly the announced length) and
 * past a v1 line only when the client sent data in the same segment (those
 * bytes are handed back through the returned Conn). A read that rejects
 * (the caller closed the connection at `timeout client`, or a reset) is
 * PP_ERR_ABORT; the caller turns its own close into PP_ERR_TIMEOUT.
 */
export async function readProxyHeader(conn: Conn): Promise<ProxyReadResult> {
  let buf = new Uint8Array(PP1_MAX_LEN + 1);
  let have = 0;
  for (;;) {
    const parsed = parseProxyHeader(buf.subarray(0, have));
    if (typeof parsed !== "number") {
      const rest = have > parsed.length ? buf.slice(parsed.length, have) : null;
      return {
        header: parsed,
        error: 0,
        conn: rest === null ? conn : new PrefixedConn(conn, rest),
      };
    }
    if (parsed !== PP_NEED_MORE) return { header: null, error: parsed, conn };
    // How much to ask for: 16 bytes first (the v2 fixed part, or a short v1
    // line), then a v2 header's exact length, else what a v1 line may still take.
    let want: number;
    if (have < PP2_HEADER_LEN) want = PP2_HEADER_LEN - have;
    else if (buf[0] !== 0x50) {
      const total = PP2_HEADER_LEN + ((buf[14]! << 8) | buf[15]!);
      if (buf.length < total) {
        const nb = new Uint8Array(total);
        nb.set(buf.subarray(0, have));
        buf = nb;
      }
      want = total - have;
    } else want = PP1_MAX_LEN - have;
    let n: number;
    try {
      n = await conn.read(buf.subarray(have, have + want));
    } catch {
      return { header: null, error: PP_ERR_ABORT, conn };
    }
    if (n === 0) return { header: null, error: have === 0 ? PP_ERR_EMPTY : PP_ERR_TRUNCATED, conn };
    have += n;
  }
}

/** A Conn that returns `rest` before reading from the socket (bytes read with a v1 line). */
export class PrefixedConn implements Conn {
  readonly inner: Conn;
  #rest: Uint8Array | null;

  constructor(inner: Conn, rest: Uint8Array) {
    this.inner = inner;
    this.#rest = rest;
  }

  read(view: Uint8Array): Promise<number> {
    const r = this.#rest;
    if (r === null) return this.inner.read(view);
    const n = Math.min(r.length, view.length);
    view.set(r.subarray(0, n));
    this.#rest = n === r.length ? null : r.subarray(n);
    return Promise.resolve(n);
  }

  write(view: Uint8Array): Promise<number> {
    return this.inner.write(view);
  }

  closeWrite(): Promise<void> {
    return this.inner.closeWrite();
  }

  close(): void {
    this.inner.close();
  }
}

// ---------------------------------------------------------------------------
// Building (send-proxy, send-proxy-v2).

/** True for an address text a v1/v2 header can carry as IPv4. */
function v4Bytes(ip: string): Uint8Array | null {
  return parseIPv4(ip);
}

/** Whether `ip` is a dotted quad (no allocation). */
function isV4(ip: string): boolean {
  return ipv4Into(ip, V4_SCRATCH);
}

/** IPv6 bytes of `ip`, IPv4 addresses mapped (::ffff:a.b.c.d). */
function v6Bytes(ip: string): Uint8Array | null {
  const v4 = parseIPv4(ip);
  if (v4 !== null) {
    const b = new Uint8Array(16);
    b[10] = 0xff;
    b[11] = 0xff;
    b.set(v4, 12);
    return b;
  }
  return parseIPv6(ip);
}

/**
 * A v1 line for a client `src` connected to `dst`: TCP4 when both are IPv4,
 * TCP6 when both are IPv6, else (a unix socket, mixed families, HAProxy
 * does the same) "PROXY UNKNOWN".
 */
export function buildProxyV1(src: PeerAddr, dst: PeerAddr): Uint8Array {
  let line = "PROXY UNKNOWN\r\n";
  if (isV4(src.ip) && isV4(dst.ip)) {
    line = `PROXY TCP4 ${src.ip} ${dst.ip} ${src.port} ${dst.port}\r\n`;
  } else if (parseIPv6(src.ip) !== null && parseIPv6(dst.ip) !== null) {
    line = `PROXY TCP6 ${canonIPv6(src.ip)} ${canonIPv6(dst.ip)} ${src.port} ${dst.port}\r\n`;
  }
  return ENC.encode(line);
}

/**
 * The header a health check starts with on a server with `send-proxy*`
 * (HAProxy: checks speak the PROXY protocol when the server's traffic does):
 * it is the proxy's own connection, so v1 says UNKNOWN and v2 uses the
 * LOCAL command. `mode` is ServerConfig.sendProxy (1: v1, 2/3: v2).
 */
export function buildCheckProxyHeader(mode: number): Uint8Array {
  if (mode === 1) return ENC.encode("PROXY UNKNOWN\r\n");
  const out = new Uint8Array(PP2_HEADER_LEN);
  out.set(PP2_SIGNATURE, 0);
  out[12] = PP2_VERSION | PP2_CMD_LOCAL;
  return out;
}

/** The TLS facts a v2 header's SSL TLV carries (send-proxy-v2-ssl); null: the client used no TLS. */
export interface ProxySslInfo {
  /** Protocol version text, e.g. "TLSv1.3"; "" when unknown. */
  version: string;
}

/**
 * A v2 header: PROXY command over TCP/IPv4 when both addresses are IPv4,
 * TCP/IPv6 when either is IPv6 (IPv4 mapped), else the LOCAL command with
 * AF_UNSPEC (a unix-socket client), as HAProxy. With `sslTlv`, a
 * PP2_TYPE_SSL TLV follows: client flag PP2_CLIENT_SSL and the version
 * sub-TLV when `ssl` is not null, flags 0 otherwise.
 */
export function buildProxyV2(
  src: PeerAddr,
  dst: PeerAddr,
  sslTlv = false,
  ssl: ProxySslInfo | null = null,
): Uint8Array {
  const s4 = v4Bytes(src.ip), d4 = v4Bytes(dst.ip);
  const s6 = s4 !== null && d4 !== null ? null : v6Bytes(src.ip);
  const d6 = s4 !== null && d4 !== null ? null : v6Bytes(dst.ip);
  const addrLen = s4 !== null && d4 !== null ? 12 : s6 !== null && d6 !== null ? 36 : 0;
  const ver = ssl !== null && ssl.version !== "" ? ENC.encode(ssl.version) : null;
  const tlvLen = sslTlv ? 3 + 5 + (ver !== null ? 3 + ver.length : 0) : 0;
  const out = new Uint8Array(PP2_HEADER_LEN + addrLen + tlvLen);
  out.set(PP2_SIGNATURE, 0);
  out[12] = PP2_VERSION | (addrLen === 0 ? PP2_CMD_LOCAL : PP2_CMD_PROXY);
  out[13] = addrLen === 12
    ? PP2_FAM_INET_STREAM
    : addrLen === 36
    ? PP2_FAM_INET6_STREAM
    : PP2_FAM_UNSPEC;
  const len = addrLen + tlvLen;
  out[14] = len >> 8;
  out[15] = len & 0xff;
  let o = PP2_HEADER_LEN;
  if (addrLen === 12) {
    out.set(s4!, 16);
    out.set(d4!, 20);
    o = 24;
  } else if (addrLen === 36) {
    out.set(s6!, 16);
    out.set(d6!, 32);
    o = 48;
  }
  if (addrLen > 0) {
    out[o] = src.port >> 8;
    out[o + 1] = src.port & 0xff;
    out[o + 2] = dst.port >> 8;
    out[o + 3] = dst.port & 0xff;
    o += 4;
  }
  if (sslTlv) {
    const inner = tlvLen - 3;
    out[o] = PP2_TYPE_SSL;
    out[o + 1] = inner >> 8;
    out[o + 2] = inner & 0xff;
    out[o + 3] = ssl !== null ? PP2_CLIENT_SSL : 0;
    // verify (4 bytes, 0 = success / no client certificate) stays zero.
    o += 8;
    if (ver !== null) {
      out[o] = PP2_SUBTYPE_SSL_VERSION;
      out[o + 1] = ver.length >> 8;
      out[o + 2] = ver.length & 0xff;
      out.set(ver, o + 3);
    }
  }
  return out;
}
