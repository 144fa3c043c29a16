// Builds a balancer from a BalanceConfig written in code, the way a backend
// gets one: the arguments compiled by config/balance.ts (as compileConfig()
// does), then backend/lb.ts's createLoadBalancer() on the result (as
// Backend does). For the balancing tests, which state configurations as
// HAProxy spells them.

import { parseBalanceArgs } from "../../src/config/balance.ts";
import type { BalanceConfig } from "../../src/config/types.ts";
import { createLoadBalancer as build } from "../../src/backend/lb.ts";
import type { LbServer, LoadBalancer } from "../../src/backend/lb_types.ts";

/** The balancer of `cfg` over `servers`; throws BalanceArgsError on bad arguments. */
export function createLoadBalancer(
  cfg: BalanceConfig,
  servers: LbServer[],
  opts: { allbackups: boolean },
): LoadBalancer {
  return build(parseBalanceArgs(cfg), servers, opts);
}
