// The balancer factory and the request keys of the hash algorithms (HAProxy's
// backend.c: assign_server() dispatch, get_server_sh/uh/ph/hh key extraction).
//
// createLoadBalancer() turns a CompiledBalance (the `balance` arguments
// already compiled to values by config/balance.ts: this file never parses
// text) into one LoadBalancer over a backend's servers; it is called once
// per backend at start-up (and again only if the server list itself
// changes). The key functions built here hash the documented part of the
// request in place, by index ranges over the request's strings: no
// substring is built per request. This file never touches sockets.

import type { CompiledBalance, UriHashOptions } from "../config/types.ts";
export { balanceDefaults } from "../config/balance.ts";
import { FirstLb } from "./lb_first.ts";
import { type HashKeyFn, HashLb, hashSdbm, hashString } from "./lb_hash.ts";
import { LeastConnLb } from "./lb_leastconn.ts";
import { RandomLb } from "./lb_random.ts";
import { RoundRobinLb } from "./lb_roundrobin.ts";
import { StaticRrLb } from "./lb_static_rr.ts";
import type { LbRequest, LbServer, LoadBalancer } from "./lb_types.ts";

const CH_SLASH = 0x2f; // '/'
const CH_QMARK = 0x3f; // '?'
const CH_EQUAL = 0x3d; // '='
const CH_AMP = 0x26; // '&'
const CH_DOT = 0x2e; // '.'

/**
 * Builds the balancer of a backend from its compiled balancing (arguments
 * already checked and turned into values by config/balance.ts: nothing here
 * reads text). `servers` is kept (not copied): the core mutates
 * weight/usable/cur on those objects and calls update()/onTake()/
 * onRelease(). With `allbackups`, backups share the load (same algorithm)
 * when no active server is usable; otherwise only the first usable backup is
 * used.
 */
export function createLoadBalancer(
  p: CompiledBalance,
  servers: LbServer[],
  opts: { allbackups: boolean },
): LoadBalancer {
  const ab = opts.allbackups;
  switch (p.algo) {
    case "roundrobin":
      return new RoundRobinLb(servers, ab);
    case "static-rr":
      return new StaticRrLb(servers, ab);
    case "leastconn":
      return new LeastConnLb(servers, ab);
    case "first":
      return new FirstLb(servers, ab);
    case "random":
      return new RandomLb(servers, ab, p.draws);
    case "source":
    case "uri":
    case "url_param":
    case "hdr":
      return new HashLb(servers, ab, p.hashType, makeHashKey(p.algo, p));
  }
}

/** Builds the key function of a hash algorithm (once per balancer, not per request). */
export function makeHashKey(
  algo: "source" | "uri" | "url_param" | "hdr",
  p: CompiledBalance,
): HashKeyFn {
  switch (algo) {
    case "source":
      return (req: LbRequest) => hashSource(req.src);
    case "uri": {
      const o = p.uri;
      return (req: LbRequest) => (req.uri === null ? -1 : hashUri(req.uri, o));
    }
    case "url_param": {
      const name = p.param;
      return (req: LbRequest) => (req.uri === null ? -1 : hashUrlParam(req.uri, name));
    }
    case "hdr": {
      const name = p.header;
      const domainOnly = p.domainOnly;
      return (req: LbRequest) => {
        const line = req.header(name);
        if (line === null) return -1;
        // HAProxy hashes the first comma-separated value (get_server_hh()).
        const comma = line.indexOf(",");
        const v = (comma < 0 ? line : line.slice(0, comma)).trim();
        return v.length === 0 ? -1 : hashHeaderValue(v, domainOnly);
      };
    }
  }
}

/** `balance source`: sdbm of the client address text; -1 (round robin) when it is empty. */
export function hashSource(src: string): number {
  return src.length === 0 ? -1 : hashString(src);
}

/**
 * Index where the path of a request target starts (HAProxy's http_get_path()):
 * 0 for an origin-form target ("/a?b"); after the authority for an absolute
 * one ("http://h/a?b" -> index of "/a"); uri.length (empty path) for "*", an
 * authority-form target, or an absolute URI without a path.
 */
export function uriPathStart(uri: string): number {
  if (uri.charCodeAt(0) === CH_SLASH) return 0;
  const scheme = uri.indexOf("://");
  if (scheme < 0) return uri.length;
  const slash = uri.indexOf("/", scheme + 3);
  return slash < 0 ? uri.length : slash;
}

/**
 * `balance uri`: hashes the request target as HAProxy's get_server_uh():
 * with pathOnly, only from the path on; then at most `len` characters; then
 * up to the first `?` unless `whole`, and up to the (depth+1)-th slash when
 * `depth` is set. Always returns a hash (an empty part hashes to 0).
 */
export function hashUri(uri: string, o: UriHashOptions): number {
  const start = o.pathOnly ? uriPathStart(uri) : 0;
  let limit = uri.length;
  if (o.len > 0 && o.len < limit - start) limit = start + o.len;
  const stopSlash = o.depth > 0 ? o.depth + 1 : 0;
  let slashes = 0;
  let end = start;
  for (; end < limit; end++) {
    const c = uri.charCodeAt(end);
    if (c === CH_SLASH) {
      if (++slashes === stopSlash) break;
    } else if (c === CH_QMARK && !o.whole) break;
  }
  return hashSdbm(uri, start, end);
}

/**
 * `balance url_param`: hashes the value of query parameter `name` (matched
 * case-sensitively at the start of a parameter and followed by `=`; the value
 * runs to the next `&`). Returns -1 (round robin) when the URI has no query or
 * no such parameter; an empty value is hashed (to 0), as HAProxy does.
 */
export function hashUrlParam(uri: string, name: string): number {
  const q = uri.indexOf("?");
  if (q < 0) return -1;
  const n = name.length;
  const end = uri.length;
  let p = q + 1;
  while (end - p > n) {
    if (uri.charCodeAt(p + n) === CH_EQUAL && uri.startsWith(name, p)) {
      let e = p + n + 1;
      while (e < end && uri.charCodeAt(e) !== CH_AMP) e++;
      return hashSdbm(uri, p + n + 1, e);
    }
    const amp = uri.indexOf("&", p);
    if (amp < 0) return -1;
    p = amp + 1;
  }
  return -1;
}

/**
 * `balance hdr`: hashes a header value, or with `domainOnly` only the label
 * before the last dot ("www.haproxy.org" -> "haproxy", "haproxy.org:8080" ->
 * "haproxy"); a value without a dot (or only a leading one) is hashed whole.
 */
export function hashHeaderValue(v: string, domainOnly: boolean): number {
  if (!domainOnly) return hashString(v);
  const last = v.lastIndexOf(".");
  if (last <= 0) return hashString(v);
  let start = last;
  while (start > 0 && v.charCodeAt(start - 1) !== CH_DOT) start--;
  return hashSdbm(v, start, last);
}
