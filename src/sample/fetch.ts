// Sample fetches (HAProxy's sample.c fetch registry, with the keywords of
// http_fetch.c and the connection fetches of tcp_sample.c).
//
// Owns: the fetch keyword table (one object with named fields per keyword,
// HAProxy names, aliases as separate entries) and the evaluation of a
// compiled fetch against a SampleCtx: fetchOne() for one sample, fetchAll()
// for every occurrence of a multi-valued fetch. Evaluation runs per request
// in rules and ACLs: it switches on the keyword's integer id, reads through
// the SampleCtx, and allocates nothing beyond the strings it returns. It
// never parses expressions (expr.ts), never decides anything (acl/ and
// http_rules.ts do), and never knows how the HTTP layer stores a message:
// SampleCtx is the only way in.

import { FETCH_STK_BASE, STICK_FETCHES, stickFetch } from "./stick_fetch.ts";
import { authenticate, type Userlist } from "./auth.ts";
import { convertSample } from "./converters.ts";
import { payloadBytes, PL_MISSING, sslAlpn, sslHelloType, sslSni, sslVersion } from "./payload.ts";
import {
  type Fetch,
  type FetchDef,
  type Sample,
  type SampleCtx,
  SMP_ARG_CONST,
  SMP_ARG_HDR,
  SMP_ARG_HDR_NAME,
  SMP_ARG_NONE,
  SMP_ARG_PARAM,
  SMP_ARG_PAYLOAD,
  SMP_ARG_USERLIST,
  SMP_ARG_VAR,
  SMP_SIDE_CTX,
  SMP_SIDE_REQ,
  SMP_SIDE_RES,
  SMP_T_BOOL,
  SMP_T_INT,
  SMP_T_IP,
  SMP_T_STR,
  SMP_USE_CONN,
  SMP_USE_L4REQ,
  SMP_USE_REQ,
  SMP_USE_RES,
  SMP_USE_SIDE,
  SMP_VAL_REQ,
  SMP_VAL_RES,
  type SslFacts,
} from "./types.ts";

// Evaluation methods (FetchDef.id).
const FETCH_TRUE = 0;
const FETCH_FALSE = 1;
const FETCH_PROTO_HTTP = 2;
const FETCH_SRC = 3;
const FETCH_DST = 4;
const FETCH_SRC_PORT = 5;
const FETCH_DST_PORT = 6;
const FETCH_METHOD = 7;
const FETCH_PATH = 8;
const FETCH_URL = 9;
const FETCH_QUERY = 10;
const FETCH_BASE = 11;
const FETCH_REQ_VER = 12;
const FETCH_URL_PARAM = 13;
/** Header values of a side, comma-split. */
const FETCH_HDR = 14;
/** Whole header lines of a side. */
const FETCH_FHDR = 15;
const FETCH_HDR_CNT = 16;
const FETCH_FHDR_CNT = 17;
const FETCH_STATUS = 18;
/** Log-format `%HQ`: "?query" or "". */
const FETCH_LV_HQ = 19;
/** Log-format `%HV`: "HTTP/1.1". */
const FETCH_LV_HV = 20;
/** `var(scope.name)`. */
const FETCH_VAR = 31;
/** `str(text)`. */
const FETCH_STR = 32;
/** `int(n)`. */
const FETCH_INT = 33;
/** `bool(b)`. */
const FETCH_BOOL = 34;
/** `http_auth(L)`. */
const FETCH_HTTP_AUTH = 35;
/** `http_auth_group(L)`: the user as a value, its groups in ACLs. */
const FETCH_HTTP_AUTH_GROUP = 36;
/** `unique-id`. */
const FETCH_UNIQUE_ID = 37;
/** Log-format `%Ts`: Unix time in seconds. */
const FETCH_LV_TS = 38;
/** Log-format `%rt`: the transaction's number in the process. */
const FETCH_LV_RT = 39;
/** Log-format `%pid`. */
const FETCH_LV_PID = 40;
// Layer-4 request content (payload.ts), tcp-request content rules only.
const FETCH_REQ_LEN = 21;
const FETCH_REQ_PAYLOAD = 22;
const FETCH_SSL_HELLO_TYPE = 23;
const FETCH_SSL_VER = 24;
const FETCH_SSL_SNI = 25;
const FETCH_SSL_ALPN = 26;
/** fc_http_major: 2 when the client speaks HTTP/2, else 1. */
const FETCH_FC_HTTP_MAJOR = 27;

