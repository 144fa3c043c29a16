// The arguments of `balance`, compiled once (HAProxy's backend_parse_balance()).
//
// Owns: the one reading of a balance line's arguments, in HAProxy spelling
// (BalanceConfig.args), into values (CompiledBalance). The validator calls it
// to report a bad argument at its line and column; the compile pass calls it
// to give each backend the CompiledBalance that backend/lb.ts builds a
// balancer from. Nothing else parses balance arguments; nothing here runs
// per request.

import type { BalanceAlgo, BalanceConfig, CompiledBalance } from "./types.ts";

/** Draws of `balance random` without an argument (HAProxy: 2, the power of two choices). */
export const RANDOM_DEFAULT_DRAWS = 2;

/**
 * The balancing of a backend with every argument at its default (2 random
 * draws, the whole path for uri, no parameter or header name): where the
 * config compiler starts from, and what a backend built without compiled
 * config (unit tests) runs with.
 */
export function balanceDefaults(
  algo: BalanceAlgo,
  hashType: CompiledBalance["hashType"],
): CompiledBalance {
  return {
    algo,
    hashType,
    draws: RANDOM_DEFAULT_DRAWS,
    uri: { len: 0, depth: 0, whole: false, pathOnly: false },
    param: "",
    header: "",
    domainOnly: false,
  };
}

/** A `balance` line whose arguments are wrong; the message quotes the bad value. */
export class BalanceArgsError extends RangeError {
  override name = "BalanceArgsError";
}

/** A positive integer in HAProxy's decimal spelling (no sign, no leading zero). */
const POSITIVE_INT = /^[1-9][0-9]*$/;

/**
 * Compiles the arguments of a `balance` line, as HAProxy spells them: none
 * for roundrobin/static-rr/leastconn/first/source; `[draws]` for random;
 * `[len N] [depth N] [whole] [path-only]` for uri; `<param>` for url_param;
 * `<name> [use_domain_only]` for hdr. Returns the CompiledBalance (arguments
 * not given keep balanceDefaults()); throws BalanceArgsError on a missing,
 * unknown or malformed argument (url_param's `check_post` is refused: request
 * bodies are not inspected).
 */
export function parseBalanceArgs(cfg: BalanceConfig): CompiledBalance {
  const p = balanceDefaults(cfg.algo, cfg.hashType);
  const a = cfg.args;
  const unexpected = (i: number, takes: string): never => {
    throw new BalanceArgsError(
      `Unexpected argument "${a[i]}" for balance ${cfg.algo} (it takes ${takes})`,
    );
  };
  /** The value after uri's `len` / `depth` (at a[i]): a positive integer. */
  const uriInt = (i: number, name: string): number => {
    const v = a[i];
    if (v === undefined) {
      throw new BalanceArgsError(
        `balance uri: missing value after "${name}" (uri ${name} N, N a positive integer)`,
      );
    }
    if (!POSITIVE_INT.test(v)) {
      throw new BalanceArgsError(`balance uri: "${name}" expects a positive integer, got "${v}"`);
    }
    return Number(v);
  };
  switch (cfg.algo) {
    case "roundrobin":
    case "static-rr":
    case "leastconn":
    case "first":
    case "source":
      if (a.length > 0) unexpected(0, "none");
      break;
    case "random":
      if (a.length > 1) unexpected(1, "at most the number of draws");
      if (a.length === 1) {
        if (!POSITIVE_INT.test(a[0]!)) {
          throw new BalanceArgsError(
            `balance random: the number of random draws must be a positive integer, got "${a[0]}"`,
          );
        }
        p.draws = Number(a[0]);
      }
      break;
    case "uri":
      for (let i = 0; i < a.length; i++) {
        const w = a[i];
        if (w === "whole") p.uri.whole = true;
        else if (w === "path-only") p.uri.pathOnly = true;
        else if (w === "len") p.uri.len = uriInt(++i, "len");
        else if (w === "depth") p.uri.depth = uriInt(++i, "depth");
        else {
          throw new BalanceArgsError(
            `balance uri: unknown argument "${w}" (expected len, depth, whole or path-only)`,
          );
        }
      }
      break;
    case "url_param":
      if (a.length === 0 || a[0] === "") {
        throw new BalanceArgsError("balance url_param: missing parameter name");
      }
      if (a[1] === "check_post") {
        throw new BalanceArgsError(
          'balance url_param: "check_post" is not supported (request bodies are not inspected)',
        );
      }
      if (a.length > 1) unexpected(1, "only the parameter name");
      p.param = a[0]!;
      break;
    case "hdr":
      if (a.length === 0 || a[0] === "") {
        throw new BalanceArgsError(
          "balance hdr: missing header name (expected hdr(NAME), e.g. hdr(host))",
        );
      }
      for (let i = 1; i < a.length; i++) {
        if (a[i] !== "use_domain_only") {
          throw new BalanceArgsError(
            `balance hdr: unknown argument "${a[i]}" (expected use_domain_only)`,
          );
        }
        p.domainOnly = true;
      }
      p.header = a[0]!.toLowerCase();
      break;
    default: {
      const algo: never = cfg.algo;
      throw new BalanceArgsError(`Unknown balance algorithm "${String(algo)}"`);
    }
  }
  return p;
}

/** The message of parseBalanceArgs()'s error for `cfg`, or null when its arguments are valid. */
export function balanceArgsError(cfg: BalanceConfig): string | null {
  try {
    parseBalanceArgs(cfg);
    return null;
  } catch (e) {
    if (e instanceof BalanceArgsError) return e.message;
    throw e;
  }
}
