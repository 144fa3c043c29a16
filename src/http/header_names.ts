// Interned header names (HAProxy's well-known header list in http.c, and
// undici's header-name tree): a fixed table of common names, each with a small
// integer id, so that the parser and the analysers test `id === HDR_HOST`
// instead of comparing strings.
//
// Lookup compares the bytes of a name in the buffer case-insensitively against
// the table without creating a string (candidates are bucketed by length and
// first byte). This file must never allocate per lookup nor know about
// messages; a name that is not in the table simply has id -1 (HDR_UNKNOWN).

import { TO_LOWER } from "./_chars.ts";

/** Id of a header name that is not in the table. */
export const HDR_UNKNOWN = -1;

/**
 * The table, lower case. The index is the id: the HDR_* constants below must
 * match this order (checked at module load).
 */
export const HEADER_NAMES: readonly string[] = Object.freeze([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "expect",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "user-agent",
  "accept",
  "accept-encoding",
  "accept-language",
  "accept-charset",
  "cookie",
  "set-cookie",
  "content-type",
  "content-encoding",
  "cache-control",
  "pragma",
  "authorization",
  "proxy-authorization",
  "proxy-authenticate",
  "www-authenticate",
  "referer",
  "origin",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-real-ip",
  "forwarded",
  "via",
  "date",
  "server",
  "location",
  "last-modified",
  "etag",
  "if-modified-since",
  "if-none-match",
  "if-match",
  "if-unmodified-since",
  "range",
  "content-range",
  "accept-ranges",
  "vary",
  "expires",
  "age",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "upgrade-insecure-requests",
  "dnt",
  "sec-fetch-site",
  "sec-fetch-mode",
  "sec-fetch-dest",
  "sec-fetch-user",
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "x-request-id",
  "x-requested-with",
  "strict-transport-security",
  "access-control-allow-origin",
  "content-security-policy",
  "x-content-type-options",
  "x-frame-options",
  "alt-svc",
  "content-disposition",
  "content-language",
  "retry-after",
  "link",
]);

export const HDR_HOST = 0;
export const HDR_CONTENT_LENGTH = 1;
export const HDR_TRANSFER_ENCODING = 2;
export const HDR_CONNECTION = 3;
export const HDR_UPGRADE = 4;
export const HDR_EXPECT = 5;
export const HDR_KEEP_ALIVE = 6;
export const HDR_PROXY_CONNECTION = 7;
export const HDR_TE = 8;
export const HDR_TRAILER = 9;
export const HDR_USER_AGENT = 10;
export const HDR_ACCEPT = 11;
export const HDR_ACCEPT_ENCODING = 12;
export const HDR_ACCEPT_LANGUAGE = 13;
export const HDR_ACCEPT_CHARSET = 14;
export const HDR_COOKIE = 15;
export const HDR_SET_COOKIE = 16;
export const HDR_CONTENT_TYPE = 17;
export const HDR_CONTENT_ENCODING = 18;
export const HDR_CACHE_CONTROL = 19;
export const HDR_PRAGMA = 20;
export const HDR_AUTHORIZATION = 21;
export const HDR_PROXY_AUTHORIZATION = 22;
export const HDR_PROXY_AUTHENTICATE = 23;
export const HDR_WWW_AUTHENTICATE = 24;
export const HDR_REFERER = 25;
export const HDR_ORIGIN = 26;
export const HDR_X_FORWARDED_FOR = 27;
export const HDR_X_FORWARDED_PROTO = 28;
export const HDR_X_FORWARDED_HOST = 29;
export const HDR_X_FORWARDED_PORT = 30;
export const HDR_X_REAL_IP = 31;
export const HDR_FORWARDED = 32;
export const HDR_VIA = 33;
export const HDR_DATE = 34;
export const HDR_SERVER = 35;
export const HDR_LOCATION = 36;
export const HDR_LAST_MODIFIED = 37;
export const HDR_ETAG = 38;
export const HDR_IF_MODIFIED_SINCE = 39;
export const HDR_IF_NONE_MATCH = 40;
export const HDR_IF_MATCH = 41;
export const HDR_IF_UNMODIFIED_SINCE = 42;
export const HDR_RANGE = 43;
export const HDR_CONTENT_RANGE = 44;
export const HDR_ACCEPT_RANGES = 45;
export const HDR_VARY = 46;
export const HDR_EXPIRES = 47;
export const HDR_AGE = 48;
export const HDR_SEC_WEBSOCKET_KEY = 49;
export const HDR_SEC_WEBSOCKET_VERSION = 50;
export const HDR_SEC_WEBSOCKET_ACCEPT = 51;
export const HDR_SEC_WEBSOCKET_PROTOCOL = 52;
export const HDR_SEC_WEBSOCKET_EXTENSIONS = 53;
export const HDR_UPGRADE_INSECURE_REQUESTS = 54;
export const HDR_DNT = 55;
export const HDR_SEC_FETCH_SITE = 56;
export const HDR_SEC_FETCH_MODE = 57;
export const HDR_SEC_FETCH_DEST = 58;
export const HDR_SEC_FETCH_USER = 59;
export const HDR_SEC_CH_UA = 60;
export const HDR_SEC_CH_UA_MOBILE = 61;
export const HDR_SEC_CH_UA_PLATFORM = 62;
export const HDR_X_REQUEST_ID = 63;
export const HDR_X_REQUESTED_WITH = 64;
export const HDR_STRICT_TRANSPORT_SECURITY = 65;
export const HDR_ACCESS_CONTROL_ALLOW_ORIGIN = 66;
export const HDR_CONTENT_SECURITY_POLICY = 67;
export const HDR_X_CONTENT_TYPE_OPTIONS = 68;
export const HDR_X_FRAME_OPTIONS = 69;
export const HDR_ALT_SVC = 70;
export const HDR_CONTENT_DISPOSITION = 71;
export const HDR_CONTENT_LANGUAGE = 72;
export const HDR_RETRY_AFTER = 73;
export const HDR_LINK = 74;