// TLS of the client connection (HAProxy's ssl_sock.c fetches), from 50
// (31-40 are the variables', constants' and log values' above; stick-table
// fetches start at FETCH_STK_BASE).
const FETCH_SSL_FC = 50;
const FETCH_SSL_FC_SNI = 51;
const FETCH_SSL_FC_PROTOCOL = 52;
const FETCH_SSL_FC_ALPN = 53;
const FETCH_SSL_FC_CIPHER = 54;
const FETCH_SSL_C_USED = 55;
const FETCH_SSL_C_VERIFY = 56;
const FETCH_SSL_C_S_DN = 57;

/** The fields a table entry may leave out, with their defaults. */
interface FetchDefaults {
  args?: number;
  side?: number;
  multi?: boolean;
  derive?: boolean;
}

/**
 * Builds a frozen FetchDef. Defaults: no argument, the evaluated side, one
 * value, no derived ACL keywords.
 */
function fetchDef(
  d: Omit<FetchDef, keyof FetchDefaults> & FetchDefaults,
): FetchDef {
  return Object.freeze({
    name: d.name,
    id: d.id,
    args: d.args ?? SMP_ARG_NONE,
    out: d.out,
    use: d.use,
    val: d.val,
    side: d.side ?? SMP_SIDE_CTX,
    multi: d.multi ?? false,
    derive: d.derive ?? false,
    doc: d.doc,
  });
}

const S = SMP_T_STR;
const I = SMP_T_INT;
const REQ = SMP_USE_REQ;
const RES = SMP_USE_RES;
const SIDE = SMP_USE_SIDE;
/** Valid in both directions. */
const BOTH = SMP_VAL_REQ | SMP_VAL_RES;

/**
 * A layer-4 payload fetch and its deprecated alias: valid on requests, it
 * reads the tcp-request content buffer (null elsewhere).
 */
function l4Fetch(
  name: string,
  id: number,
  out: number,
  alias: string | null,
  doc: string,
): FetchDef[] {
  const d = {
    id,
    out,
    use: SMP_USE_L4REQ,
    // Valid everywhere a request exists; outside tcp-request rules there is no content: not found.
    val: BOTH,
    args: id === FETCH_REQ_PAYLOAD ? SMP_ARG_PAYLOAD : SMP_ARG_NONE,
    multi: id === FETCH_SSL_ALPN,
    derive: out === SMP_T_STR,
  };
  const defs = [fetchDef({ name, doc, ...d })];
  if (alias !== null) defs.push(fetchDef({ name: alias, doc: `alias of ${name}`, ...d }));
  return defs;
}

