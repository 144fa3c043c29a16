// Reading the benches' BENCH_* environment variables: one parser per kind
// of value, each refusing a bad value with the variable's name, and the
// settings every bench that runs proxies shares.

/** An integer ≥ `min`; `def` when unset or empty. */
export function envInt(name: string, def: number, min: number): number {
  const v = Deno.env.get(name);
  if (v === undefined || v === "") return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`Invalid ${name} "${v}": expected an integer ≥ ${min}`);
  }
  return n;
}

/** A comma-separated list of `allowed` items; `def` when unset or empty. */
export function envList<T extends string>(
  name: string,
  def: readonly T[],
  allowed: readonly T[],
): T[] {
  const v = Deno.env.get(name);
  if (v === undefined || v === "") return [...def];
  const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const it of items) {
    if (!allowed.includes(it as T)) {
      throw new Error(`Invalid ${name} item "${it}": expected one of ${allowed.join(", ")}`);
    }
  }
  if (items.length === 0) throw new Error(`Invalid ${name} "${v}": empty list`);
  return items as T[];
}

/** A flag: anything but "0", "false" or "no" is on; `def` when unset or empty. */
export function envFlag(name: string, def: boolean): boolean {
  const v = Deno.env.get(name);
  if (v === undefined || v === "") return def;
  return v !== "0" && v.toLowerCase() !== "false" && v.toLowerCase() !== "no";
}

/** The settings of every bench that starts proxies (see bench/README.md). */
export interface CommonSettings {
  proxyCpu: string;
  loadCpu: string;
  bufsize: number;
  out: string;
  keepTmp: boolean;
  strict: boolean;
  /** Tree whose main.ts and deno.json are run as Sluice (default: this repository). */
  sluiceRoot: string;
  /**
   * V8 flags Sluice runs with (`deno run --v8-flags=…`); empty (the default):
   * V8's own. `--single-threaded` was tried as the default for a process
   * pinned to one core: it removes the 2-4 ms scavenges that wait for a
   * helper thread, but a full run then put every old-generation sweep on the
   * main thread and keep-alive p99 went from 3-6 ms to 22-29 ms.
   */
  sluiceV8Flags: string;
}

/** Reads the common settings; `defaultOut` is the bench's own results file. */
export function commonSettings(defaultOut: string): CommonSettings {
  return {
    proxyCpu: Deno.env.get("BENCH_PROXY_CPU") ?? "1",
    loadCpu: Deno.env.get("BENCH_LOAD_CPU") ?? "0",
    bufsize: envInt("BENCH_BUFSIZE", 16384, 1024),
    out: Deno.env.get("BENCH_OUT") ?? defaultOut,
    keepTmp: envFlag("BENCH_KEEP_TMP", false),
    strict: envFlag("BENCH_STRICT", false),
    sluiceRoot: (Deno.env.get("BENCH_SLUICE_ROOT") ||
      new URL("../..", import.meta.url).pathname).replace(/\/$/, ""),
    sluiceV8Flags: Deno.env.get("BENCH_SLUICE_V8_FLAGS") ?? "",
  };
}
