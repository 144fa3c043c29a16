// Reading a V8 CPU profile (the inspector's Profiler.stop result): the
// functions with the most self time and inclusive time, and the files with
// the most self time, as shares of the profiled run.

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a sample's function belongs to: its folder under src/, or what V8 or Deno runs. */
function areaOf(url: string, fn: string): string {
  const m = /\/src\/([a-z0-9_]+)\//.exec(url);
  if (m !== null) return `src/${m[1]}`;
  if (fn === "op_write" || fn === "op_read") return "socket I/O (op_write, op_read: mostly kernel)";
  if (url.startsWith("ext:")) return "Deno glue (promises, ops: ext:*)";
  if (url.includes("/bench/")) return "bench";
  return fn.startsWith("op_") ? "other ops" : fn;
}

/**
 * Prints the `top` heaviest entries of each table, and the busy time (all
 * but idle) by area; with `usPerUnit` (CPU µs per request over the run),
 * each area's share also in µs per request.
 */
export function printProfile(p: Profile, top: number, usPerUnit = 0): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + d);
    total += d;
  }
  const fn = new Map<string, number>(), file = new Map<string, number>();
  const area = new Map<string, number>();
  let busy = 0;
  for (const [id, t] of self) {
    const cf = byId.get(id)!.callFrame;
    const short = cf.url.replace(/^.*\/(src|bench|ext)\//, "$1/").replace(/^file:\/\//, "");
    const k = `${cf.functionName || "(anon)"} ${short}:${cf.lineNumber + 1}`;
    fn.set(k, (fn.get(k) ?? 0) + t);
    const f = short === "" ? cf.functionName : short;
    file.set(f, (file.get(f) ?? 0) + t);
    if (cf.functionName === "(idle)") continue;
    const a = areaOf(cf.url, cf.functionName);
    area.set(a, (area.get(a) ?? 0) + t);
    busy += t;
  }
  const show = (title: string, m: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(100 * t / total).toFixed(1).padStart(5)}%  ${k}`);
    }
  };
  // Inclusive time: each function counted once per sample, however deep.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const cf = byId.get(x)!.callFrame;
      const short = cf.url.replace(/^.*\/(src|bench|ext)\//, "$1/").replace(/^file:\/\//, "");
      seen.add(`${cf.functionName || "(anon)"} ${short}:${cf.lineNumber + 1}`);
    }
    for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + t);
  }
  show("self time by function", fn);
  show("inclusive time by function", incl);
  show("self time by file", file);
  console.log(`\nbusy time by area${usPerUnit > 0 ? " (share of busy time, µs per request)" : ""}`);
  for (const [k, t] of [...area].sort((a, b) => b[1] - a[1])) {
    const us = usPerUnit > 0 ? `  ${(usPerUnit * t / busy).toFixed(2).padStart(6)} µs` : "";
    console.log(`${(100 * t / busy).toFixed(1).padStart(5)}%${us}  ${k}`);
  }
}

/**
 * Runs `work` under V8's sampling profiler in this process (node:inspector,
 * a sample every 50 µs) and prints the profile (printProfile()).
 */
export async function profileInProcess(work: () => Promise<void>, top: number): Promise<void> {
  const { Session } = await import("node:inspector");
  const session = new Session();
  const post = (m: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((res, rej) =>
      session.post(m, params, (e: unknown, r: unknown) => e ? rej(e) : res(r))
    );
  session.connect();
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 50 });
  await post("Profiler.start");
  await work();
  const { profile } = await post("Profiler.stop") as { profile: Profile };
  session.disconnect();
  printProfile(profile, top);
}
