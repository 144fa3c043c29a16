// The runtime API (HAProxy's CLI on its stats socket): the public face of
// src/cli/. The process calls startCli() when `global.stats.socket` is set
// and close() when it stops; see docs/runtime_api.md.

export { type CliLogger, CliServer, startCli } from "./cli.ts";
export type {
  CliErrorSnapshot,
  CliFrontend,
  CliListener,
  CliProcess,
  CliReloader,
  CliSession,
} from "./types.ts";
