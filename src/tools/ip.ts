// IPv4 / IPv6 addresses and CIDR lists (HAProxy's tools.c str2ip/str2net and
// the IP half of pattern.c: pat_parse_ip / pat_match_ip).
//
// Owns: parsing address text into four 32-bit words, parsing networks
// (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `2001:db8::/32`, a bare address), and
// matching a client address against a compiled list. Every address lives in
// the IPv6 space: an IPv4 address a.b.c.d is stored as the IPv4-mapped
// `::ffff:a.b.c.d`, so an IPv4 network matches both `1.2.3.4` and
// `::ffff:1.2.3.4` (what a dual-stack listener reports) with one comparison.
//
// Lists are compiled once at config time; matching parses the address into a
// module-level scratch array and never allocates. It must never resolve names
// (no DNS): only literal addresses are accepted.

/** A compiled list of networks: 4 words of network and 4 words of mask per entry. */
export interface CidrList {
  /** Network words, already masked (Int32 so that `&` results compare directly). */
  readonly nets: Int32Array;
  /** Mask words. */
  readonly masks: Int32Array;
  /** Number of entries. */
  readonly count: number;
  /** The entries as written in the configuration, for messages and docs. */
  readonly source: readonly string[];
}

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_DOT = 0x2e;
const CH_COLON = 0x3a;
const CH_PERCENT = 0x25;
const CH_LBRACKET = 0x5b;
const CH_RBRACKET = 0x5d;

/** Value of a hex digit, -1 otherwise. */
function hexVal(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Parses dotted-quad IPv4 text in s[from, to) into a 32-bit value. Accepts
 * exactly four decimal parts of 1..3 digits, each ≤ 255. Returns the value
 * (as an unsigned number) or -1.
 */
function parseV4(s: string, from: number, to: number): number {
  let v = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= CH_0 && c <= CH_9) {
      part = part * 10 + (c - CH_0);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === CH_DOT) {
      if (digits === 0 || parts === 3) return -1;
      v = v * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else return -1;
  }
  if (digits === 0 || parts !== 3) return -1;
  return v * 256 + part;
}

/** Scratch for IPv6 groups (16-bit values). */
const GROUPS = new Int32Array(8);

/**
 * Parses IPv6 text in s[from, to) into `out` (4 words). Accepts `::`
 * compression once, 1..4 hex digits per group, an embedded IPv4 tail
 * (`::ffff:1.2.3.4`). Returns false when the text is not an IPv6 address.
 */
function parseV6(s: string, from: number, to: number, out: Int32Array): boolean {
  let n = 0; // groups written
  let gap = -1; // index in GROUPS where "::" was
  let i = from;
  if (to - from < 2) return false;
  if (s.charCodeAt(i) === CH_COLON) {
    if (s.charCodeAt(i + 1) !== CH_COLON) return false;
    gap = 0;
    i += 2;
    if (i === to) {
      out.fill(0);
      return true;
    }
  }
  while (i < to) {
    // One group, or an IPv4 tail.
    let j = i;
    let v = 0;
    while (j < to && j - i < 5) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < to && s.charCodeAt(j) === CH_DOT) {
      // IPv4 tail: must be last and fit in two groups.
      if (n > 6) return false;
      const v4 = parseV4(s, i, to);
      if (v4 < 0) return false;
      GROUPS[n++] = Math.floor(v4 / 65536);
      GROUPS[n++] = v4 & 0xffff;
      i = to;
      break;
    }
    if (j === i || j - i > 4 || n === 8) return false;
    GROUPS[n++] = v;
    if (j === to) {
      i = j;
      break;
    }
    if (s.charCodeAt(j) !== CH_COLON) return false;
    j++;
    if (j < to && s.charCodeAt(j) === CH_COLON) {
      if (gap >= 0) return false;
      gap = n;
      j++;
    } else if (j === to) return false; // trailing single ':'
    i = j;
  }
  if (gap < 0 && n !== 8) return false;
  if (gap >= 0 && n > 7) return false;
  // Expand the gap.
  const fill = 8 - n;
  for (let w = 0; w < 4; w++) {
    let hi = 0;
    let lo = 0;
    for (let half = 0; half < 2; half++) {
      const g = w * 2 + half;
      let val: number;
      if (gap < 0 || g < gap) val = GROUPS[g] as number;
      else if (g < gap + fill) val = 0;
      else val = GROUPS[g - fill] as number;
      if (half === 0) hi = val;
      else lo = val;
    }
    out[w] = (hi << 16) | lo;
  }
  return true;
}

/**
 * Parses an IPv4 or IPv6 address into `out` (4 words, IPv4 as IPv4-mapped).
 * Accepts `1.2.3.4`, `::1`, `::ffff:1.2.3.4`, `[::1]` and a zone suffix
 * (`fe80::1%eth0`, ignored). Refuses names, ports and anything else; returns
 * false then (out is left undefined).
 */