/** The fetch table (HAProxy names). Aliases point at the same id. */
export const FETCHES: readonly FetchDef[] = Object.freeze([
  ...sslFetches(),
  fetchDef({
    name: "always_true",
    id: FETCH_TRUE,
    out: SMP_T_BOOL,
    use: 0,
    val: BOTH,
    doc: "always true",
  }),
  fetchDef({
    name: "always_false",
    id: FETCH_FALSE,
    out: SMP_T_BOOL,
    use: 0,
    val: BOTH,
    doc: "always false",
  }),
  fetchDef({
    name: "req.proto_http",
    id: FETCH_PROTO_HTTP,
    out: SMP_T_BOOL,
    use: REQ,
    val: BOTH,
    doc: "true: the request is HTTP",
  }),
  fetchDef({
    name: "src",
    id: FETCH_SRC,
    out: SMP_T_IP,
    use: SMP_USE_CONN,
    val: BOTH,
    doc: "client address",
  }),
  fetchDef({
    name: "dst",
    id: FETCH_DST,
    out: SMP_T_IP,
    use: SMP_USE_CONN,
    val: BOTH,
    doc: "local address",
  }),
  fetchDef({
    name: "src_port",
    id: FETCH_SRC_PORT,
    out: I,
    use: SMP_USE_CONN,
    val: BOTH,
    doc: "client port",
  }),
  fetchDef({
    name: "dst_port",
    id: FETCH_DST_PORT,
    out: I,
    use: SMP_USE_CONN,
    val: BOTH,
    doc: "local port",
  }),
  fetchDef({
    name: "method",
    id: FETCH_METHOD,
    out: S,
    use: REQ,
    val: BOTH,
    doc: "request method",
  }),
  fetchDef({
    name: "path",
    id: FETCH_PATH,
    out: S,
    use: REQ,
    val: BOTH,
    derive: true,
    doc: "path, without query",
  }),
  fetchDef({
    name: "url",
    id: FETCH_URL,
    out: S,
    use: REQ,
    val: BOTH,
    derive: true,
    doc: "request-target as sent",
  }),
  fetchDef({ name: "query", id: FETCH_QUERY, out: S, use: REQ, val: BOTH, doc: "query after '?'" }),
  fetchDef({
    name: "base",
    id: FETCH_BASE,
    out: S,
    use: REQ,
    val: BOTH,
    derive: true,
    doc: "Host header + path",
  }),
  fetchDef({
    name: "req.ver",
    id: FETCH_REQ_VER,
    out: S,
    use: REQ,
    val: BOTH,
    doc: '"1.0", "1.1" or "2.0" (a client speaking HTTP/2)',
  }),
  fetchDef({
    name: "fc_http_major",
    id: FETCH_FC_HTTP_MAJOR,
    out: I,
    use: SMP_USE_CONN,
    val: BOTH,
    doc: "HTTP major version of the client connection: 1 (HTTP/1.x) or 2 (HTTP/2)",
  }),
  fetchDef({
    name: "req_ver",
    id: FETCH_REQ_VER,
    out: S,
    use: REQ,
    val: BOTH,
    doc: "alias of req.ver",
  }),
  fetchDef({
    name: "url_param",
    id: FETCH_URL_PARAM,
    args: SMP_ARG_PARAM,
    out: S,
    use: REQ,
    val: BOTH,
    multi: true,
    derive: true,
    doc: "value of query parameter NAME: url_param(NAME[,DELIM])",
  }),
  fetchDef({
    name: "urlp",
    id: FETCH_URL_PARAM,
    args: SMP_ARG_PARAM,
    out: S,
    use: REQ,
    val: BOTH,
    multi: true,
    derive: true,
    doc: "alias of url_param",
  }),
  fetchDef({
    name: "hdr",
    id: FETCH_HDR,
    args: SMP_ARG_HDR,
    out: S,
    use: SIDE,
    val: BOTH,
    multi: true,
    derive: true,
    doc: "header values, comma-split (request or response side): hdr(NAME[,OCC])",
  }),
  fetchDef({
    name: "req.hdr",
    id: FETCH_HDR,
    args: SMP_ARG_HDR,
    out: S,
    use: REQ,
    val: BOTH,
    side: SMP_SIDE_REQ,
    multi: true,
    derive: true,
    doc: "request header values",
  }),
  fetchDef({
    name: "res.hdr",
    id: FETCH_HDR,
    args: SMP_ARG_HDR,
    out: S,
    use: RES,
    val: SMP_VAL_RES,
    side: SMP_SIDE_RES,
    multi: true,
    derive: true,
    doc: "response header values",
  }),
  fetchDef({
    name: "fhdr",
    id: FETCH_FHDR,
    args: SMP_ARG_HDR,
    out: S,
    use: SIDE,
    val: BOTH,
    multi: true,
    derive: true,
    doc: "whole header lines",
  }),
  fetchDef({
    name: "req.fhdr",
    id: FETCH_FHDR,
    args: SMP_ARG_HDR,
    out: S,
    use: REQ,
    val: BOTH,
    side: SMP_SIDE_REQ,
    multi: true,
    derive: true,
    doc: "whole request lines",
  }),
  fetchDef({
    name: "res.fhdr",
    id: FETCH_FHDR,
    args: SMP_ARG_HDR,
    out: S,
    use: RES,
    val: SMP_VAL_RES,
    side: SMP_SIDE_RES,
    multi: true,
    derive: true,
    doc: "whole response lines",
  }),
  fetchDef({
    name: "hdr_cnt",
    id: FETCH_HDR_CNT,
    args: SMP_ARG_HDR_NAME,
    out: I,
    use: SIDE,
    val: BOTH,
    doc: "value count",
  }),
  fetchDef({
    name: "req.hdr_cnt",
    id: FETCH_HDR_CNT,
    args: SMP_ARG_HDR_NAME,
    out: I,
    use: REQ,
    val: BOTH,
    side: SMP_SIDE_REQ,
    doc: "request header value count",
  }),
  fetchDef({
    name: "res.hdr_cnt",
    id: FETCH_HDR_CNT,
    args: SMP_ARG_HDR_NAME,
    out: I,
    use: RES,
    val: SMP_VAL_RES,
    side: SMP_SIDE_RES,
    doc: "response header value count",
  }),
  fetchDef({
    name: "fhdr_cnt",
    id: FETCH_FHDR_CNT,
    args: SMP_ARG_HDR_NAME,
    out: I,
    use: SIDE,
    val: BOTH,
    doc: "line count",
  }),
  fetchDef({
    name: "req.fhdr_cnt",
    id: FETCH_FHDR_CNT,
    args: SMP_ARG_HDR_NAME,
    out: I,
    use: REQ,
    val: BOTH,
    side: SMP_SIDE_REQ,
    doc: "request header line count",
  }),
  fetchDef({
    name: "res.fhdr_cnt",
    id: FETCH_FHDR_CNT,
    args: SMP_ARG_HDR_NAME,
    out: I,
    use: RES,
    val: SMP_VAL_RES,
    side: SMP_SIDE_RES,
    doc: "response header line count",
  }),
  ...l4Fetch("req.len", FETCH_REQ_LEN, I, "req_len", "bytes of request data received so far"),
  ...l4Fetch(
    "req.payload",
    FETCH_REQ_PAYLOAD,
    S,
    null,
    "bytes of the request data: req.payload(OFFSET,LENGTH), LENGTH 0 = to the end",
  ),
  ...l4Fetch(
    "req.ssl_hello_type",
    FETCH_SSL_HELLO_TYPE,
    I,
    "req_ssl_hello_type",
    "type of the first TLS handshake message (1: ClientHello)",
  ),
  ...l4Fetch(
    "req.ssl_ver",
    FETCH_SSL_VER,
    I,
    "req_ssl_ver",
    "TLS version of the ClientHello, (major << 16) + minor",
  ),
  ...l4Fetch("req.ssl_sni", FETCH_SSL_SNI, S, "req_ssl_sni", "server name of the ClientHello"),
  ...l4Fetch("req.ssl_alpn", FETCH_SSL_ALPN, S, null, "ALPN protocol names of the ClientHello"),
  fetchDef({
    name: "var",
    id: FETCH_VAR,
    args: SMP_ARG_VAR,
    out: S,
    use: 0,
    val: BOTH,
    doc: "value of a variable: var(SCOPE.NAME[,DEFAULT])",
  }),
  fetchDef({
    name: "str",
    id: FETCH_STR,
    args: SMP_ARG_CONST,
    out: S,
    use: 0,
    val: BOTH,
    doc: "constant string: str(TEXT)",
  }),
  fetchDef({
    name: "int",
    id: FETCH_INT,
    args: SMP_ARG_CONST,
    out: I,
    use: 0,
    val: BOTH,
    doc: "constant integer: int(N)",
  }),
  fetchDef({
    name: "bool",
    id: FETCH_BOOL,
    args: SMP_ARG_CONST,
    out: SMP_T_BOOL,
    use: 0,
    val: BOTH,
    doc: "constant boolean: bool(0|1|true|false)",
  }),
  fetchDef({
    name: "http_auth",
    id: FETCH_HTTP_AUTH,
    args: SMP_ARG_USERLIST,
    out: SMP_T_BOOL,
    use: REQ,
    val: BOTH,
    doc: "true when the Authorization header holds a user and password of USERLIST",
  }),
  fetchDef({
    name: "http_auth_group",
    id: FETCH_HTTP_AUTH_GROUP,
    args: SMP_ARG_USERLIST,
    out: S,
    use: REQ,
    val: BOTH,
    multi: true,
    doc: "authenticated user of USERLIST (in an ACL: matched against the user's groups)",
  }),
  fetchDef({
    name: "unique-id",
    id: FETCH_UNIQUE_ID,
    out: S,
    use: REQ,
    val: BOTH,
    doc: "the request's unique id (unique-id-format)",
  }),
  fetchDef({
    name: "status",
    id: FETCH_STATUS,
    out: I,
    use: RES,
    val: SMP_VAL_RES,
    doc: "response status",
  }),
  ...STICK_FETCHES,
]);

