// A frontend at run time (HAProxy's struct proxy, frontend side): its
// configuration, compiled rules and switching rules, connection count and
// counters.

import type { Backend } from "../backend/backend.ts";
import type { CompiledFrontend } from "./types.ts";
import type { FrontendConfig } from "../config/types.ts";
import { type ForwardFor, type Rule, rulesUseRequest } from "../http/http_rules.ts";
import type { ErrorReplies } from "../http/http_errors.ts";
import type { SampleCtx } from "../sample/types.ts";
import type { LogLineFormat } from "../log/types.ts";
import { FrontendCounters } from "./counters.ts";
import type { TcpRuleSet } from "../tcp/types.ts";

export class Frontend {
  readonly id: number;
  readonly name: string;
  readonly cfg: FrontendConfig;
  /** Current sessions on this frontend. */
  feconn: number;
  /** Its own session limit now (the config's, changed by `set maxconn frontend`); 0 = none. */
  maxconn: number;
  /** The compiled session log format, null with `log: false`. */
  readonly logFormat: LogLineFormat | null;
  readonly httpReqRules: readonly Rule[];
  readonly httpResRules: readonly Rule[];
  readonly forwardFor: ForwardFor | null;
  /** Its http-response rules read request fetches (computed once). */
  readonly resRulesUseRequest: boolean;
  /** Error replies (with this frontend's errorfile bodies). */
  readonly errorReplies: ErrorReplies;
  readonly counters: FrontendCounters;
  /** `tcp-request` rules (connection: at accept; content: TCP mode), null without any. */
  readonly tcpRules: TcpRuleSet | null;
  /** It has use_backend rules (a TCP-mode stream then runs the switching analyser). */
  readonly hasUseBackend: boolean;
  readonly #compiled: CompiledFrontend;
  readonly #backends: readonly Backend[];

  constructor(
    id: number,
    cfg: FrontendConfig,
    compiled: CompiledFrontend,
    backends: readonly Backend[],
  ) {
    this.id = id;
    this.name = cfg.name;
    this.cfg = cfg;
    this.feconn = 0;
    this.maxconn = cfg.maxconn;
    this.logFormat = compiled.logFormat;
    this.httpReqRules = compiled.httpRequest;
    this.httpResRules = compiled.httpResponse;
    this.forwardFor = compiled.forwardFor;
    this.resRulesUseRequest = rulesUseRequest(compiled.httpResponse);
    this.errorReplies = compiled.errorReplies;
    this.counters = new FrontendCounters();
    this.tcpRules = compiled.tcpRules ?? null;
    this.hasUseBackend = compiled.useBackends.length > 0;
    this.#compiled = compiled;
    this.#backends = backends;
  }

  /** True when the frontend's own maxconn is reached. */
  isFull(): boolean {
    return this.maxconn > 0 && this.feconn >= this.maxconn;
  }

  /**
   * The backend for a request: the first use_backend whose condition holds,
   * else default_backend; null when neither applies (503).
   */
  selectBackend(ctx: SampleCtx): Backend | null {
    for (const r of this.#compiled.useBackends) {
      if (r.cond === null || r.cond.eval(ctx)) return this.#backends[r.backend]!;
    }
    const d = this.cfg.defaultBackend;
    return d >= 0 ? this.#backends[d]! : null;
  }
}