export function parseIp(s: string, out: Int32Array): boolean {
  let from = 0;
  let to = s.length;
  if (to === 0) return false;
  if (s.charCodeAt(0) === CH_LBRACKET) {
    if (s.charCodeAt(to - 1) !== CH_RBRACKET) return false;
    from = 1;
    to--;
  }
  let colon = false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === CH_COLON) colon = true;
    else if (c === CH_PERCENT) {
      if (!colon) return false;
      to = i;
      break;
    }
  }
  if (!colon) {
    if (from !== 0) return false;
    const v4 = parseV4(s, from, to);
    if (v4 < 0) return false;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0xffff;
    out[3] = v4 | 0;
    return true;
  }
  return parseV6(s, from, to, out);
}

/** True when `s` is a literal IPv4 or IPv6 address. */
export function isIp(s: string): boolean {
  return parseIp(s, SCRATCH);
}

/** Parsed network: 4 words (masked) and the prefix length in the IPv6 space. */
export interface Cidr {
  net: Int32Array;
  prefix: number;
}

/** Counts the leading one bits of a dotted IPv4 netmask; -1 if not contiguous. */
function maskBits(v: number): number {
  let bits = 0;
  let seenZero = false;
  for (let b = 31; b >= 0; b--) {
    const one = Math.floor(v / 2 ** b) % 2 === 1;
    if (one) {
      if (seenZero) return -1;
      bits++;
    } else seenZero = true;
  }
  return bits;
}

/**
 * Parses a network: an address with an optional `/bits` (0..32 for IPv4,
 * 0..128 for IPv6) or, for IPv4, a dotted mask (`/255.255.0.0`). A bare
 * address is a host (/32, /128). Host bits are cleared. Returns null when the
 * text is not a network.
 */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const net = new Int32Array(4);
  if (!parseIp(addr, net)) return null;
  const v4 = addr.indexOf(":") < 0;
  let prefix = 128;
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (/^\d{1,3}$/.test(m)) {
      const bits = Number(m);
      if (bits > (v4 ? 32 : 128)) return null;
      prefix = v4 ? 96 + bits : bits;
    } else if (v4) {
      const mv = parseV4(m, 0, m.length);
      if (mv < 0) return null;
      const bits = maskBits(mv);
      if (bits < 0) return null;
      prefix = 96 + bits;
    } else return null;
  }
  const mask = maskOf(prefix);
  for (let w = 0; w < 4; w++) net[w] = (net[w] as number) & (mask[w] as number);
  return { net, prefix };
}

/** The 4 mask words of a prefix length in 0..128. */
function maskOf(prefix: number): Int32Array {
  const m = new Int32Array(4);
  for (let w = 0; w < 4; w++) {
    const bits = Math.max(0, Math.min(32, prefix - w * 32));
    m[w] = bits === 0 ? 0 : bits === 32 ? -1 : ~((1 << (32 - bits)) - 1);
  }
  return m;
}

/**
 * Compiles networks (see parseCidr) into a CidrList. Refuses the first entry
 * that is not a network, with a message naming it.
 */
export function parseCidrList(items: readonly string[]): CidrList | { error: string } {
  const nets = new Int32Array(items.length * 4);
  const masks = new Int32Array(items.length * 4);
  for (let k = 0; k < items.length; k++) {
    const text = items[k] as string;
    const c = parseCidr(text);
    if (c === null) return { error: `invalid IP address or network '${text}'` };
    nets.set(c.net, k * 4);
    masks.set(maskOf(c.prefix), k * 4);
  }
  return { nets, masks, count: items.length, source: Object.freeze(items.slice()) };
}

/** Scratch words for the address being matched. */
const SCRATCH = new Int32Array(4);
/** One-entry memo: the last address text parsed into MEMO (a stream matches its src many times). */
let memoText = "";
let memoOk = false;
const MEMO = new Int32Array(4);

/**
 * True when `ip` (address text as the stream reports it) falls in one of the
 * list's networks. An unparsable address matches nothing. Never allocates.
 */
export function cidrListMatch(list: CidrList, ip: string): boolean {
  if (ip !== memoText) {
    memoOk = parseIp(ip, MEMO);
    memoText = ip;
  }
  if (!memoOk) return false;
  return cidrListMatchWords(list, MEMO);
}

/** Same as cidrListMatch for an address already parsed by parseIp(). */
export function cidrListMatchWords(list: CidrList, a: Int32Array): boolean {
  const nets = list.nets;
  const masks = list.masks;
  const a0 = a[0] as number;
  const a1 = a[1] as number;
  const a2 = a[2] as number;
  const a3 = a[3] as number;
  for (let k = 0, o = 0; k < list.count; k++, o += 4) {
    if (
      (a3 & (masks[o + 3] as number)) === nets[o + 3] &&
      (a2 & (masks[o + 2] as number)) === nets[o + 2] &&
      (a1 & (masks[o + 1] as number)) === nets[o + 1] &&
      (a0 & (masks[o] as number)) === nets[o]
    ) return true;
  }
  return false;
}

// Note about invariants: every stored network has its host bits cleared
// (nets[i] & masks[i] === nets[i]); IPv4 entries have prefix >= 96 in the
// IPv6 space and words 0..2 equal to 0, 0, 0xffff; masks are contiguous.
