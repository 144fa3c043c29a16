// The layer-4 request analysers of a TCP-mode stream (HAProxy's
// tcp_inspect_request(), process_switching_rules() and
// process_server_rules() in TCP mode).
//
// A TCP-mode stream whose frontend or default backend has `tcp-request
// content` rules, use_backend rules or use-server rules does not forward
// at once: its request bytes stay in the channel while these analysers
// read them, in the order of stream/analysers.ts:
//   AN_REQ_INSPECT_FE     frontend content rules, until they decide or
//                         inspect-delay expires
//   AN_REQ_TCP_SWITCHING  use_backend / default_backend (evaluated once, final)
//   AN_REQ_INSPECT_BE     backend content rules, then use-server, then the
//                         stream forwards everything and asks for a server.
// The server side stays INI (no connection) until the last one is done, as
// HAProxy's channel_dont_connect(). Reading the buffer never copies unless
// it wraps; evaluation reuses one sample context.

import type { Channel } from "../channel/channel.ts";
import {
  AN_REQ_INSPECT_BE,
  AN_REQ_INSPECT_FE,
  AN_REQ_TCP_SWITCHING,
  ANA_ABORT,
  ANA_CONTINUE,
  ANA_WAIT,
  CF_READ_ERROR,
  CF_SHUTR,
  CHN_INFINITE_FORWARD,
} from "../channel/types.ts";
import { SF_ERR_PRXCOND, SF_FINST_R } from "../log/termination.ts";
import { SI_ST_ASS, SI_ST_REQ } from "../si/types.ts";
import { TICK_ETERNITY, tickAdd, tickIsExpired } from "../task/ticks.ts";
import { L4SampleCtx, runRules, testCondition } from "./tcp_rules.ts";
import {
  TCP_ACT_DENY,
  TCP_ACT_STOP,
  TCP_ACT_YIELD,
  type TcpBackend,
  type TcpFrontend,
  type TcpRuleSet,
  type TcpRuleSubject,
  type TcpStream,
} from "./types.ts";

/** The one sample context of layer-4 evaluations (synchronous, never re-entered). */
const L4 = new L4SampleCtx();

/** The subject content rules run against (re-pointed at each evaluation). */
class ContentSubject implements TcpRuleSubject {
  readonly sample = L4;
  stream: TcpStream | null = null;
  expectProxy = false;
}
const SUBJECT = new ContentSubject();

const EMPTY = new Uint8Array(0);

/** The request bytes not yet forwarded, contiguous (a copy only when the ring wraps). */
function contentOf(ch: Channel): Uint8Array {
  const buf = ch.buf, n = ch.input;
  if (buf === null || n <= 0) return EMPTY;
  const start = ch.inPos();
  if (start + n <= buf.length) return buf.subarray(start, start + n);
  const out = new Uint8Array(n);
  const first = buf.length - start;
  out.set(buf.subarray(start), 0);
  out.set(buf.subarray(0, n - first), first);
  return out;
}

/**
 * Decides at stream creation: with layer-4 rules to run, sets the
 * analysers and leaves the server side INI; without, forwards everything to
 * the default backend at once (the path of a plain TCP proxy, unchanged).
 */
export function tcpStreamStart(s: TcpStream, defaultBe: TcpBackend | null): void {
  const fe = s.fe, req = s.req;
  const feRules = (fe.tcpRules?.content.length ?? 0) > 0;
  const beRules = defaultBe !== null &&
    ((defaultBe.tcpRules?.content.length ?? 0) > 0 || defaultBe.useServers.length > 0);
  if (feRules || fe.hasUseBackend || beRules) {
    req.analysers |= (feRules ? AN_REQ_INSPECT_FE : 0) | AN_REQ_TCP_SWITCHING | AN_REQ_INSPECT_BE;
    return;
  }
  req.toForward = CHN_INFINITE_FORWARD;
  if (defaultBe !== null) s.setBackend(defaultBe);
  s.srvSi.state = SI_ST_REQ;
}

/**
 * The analyser bit an HTTP-mode stream adds for its frontend's `tcp-request
 * content` rules: they run once, on the connection's first bytes, before
 * the first request is parsed (AN_REQ_INSPECT_FE comes first in the table
 * and clears only its own bit).
 */
export function tcpHttpInspect(fe: TcpFrontend): number {
  return (fe.tcpRules?.content.length ?? 0) > 0 ? AN_REQ_INSPECT_FE : 0;
}

