// Types of the sample layer (HAProxy's sample-t.h): what a fetch reads (the
// SampleCtx interface), sample types, the SMP_USE_* bits, the shape of a
// fetch keyword and of a converter, and the compiled forms of a sample
// expression and of a value expression. Only types, constants and their
// stringifiers live here; the logic is in fetch.ts (the fetch table and its
// evaluation), converters.ts, expr.ts (parsing `req.hdr(host),lower`) and
// value.ts (`%[...]` text). Nothing here imports an upper layer: the HTTP layer
// implements SampleCtx (src/http/http_fetch.ts), the sample layer only
// calls it.
//
// Strings are byte strings (one code unit per byte, latin1) both ways; see
// bytes.ts.

import type { StickTable } from "../stick/table.ts";
import type { StkCounters } from "../stick/track.ts";
import type { ValuePieces } from "./value_pieces.ts";

// ---------------------------------------------------------------------------
// The sample context.

/**
 * What fetches read. The HTTP analyser implements it over the stream (or
 * uses HeadSampleCtx, src/http/http_fetch.ts). Every string is a byte
 * string.
 */
export interface SampleCtx {
  /** True while evaluating http-response rules. */
  readonly isResponse: boolean;
  method(): string;
  /** Path without the query. */
  path(): string;
  /** The whole request-target. */
  url(): string;
  /** Query without `?`; null when the target has no `?`. */
  query(): string | null;
  /** "1.1" or "1.0", "2.0" for a client speaking HTTP/2. */
  reqVer(): string;
  /** All values of a request header, one per line (not comma-split); [] if absent. */
  reqHeader(name: string): string[];
  /** Same for the response (always [] while evaluating request rules). */
  resHeader(name: string): string[];
  /** Response status, 0 for requests. */
  status(): number;
  /** Client address text ("127.0.0.1", "::1", "::ffff:1.2.3.4"). */
  src(): string;
  srcPort(): number;
  dst(): string;
  dstPort(): number;
  /** The stick counters the connection tracks (`sc_*` fetches); absent or null: none. */
  readonly stk?: StkCounters | null;
  /**
   * The variables this stream sees (vars.ts VarStore); absent where there
   * are none (layer-4 rules without a stream store): var() finds nothing,
   * set-var does nothing.
   */
  readonly vars?: SampleVars | undefined;
  /** The client connection's TLS facts; null (or no method) in cleartext. */
  ssl?(): SslFacts | null;
  /**
   * Layer-4 content (tcp-request content rules): the request bytes received
   * so far, contiguous; absent or null where there is no such buffer (HTTP
   * rules). Payload fetches (`req.len`, `req.payload`, `req.ssl_*`) read it.
   */
  reqContent?(): Uint8Array | null;
  /**
   * A payload fetch could not answer yet and more data may change that
   * (HAProxy's SMP_F_MAY_CHANGE): the rule being evaluated waits for more
   * data unless the evaluation is final. Absent: nothing waits.
   */
  markMayChange?(): void;
}

/** Variables by scope (vars.ts VAR_*) and name, as fetches and actions use them. */
export interface SampleVars {
  /** The value, or null when not set. */
  get(scope: number, name: string): Sample;
  /** Sets a value (null leaves the variable unchanged). */
  set(scope: number, name: string, v: Sample): void;
  /** Removes a variable. */
  unset(scope: number, name: string): void;
  /** This transaction's number in the process (`%rt`). */
  readonly txnId: number;
  /**
   * When the request started (epoch ms: its first byte), 0 when the caller
   * did not say: `%Ts` then reads the clock.
   */
  readonly requestDate: number;
  /** The unique id (`unique-id-format`), null until generated. */
  uniqueId: string | null;
  /**
   * The unique id kept as its pieces (set by setUniqueIdPieces(), joined
   * into `uniqueId` on its first read).
   */
  readonly uniqueIdPieces: ValuePieces;
  /** True while the unique id is in uniqueIdPieces and not joined yet. */
  readonly uniqueIdInPieces: boolean;
  /** The unique id was rendered into uniqueIdPieces: `uniqueId` joins them when read. */
  setUniqueIdPieces(): void;
  /** Stores a captured value in request (res false) or response capture slot `slot`. */
  capture(res: boolean, slot: number, v: string): void;
  /**
   * Renderings of value parts that only change per client connection
   * (value.ts ValueConnRun), emptied when a new session starts.
   */
  readonly connTexts?: Map<ValueConnRun, string | Uint8Array>;
}

/**
 * What the TLS fetches read of a client connection (the listener's ConnTls
 * has this shape). A field the transport could not learn is null.
 */
