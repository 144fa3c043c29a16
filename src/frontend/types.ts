// What a frontend takes from the compile pass (src/proxy/compile.ts): its
// ACLs, switching rules, http rules, forwardfor, log format and error
// replies, built once at load time. The frontend declares the shape it
// consumes, so that it never imports the compiler, which sits above it
// (docs/internals/architecture.md).

import type { AclTable, Condition } from "../acl/acl.ts";
import type { ErrorReplies } from "../http/http_errors.ts";
import type { ForwardFor, Rule } from "../http/http_rules.ts";
import type { LogLineFormat } from "../log/types.ts";
import type { TcpRuleSet } from "../tcp/types.ts";

/** A use_backend line, compiled. */
export interface CompiledSwitchingRule {
  /** Index into RuntimeConfig.backends. */
  backend: number;
  /** null: unconditional. */
  cond: Condition | null;
}

/** A frontend's compiled configuration. */
export interface CompiledFrontend {
  acls: AclTable;
  useBackends: CompiledSwitchingRule[];
  httpRequest: Rule[];
  httpResponse: Rule[];
  forwardFor: ForwardFor | null;
  /** The compiled log line format, null with `log: false`. */
  logFormat: LogLineFormat | null;
  /** Error replies with the frontend's errorfile bodies. */
  errorReplies: ErrorReplies;
  /** `tcp-request` rules (absent or null: none). */
  tcpRules?: TcpRuleSet | null;
}