/** Longest name in the table; longer names are unknown without a look. */
const MAX_NAME_LEN = 32;

/**
 * The table as four small flat typed arrays, about 4 KB together: a lookup
 * reads a few bytes of each, where a table of arrays per slot and per name
 * read an object and its store for each (cache misses, on a busy proxy
 * whose connections' data pushes the tables out). NAMES holds every name's
 * bytes, the name of id `i` starting at NAME_AT[i]. Candidates by (length,
 * first byte): the ids of slot `len * 32 + (first & 31)` are
 * CANDS[SLOT_AT[slot], SLOT_AT[slot + 1]). Header names start with a
 * letter, so `& 31` spreads them over 26 slots.
 */
const NAME_AT = new Int32Array(HEADER_NAMES.length);
const NAMES: Uint8Array = (() => {
  let total = 0;
  for (let id = 0; id < HEADER_NAMES.length; id++) {
    const name = HEADER_NAMES[id] as string;
    if (name.length > MAX_NAME_LEN) throw new Error(`Header name "${name}" exceeds MAX_NAME_LEN`);
    NAME_AT[id] = total;
    total += name.length;
  }
  const out = new Uint8Array(total);
  for (let id = 0; id < HEADER_NAMES.length; id++) {
    const name = HEADER_NAMES[id] as string;
    for (let i = 0; i < name.length; i++) out[NAME_AT[id]! + i] = name.charCodeAt(i);
  }
  return out;
})();
const SLOTS = (MAX_NAME_LEN + 1) * 32;
const SLOT_AT = new Int16Array(SLOTS + 1);
const CANDS: Int16Array = (() => {
  const lists: number[][] = Array.from({ length: SLOTS }, () => []);
  for (let id = 0; id < HEADER_NAMES.length; id++) {
    const name = HEADER_NAMES[id] as string;
    lists[name.length * 32 + (name.charCodeAt(0) & 31)]!.push(id);
  }
  const out = new Int16Array(HEADER_NAMES.length);
  let k = 0;
  for (let s = 0; s < SLOTS; s++) {
    SLOT_AT[s] = k;
    for (const id of lists[s]!) out[k++] = id;
  }
  SLOT_AT[SLOTS] = k;
  return out;
})();

/**
 * Id of the header name in buf[start, start + len), compared
 * case-insensitively; HDR_UNKNOWN when it is not in the table. Never
 * allocates. The bytes are not validated here (the parser already did).
 */
export function headerNameId(buf: Uint8Array, start: number, len: number): number {
  if (len === 0 || len > MAX_NAME_LEN) return HDR_UNKNOWN;
  const first = TO_LOWER[buf[start] as number] as number;
  const slot = len * 32 + (first & 31);
  for (let k = SLOT_AT[slot] as number, end = SLOT_AT[slot + 1] as number; k < end; k++) {
    const id = CANDS[k] as number;
    const o = NAME_AT[id] as number;
    if (NAMES[o] !== first) continue;
    let i = 1;
    while (i < len && TO_LOWER[buf[start + i] as number] === NAMES[o + i]) i++;
    if (i === len) return id;
  }
  return HDR_UNKNOWN;
}

/**
 * Id of a header name given as a string (any case), for config-time
 * resolution of rules; HDR_UNKNOWN when not in the table.
 */
export function headerNameIdFromString(name: string): number {
  const lower = name.toLowerCase();
  const id = HEADER_NAMES.indexOf(lower);
  return id < 0 ? HDR_UNKNOWN : id;
}

/** Lower-case name of an interned id, or null for HDR_UNKNOWN / out of range. */
export function headerNameOf(id: number): string | null {
  return HEADER_NAMES[id] ?? null;
}

// Guard: the constants above must follow the table order.
if (
  HEADER_NAMES[HDR_HOST] !== "host" || HEADER_NAMES[HDR_LINK] !== "link" ||
  HEADER_NAMES[HDR_SEC_CH_UA_PLATFORM] !== "sec-ch-ua-platform" ||
  HEADER_NAMES.length !== HDR_LINK + 1
) {
  throw new Error("header_names.ts: HDR_* constants out of sync with HEADER_NAMES");
}
