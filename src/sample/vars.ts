// Variables (HAProxy's vars.c): `set-var(txn.NAME) EXPR`, `unset-var`, and
// the `var(txn.NAME)` fetch; with them the other per-transaction values the
// sample layer hands out (HAProxy keeps them in its txn): the request
// counter `%rt`, the unique id and the captured header values.
//
// Owns: the variable scopes and their lifetimes, the parsing of a variable
// name (`txn.user`), and the per-stream store (VarStore) a SampleCtx hands
// to fetches and actions. Scopes, as in HAProxy:
//   - proc: the whole process (one map shared by every stream);
//   - sess: the client connection (every request on it);
//   - txn: one request and its response;
//   - req: the request processing only (gone once the response is being
//     processed);
//   - res: the response processing only.
// Values keep their type (string, integer, boolean). It never evaluates an
// expression (the actions do, then store the result here).

import type { Sample, SampleVars, ValueConnRun } from "./types.ts";
import { ValuePieces } from "./value_pieces.ts";

/** Process-wide scope. */
export const VAR_PROC = 0;
/** Session (client connection) scope. */
export const VAR_SESS = 1;
/** Transaction (request + response) scope. */
export const VAR_TXN = 2;
/** Request-processing scope. */
export const VAR_REQ = 3;
/** Response-processing scope. */
export const VAR_RES = 4;

/** Scope names, indexed by VAR_*. */
export const VAR_SCOPE_NAMES: readonly string[] = Object.freeze([
  "proc",
  "sess",
  "txn",
  "req",
  "res",
]);

/** A parsed variable name. */
export interface VarName {
  /** VAR_* scope. */
  readonly scope: number;
  /** Name without the scope. */
  readonly name: string;
  /** As written ("txn.user"). */
  readonly text: string;
}

/**
 * Parses `SCOPE.NAME`: SCOPE one of proc, sess, txn, req, res; NAME made of
 * letters, digits, `.` and `_` (HAProxy's vars_check_arg rule). Errors name
 * the text and say what is expected.
 */
export function parseVarName(text: string): VarName | { error: string } {
  const dot = text.indexOf(".");
  const scope = dot < 0 ? -1 : VAR_SCOPE_NAMES.indexOf(text.slice(0, dot));
  if (scope < 0) {
    return {
      error: `invalid variable name '${text}' (expected SCOPE.NAME, SCOPE one of ${
        VAR_SCOPE_NAMES.join(", ")
      })`,
    };
  }
  const name = text.slice(dot + 1);
  if (!/^[A-Za-z0-9._]+$/.test(name)) {
    return {
      error: `invalid variable name '${text}' (the name after '${
        VAR_SCOPE_NAMES[scope]
      }.' must be letters, digits, '.' or '_')`,
    };
  }
  return Object.freeze({ scope, name, text });
}

/** The proc scope, shared by every stream of the process. */
const PROC_VARS: Map<string, Sample> = new Map();

/** Transactions started by the process (HAProxy's `%rt` request counter). */
let txnCounter = 0;

/**
 * The variables one stream sees. One per stream (its SampleCtx owns it):
 * newSession() for each client connection, newTxn() at each request start,
 * endRequest() when the response starts.
 */
export class VarStore implements SampleVars {
  /** The session's variables: this store's own, or its HTTP/2 connection's (shareSession()). */
  #sess: Map<string, Sample>;
  readonly #ownSess: Map<string, Sample>;
  readonly #txn: Map<string, Sample>;
  readonly #req: Map<string, Sample>;
  readonly #res: Map<string, Sample>;
  /** This transaction's number in the process (`%rt`). */
  txnId: number;
  /** When the request started (epoch ms), 0 when unknown (see SampleVars). */
  requestDate: number;
  /** The unique id as text; null while not generated or not joined yet (#idInPieces). */
  #uniqueId: string | null;
  /** The unique id is in uniqueIdPieces and not joined yet. */
  #idInPieces: boolean;
  /** The unique id's pieces (SetUniqueId renders them here; reused per transaction). */
  readonly uniqueIdPieces: ValuePieces;
  /**
   * Captured request / response values by slot (`capture …`), null = not
   * captured; slots past the end are not captured either.
   */
  readonly reqCaptures: Array<string | null>;
  readonly resCaptures: Array<string | null>;
  /** Per-connection renderings of values (value.ts: text, then bytes), emptied by newSession(). */
  readonly connTexts: Map<ValueConnRun, string | Uint8Array>;
  /** The session just started: its first transaction keeps what was set before it (tcp-request content). */
  #first: boolean;

