// Running wrk and reading its report.
//
// parseWrkOutput() reads the plain-text report of `wrk --latency` (wrk 4.x):
// the "N requests in Xs, Y read" line, "Requests/sec:", the latency
// distribution, socket errors and non-2xx/3xx responses. It throws when the
// request count or rate is missing, so that a broken run is never averaged in.

/** What one wrk run reports. */
export interface WrkResult {
  requests: number;
  durationS: number;
  requestsPerSec: number;
  /** Latency percentiles in milliseconds (50, 75, 90, 99), when --latency was given. */
  latencyMs: { p50: number; p75: number; p90: number; p99: number } | null;
  /** Sum of connect/read/write/timeout socket errors. */
  socketErrors: number;
  /** Responses with a status other than 2xx/3xx. */
  non2xx: number;
}

const TIME_UNITS_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Converts a wrk duration such as "812.00us", "1.23ms" or "2.00s" to milliseconds. */
export function parseWrkTime(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(s.trim());
  if (m === null) throw new Error(`Unexpected wrk time "${s}"`);
  return Number(m[1]) * TIME_UNITS_MS[m[2]!]!;
}

/** Parses the report of `wrk --latency`; throws when the essential lines are missing. */
export function parseWrkOutput(text: string): WrkResult {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),/m.exec(text);
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (total === null || rate === null) {
    throw new Error(`Cannot read the wrk report:\n${text.trim()}`);
  }
  const durationS = parseWrkTime(`${total[2]}${total[3]}`) / 1000;
  let latencyMs: WrkResult["latencyMs"] = null;
  const pct = (p: string): number | null => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(text);
    return m === null ? null : parseWrkTime(m[1]!);
  };
  const p50 = pct("50"), p75 = pct("75"), p90 = pct("90"), p99 = pct("99");
  if (p50 !== null && p75 !== null && p90 !== null && p99 !== null) {
    latencyMs = { p50, p75, p90, p99 };
  }
  let socketErrors = 0;
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (se !== null) socketErrors = Number(se[1]) + Number(se[2]) + Number(se[3]) + Number(se[4]);
  const nx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests: Number(total[1]),
    durationS,
    requestsPerSec: Number(rate[1]),
    latencyMs,
    socketErrors,
    non2xx: nx === null ? 0 : Number(nx[1]),
  };
}

/** Options of one wrk run. */
export interface WrkOptions {
  threads: number;
  connections: number;
  durationS: number;
  /** CPU list for taskset; not pinned when absent. */
  cpus?: string;
  /**
   * Extra request headers (`-H`), e.g. "Connection: close": wrk then opens a
   * new connection for every request (it reconnects whenever a response does
   * not allow keep-alive).
   */
  headers?: string[];
}

/** Runs wrk against `url` and returns its parsed report; throws when wrk fails. */
export async function runWrk(url: string, o: WrkOptions): Promise<WrkResult> {
  const wrkArgs = [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    ...(o.headers ?? []).flatMap((h) => ["-H", h]),
    "--latency",
    url,
  ];
  const cmd = o.cpus === undefined ? "wrk" : "taskset";
  const args = o.cpus === undefined ? wrkArgs : ["-c", o.cpus, "wrk", ...wrkArgs];
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  const text = dec.decode(out.stdout);
  if (!out.success) {
    throw new Error(`wrk exited with code ${out.code}: ${dec.decode(out.stderr).trim()}\n${text}`);
  }
  return parseWrkOutput(text);
}
