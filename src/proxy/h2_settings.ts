// The HTTP/2 limits of a frontend, from `global: h2.*` (HAProxy's tune.h2.*)
// and the frontend's timeouts.

import type { RuntimeConfig } from "../config/types.ts";
import type { Frontend } from "../frontend/frontend.ts";
import { H2_TUNE_DEFAULTS } from "../config/h2_keywords.ts";
import { H2_DEFAULTS, type H2Settings } from "../mux/types.ts";

export function h2SettingsOf(cfg: RuntimeConfig, fe: Frontend): H2Settings {
  const g = cfg.global.h2 ?? H2_TUNE_DEFAULTS;
  const t = fe.cfg.timeouts;
  return {
    ...g,
    idleTimeout: t.httpKeepAlive || t.client || H2_DEFAULTS.idleTimeout,
  };
}
