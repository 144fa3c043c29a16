// Cookie-based persistence (HAProxy's `cookie` keyword, proto_http cookie
// handling).
//
// `cookie NAME insert|rewrite|prefix [indirect] [nocache] [httponly] [secure]
// [preserve]` on a backend, with a `cookie VALUE` per server. A request
// carrying NAME=VALUE of a usable server goes to that server, whatever the
// balancer says; a response tells the client which server it used. Values
// are static, so persistence survives a restart of the proxy. This file
// parses the keyword and edits cookie header values; it never picks servers.

/** How the persistence cookie is produced. */
export type CookieMode = "insert" | "rewrite" | "prefix";

export interface CookieConfig {
  name: string;
  mode: CookieMode;
  /** insert: the cookie is not forwarded to the server (HAProxy's indirect). */
  indirect: boolean;
  /** insert: mark responses that set the cookie as private (no shared caches). */
  nocache: boolean;
  httponly: boolean;
  secure: boolean;
  /** insert: keep a cookie the client already has for the server (no Set-Cookie). */
  preserve: boolean;
  domain: string | null;
}

const FLAGS = new Set(["indirect", "nocache", "httponly", "secure", "preserve"]);

/**
 * Parses the text after `cookie` (e.g. "SERVERID insert indirect nocache").
 * Returns the config or an error message naming the bad word.
 */
export function parseCookieConfig(text: string): CookieConfig | { error: string } {
  const words = text.trim().split(/\s+/).filter((w) => w !== "");
  const name = words[0];
  if (name === undefined || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    return { error: `cookie: invalid or missing cookie name "${name ?? ""}"` };
  }
  const cfg: CookieConfig = {
    name,
    mode: "insert",
    indirect: false,
    nocache: false,
    httponly: false,
    secure: false,
    preserve: false,
    domain: null,
  };
  let modeSeen = false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === "insert" || w === "rewrite" || w === "prefix") {
      if (modeSeen) return { error: `cookie: only one of insert, rewrite or prefix may be given` };
      cfg.mode = w;
      modeSeen = true;
    } else if (FLAGS.has(w)) {
      (cfg as unknown as Record<string, boolean>)[w] = true;
    } else if (w === "domain") {
      const d = words[++i];
      if (d === undefined) return { error: "cookie: missing value after 'domain'" };
      cfg.domain = d;
    } else {
      return { error: `cookie: unknown option "${w}"` };
    }
  }
  if (!modeSeen) {
    return { error: 'cookie: one of "insert", "rewrite" or "prefix" is required' };
  }
  return cfg;
}

/**
 * The cookie-pairs of a Cookie header value, as [start, end) offsets, OWS
 * trimmed; a `;` inside a quoted value does not end a pair.
 */
function cookiePairs(v: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const n = v.length;
  let i = 0;
  while (i < n) {
    while (i < n && (v[i] === " " || v[i] === "\t" || v[i] === ";")) i++;
    if (i >= n) break;
    const s = i;
    let quoted = false;
    while (i < n && (quoted || v[i] !== ";")) {
      if (v[i] === '"') quoted = !quoted;
      i++;
    }
    let e = i;
    while (e > s && (v[e - 1] === " " || v[e - 1] === "\t")) e--;
    out.push([s, e]);
  }
  return out;
}

/** Name of a cookie-pair (before `=`, trimmed); the whole pair when it has no `=`. */
function pairName(pair: string): string {
  const eq = pair.indexOf("=");
  return (eq < 0 ? pair : pair.slice(0, eq)).trim();
}

/**
 * Finds NAME in Cookie header values; returns the value (for prefix mode,
 * the part before the first "~"), or null when absent.
 */
export function findPersistCookie(values: readonly string[], cfg: CookieConfig): string | null {
  for (const v of values) {
    for (const [s, e] of cookiePairs(v)) {
      const part = v.slice(s, e);
      const eq = part.indexOf("=");
      if (eq < 0 || pairName(part) !== cfg.name) continue;
      const val = part.slice(eq + 1).trim();
      if (cfg.mode === "prefix") {
        const t = val.indexOf("~");
        return t < 0 ? null : val.slice(0, t);
      }
      return val;
    }
  }
  return null;
}

/**
 * The Cookie header value the server should see: insert+indirect removes
 * NAME, prefix strips the "SERVER~" prefix of its value. Every other byte
 * stays as the client sent it (a removed pair takes the delimiter after
 * the pair before it). Returns null when the header is to be removed
 * (nothing left), or the value unchanged.
 */
export function requestCookieForServer(value: string, cfg: CookieConfig): string | null {
  const pairs = cookiePairs(value);
  const kept: string[] = [];
  const seps: string[] = [];
  let changed = false;
  for (let k = 0; k < pairs.length; k++) {
    const [s, e] = pairs[k]!;
    let part = value.slice(s, e);
    if (pairName(part) === cfg.name) {
      if (cfg.mode === "insert" && cfg.indirect) {
        changed = true;
        continue;
      }
      if (cfg.mode === "prefix") {
        const eq = part.indexOf("=");
        const t = part.indexOf("~", eq + 1);
        if (eq >= 0 && t >= 0) {
          part = part.slice(0, eq + 1) + part.slice(t + 1);
          changed = true;
        }
      }
    }
    kept.push(part);
    // The delimiter that followed this pair (unused after the last kept one).
    seps.push(k + 1 < pairs.length ? value.slice(e, pairs[k + 1]![0]) : "");
  }
  if (!changed) return value;
  if (kept.length === 0) return null;
  let out = value.slice(0, pairs[0]![0]);
  for (let k = 0; k < kept.length; k++) {
    out += kept[k];
    if (k + 1 < kept.length) out += seps[k];
  }
  return out + value.slice(pairs[pairs.length - 1]![1]);
}

/** The Set-Cookie line value insert mode adds for a server cookie value. */
export function insertSetCookie(cfg: CookieConfig, serverCookie: string): string {
  let v = `${cfg.name}=${serverCookie}; path=/`;
  if (cfg.domain !== null) v += `; domain=${cfg.domain}`;
  if (cfg.httponly) v += "; HttpOnly";
  if (cfg.secure) v += "; Secure";
  return v;
}

/**
 * rewrite / prefix modes: the new value of a server's Set-Cookie line when
 * it sets NAME, or null when the line is about another cookie.
 */
export function rewriteSetCookie(
  line: string,
  cfg: CookieConfig,
  serverCookie: string,
): string | null {
  const eq = line.indexOf("=");
  if (eq < 0 || line.slice(0, eq).trim() !== cfg.name) return null;
  const semi = line.indexOf(";", eq);
  const value = semi < 0 ? line.slice(eq + 1) : line.slice(eq + 1, semi);
  const rest = semi < 0 ? "" : line.slice(semi);
  const nv = cfg.mode === "prefix" ? `${serverCookie}~${value.trim()}` : serverCookie;
  return `${cfg.name}=${nv}${rest}`;
}
