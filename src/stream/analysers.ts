// The analyser chain (HAProxy's AN_* bits and the order process_stream()
// runs them in). Every analyser has one signature: it gets the stream and
// the channel, clears its own bit when done, and returns ANA_CONTINUE (run
// the next one), ANA_WAIT (stop here until the next wake) or ANA_ABORT (it
// ended the stream, e.g. after an error reply).

import type { Channel } from "../channel/channel.ts";
import type { Stream } from "./stream.ts";
import {
  httpProcessReqBackend,
  httpProcessReqFrontend,
  httpProcessResponse,
  httpProcessSwitchingRules,
  httpReqForwardBody,
  httpResForwardBody,
  httpWaitForRequest,
  httpWaitForResponse,
} from "../http/http_ana.ts";

/** Wait for a complete request head and parse it. */
export const AN_REQ_WAIT_HTTP = 0x0001;
/** Frontend http-request rules. */
export const AN_REQ_HTTP_PROCESS_FE = 0x0002;
/** use_backend / default_backend. */
export const AN_REQ_SWITCHING_RULES = 0x0004;
/** Backend http-request rules, forwardfor, head commit, server request. */
export const AN_REQ_HTTP_PROCESS_BE = 0x0008;
/** Forward the request body. */
export const AN_REQ_HTTP_XFER_BODY = 0x0010;
/** Wait for a complete response head and parse it. */
export const AN_RES_WAIT_HTTP = 0x0100;
/** http-response rules (backend, then frontend), connection mode, head commit. */
export const AN_RES_HTTP_PROCESS_BE = 0x0200;
/** Forward the response body; ends the transaction. */
export const AN_RES_HTTP_XFER_BODY = 0x0400;

export const AN_REQ_ALL_HTTP = AN_REQ_WAIT_HTTP | AN_REQ_HTTP_PROCESS_FE | AN_REQ_SWITCHING_RULES |
  AN_REQ_HTTP_PROCESS_BE | AN_REQ_HTTP_XFER_BODY;
export const AN_RES_ALL_HTTP = AN_RES_WAIT_HTTP | AN_RES_HTTP_PROCESS_BE | AN_RES_HTTP_XFER_BODY;

export const ANA_WAIT = 0;
export const ANA_CONTINUE = 1;
export const ANA_ABORT = -1;

export type Analyser = (s: Stream, ch: Channel) => number;

/** Request analysers, in the order they run. */
export const REQ_ANALYSERS: ReadonlyArray<readonly [number, Analyser]> = [
  [AN_REQ_WAIT_HTTP, httpWaitForRequest],
  [AN_REQ_HTTP_PROCESS_FE, httpProcessReqFrontend],
  [AN_REQ_SWITCHING_RULES, httpProcessSwitchingRules],
  [AN_REQ_HTTP_PROCESS_BE, httpProcessReqBackend],
  [AN_REQ_HTTP_XFER_BODY, httpReqForwardBody],
];

/** Response analysers, in the order they run. */
export const RES_ANALYSERS: ReadonlyArray<readonly [number, Analyser]> = [
  [AN_RES_WAIT_HTTP, httpWaitForResponse],
  [AN_RES_HTTP_PROCESS_BE, httpProcessResponse],
  [AN_RES_HTTP_XFER_BODY, httpResForwardBody],
];

/** Runs the analysers of `ch` whose bits are set, in order; returns the last result. */
export function runAnalysers(
  s: Stream,
  ch: Channel,
  table: ReadonlyArray<readonly [number, Analyser]>,
): number {
  for (let i = 0; i < table.length; i++) {
    const entry = table[i]!;
    if (!(ch.analysers & entry[0])) continue;
    const r = entry[1](s, ch);
    if (r !== ANA_CONTINUE) return r;
  }
  return ANA_CONTINUE;
}

const NAMES: Array<[number, string]> = [
  [AN_REQ_WAIT_HTTP, "REQ_WAIT_HTTP"],
  [AN_REQ_HTTP_PROCESS_FE, "REQ_HTTP_PROCESS_FE"],
  [AN_REQ_SWITCHING_RULES, "REQ_SWITCHING_RULES"],
  [AN_REQ_HTTP_PROCESS_BE, "REQ_HTTP_PROCESS_BE"],
  [AN_REQ_HTTP_XFER_BODY, "REQ_HTTP_XFER_BODY"],
  [AN_RES_WAIT_HTTP, "RES_WAIT_HTTP"],
  [AN_RES_HTTP_PROCESS_BE, "RES_HTTP_PROCESS_BE"],
  [AN_RES_HTTP_XFER_BODY, "RES_HTTP_XFER_BODY"],
];

export function analysersToString(an: number): string {
  const out: string[] = [];
  for (const [bit, name] of NAMES) if (an & bit) out.push(name);
  return out.join("|") || "0";
}
