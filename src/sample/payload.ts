// Layer-4 payload fetches over the request bytes received so far (HAProxy's
// payload.c: req.len, req.payload, req.ssl_hello_type, req.ssl_ver,
// req.ssl_sni, req.ssl_alpn).
//
// Owns: reading a TLS ClientHello out of the raw bytes of a connection
// without decrypting anything (the record layer and the handshake message
// are cleartext), so that a TCP-mode frontend can route TLS by SNI to
// servers that terminate it themselves. Every function takes the bytes as
// they are (possibly incomplete) and answers a value, PL_MISSING (what is
// there is a valid beginning: more data may change the answer, HAProxy's
// SMP_F_MAY_CHANGE) or PL_NONE (it is not there and never will be). Bounds
// are checked on every read: a malformed hello is PL_NONE, never an
// exception. Nothing here allocates beyond the returned strings.

/** More data may change the answer. */
export const PL_MISSING = -1;
/** The value does not exist (not TLS, not a ClientHello, no such extension). */
export const PL_NONE = -2;

/** TLS record content type "handshake". */
const REC_HANDSHAKE = 0x16;
/** Handshake type ClientHello. */
const HS_CLIENT_HELLO = 1;
/** Extension types. */
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

/**
 * The handshake type of the first handshake message (1 = ClientHello), as
 * HAProxy's req.ssl_hello_type: the record must be an SSLv3+ record and the
 * whole handshake message must be there.
 */
export function sslHelloType(d: Uint8Array): number {
  const n = d.length;
  if (n === 0) return PL_MISSING;
  const t = d[0]!;
  if (!((t >= 0x14 && t <= 0x17) || t === 0xff)) return PL_NONE;
  if (n < 9) return PL_MISSING;
  if ((d[1]! << 16) + d[2]! < 0x030000) return PL_NONE;
  if ((d[3]! << 8) + d[4]! < 4) return PL_NONE;
  const hsLen = (d[6]! << 16) + (d[7]! << 8) + d[8]!;
  if (n < 9 + hsLen) return PL_MISSING;
  return d[5]!;
}

/**
 * The version the client asks for in its hello, as HAProxy's req.ssl_ver:
 * (major << 16) + minor of the ClientHello's client_version (0x30003 for
 * TLS 1.2 and for TLS 1.3, which announces itself in an extension), once
 * the whole record is there; SSLv2-format hellos too.
 */
export function sslVersion(d: Uint8Array, limit: number): number {
  let n = d.length;
  if (n === 0) return PL_MISSING;
  let o = 0;
  let version: number, msgLen: number;
  const t = d[0]!;
  if ((t >= 0x14 && t <= 0x17) || t === 0xff) {
    if (n < 11) return PL_MISSING;
    version = (d[1]! << 16) + d[2]!;
    msgLen = (d[3]! << 8) + d[4]!;
    if (version < 0x030000) return PL_NONE;
    if (msgLen < 6 || msgLen > (1 << 14) + 2048) return PL_NONE;
    n -= 5;
    o = 5;
    version = (d[o + 4]! << 16) + d[o + 5]!;
  } else {
    // SSLv2 hello (message type 1 only).
    let rlen: number, plen: number;
    if (t & 0x80) {
      if (n < 3) return PL_MISSING;
      rlen = ((t & 0x7f) << 8) | d[1]!;
      plen = 0;
      n -= 2;
      o = 2;
    } else {
      if (n < 4) return PL_MISSING;
      rlen = ((t & 0x3f) << 8) | d[1]!;
      plen = d[2]!;
      n -= 3;
      o = 3;
    }
    if (d[o] !== 0x01) return PL_NONE;
    n--;
    o++;
    if (n < 8) return PL_MISSING;
    version = (d[o]! << 16) + d[o + 1]!;
    const ciLen = (d[o + 2]! << 8) + d[o + 3]!;
    const siLen = (d[o + 4]! << 8) + d[o + 5]!;
    const chLen = (d[o + 6]! << 8) + d[o + 7]!;
    n -= 8;
    if (ciLen % 3 !== 0 || (siLen !== 0 && siLen !== 16) || chLen < 16 || chLen > 32) {
      return PL_NONE;
    }
    if (rlen !== 9 + ciLen + siLen + chLen) return PL_NONE;
    msgLen = ciLen + siLen + chLen + plen;
  }
  // What cannot fit in the buffer will never be there: enough is enough.
  if (msgLen > limit - o) msgLen = limit - o;
  if (n < msgLen) return PL_MISSING;
  return version;
}