/**
 * The fetches behind log-format variables that have no fetch keyword of
 * their own (value.ts maps `%HQ` and `%HV` to them). Not in FETCHES: they
 * cannot be written as `%[...]` nor used in ACLs.
 */
export const LOG_VAR_HQ: FetchDef = fetchDef({
  name: "%HQ",
  id: FETCH_LV_HQ,
  out: S,
  use: REQ,
  val: BOTH,
  doc: '"?query"',
});
export const LOG_VAR_HV: FetchDef = fetchDef({
  name: "%HV",
  id: FETCH_LV_HV,
  out: S,
  use: REQ,
  val: BOTH,
  doc: '"HTTP/1.1"',
});

/** `%Ts`, `%rt`, `%pid` of values (unique-id-format). */
export const LOG_VAR_TS: FetchDef = fetchDef({
  name: "%Ts",
  id: FETCH_LV_TS,
  out: I,
  use: 0,
  val: BOTH,
  doc: "Unix time (s)",
});
export const LOG_VAR_RT: FetchDef = fetchDef({
  name: "%rt",
  id: FETCH_LV_RT,
  out: I,
  use: 0,
  val: BOTH,
  doc: "request counter",
});
export const LOG_VAR_PID: FetchDef = fetchDef({
  name: "%pid",
  id: FETCH_LV_PID,
  out: I,
  use: 0,
  val: BOTH,
  doc: "process id",
});