/**
 * Runs a proxy's content rules over what the channel holds. The evaluation
 * is final (no rule waits) once the client shut, the buffer is full,
 * inspect-delay is 0 or has expired. Returns ANA_CONTINUE (accepted: the
 * analyser bit is cleared), ANA_WAIT (more data, or the delay, will tell)
 * or ANA_ABORT (rejected: the stream ended, PR in the log).
 */
function inspect(
  s: TcpStream,
  ch: Channel,
  rules: TcpRuleSet,
  bit: number,
  be: TcpBackend | null,
): number {
  const now = s.now();
  const full = ch.isFull() && ch.buf!.length >= s.ctx.cfg.global.bufsize;
  const final = (ch.flags & (CF_SHUTR | CF_READ_ERROR)) !== 0 || full ||
    rules.inspectDelay === 0 || tickIsExpired(ch.analyseExp, now);
  SUBJECT.stream = s;
  L4.bind(s.clientAddr, s.frontAddr, contentOf(ch));
  const r = runRules(rules.content, SUBJECT, L4, final);
  L4.unbind();
  SUBJECT.stream = null;
  if (r === TCP_ACT_YIELD) {
    if (ch.analyseExp === TICK_ETERNITY) ch.analyseExp = tickAdd(now, rules.inspectDelay);
    return ANA_WAIT;
  }
  if (r === TCP_ACT_DENY) {
    s.fe.counters.denied++;
    if (be !== null) be.counters.denied++;
    s.setTermination(SF_ERR_PRXCOND, SF_FINST_R);
    s.endStream();
    return ANA_ABORT;
  }
  ch.analysers &= ~bit;
  ch.analyseExp = TICK_ETERNITY;
  return ANA_CONTINUE;
}

/** AN_REQ_INSPECT_FE: the frontend's `tcp-request content` rules. */
export function tcpInspectFe(s: TcpStream, ch: Channel): number {
  const rules = s.fe.tcpRules;
  if (rules === null) {
    ch.analysers &= ~AN_REQ_INSPECT_FE;
    return ANA_CONTINUE;
  }
  return inspect(s, ch, rules, AN_REQ_INSPECT_FE, null);
}

/**
 * AN_REQ_TCP_SWITCHING: use_backend rules, evaluated once on what is there
 * (final, as HAProxy: a rule that must wait for data is written as a
 * `tcp-request content` rule before it), else default_backend.
 */
export function tcpSwitchingRules(s: TcpStream, ch: Channel): number {
  L4.bind(s.clientAddr, s.frontAddr, contentOf(ch));
  const be = s.fe.selectBackend(L4);
  L4.unbind();
  if (be !== null) s.setBackend(be);
  ch.analysers &= ~AN_REQ_TCP_SWITCHING;
  return ANA_CONTINUE;
}

/**
 * AN_REQ_INSPECT_BE: the backend's content rules, then its use-server
 * lines (the first that holds forces a usable server with a free slot;
 * otherwise balancing chooses), then the stream forwards everything and
 * connects.
 */
export function tcpInspectBe(s: TcpStream, ch: Channel): number {
  const be = s.be;
  const rules = be?.tcpRules ?? null;
  if (be !== null && rules !== null && rules.content.length > 0) {
    const r = inspect(s, ch, rules, 0, be);
    if (r !== ANA_CONTINUE) return r;
  }
  if (be !== null && s.srv === null && be.useServers.length > 0) {
    L4.bind(s.clientAddr, s.frontAddr, contentOf(ch));
    for (const u of be.useServers) {
      if (testCondition(u.cond, u.unless, L4, true) !== TCP_ACT_STOP) continue;
      const srv = be.servers[u.server]!;
      if (srv.usable) s.srv = srv;
      break;
    }
    L4.unbind();
  }
  ch.analysers &= ~AN_REQ_INSPECT_BE;
  ch.analyseExp = TICK_ETERNITY;
  ch.toForward = CHN_INFINITE_FORWARD;
  const srv = s.srv;
  if (be !== null && srv !== null && (srv.maxconn === 0 || srv.cur < srv.maxconn)) {
    s.srvSi.connRetries = be.cfg.retries;
    s.srvSi.state = SI_ST_ASS;
  } else {
    // A forced server that is full waits in the queues like any other stream.
    s.srv = null;
    s.srvSi.state = SI_ST_REQ;
  }
  return ANA_CONTINUE;
}
