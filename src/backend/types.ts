// What a backend takes from the compile pass (src/proxy/compile.ts): its
// balancing, http rules, forwardfor and cookie settings, built once at load time. The
// backend declares the shape it consumes, so that it never imports the
// compiler, which sits above it (docs/internals/architecture.md).

import type { CompiledBalance } from "../config/types.ts";
import type { CookieConfig } from "../http/cookie.ts";
import type { ForwardFor, Rule } from "../http/http_rules.ts";
import type { TcpRuleSet, TcpServerRule } from "../tcp/types.ts";

/** A backend's compiled configuration (HTTP layer). */
export interface CompiledBackend {
  /** The balancing with its arguments compiled (config/balance.ts). */
  balance: CompiledBalance;
  httpRequest: Rule[];
  httpResponse: Rule[];
  forwardFor: ForwardFor | null;
  /** Cookie persistence, null without a `cookie` line. */
  cookie: CookieConfig | null;
  /** `tcp-request` rules (absent or null: none). */
  tcpRules?: TcpRuleSet | null;
  /** `use-server` lines (absent: none). */
  useServers?: TcpServerRule[];
}
