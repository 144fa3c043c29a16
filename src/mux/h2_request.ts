// An HTTP/2 request's header list checked against RFC 9113 §8 and turned
// into an HTTP/1.1 request head (HAProxy's h2_make_htx_request()).
//
// Refused (a malformed request: the mux resets the stream with
// PROTOCOL_ERROR and logs the reason, the request never reaches a server):
// pseudo-headers after regular ones, unknown or duplicated or missing ones,
// `:status` in a request; names that are empty, not tokens or not lowercase;
// values with NUL, CR or LF or that start or end with whitespace;
// connection-specific headers (connection, proxy-connection, keep-alive,
// transfer-encoding, upgrade); `te` other than `trailers`; a
// `content-length` that is not all digits or repeated with another value;
// a `host` that differs from `:authority`; userinfo in `:authority`; a
// `:scheme` that is not a URI scheme (RFC 3986 §3.1, as HAProxy checks);
// extended CONNECT (RFC 8441, a `:protocol`: never announced). A CONNECT
// (§8.5) has `:authority` as host:port and neither `:scheme` nor `:path`
// nor a content-length; it becomes `CONNECT host:port HTTP/1.1` with
// `host: host:port` and no body framing: its DATA are the tunnel's bytes
// (mux/h2_stream.ts). Repaired: cookie fields are joined
// with "; " (§8.2.3), `:authority` becomes `host`, `te: trailers` is not
// forwarded (hop-by-hop in HTTP/1.1). The body is framed
// with the content-length when there is one, else chunked.

import type { HeaderList } from "../h2/hpack.ts";

/** What toRequestHead() produced: the head, or why the request is malformed. */
export class RequestHead {
  /**
   * The HTTP/1.1 head, bytes[0, len) (latin1), written there directly (no
   * string of the head is built: it would be built, flattened and copied
   * again for every request); len is 0 when malformed. Reused per call.
   */
  bytes: Uint8Array;
  len: number;
  /**
   * Where the head's header lines are, 4 ints per line (name start, name
   * length, value start, value length): handed over with the head so that
   * the analysers need not find them again (http/preset_head.ts).
   */
  lines: Int32Array;
  lineCount: number;
  /** Indexes in the list of the regular fields forwarded as they are (scratch). */
  fields: Int32Array;
  fieldCount: number;
  /** Why the request is malformed, "" when it is not. */
  error: string;
  /** content-length, -1 when absent. */
  contentLength: number;
  /** The body goes chunked (no content-length, not ended with the headers). */
  chunked: boolean;
  /** The method is HEAD (the response has no body). */
  isHead: boolean;
  /** The method is CONNECT: a 2xx answer opens a tunnel (RFC 9113 §8.5). */
  isConnect: boolean;
  /** Request line parts, for the log line of a refused request. */
  method: string;
  path: string;
  /**
   * The list the head was made from, when it was not malformed (lastCount
   * fields, -1: none): a client sends the same fields request after
   * request, which HPACK hands back as the very same strings (indexed), and
   * the same list makes the same head.
   */
  readonly lastNames: string[];
  readonly lastValues: string[];
  lastCount: number;
  lastEnd: boolean;

  constructor() {
    this.bytes = new Uint8Array(512);
    this.len = 0;
    this.lines = new Int32Array(64);
    this.lineCount = 0;
    this.fields = new Int32Array(16);
    this.fieldCount = 0;
    this.lastNames = [];
    this.lastValues = [];
    this.lastCount = -1;
    this.lastEnd = false;
    this.error = "";
    this.contentLength = -1;
    this.chunked = false;
    this.isHead = false;
    this.isConnect = false;
    this.method = "";
    this.path = "";
  }

  /** The head as a string (tests, logs). */
  get head(): string {
    let s = "";
    for (let i = 0; i < this.len; i++) s += String.fromCharCode(this.bytes[i]!);
    return s;
  }

  /** Appends `s` (latin1) to the head. */
  put(s: string): void {
    const n = s.length;
    let b = this.bytes;
    const at = this.len;
    if (at + n > b.length) {
      const nb = new Uint8Array(Math.max(2 * b.length, at + n));
      nb.set(b.subarray(0, at), 0);
      this.bytes = b = nb;
    }
    for (let i = 0; i < n; i++) b[at + i] = s.charCodeAt(i);
    this.len = at + n;
  }