const FETCH_BY_NAME: ReadonlyMap<string, FetchDef> = new Map(FETCHES.map((f) => [f.name, f]));

/** The fetch named `name`, or undefined. */
export function findFetch(name: string): FetchDef | undefined {
  return FETCH_BY_NAME.get(name);
}

/** The client-side TLS fetches (connection facts: valid in both directions). */
function sslFetches(): FetchDef[] {
  const C = SMP_USE_CONN;
  const def = (name: string, id: number, out: number, doc: string, derive = false) =>
    fetchDef({ name, id, out, use: C, val: BOTH, derive, doc });
  return [
    def("ssl_fc", FETCH_SSL_FC, SMP_T_BOOL, "true: the client connection is TLS"),
    def("ssl_fc_sni", FETCH_SSL_FC_SNI, S, "server name the client sent (SNI)", true),
    def("ssl_fc_protocol", FETCH_SSL_FC_PROTOCOL, S, 'TLS version, e.g. "TLSv1.3"'),
    def("ssl_fc_alpn", FETCH_SSL_FC_ALPN, S, 'protocol chosen by ALPN, e.g. "h2"'),
    def("ssl_fc_cipher", FETCH_SSL_FC_CIPHER, S, "cipher suite (OpenSSL name)"),
    def("ssl_c_used", FETCH_SSL_C_USED, SMP_T_BOOL, "true: the client sent a certificate"),
    def("ssl_c_verify", FETCH_SSL_C_VERIFY, I, "client certificate verification (0: ok)"),
    def("ssl_c_s_dn", FETCH_SSL_C_S_DN, S, 'client certificate subject, "/CN=..."', true),
  ];
}

/** The TLS facts of the client connection, null in cleartext. */
function sslOf(ctx: SampleCtx): SslFacts | null {
  return ctx.ssl === undefined ? null : ctx.ssl();
}

// ---------------------------------------------------------------------------
// Evaluation.

/** Header lines of the side a fetch reads. */
function linesOf(ctx: SampleCtx, f: Fetch): string[] {
  const side = f.def.side;
  const res = side === SMP_SIDE_RES || (side === SMP_SIDE_CTX && ctx.isResponse);
  return res ? ctx.resHeader(f.arg) : ctx.reqHeader(f.arg);
}

/**
 * Appends the comma-separated elements of `v` (OWS trimmed, double-quoted
 * strings not split) to `out`. A value without a comma is pushed as is.
 */
export function splitCommaInto(v: string, out: string[]): void {
  if (v.indexOf(",") < 0) {
    out.push(v);
    return;
  }
  let i = 0;
  for (;;) {
    let e = i;
    let quoted = false;
    while (e < v.length) {
      const c = v.charCodeAt(e);
      if (c === 0x22) quoted = !quoted;
      else if (c === 0x5c && quoted) e++;
      else if (c === 0x2c && !quoted) break;
      e++;
    }
    let a = i;
    let b = Math.min(e, v.length);
    while (a < b && (v.charCodeAt(a) === 0x20 || v.charCodeAt(a) === 0x09)) a++;
    while (b > a && (v.charCodeAt(b - 1) === 0x20 || v.charCodeAt(b - 1) === 0x09)) b--;
    out.push(v.slice(a, b));
    if (e >= v.length) return;
    i = e + 1;
  }
}

