// The balancer factory and the request keys of the hash algorithms (HAProxy's
// backend.c: assign_server() dispatch, get_server_sh/uh/ph/hh key extraction,
// and the `balance` argument parsing of cfgparse-listen.c / backend.c).
//
// createLoadBalancer() turns a resolved BalanceConfig into one LoadBalancer
// over a backend's servers; it is called once per backend at start-up (and
// again only if the server list itself changes). The key functions built here
// hash the documented part of the request in place, by index ranges over the
// request's strings: no substring is built per request. This file never
// touches sockets.

import type { BalanceConfig } from "../config/types.ts";
import { FirstLb } from "./lb_first.ts";
import { type HashKeyFn, HashLb, hashSdbm, hashString } from "./lb_hash.ts";
import { LeastConnLb } from "./lb_leastconn.ts";
import { RANDOM_DEFAULT_DRAWS, RandomLb } from "./lb_random.ts";
import { RoundRobinLb } from "./lb_roundrobin.ts";
import { StaticRrLb } from "./lb_static_rr.ts";
import type { LbRequest, LbServer, LoadBalancer } from "./lb_types.ts";

const CH_SLASH = 0x2f; // '/'
const CH_QMARK = 0x3f; // '?'
const CH_EQUAL = 0x3d; // '='
const CH_AMP = 0x26; // '&'
const CH_DOT = 0x2e; // '.'

/** Options of `balance uri` (HAProxy: `len`, `depth`, `whole`, `path-only`). */
export interface UriHashOptions {
  /** Hash at most this many characters of the (path-only) URI; 0 = no limit. */
  len: number;
  /** Hash up to (excluding) the (depth+1)-th slash; 0 = no limit. */
  depth: number;
  /** Include the query string (by default hashing stops at the `?`). */
  whole: boolean;
  /** Strip the scheme and authority of an absolute URI first. */
  pathOnly: boolean;
}

/** The balance arguments, parsed and checked. */
export interface BalanceParams {
  /** random: number of draws (>= 1). */
  draws: number;
  /** uri: hashing options. */
  uri: UriHashOptions;
  /** url_param: the query parameter name (case-sensitive). */
  param: string;
  /** hdr: the header name, lower-cased. */
  header: string;
  /** hdr: hash only the domain label before the TLD (`use_domain_only`). */
  domainOnly: boolean;
}

/** A `balance` line whose arguments are wrong; the message quotes the bad value. */
export class BalanceArgsError extends RangeError {
  override name = "BalanceArgsError";
}

/** Parses `s` as an integer >= min, or throws a BalanceArgsError about `what`. */
function parseIntArg(s: string | undefined, what: string, min: number): number {
  if (s === undefined || !/^[0-9]+$/.test(s) || Number(s) < min) {
    throw new BalanceArgsError(
      `Invalid value "${s ?? ""}" for ${what}: expected an integer >= ${min}`,
    );
  }
  return Number(s);
}

/**
 * Parses and checks the arguments of a `balance` line, as HAProxy spells them:
 * none for roundrobin/static-rr/leastconn/first/source; `[draws]` for random;
 * `[len N] [depth N] [whole] [path-only]` for uri; `<param>` for url_param;
 * `<name> [use_domain_only]` for hdr. Throws BalanceArgsError on an unknown or
 * malformed argument (url_param's `check_post` is refused: request bodies are
 * not inspected).
 */
export function parseBalanceArgs(cfg: BalanceConfig): BalanceParams {
  const p: BalanceParams = {
    draws: RANDOM_DEFAULT_DRAWS,
    uri: { len: 0, depth: 0, whole: false, pathOnly: false },
    param: "",
    header: "",
    domainOnly: false,
  };
  const a = cfg.args;
  const unexpected = (i: number): never => {
    throw new BalanceArgsError(`Unexpected argument "${a[i]}" for balance ${cfg.algo}`);
  };
  switch (cfg.algo) {
    case "roundrobin":
    case "static-rr":
    case "leastconn":
    case "first":
    case "source":
      if (a.length > 0) unexpected(0);
      break;
    case "random":
      if (a.length > 1) unexpected(1);
      if (a.length === 1) p.draws = parseIntArg(a[0], "random draws", 1);
      break;
    case "uri":
      for (let i = 0; i < a.length; i++) {
        const w = a[i];
        if (w === "whole") p.uri.whole = true;
        else if (w === "path-only") p.uri.pathOnly = true;
        else if (w === "len") p.uri.len = parseIntArg(a[++i], "uri len", 1);
        else if (w === "depth") p.uri.depth = parseIntArg(a[++i], "uri depth", 1);
        else unexpected(i);
      }
      break;
    case "url_param":
      if (a.length === 0 || a[0] === "") {
        throw new BalanceArgsError("Balance url_param requires a parameter name");
      }
      if (a.length > 1) {
        if (a[1] === "check_post") {
          throw new BalanceArgsError(
            `Unsupported argument "check_post" for balance url_param: request bodies are not inspected`,
          );
        }
        unexpected(1);
      }
      p.param = a[0]!;
      break;
    case "hdr":
      if (a.length === 0 || a[0] === "") {
        throw new BalanceArgsError("Balance hdr requires a header name");
      }
      for (let i = 1; i < a.length; i++) {
        if (a[i] === "use_domain_only") p.domainOnly = true;
        else unexpected(i);
      }
      p.header = a[0]!.toLowerCase();
      break;
    default: {
      const algo: never = cfg.algo;
      throw new BalanceArgsError(`Unknown balance algorithm "${String(algo)}"`);
    }
  }
  return p;
}

/** The message of parseBalanceArgs()'s error for `cfg`, or null when it is valid (for the config validator). */
export function balanceArgsError(cfg: BalanceConfig): string | null {
  try {
    parseBalanceArgs(cfg);
    return null;
  } catch (e) {
    if (e instanceof BalanceArgsError) return e.message;
    throw e;
  }
}

/**
 * Builds the balancer of a backend. `servers` is kept (not copied): the core
 * mutates weight/usable/cur on those objects and calls update()/onTake()/
 * onRelease(). With `allbackups`, backups share the load (same algorithm)
 * when no active server is usable; otherwise only the first usable backup is
 * used. Throws BalanceArgsError when cfg.args are invalid.
 */
export function createLoadBalancer(
  cfg: BalanceConfig,
  servers: LbServer[],
  opts: { allbackups: boolean },
): LoadBalancer {
  const p = parseBalanceArgs(cfg);
  const ab = opts.allbackups;
  switch (cfg.algo) {
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
      return new HashLb(servers, ab, cfg.hashType, makeHashKey(cfg.algo, p));
  }
}

/** Builds the key function of a hash algorithm (once per balancer, not per request). */
export function makeHashKey(
  algo: "source" | "uri" | "url_param" | "hdr",
  p: BalanceParams,
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