  /** Appends the header line `name: value` (value: the first part when more are put after). */
  field(name: string, value: string): void {
    let l = this.lines;
    const k = this.lineCount * 4;
    if (k + 4 > l.length) {
      const nl = new Int32Array(l.length * 2);
      nl.set(l, 0);
      this.lines = l = nl;
    }
    l[k] = this.len;
    l[k + 1] = name.length;
    this.put(name);
    this.put(": ");
    l[k + 2] = this.len;
    this.put(value);
    this.lineCount++;
  }

  /** Ends the header line field() began: CRLF, and its value's length. */
  endField(): void {
    const k = (this.lineCount - 1) * 4;
    this.lines[k + 3] = this.len - this.lines[k + 2]!;
    this.put("\r\n");
  }

  /** Notes the regular field at index `i` of the list (forwarded as it is). */
  addField(i: number): void {
    if (this.fieldCount === this.fields.length) {
      const nf = new Int32Array(this.fields.length * 2);
      nf.set(this.fields, 0);
      this.fields = nf;
    }
    this.fields[this.fieldCount++] = i;
  }

  /** Whether the head was made from the same fields as `list` (and `endStream`): it is then unchanged. */
  sameList(list: HeaderList, endStream: boolean): boolean {
    const n = list.count;
    if (n !== this.lastCount || endStream !== this.lastEnd) return false;
    const names = list.names, values = list.values;
    const ln = this.lastNames, lv = this.lastValues;
    for (let i = 0; i < n; i++) {
      if (names[i] !== ln[i] || values[i] !== lv[i]) return false;
    }
    return true;
  }

  /** Keeps `list` as what the head was made from. */
  keepList(list: HeaderList, endStream: boolean): void {
    const n = list.count;
    const names = list.names, values = list.values;
    const ln = this.lastNames, lv = this.lastValues;
    for (let i = 0; i < n; i++) {
      ln[i] = names[i]!;
      lv[i] = values[i]!;
    }
    this.lastCount = n;
    this.lastEnd = endStream;
  }
}

/** Sets why the request is malformed; returns `out`. */
function fail(
  out: RequestHead,
  why: string,
  method: string | null,
  path: string | null,
): RequestHead {
  out.error = why;
  out.method = method ?? "";
  out.path = path ?? "";
  return out;
}

/** RFC 9110 tchar, lowercase letters only (uppercase is malformed in HTTP/2). */
const NAME_CHAR = (() => {
  const t = new Uint8Array(128);
  for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") t[c.charCodeAt(0)] = 1;
  return t;
})();

/** Headers that only make sense on one HTTP/1 connection (§8.2.2). */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
]);

/** RFC 9110 tchar, both cases (a method). */
const TOKEN_CHAR = (() => {
  const t = NAME_CHAR.slice();
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  return t;
})();

/** Whether `s` is empty or has a character outside `chars` (NAME_CHAR or TOKEN_CHAR). */
function badToken(s: string, chars: Uint8Array): boolean {
  if (s.length === 0) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || chars[c] === 0) return true;
  }
  return false;
}

function badValue(v: string): boolean {
  const n = v.length;
  if (n === 0) return false;
  const first = v.charCodeAt(0), last = v.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return true;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return true;
  }
  return false;
}

/** A request target's characters: visible ASCII, no space, no '#'. */
function badPath(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x23) return true;
  }
  return false;
}

/**
 * Checks `list` and writes the HTTP/1.1 head into `out`. `endStream`: the
 * HEADERS frame ended the stream (no body). Returns `out`.
 */