/** Scratch list for multi-valued fetches (single-threaded, consumed at once). */
const SCRATCH: string[] = [];

/**
 * Every occurrence of a multi-valued fetch (header values, query
 * parameters), converters applied, into `out` (cleared first). Returns the
 * count. For a Fetch with an occurrence, at most that one.
 */
export function fetchAll(ctx: SampleCtx, f: Fetch, out: string[]): number {
  out.length = 0;
  switch (f.def.id) {
    case FETCH_HDR: {
      const lines = linesOf(ctx, f);
      for (let i = 0; i < lines.length; i++) splitCommaInto(lines[i] as string, out);
      break;
    }
    case FETCH_FHDR: {
      const lines = linesOf(ctx, f);
      for (let i = 0; i < lines.length; i++) out.push(lines[i] as string);
      break;
    }
    case FETCH_URL_PARAM: {
      const q = ctx.query();
      if (q !== null) paramValues(q, f.arg, f.delim, out);
      break;
    }
    case FETCH_HTTP_AUTH_GROUP: {
      const u = authenticate(f.ref as Userlist, ctx.reqHeader("authorization"));
      if (u !== null) { for (const g of u.groups) out.push(g); }
      break;
    }
    case FETCH_SSL_ALPN: {
      const d = ctx.reqContent?.() ?? null;
      if (d !== null && sslAlpn(d, out) === PL_MISSING) ctx.markMayChange?.();
      break;
    }
    default: {
      const v = fetchOne(ctx, f);
      if (v !== null) out.push(typeof v === "string" ? v : String(v));
      return out.length;
    }
  }
  if (f.occ !== 0) {
    const n = out.length;
    const k = f.occ > 0 ? f.occ - 1 : n + f.occ;
    if (k < 0 || k >= n) out.length = 0;
    else {
      out[0] = out[k] as string;
      out.length = 1;
    }
  }
  if (f.convs.length > 0) {
    let k = 0;
    for (let i = 0; i < out.length; i++) {
      const c = convertSample(out[i] as string, f.convs, f.convArgs);
      if (c !== null) out[k++] = typeof c === "string" ? c : sampleToString(c);
    }
    out.length = k;
  }
  return out.length;
}

/** HAProxy's http_is_param_delimiter(): `&`, `;` or the url_param delimiter. */
function isParamDelim(c: number, delim: number): boolean {
  return c === 0x26 || c === 0x3b || c === delim;
}

/**
 * Values of parameter `name` in query `q`, as HAProxy's urlp does (no
 * decoding): parameters end at `&`, `;` or `delim`, and only `name=` is a
 * match (a bare `name` without `=` is not found).
 */
function paramValues(q: string, name: string, delim: string, out: string[]): void {
  const d = delim.length > 0 ? delim.charCodeAt(0) : 0x26;
  const n = q.length;
  let i = 0;
  while (i <= n) {
    let e = i;
    while (e < n && !isParamDelim(q.charCodeAt(e), d)) e++;
    const eq = i + name.length;
    if (eq < e && q.charCodeAt(eq) === 0x3d && q.startsWith(name, i)) {
      out.push(q.slice(eq + 1, e));
    }
    i = e + 1;
  }
}

/**
 * One sample: the value of a single-valued fetch, or for multi-valued ones
 * the occurrence asked for (the last one by default, as HAProxy does outside
 * ACLs), converters applied. Returns null when the sample does not exist
 * (absent header, status of a request, no query) or a converter yields none
 * (a map without a match nor a default).
 */
export function fetchOne(ctx: SampleCtx, f: Fetch): Sample {
  const v = fetchRaw(ctx, f);
  // Multi-valued fetches went through fetchAll(), which converts (but the
  // user name of http_auth_group).
  if (v === null || f.convs.length === 0) return v;
  if (f.def.multi && f.def.id !== FETCH_HTTP_AUTH_GROUP) return v;
  return convertSample(v, f.convs, f.convArgs);
}

