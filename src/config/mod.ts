// Public face of the configuration subsystem.
//
// Everything outside src/config/ imports from here: load a file or a text,
// format its issues, and the unit parsers other subsystems reuse (a duration
// on the command line, an address in a test). The RuntimeConfig types live in
// types.ts and are re-exported. Mirrors HAProxy's cfgparse.h as seen by
// haproxy.c.

export { formatIssue, loadConfigFile, loadConfigText } from "./load.ts";
export type { LoadResult } from "./load.ts";
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