export function toRequestHead(list: HeaderList, endStream: boolean, out: RequestHead): RequestHead {
  // The same fields as the last request: the same head, already in `out`.
  if (out.sameList(list, endStream)) return out;
  out.lastCount = -1;
  out.len = 0;
  out.lineCount = 0;
  out.fieldCount = 0;
  out.error = "";
  out.contentLength = -1;
  out.chunked = false;
  out.isHead = false;
  out.isConnect = false;
  out.method = "";
  out.path = "";
  let method: string | null = null, scheme: string | null = null;
  let authority: string | null = null, path: string | null = null;
  let host: string | null = null, cookies = 0;
  let regular = false;
  for (let i = 0; i < list.count; i++) {
    const name = list.names[i]!, value = list.values[i]!;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return fail(out, `pseudo-header "${name}" after a regular header`, method, path);
      if (badValue(value)) return fail(out, `invalid value of "${name}"`, method, path);
      switch (name) {
        case ":method":
          if (method !== null) return fail(out, 'duplicate ":method"', method, path);
          method = value;
          break;
        case ":scheme":
          if (scheme !== null) return fail(out, 'duplicate ":scheme"', method, path);
          scheme = value;
          break;
        case ":authority":
          if (authority !== null) return fail(out, 'duplicate ":authority"', method, path);
          authority = value;
          break;
        case ":path":
          if (path !== null) return fail(out, 'duplicate ":path"', method, path);
          path = value;
          break;
        case ":protocol":
          return fail(out, 'extended CONNECT (":protocol") is not supported', method, path);
        default:
          return fail(out, `unknown pseudo-header "${name}"`, method, path);
      }
      continue;
    }
    regular = true;
    if (badToken(name, NAME_CHAR)) return fail(out, `invalid header name "${name}"`, method, path);
    if (badValue(value)) return fail(out, `invalid value of header "${name}"`, method, path);
    if (CONNECTION_SPECIFIC.has(name)) {
      return fail(out, `connection-specific header "${name}"`, method, path);
    }
    if (name === "te") {
      if (value !== "trailers") {
        return fail(out, `"te: ${value}" (only "trailers" is allowed)`, method, path);
      }
      continue; // hop-by-hop in HTTP/1.1: it concerned the client's connection only
    } else if (name === "content-length") {
      if (!/^[0-9]{1,15}$/.test(value)) {
        return fail(out, `invalid content-length "${value}"`, method, path);
      }
      const n = Number(value);
      if (out.contentLength >= 0 && out.contentLength !== n) {
        return fail(out, "content-length given twice with different values", method, path);
      }
      if (out.contentLength >= 0) continue; // an identical repeat is merged
      out.contentLength = n;
    } else if (name === "host") {
      if (host !== null && host !== value) {
        return fail(out, "two different host headers", method, path);
      }
      host = value;
      continue; // written first, from host or :authority
    } else if (name === "cookie") {
      cookies++;
      continue;
    }
    out.addField(i);
  }
  if (method === null) return fail(out, 'missing ":method"', method, path);
  if (method === "CONNECT") return connectHead(list, out, scheme, authority, path, host, cookies);
  if (badToken(method, TOKEN_CHAR)) return fail(out, "invalid :method", method, path);
  if (scheme === null) return fail(out, 'missing ":scheme"', method, path);
  if (!SCHEME.test(scheme)) return fail(out, "invalid :scheme", method, path);
  if (path === null || path.length === 0) return fail(out, 'missing ":path"', method, path);
  if (path !== "*" ? path.charCodeAt(0) !== 0x2f : method !== "OPTIONS") {
    return fail(out, `invalid :path "${path}"`, method, path);
  }
  if (badPath(path)) return fail(out, "invalid character in :path", method, path);
  if (authority !== null) {
    if (authority.includes("@")) return fail(out, "userinfo in :authority", method, path);
    if (badPath(authority)) return fail(out, "invalid :authority", method, path);
    if (host !== null && host !== authority) {
      return fail(out, `host "${host}" differs from :authority "${authority}"`, method, path);
    }
  }
  if (endStream && out.contentLength > 0) {
    return fail(out, "content-length without a body", method, path);
  }
  const h = host ?? authority;
  out.put(method);
  out.put(" ");
  out.put(path);
  out.put(" HTTP/1.1\r\n");
  if (h !== null) {
    out.field("host", h);
    out.endField();
  }
  putFields(list, out, cookies);
  if (out.contentLength < 0 && !endStream) {
    out.chunked = true;
    out.field("transfer-encoding", "chunked");
    out.endField();
  } else if (out.contentLength < 0 && method !== "GET" && method !== "HEAD") {
    // A body-less request whose method may carry one: say so, so that the
    // server does not wait for a body (HAProxy does the same).
    out.field("content-length", "0");
    out.endField();
  }
  out.put("\r\n");
  out.method = method;
  out.path = path;
  out.isHead = method === "HEAD";
  out.keepList(list, endStream);
  return out;
}

