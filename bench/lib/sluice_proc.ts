// How the benches start a Sluice: a tree's own deno.json and main.ts (the
// tree under test, BENCH_SLUICE_ROOT, or a reference tree), quiet (-q), with
// no update check and no colours, pinned and limited by ProcessGroup like
// the other proxies. Only the command line: each bench writes its
// configuration and reads its own figures.
//
// The V8 flags are those of the tree's `deno task start` (its deno.json), so
// that a bench measures Sluice as users run it and an A/B against an older
// tree measures that tree as it ran; a bench's own flags come after them.

import type { ManagedProcess, ProcessGroup, SpawnOptions } from "./proc.ts";

/** What a bench chooses about the process besides the ProcessGroup's own options. */
export interface SluiceSpawnOptions extends SpawnOptions {
  /** Deno flags before `--config` (e.g. `--v8-flags=...`, `--inspect=...`). */
  denoFlags?: string[];
}

/**
 * The `--v8-flags=...` arguments of the `start` task in ROOT/deno.json
 * (none when it has none or cannot be read).
 */
export function startTaskV8Flags(root: string): string[] {
  let task: unknown;
  try {
    task = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`))?.tasks?.start;
  } catch {
    return [];
  }
  if (typeof task !== "string") return [];
  return task.split(/\s+/).filter((a) => a.startsWith("--v8-flags="));
}

/**
 * Spawns `deno run --allow-all V8FLAGS FLAGS --config ROOT/deno.json
 * ROOT/main.ts -f YAML -q` in `group` as `name` (V8FLAGS: the start task's);
 * `opts.env` adds to the environment.
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
      ...startTaskV8Flags(root),
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
