// The program's version, printed by `sluice -v`, logged at start-up and
// reported by the stats (HAProxy's haproxy_version). A leaf: it imports
// nothing, so that any layer may read it without pulling in the process.

export const VERSION = "0.1.0";
