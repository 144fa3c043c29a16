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
// a `host` that differs from `:authority`; userinfo in `:authority`;
// CONNECT (no tunnels over HTTP/2 here). Repaired: cookie fields are joined
// with "; " (§8.2.3), `:authority` becomes `host`, `te: trailers` is not
// forwarded (hop-by-hop in HTTP/1.1). The body is framed
// with the content-length when there is one, else chunked.

import type { HeaderList } from "../h2/hpack.ts";

/** What toRequestHead() produced: the head, or why the request is malformed. */
export class RequestHead {
  /** The HTTP/1.1 head (latin1), "" when malformed. */
  head: string;
  /** Why the request is malformed, "" when it is not. */
  error: string;
  /** content-length, -1 when absent. */
  contentLength: number;
  /** The body goes chunked (no content-length, not ended with the headers). */
  chunked: boolean;
  /** The method is HEAD (the response has no body). */
  isHead: boolean;
  /** Request line parts, for the log line of a refused request. */
  method: string;
  path: string;

  constructor() {
    this.head = "";
    this.error = "";
    this.contentLength = -1;
    this.chunked = false;
    this.isHead = false;
    this.method = "";
    this.path = "";
  }
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

function badName(n: string): boolean {
  if (n.length === 0) return true;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c >= 128 || NAME_CHAR[c] === 0) return true;
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
  out.head = "";
  out.error = "";
  out.contentLength = -1;
  out.chunked = false;
  out.isHead = false;
  out.method = "";
  out.path = "";
  let method: string | null = null, scheme: string | null = null;
  let authority: string | null = null, path: string | null = null;
  let host: string | null = null, cookie: string | null = null;
  let regular = false;
  let lines = "";
  const fail = (why: string): RequestHead => {
    out.error = why;
    out.method = method ?? "";
    out.path = path ?? "";
    return out;
  };
  for (let i = 0; i < list.count; i++) {
    const name = list.names[i]!, value = list.values[i]!;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return fail(`pseudo-header "${name}" after a regular header`);
      if (badValue(value)) return fail(`invalid value of "${name}"`);
      switch (name) {
        case ":method":
          if (method !== null) return fail('duplicate ":method"');
          method = value;
          break;
        case ":scheme":
          if (scheme !== null) return fail('duplicate ":scheme"');
          scheme = value;
          break;
        case ":authority":
          if (authority !== null) return fail('duplicate ":authority"');
          authority = value;
          break;
        case ":path":
          if (path !== null) return fail('duplicate ":path"');
          path = value;
          break;
        default:
          return fail(`unknown pseudo-header "${name}"`);
      }
      continue;
    }
    regular = true;
    if (badName(name)) return fail(`invalid header name "${name}"`);
    if (badValue(value)) return fail(`invalid value of header "${name}"`);
    if (CONNECTION_SPECIFIC.has(name)) return fail(`connection-specific header "${name}"`);
    if (name === "te") {
      if (value !== "trailers") return fail(`"te: ${value}" (only "trailers" is allowed)`);
      continue; // hop-by-hop in HTTP/1.1: it concerned the client's connection only
    } else if (name === "content-length") {
      if (!/^[0-9]{1,15}$/.test(value)) return fail(`invalid content-length "${value}"`);
      const n = Number(value);
      if (out.contentLength >= 0 && out.contentLength !== n) {
        return fail("content-length given twice with different values");
      }
      if (out.contentLength >= 0) continue; // an identical repeat is merged
      out.contentLength = n;
    } else if (name === "host") {
      if (host !== null && host !== value) return fail("two different host headers");
      host = value;
      continue; // written first, from host or :authority
    } else if (name === "cookie") {
      cookie = cookie === null ? value : `${cookie}; ${value}`;
      continue;
    }
    lines += `${name}: ${value}\r\n`;
  }
  if (method === null) return fail('missing ":method"');
  if (method === "CONNECT") return fail("CONNECT is not supported over HTTP/2");
  if (badName(method.toLowerCase()) || method.length === 0) return fail("invalid :method");
  if (scheme === null) return fail('missing ":scheme"');
  if (path === null || path.length === 0) return fail('missing ":path"');
  if (path !== "*" ? path.charCodeAt(0) !== 0x2f : method !== "OPTIONS") {
    return fail(`invalid :path "${path}"`);
  }
  if (badPath(path)) return fail("invalid character in :path");
  if (authority !== null) {
    if (authority.includes("@")) return fail("userinfo in :authority");
    if (badPath(authority)) return fail("invalid :authority");
    if (host !== null && host !== authority) {
      return fail(`host "${host}" differs from :authority "${authority}"`);
    }
  }
  const h = host ?? authority;
  let head = `${method} ${path} HTTP/1.1\r\n`;
  if (h !== null) head += `host: ${h}\r\n`;
  head += lines;
  if (cookie !== null) head += `cookie: ${cookie}\r\n`;
  if (out.contentLength < 0 && !endStream) {
    out.chunked = true;
    head += "transfer-encoding: chunked\r\n";
  } else if (out.contentLength < 0 && method !== "GET" && method !== "HEAD") {
    // A body-less request whose method may carry one: say so, so that the
    // server does not wait for a body (HAProxy does the same).
    head += "content-length: 0\r\n";
  }
  if (endStream && out.contentLength > 0) {
    return fail("content-length without a body");
  }
  out.head = head + "\r\n";
  out.method = method;
  out.path = path;
  out.isHead = method === "HEAD";
  return out;
}