  constructor() {
    this.#first = false;
    this.#sess = this.#ownSess = new Map();
    this.#txn = new Map();
    this.#req = new Map();
    this.#res = new Map();
    this.txnId = 0;
    this.requestDate = 0;
    this.#uniqueId = null;
    this.#idInPieces = false;
    this.uniqueIdPieces = new ValuePieces();
    this.reqCaptures = [];
    this.resCaptures = [];
    this.connTexts = new Map();
  }

  /** The transaction's unique id (`unique-id-format`), null until generated. */
  get uniqueId(): string | null {
    if (this.#idInPieces) {
      this.#uniqueId = this.uniqueIdPieces.text();
      this.#idInPieces = false;
    }
    return this.#uniqueId;
  }

  set uniqueId(v: string | null) {
    this.#uniqueId = v;
    this.#idInPieces = false;
  }

  /** True while the unique id is in uniqueIdPieces and not joined yet. */
  get uniqueIdInPieces(): boolean {
    return this.#idInPieces;
  }

  /** The unique id was rendered into uniqueIdPieces (joined when first read). */
  setUniqueIdPieces(): void {
    this.#uniqueId = null;
    this.#idInPieces = true;
  }

  #map(scope: number): Map<string, Sample> {
    switch (scope) {
      case VAR_PROC:
        return PROC_VARS;
      case VAR_SESS:
        return this.#sess;
      case VAR_TXN:
        return this.#txn;
      case VAR_REQ:
        return this.#req;
      default:
        return this.#res;
    }
  }

  /** The value of a variable, or null when it is not set. */
  get(scope: number, name: string): Sample {
    const v = this.#map(scope).get(name);
    return v === undefined ? null : v;
  }

  /** Sets a variable; a null value (an absent sample) leaves it unchanged, as HAProxy. */
  set(scope: number, name: string, v: Sample): void {
    if (v !== null) this.#map(scope).set(name, v);
  }

  /** Removes a variable. */
  unset(scope: number, name: string): void {
    this.#map(scope).delete(name);
  }

  /** A new client connection (a pooled store is reused): every scope but proc is forgotten. */
  newSession(): void {
    this.#sess = this.#ownSess;
    if (this.#sess.size > 0) this.#sess.clear();
    if (this.connTexts.size > 0) this.connTexts.clear();
    this.newTxn();
    this.#first = true;
  }

  /** Stores a captured value in a slot (the log's `%hr` / `%hs` show them). */
  capture(res: boolean, slot: number, v: string): void {
    const caps = res ? this.resCaptures : this.reqCaptures;
    while (caps.length <= slot) caps.push(null);
    caps[slot] = v;
  }

  /** A new transaction starts: txn, req and res variables and captures are forgotten. */
  newTxn(): void {
    this.txnId = txnCounter++;
    this.requestDate = 0;
    this.#uniqueId = null;
    this.#idInPieces = false;
    // Slots are emptied, not dropped: the array keeps its backing store
    // (a length store would free it and the next capture grow it again).
    clearSlots(this.reqCaptures);
    clearSlots(this.resCaptures);
    if (this.#first) {
      // The connection's first request: variables set by tcp-request
      // content rules before it belong to it (HAProxy's txn exists from
      // the stream's start in HTTP mode).
      this.#first = false;
      return;
    }
    if (this.#txn.size > 0) this.#txn.clear();
    if (this.#req.size > 0) this.#req.clear();
    if (this.#res.size > 0) this.#res.clear();
  }

  /**
   * The session scope is `sess`, shared with the other streams of one
   * HTTP/2 connection (HAProxy's session is the connection): a variable a
   * stream sets there is seen by the connection's later streams. Called
   * after newSession(); the next newSession() takes the store's own back.
   */
  shareSession(sess: Map<string, Sample>): void {
    this.#sess = sess;
  }

  /** The response is being processed: req variables are forgotten. */
  endRequest(): void {
    if (this.#req.size > 0) this.#req.clear();
  }
}

/** Sets every slot of `caps` to null (not captured). */
function clearSlots(caps: Array<string | null>): void {
  for (let i = 0; i < caps.length; i++) caps[i] = null;
}

// Note about invariants: a stored value is never null; proc variables live
// as long as the process, the other scopes as long as their VarStore's
// stream, cleared at the boundaries above.