/** Writes the fields kept (addField()) and the joined cookie fields (§8.2.3). */
function putFields(list: HeaderList, out: RequestHead, cookies: number): void {
  const fields = out.fields;
  for (let k = 0; k < out.fieldCount; k++) {
    const i = fields[k]!;
    out.field(list.names[i]!, list.values[i]!);
    out.endField();
  }
  if (cookies > 0) putCookies(list, out);
}

/** Writes the cookie fields of `list` as one cookie header, joined with "; " (§8.2.3). */
function putCookies(list: HeaderList, out: RequestHead): void {
  let first = true;
  for (let i = 0; i < list.count; i++) {
    if (list.names[i] !== "cookie") continue;
    if (first) out.field("cookie", list.values[i]!);
    else {
      out.put("; ");
      out.put(list.values[i]!);
    }
    first = false;
  }
  out.endField();
}

/**
 * host:port, as a CONNECT's target must be (RFC 9110 §9.3.6): a name or an
 * IPv4 address, or an IPv6 address in brackets, then a port.
 */
const CONNECT_TARGET = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+):[0-9]{1,5}$/;

/**
 * The rest of toRequestHead() for a CONNECT (RFC 9113 §8.5): `:authority`
 * is host:port, no `:scheme` nor `:path`, no content (a content-length is
 * refused: the DATA frames are the tunnel's bytes, not a body). Writes
 * `CONNECT host:port HTTP/1.1`, `host: host:port`, the other fields, and
 * no body framing, as an HTTP/1.1 client's CONNECT reads. Returns `out`.
 */
function connectHead(
  list: HeaderList,
  out: RequestHead,
  scheme: string | null,
  authority: string | null,
  path: string | null,
  host: string | null,
  cookies: number,
): RequestHead {
  const m = "CONNECT";
  if (authority === null) return fail(out, 'missing ":authority" in a CONNECT request', m, path);
  if (scheme !== null) return fail(out, '":scheme" in a CONNECT request', m, authority);
  if (path !== null) return fail(out, '":path" in a CONNECT request', m, authority);
  if (!CONNECT_TARGET.test(authority)) {
    return fail(out, `invalid :authority "${authority}" (host:port expected)`, m, authority);
  }
  if (host !== null && host !== authority) {
    return fail(out, `host "${host}" differs from :authority "${authority}"`, m, authority);
  }
  if (out.contentLength >= 0) return fail(out, "content-length in a CONNECT request", m, authority);
  out.put("CONNECT ");
  out.put(authority);
  out.put(" HTTP/1.1\r\n");
  out.field("host", authority);
  out.endField();
  putFields(list, out, cookies);
  out.put("\r\n");
  out.method = m;
  out.path = authority;
  out.isConnect = true;
  return out; // not kept for sameList(): a CONNECT is rare, one per tunnel
}

/** A URI scheme (RFC 3986 §3.1): what `:scheme` must be (RFC 9113 §8.3.1). */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/** A character a trailer's name may not have (a token, lowercase as HTTP/2 requires), or its value. */
const TRAILER_NAME = /[^!#$%&'*+\-.^_`|~0-9a-z]/;
const TRAILER_VALUE = /[\0\r\n]/;

/**
 * The trailer section of `list` as HTTP/1.1 lines ("name: value\r\n"
 * each), or null when it is malformed (a pseudo-header, an invalid field):
 * `why` then says which.
 */
export function trailerLines(list: HeaderList, why: { text: string }): string | null {
  let t = "";
  for (let i = 0; i < list.count; i++) {
    const n = list.names[i]!, v = list.values[i]!;
    if (n.charCodeAt(0) === 0x3a) {
      why.text = "pseudo-header in trailers";
      return null;
    }
    if (TRAILER_NAME.test(n) || TRAILER_VALUE.test(v)) {
      why.text = "invalid trailer field";
      return null;
    }
    t += `${n}: ${v}\r\n`;
  }
  return t;
}
