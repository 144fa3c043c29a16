// Set-up shared by the balancing unit tests: a reusable request, servers
// with given weights, a BalanceConfig written in code, and small counters of
// picks and of keys that moved between servers.

import type { BalanceConfig } from "../../src/config/types.ts";
import { createLoadBalancer } from "../_helpers/balance.ts";
import type { LbRequest, LbServer, LoadBalancer } from "../../src/backend/lb_types.ts";

/** A reusable request. */
export class Req implements LbRequest {
  src = "127.0.0.1";
  uri: string | null = "/";
  headers = new Map<string, string>();
  header(name: string): string | null {
    return this.headers.get(name.toLowerCase()) ?? null;
  }
}

/** Servers with the given weights, ids 0..n-1, named s0..s(n-1). */
export function servers(weights: number[], backups: number[] = []): LbServer[] {
  const out: LbServer[] = weights.map((weight, id) => ({
    id,
    name: `s${id}`,
    weight,
    usable: true,
    backup: false,
    cur: 0,
    maxconn: 0,
  }));
  for (const weight of backups) {
    const id = out.length;
    out.push({ id, name: `b${id}`, weight, usable: true, backup: true, cur: 0, maxconn: 0 });
  }
  return out;
}

export function cfg(
  algo: BalanceConfig["algo"],
  args: string[] = [],
  hashType: BalanceConfig["hashType"] = "map-based",
): BalanceConfig {
  return { algo, args, hashType };
}

export function lbOf(c: BalanceConfig, list: LbServer[], allbackups = false): LoadBalancer {
  return createLoadBalancer(c, list, { allbackups });
}

/** Names of `n` picks (no connection taken). */
export function picks(lb: LoadBalancer, n: number, req: LbRequest = new Req()): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(lb.pick(req, null)?.name ?? "null");
  return out;
}

export function count(names: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const n of names) m[n] = (m[n] ?? 0) + 1;
  return m;
}

/** Client address number i (IPv4). */
export function ip4(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** Server id chosen for each of `n` source addresses. */
export function mapSources(
  lb: LoadBalancer,
  n: number,
  addr: (i: number) => string = ip4,
): number[] {
  const req = new Req();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    req.src = addr(i);
    out.push(lb.pick(req, null)!.id);
  }
  return out;
}