export interface SslFacts {
  readonly sni: string | null;
  readonly alpn: string | null;
  readonly protocol: string | null;
  readonly cipher: string | null;
  readonly clientCert: boolean;
  readonly verify: number;
  readonly clientDn: string | null;
}

/** One sample: a byte string, an integer, a boolean, or null when it does not exist. */
export type Sample = string | number | boolean | null;

// ---------------------------------------------------------------------------
// Sample types (HAProxy's SMP_T_*).

/** Boolean sample. */
export const SMP_T_BOOL = 0;
/** Integer sample. */
export const SMP_T_INT = 1;
/** String sample (byte string). */
export const SMP_T_STR = 2;
/** IPv4/IPv6 address, as text. */
export const SMP_T_IP = 3;

/** Names of SMP_T_*, for messages. */
export const SMP_TYPE_NAMES: readonly string[] = ["bool", "integer", "string", "ip"];

// ---------------------------------------------------------------------------
// What a fetch reads (HAProxy's SMP_USE_*, reduced to what Sluice has).

/** Reads the connection (addresses, ports). */
export const SMP_USE_CONN = 0x1;
/** Reads the request head. */
export const SMP_USE_REQ = 0x2;
/** Reads the response head (such fetches are valid on responses only: see SMP_VAL_*). */
export const SMP_USE_RES = 0x4;
/** Reads the head of the side being evaluated (`hdr`, `fhdr`). */
export const SMP_USE_SIDE = 0x8;
/** Reads the layer-4 request content (`req.len`, `req.payload`, `req.ssl_*`). */
export const SMP_USE_L4REQ = 0x10;

const USE_NAMES: ReadonlyArray<readonly [number, string]> = [
  [SMP_USE_CONN, "CONN"],
  [SMP_USE_REQ, "REQ"],
  [SMP_USE_RES, "RES"],
  [SMP_USE_SIDE, "SIDE"],
  [SMP_USE_L4REQ, "L4REQ"],
];

/** "REQ|RES" for SMP_USE_* bits ("0" when none), for debugging and messages. */
export function smpUseToString(use: number): string {
  const out: string[] = [];
  for (const [bit, name] of USE_NAMES) if ((use & bit) !== 0) out.push(name);
  return out.length === 0 ? "0" : out.join("|");
}

// ---------------------------------------------------------------------------
// Where a fetch may be used (HAProxy's SMP_VAL_*, reduced to the two
// directions Sluice evaluates rules in).

/** Valid while a request is evaluated: http-request rules, use_backend. */
export const SMP_VAL_REQ = 0x1;
/** Valid while a response is evaluated: http-response rules. */
export const SMP_VAL_RES = 0x2;

/** "REQ|RES" for SMP_VAL_* bits ("0" when none). */
export function smpValToString(val: number): string {
  const out: string[] = [];
  if ((val & SMP_VAL_REQ) !== 0) out.push("REQ");
  if ((val & SMP_VAL_RES) !== 0) out.push("RES");
  return out.length === 0 ? "0" : out.join("|");
}

// ---------------------------------------------------------------------------
// Argument grammars of fetch keywords (HAProxy's ARGT_* lists, by shape).

/** No argument: `path`. */
export const SMP_ARG_NONE = 0;
/** `(name[,occ])`: header name and optional occurrence. */
export const SMP_ARG_HDR = 1;
/** `(name)`: header name only. */
export const SMP_ARG_HDR_NAME = 2;
/** `(name[,delim])`: query parameter and optional delimiter. */
export const SMP_ARG_PARAM = 3;
/** `(ctr[,table])`: stick counter number and optional table (`sc_http_req_rate(0)`). */
export const SMP_ARG_STK_SC = 8;
/** `([table])`: optional stick table (`sc0_conn_cur`, `src_conn_rate(t)`, `table_cnt`). */
export const SMP_ARG_STK_TABLE = 9;
/** `(scope.name[,default])`: a variable (`var`). */
export const SMP_ARG_VAR = 5;
/** `(text)`: a constant (`str`, `int`, `bool`). */
export const SMP_ARG_CONST = 6;
/** `(userlist)`: a userlist name (`http_auth`), resolved at config time. */
export const SMP_ARG_USERLIST = 7;
/** `(offset,length)`: a byte range of the payload (length 0: to the end of what is there). */
export const SMP_ARG_PAYLOAD = 4;

// Which head a header fetch reads.

/** The head of the side being evaluated (`hdr`: request in request rules). */
export const SMP_SIDE_CTX = 0;
/** Always the request head (`req.hdr`). */
export const SMP_SIDE_REQ = 1;
/** Always the response head (`res.hdr`). */
export const SMP_SIDE_RES = 2;

// ---------------------------------------------------------------------------
// Keyword tables.

