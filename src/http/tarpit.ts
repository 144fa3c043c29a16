// `http-request tarpit` (HAProxy's http_process_tarpit() in http_ana.c): the
// request is held without an answer for `timeout tarpit` (the backend's, or
// the frontend's, or `timeout connect` when unset, as HAProxy), then
// answered with the rule's status (500 by default, HAProxy's fake server
// error) and closed, logged with the `PT` termination state. Abusers pay
// with their time and learn nothing. While held, the request goes nowhere:
// no other analyser runs and no server is asked for.

import {
  AN_REQ_HTTP_TARPIT,
  ANA_ABORT,
  ANA_WAIT,
  CF_READ_ERROR,
  CF_SHUTR,
} from "../channel/types.ts";
import type { Channel } from "../channel/channel.ts";
import { SF_ERR_PRXCOND, SF_FINST_T } from "../log/termination.ts";
import { tickAdd, tickIsExpired } from "../task/ticks.ts";
import type { HttpStream } from "./http_stream.ts";
import { httpError } from "./txn_end.ts";

/** Starts holding the request; `status` is the answer once the delay is over. */
export function startTarpit(s: HttpStream, status: number): void {
  const txn = s.txn!;
  txn.status = status;
  const t = (s.be ?? s.fe).cfg.timeouts;
  const delay = t.tarpit || s.fe.cfg.timeouts.tarpit || t.connect;
  const now = s.now();
  s.req.analysers = AN_REQ_HTTP_TARPIT;
  // An unset delay still expires (at once), as HAProxy's tick_add(now, 0).
  s.req.analyseExp = tickAdd(now, delay) || now;
}

/** AN_REQ_HTTP_TARPIT: waits for the delay (or the client's close), then answers. */
export function httpProcessTarpit(s: HttpStream, req: Channel): number {
  if (!(req.flags & (CF_SHUTR | CF_READ_ERROR)) && !tickIsExpired(req.analyseExp, s.now())) {
    return ANA_WAIT;
  }
  req.analysers &= ~AN_REQ_HTTP_TARPIT;
  httpError(s, s.txn!.status, SF_ERR_PRXCOND, SF_FINST_T, "tarpit");
  return ANA_ABORT;
}
