// A frontend at run time (HAProxy's struct proxy, frontend side): its
// configuration, compiled log format, connection count and counters.

import type { FrontendConfig } from "../config/types.ts";
import { HTTPLOG_FORMAT, LogFormat, TCPLOG_FORMAT } from "../log/log_format.ts";
import { FrontendCounters } from "../stats/counters.ts";

export class Frontend {
  readonly id: number;
  readonly name: string;
  readonly cfg: FrontendConfig;
  /** Current sessions on this frontend. */
  feconn: number;
  /** The compiled session log format, null with `log: false`. */
  readonly logFormat: LogFormat | null;
  readonly counters: FrontendCounters;

  constructor(id: number, cfg: FrontendConfig) {
    this.id = id;
    this.name = cfg.name;
    this.cfg = cfg;
    this.feconn = 0;
    const fmt = cfg.logFormat ??
      (cfg.mode === "http" && cfg.options.has("httplog") ? HTTPLOG_FORMAT : TCPLOG_FORMAT);
    this.logFormat = cfg.noLog ? null : new LogFormat(fmt);
    this.counters = new FrontendCounters();
  }

  /** True when the frontend's own maxconn is reached. */
  isFull(): boolean {
    return this.cfg.maxconn > 0 && this.feconn >= this.cfg.maxconn;
  }
}