/** One fetch keyword (HAProxy's struct sample_fetch). Aliases are separate entries. */
export interface FetchDef {
  /** Keyword, e.g. "req.hdr". */
  readonly name: string;
  /** Evaluation method (fetch.ts FETCH_*); aliases and req./res. variants share one. */
  readonly id: number;
  /** SMP_ARG_* grammar of its parenthesised arguments. */
  readonly args: number;
  /** SMP_T_* type of what it returns. */
  readonly out: number;
  /** SMP_USE_* bits: what it reads. */
  readonly use: number;
  /**
   * SMP_VAL_* bits: the directions it may be used in. A fetch without
   * SMP_VAL_REQ is refused by the compilers of request rules, request ACL
   * conditions and use_backend (the response does not exist yet).
   */
  readonly val: number;
  /** SMP_SIDE_*: which head a header fetch reads (SMP_SIDE_CTX for the others). */
  readonly side: number;
  /** Yields several values (every header occurrence): ACLs test them all. */
  readonly multi: boolean;
  /** ACL keywords `<name>_beg`, `_end`, `_sub`, `_reg`, `_dir`, `_dom`, `_len`, `_val`, `_ip` exist. */
  readonly derive: boolean;
  /** One-line description for the docs. */
  readonly doc: string;
}

/** One converter keyword (HAProxy's struct sample_conv). */
export interface ConverterDef {
  /** Keyword, e.g. "lower". */
  readonly name: string;
  /** Evaluation method (converters.ts CONV_*). */
  readonly id: number;
  /** SMP_T_* type it accepts (the sample is rendered as text first). */
  readonly in: number;
  /** SMP_T_* type it returns. */
  readonly out: number;
  /** One-line description for the docs. */
  readonly doc: string;
}

// ---------------------------------------------------------------------------
// Compiled forms.

/** A compiled sample expression (HAProxy's struct sample_expr): fetch, arguments, converters. */
export interface Fetch {
  readonly def: FetchDef;
  /** Header name (lower-case) or parameter name; "" when none. */
  readonly arg: string;
  /**
   * Header occurrence: >0 from the first, <0 from the last, 0 = all (ACL) /
   * last (value). Stick fetches: the counter number (sc0..sc2), -1 for none.
   */
  readonly occ: number;
  /** url_param delimiter. */
  readonly delim: string;
  /** Stick fetches: the table named or implied (src_*), null for the tracked entry's. */
  readonly table: StickTable | null;
  /** var(): the VAR_* scope (`arg` is the name) and the default (null: none). */
  readonly scope: number;
  readonly dflt: string | null;
  /** An object the argument names, resolved at config time (http_auth: the Userlist). */
  readonly ref: unknown;
  /** Payload offset and length (`req.payload(off,len)`); 0 otherwise. */
  readonly off: number;
  readonly len: number;
  /** Converter ids (ConverterDef.id), applied in order. */
  readonly convs: readonly number[];
  /** Compiled converter arguments (converters.ts compileConvArgs), parallel to convs. */
  readonly convArgs: readonly unknown[];
  /** Output type after converters. */
  readonly type: number;
  /** Expression as written. */
  readonly text: string;
}

/**
 * Consecutive parts of a value that only change per client connection:
 * literals and fetches isConnConstant() accepts, at least one of them a
 * fetch. Rendered once per connection (cached in SampleVars.connTexts).
 */
export interface ValueConnRun {
  readonly run: ReadonlyArray<string | Fetch>;
}

/** A compiled value (a log-format subset): literal byte strings and fetches, rendered in order. */
export interface ValueExpr {
  /** Literal parts (string) and fetches. */
  readonly parts: ReadonlyArray<string | Fetch>;
  /** What evalValue() renders: `parts` with the per-connection runs grouped. */
  readonly steps: ReadonlyArray<string | Fetch | ValueConnRun>;
  /** Each literal step as a piece's bytes (value_pieces.ts pieceBytes()), else null. */
  readonly stepBytes: ReadonlyArray<Uint8Array | null>;
  /** The value when it has no fetch (rendering is then free), else null. */
  readonly constant: string | null;
  /** SMP_USE_* bits of its fetches. */
  readonly uses: number;
  /**
   * First fetch not valid on requests (no SMP_VAL_REQ: it reads the
   * response), for messages; null when none.
   */
  readonly resFetch: string | null;
  /** Text as written. */
  readonly source: string;
}

// Note about invariants: FetchDef, ConverterDef, Fetch and ValueExpr objects
// are frozen once built (at module load or config time) and shared by every
// request; evaluation never mutates them. A Fetch's `type` is its def's `out`
// unless converters follow, then the last converter's `out`.
