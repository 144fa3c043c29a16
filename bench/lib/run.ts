// The frame of a bench run that starts processes (load.ts, conn_memory.ts):
// the open-file limits it checks first, one ProcessGroup and one temporary
// directory that are cleaned up however the run ends (SIGINT and SIGTERM
// included), the results file, and the exit code of the entry point. What a
// bench measures and prints stays in the bench.

import { capture, hasCommand, ProcessGroup } from "./proc.ts";

/** A progress line ("# ..."), apart from the tables. */
export function log(msg: string): void {
  console.log(`# ${msg}`);
}

/** The message of an exception, or its text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Soft and hard open-file limits of this process (unlimited as 2^20), read
 * through a child shell, which inherits them: Deno refuses
 * /proc/self/limits without --allow-all.
 */
export async function openFileLimits(): Promise<{ soft: number; hard: number }> {
  const r = await capture("bash", ["-c", "ulimit -Sn; ulimit -Hn"]);
  const [soft, hard] = r.stdout.trim().split("\n").map((x) =>
    x === "unlimited" ? 1 << 20 : Number(x)
  );
  if (r.code !== 0 || !(soft! > 0) || !(hard! > 0)) {
    throw new Error(`Cannot read ulimit -n: ${r.stderr}`);
  }
  return { soft: soft!, hard: hard! };
}

/**
 * Runs `body` with a ProcessGroup (under setpriv when there is one) and a
 * fresh temporary directory named `prefix…`. Afterwards, or on SIGINT or
 * SIGTERM (then the process exits 130), every process is stopped, the
 * directory removed unless `keepTmp`, and `more()` run. Returns what
 * `body` returns.
 */
export async function withRun<T>(
  prefix: string,
  keepTmp: boolean,
  body: (group: ProcessGroup, tmp: string) => Promise<T>,
  more: () => Promise<void> = () => Promise.resolve(),
): Promise<T> {
  const group = new ProcessGroup(await hasCommand("setpriv"));
  const tmp = await Deno.makeTempDir({ prefix });
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await group.stopAll();
    if (keepTmp) log(`temporary files kept in ${tmp}`);
    else await Deno.remove(tmp, { recursive: true }).catch(() => {});
    await more();
  };
  const onSignal = () => {
    log("interrupted: stopping every process started");
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    return await body(group, tmp);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await cleanup();
  }
}

/** Writes `json` (indented) to `out`, its folder created, and says where. */
export async function writeResults(out: string, json: unknown): Promise<void> {
  await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(json, null, 2) + "\n");
  console.log(`results written to ${out}`);
}

/** Runs `main` and exits with its code; an exception is printed as "NAME: message", exit 2. */
export async function runMain(name: string, main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (e) {
    console.error(`${name}: ${errorText(e)}`);
    code = 2;
  }
  Deno.exit(code);
}