/**
 * True for a fetch whose sample cannot change during a client connection:
 * its addresses and ports (`src`, `src_port`, `dst`, `dst_port`) without
 * converters (a map converter's file may change at runtime). value.ts
 * renders runs of them once per connection.
 */
export function isConnConstant(f: Fetch): boolean {
  if (f.convs.length !== 0) return false;
  const id = f.def.id;
  return id === FETCH_SRC || id === FETCH_DST || id === FETCH_SRC_PORT || id === FETCH_DST_PORT;
}

/** fetchOne() before converters (but multi-valued ones, converted by fetchAll()). */
function fetchRaw(ctx: SampleCtx, f: Fetch): Sample {
  let v: string | null;
  switch (f.def.id) {
    case FETCH_TRUE:
      return true;
    case FETCH_FALSE:
      return false;
    case FETCH_PROTO_HTTP:
      return true;
    case FETCH_SRC:
      v = ctx.src();
      break;
    case FETCH_DST:
      v = ctx.dst();
      break;
    case FETCH_SRC_PORT:
      return ctx.srcPort();
    case FETCH_DST_PORT:
      return ctx.dstPort();
    case FETCH_FC_HTTP_MAJOR:
      return ctx.reqVer() === "2.0" ? 2 : 1;
    case FETCH_METHOD:
      v = ctx.method();
      break;
    case FETCH_PATH:
      v = ctx.path();
      break;
    case FETCH_URL:
      v = ctx.url();
      break;
    case FETCH_QUERY:
      v = ctx.query();
      break;
    case FETCH_BASE: {
      const host = ctx.reqHeader("host");
      v = (host.length > 0 ? host[0] as string : "") + ctx.path();
      break;
    }
    case FETCH_REQ_VER:
      v = ctx.reqVer();
      break;
    case FETCH_STATUS: {
      const st = ctx.status();
      return st === 0 ? null : st;
    }
    case FETCH_HDR_CNT: {
      const lines = linesOf(ctx, f);
      let n = 0;
      for (let i = 0; i < lines.length; i++) {
        SCRATCH.length = 0;
        splitCommaInto(lines[i] as string, SCRATCH);
        n += SCRATCH.length;
      }
      return n;
    }
    case FETCH_FHDR_CNT:
      return linesOf(ctx, f).length;
    case FETCH_LV_HQ: {
      const q = ctx.query();
      return q === null ? "" : "?" + q;
    }
    case FETCH_LV_HV:
      return "HTTP/" + ctx.reqVer();
    case FETCH_VAR: {
      const x = ctx.vars?.get(f.scope, f.arg) ?? null;
      return x === null ? f.dflt : x;
    }
    case FETCH_STR:
      return f.arg;
    case FETCH_INT:
      return Number(f.arg);
    case FETCH_BOOL:
      return f.arg === "1" || f.arg === "true";
    case FETCH_UNIQUE_ID:
      return ctx.vars?.uniqueId ?? null;
    case FETCH_LV_TS: {
      // The request's date when the stream gave it (no clock read per request).
      const d = ctx.vars?.requestDate ?? 0;
      return Math.floor((d > 0 ? d : Date.now()) / 1000);
    }
    case FETCH_LV_RT:
      return ctx.vars?.txnId ?? 0;
    case FETCH_LV_PID:
      return Deno.pid;
    case FETCH_HTTP_AUTH:
      return authenticate(f.ref as Userlist, ctx.reqHeader("authorization")) !== null;
    case FETCH_HTTP_AUTH_GROUP: {
      const u = authenticate(f.ref as Userlist, ctx.reqHeader("authorization"));
      return u === null ? null : u.name;
    }
    case FETCH_SSL_FC:
      return sslOf(ctx) !== null;
    case FETCH_SSL_C_USED:
      return sslOf(ctx)?.clientCert ?? false;
    case FETCH_SSL_C_VERIFY: {
      const s = sslOf(ctx);
      return s === null ? null : s.verify;
    }
    case FETCH_SSL_FC_SNI:
      v = sslOf(ctx)?.sni ?? null;
      break;
    case FETCH_SSL_FC_PROTOCOL:
      v = sslOf(ctx)?.protocol ?? null;
      break;
    case FETCH_SSL_FC_ALPN:
      v = sslOf(ctx)?.alpn ?? null;
      break;
    case FETCH_SSL_FC_CIPHER:
      v = sslOf(ctx)?.cipher ?? null;
      break;
    case FETCH_SSL_C_S_DN:
      v = sslOf(ctx)?.clientDn ?? null;
      break;
    case FETCH_REQ_LEN: {
      const d = ctx.reqContent?.() ?? null;
      if (d === null) return null;
      // Always volatile: more data changes it (HAProxy's req.len).
      ctx.markMayChange?.();
      v = String(d.length);
      if (f.convs.length === 0) return d.length;
      break;
    }
    case FETCH_REQ_PAYLOAD:
    case FETCH_SSL_HELLO_TYPE:
    case FETCH_SSL_VER:
    case FETCH_SSL_SNI: {
      const d = ctx.reqContent?.() ?? null;
      if (d === null) return null;
      const id = f.def.id;
      const r = id === FETCH_REQ_PAYLOAD
        ? payloadBytes(d, f.off, f.len)
        : id === FETCH_SSL_SNI
        ? sslSni(d)
        : id === FETCH_SSL_HELLO_TYPE
        ? sslHelloType(d)
        : sslVersion(d, Number.MAX_SAFE_INTEGER);
      if (r === PL_MISSING) ctx.markMayChange?.();
      if (typeof r === "number") {
        if (r < 0 || id === FETCH_REQ_PAYLOAD || id === FETCH_SSL_SNI) return null;
        if (f.convs.length === 0) return r;
        v = String(r);
        break;
      }
      v = r;
      break;
    }
    case FETCH_SSL_ALPN: {
      const n = fetchAll(ctx, f, SCRATCH);
      return n === 0 ? null : SCRATCH[0] as string;
    }
    case FETCH_HDR:
    case FETCH_FHDR: {
      const v = oneHeaderValue(ctx, f);
      if (v !== undefined) return v;
      // Several values, or a converter that may drop one: fetchAll() decides.
      const n = fetchAll(ctx, f, SCRATCH);
      if (n === 0) return null;
      return SCRATCH[f.occ !== 0 ? 0 : n - 1] as string;
    }
    case FETCH_URL_PARAM: {
      // fetchAll() already kept only the asked occurrence when occ != 0.
      const n = fetchAll(ctx, f, SCRATCH);
      if (n === 0) return null;
      const k = f.occ !== 0 || f.def.id === FETCH_URL_PARAM ? 0 : n - 1;
      return SCRATCH[k] as string;
    }
    default: {
      // Stick-table fetches (fetchOne() applies the converters).
      if (f.def.id < FETCH_STK_BASE) return null;
      return stickFetch(ctx, f);
    }
  }
  return v;
}

