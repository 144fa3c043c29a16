// How the benches start a Sluice: a tree's own deno.json and main.ts (the
// tree under test, BENCH_SLUICE_ROOT, or a reference tree), quiet (-q), with
// no update check and no colours, pinned and limited by ProcessGroup like
// the other proxies. Only the command line: each bench writes its
// configuration and reads its own figures.

import type { ManagedProcess, ProcessGroup, SpawnOptions } from "./proc.ts";

/** What a bench chooses about the process besides the ProcessGroup's own options. */
export interface SluiceSpawnOptions extends SpawnOptions {
  /** Deno flags before `--config` (e.g. `--v8-flags=...`, `--inspect=...`). */
  denoFlags?: string[];
}

/**
 * Spawns `deno run --allow-all FLAGS --config ROOT/deno.json ROOT/main.ts
 * -f YAML -q` in `group` as `name`; `opts.env` adds to the environment.
 */
export function spawnSluiceTree(
  group: ProcessGroup,
  name: string,
  root: string,
  yaml: string,
  opts: SluiceSpawnOptions = {},
): ManagedProcess {
  const { denoFlags = [], env = {}, ...spawn } = opts;
  return group.spawn(
    name,
    Deno.execPath(),
    [
      "run",
      "--allow-all",
      ...denoFlags,
      "--config",
      `${root}/deno.json`,
      `${root}/main.ts`,
      "-f",
      yaml,
      "-q",
    ],
    { ...spawn, env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env } },
  );
}
