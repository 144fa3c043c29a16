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
import { evalValue } from "../sample/value.ts";
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
  /** `tcp-request` rules (connection: at accept; content: TCP mode), null without any. */
  readonly tcpRules: TcpRuleSet | null;
  /** It has use_backend rules (a TCP-mode stream then runs the switching analyser). */
  readonly hasUseBackend: boolean;
  /** Carried over from the frontend of the same name by a reload (src/proxy/reload.ts). */
  counters: FrontendCounters;
  /**
   * A reload replaced this frontend: its sessions still in progress get
   * `Connection: close` on their next response (HAProxy's
   * idle-close-on-response), so that clients move to the new one.
   */
  retired: boolean;
  /**
   * The frontend of the same name a reload put in service after this one:
   * this one's sessions count in its feconn too (its maxconn holds across
   * the reload), else null.
   */
  successor: Frontend | null;
  readonly #compiled: CompiledFrontend;
  readonly #backends: readonly Backend[];
  /** Backends by name, for dynamic use_backend names. */
  readonly #byName: ReadonlyMap<string, Backend>;

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
    this.retired = false;
    this.successor = null;
    this.#compiled = compiled;
    this.#backends = backends;
    this.#byName = new Map(backends.map((b) => [b.name, b]));
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
      if (r.cond !== null && !r.cond.eval(ctx)) continue;
      if (r.name === undefined) return this.#backends[r.backend]!;
      // Dynamic name: a name that is no backend of the same mode ends the
      // rules and the default backend applies (HAProxy's process_switching_rules).
      const be = this.#byName.get(evalValue(r.name, ctx));
      if (be !== undefined && be.cfg.mode === this.cfg.mode) return be;
      break;
    }
    const d = this.cfg.defaultBackend;
    return d >= 0 ? this.#backends[d]! : null;
  }
}