/**
 * Offset and end of the ClientHello's extensions block in `d`, PL_MISSING
 * or PL_NONE. The record must be a handshake record holding a ClientHello
 * and must be complete (HAProxy reads only the first record).
 */
function helloExtensions(d: Uint8Array): { start: number; end: number } | number {
  const n = d.length;
  if (n === 0) return PL_MISSING;
  if (d[0] !== REC_HANDSHAKE) return PL_NONE;
  if (n < 5) return PL_MISSING;
  if (d[1]! < 3) return PL_NONE;
  const recLen = (d[3]! << 8) | d[4]!;
  if (recLen < 4) return PL_NONE;
  if (n < 5 + recLen) return PL_MISSING;
  const end = 5 + recLen;
  if (d[5] !== HS_CLIENT_HELLO) return PL_NONE;
  const hsLen = (d[6]! << 16) | (d[7]! << 8) | d[8]!;
  const hsEnd = Math.min(end, 9 + hsLen);
  // client_version (2), random (32), session_id, cipher_suites, compression.
  let o = 9 + 2 + 32;
  if (o + 1 > hsEnd) return PL_NONE;
  o += 1 + d[o]!;
  if (o + 2 > hsEnd) return PL_NONE;
  o += 2 + ((d[o]! << 8) | d[o + 1]!);
  if (o + 1 > hsEnd) return PL_NONE;
  o += 1 + d[o]!;
  if (o + 2 > hsEnd) return PL_NONE;
  const extLen = (d[o]! << 8) | d[o + 1]!;
  o += 2;
  if (o + extLen > hsEnd) return PL_NONE;
  return { start: o, end: o + extLen };
}

/** Offset and length of extension `type`'s body, or PL_MISSING / PL_NONE. */
function findExtension(d: Uint8Array, type: number): { at: number; len: number } | number {
  const ex = helloExtensions(d);
  if (typeof ex === "number") return ex;
  let o = ex.start;
  while (o + 4 <= ex.end) {
    const t = (d[o]! << 8) | d[o + 1]!;
    const len = (d[o + 2]! << 8) | d[o + 3]!;
    o += 4;
    if (o + len > ex.end) return PL_NONE;
    if (t === type) return { at: o, len };
    o += len;
  }
  return PL_NONE;
}

function latin1(d: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(d[i]!);
  return s;
}

/** The host name of the server_name extension (name type 0), as HAProxy's req.ssl_sni. */
export function sslSni(d: Uint8Array): string | number {
  const e = findExtension(d, EXT_SERVER_NAME);
  if (typeof e === "number") return e;
  const end = e.at + e.len;
  if (e.len < 2) return PL_NONE;
  let o = e.at + 2;
  const listEnd = Math.min(end, o + ((d[e.at]! << 8) | d[e.at + 1]!));
  while (o + 3 <= listEnd) {
    const kind = d[o]!;
    const len = (d[o + 1]! << 8) | d[o + 2]!;
    o += 3;
    if (o + len > listEnd) return PL_NONE;
    if (kind === 0) return latin1(d, o, o + len);
    o += len;
  }
  return PL_NONE;
}

/**
 * The protocol names of the ALPN extension, in the client's order, into
 * `out` (cleared first); returns their count, or PL_MISSING / PL_NONE.
 */
export function sslAlpn(d: Uint8Array, out: string[]): number {
  out.length = 0;
  const e = findExtension(d, EXT_ALPN);
  if (typeof e === "number") return e;
  if (e.len < 3) return PL_NONE;
  const end = Math.min(e.at + e.len, e.at + 2 + ((d[e.at]! << 8) | d[e.at + 1]!));
  let o = e.at + 2;
  while (o < end) {
    const len = d[o]!;
    o++;
    if (len === 0 || o + len > end) return out.length > 0 ? out.length : PL_NONE;
    out.push(latin1(d, o, o + len));
    o += len;
  }
  return out.length > 0 ? out.length : PL_NONE;
}

/** `req.payload(off,len)`: the bytes as a byte string (len 0: all from off), or a PL_* code. */
export function payloadBytes(d: Uint8Array, off: number, len: number): string | number {
  if (len === 0) return d.length < off ? PL_MISSING : latin1(d, off, d.length);
  if (d.length < off + len) return PL_MISSING;
  return latin1(d, off, off + len);
}