/**
 * fetchOne() of `hdr()` / `fhdr()` without fetchAll()'s list, when the
 * answer is plain: an fhdr occurrence (lines are not split), or a single
 * value, or the last value of a last line without a comma and no
 * converter. Returns undefined when fetchAll() must decide (converters may
 * drop values, and the last occurrence is counted after them).
 */
function oneHeaderValue(ctx: SampleCtx, f: Fetch): Sample | undefined {
  const lines = linesOf(ctx, f);
  const n = lines.length;
  if (n === 0) return null;
  let v: string;
  if (f.def.id === FETCH_FHDR) {
    if (f.occ === 0 && n > 1 && f.convs.length > 0) return undefined;
    const k = f.occ === 0 ? n - 1 : f.occ > 0 ? f.occ - 1 : n + f.occ;
    if (k < 0 || k >= n) return null;
    v = lines[k] as string;
  } else {
    v = lines[n - 1] as string;
    if (v.indexOf(",") >= 0 || (f.occ !== 0 && n > 1)) return undefined;
    if (f.occ !== 0 && f.occ !== 1 && f.occ !== -1) return null; // one value: only 1 and -1 exist
    if (f.occ === 0 && n > 1 && f.convs.length > 0) return undefined;
  }
  if (f.convs.length === 0) return v;
  const c = convertSample(v, f.convs, f.convArgs);
  return c === null || typeof c === "string" ? c : sampleToString(c);
}

/** Renders a sample as text: integers in decimal, booleans "1"/"0", absent "". */
export function sampleToString(v: Sample): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return v ? "1" : "0";
}

// Note about invariants: fetchAll() leaves its result in the caller's array
// and uses SCRATCH only for counting and for fetchOne()'s pick, which is
// consumed before any other fetch runs (evaluation is single-threaded and
// never re-enters).
