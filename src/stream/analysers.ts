// The analyser chain: the order process_stream() runs the analysers in
// (their AN_* bits and ANA_* results are channel types, channel/types.ts). Every analyser has one signature: it gets the stream and
// the channel, clears its own bit when done, and returns ANA_CONTINUE (run
// the next one), ANA_WAIT (stop here until the next wake) or ANA_ABORT (it
// ended the stream, e.g. after an error reply).

import type { Channel } from "../channel/channel.ts";
import {
  AN_REQ_HTTP_PROCESS_BE,
  AN_REQ_HTTP_PROCESS_FE,
  AN_REQ_HTTP_XFER_BODY,
  AN_REQ_INSPECT_BE,
  AN_REQ_INSPECT_FE,
  AN_REQ_SWITCHING_RULES,
  AN_REQ_TCP_SWITCHING,
  AN_REQ_WAIT_HTTP,
  AN_RES_HTTP_PROCESS_BE,
  AN_RES_HTTP_XFER_BODY,
  AN_RES_WAIT_HTTP,
  ANA_CONTINUE,
} from "../channel/types.ts";
import type { HttpStream } from "../http/http_stream.ts";
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
import { tcpInspectBe, tcpInspectFe, tcpSwitchingRules } from "../tcp/tcp_inspect.ts";
import type { TcpStream } from "../tcp/types.ts";

/** What the analysers drive: the stream, as the HTTP and the TCP layers see it. */
export type AnalysedStream = HttpStream & TcpStream;

export type Analyser = (s: AnalysedStream, ch: Channel) => number;

/**
 * Request analysers, in the order they run. The TCP ones (a TCP-mode stream
 * with layer-4 rules) and the HTTP ones are never set on the same stream.
 */
export const REQ_ANALYSERS: ReadonlyArray<readonly [number, Analyser]> = [
  [AN_REQ_INSPECT_FE, tcpInspectFe],
  [AN_REQ_TCP_SWITCHING, tcpSwitchingRules],
  [AN_REQ_INSPECT_BE, tcpInspectBe],
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
  s: AnalysedStream,
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
