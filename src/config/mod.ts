// Public face of the configuration subsystem.
//
// Everything outside src/config/ imports from here: parse a file or a text
// into a RuntimeConfig, format its issues, and the unit parsers other
// subsystems reuse (a duration on the command line, an address in a test).
// The RuntimeConfig types live in types.ts and are re-exported. Mirrors
// HAProxy's cfgparse.h as seen by haproxy.c. Loading with the compile pass
// of the upper layers (ACLs, rules, log formats), as `sluice -c` and the
// process do, is src/proxy/load.ts.

export { formatIssue, hasError, parseConfigFile, parseConfigText, sortIssues } from "./load.ts";
export type { ParseResult } from "./load.ts";
export {
  formatAddress,
  formatSize,
  MAX_DURATION_MS,
  parseAddress,
  parseDuration,
  parseHost,
  parseSize,
} from "./units.ts";
export type * from "./types.ts";
