// Proxy launcher for end-to-end tests: runs the real `main.ts` in a child
// process, the way a user runs it.
//
// `startProxy(yaml)` writes the configuration to a temporary file, spawns
// `deno run -A main.ts -f FILE` with stdout and stderr piped, and resolves
// once stderr shows the ready notice (`[NOTICE] (PID) : sluice X ready`),
// within a deadline. The `listening FRONTEND 127.0.0.1:PORT` notices give the
// actual ports (bind port 0 resolved), by frontend name. Every stdout line (the
// session logs) is collected in `logs`; `waitForLog(regex, ms)` waits for a
// matching line without sleeping (it wakes on each new line). `stop()` sends
// SIGTERM, awaits the exit (SIGKILL after a grace period), drains both pipes
// and removes the temporary file; call it in `finally`.
//
// `parseTcpLog()` splits an HAProxy tcplog line into typed fields so tests
// assert on termination states, byte counts, timers and retries by name.

import { delay } from "./client.ts";

/** Absolute path of the proxy's entry point, found from this file. */
export const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;
/** Repository root (cwd of the child, so that deno.json applies). */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** Default deadline for the ready notice (first run may compile/cache). */
const READY_TIMEOUT_MS = 30_000;
/** Grace period between SIGTERM and SIGKILL in stop(). */
const STOP_GRACE_MS = 5_000;

export interface StartOptions {
  /** Extra command-line arguments, after `-f FILE`. */
  args?: string[];
  /** Deadline for the ready notice. */
  readyTimeoutMs?: number;
  /** Called with every stdout line as it arrives (the demo prints them). */
  onStdout?: (line: string) => void;
  /** Called with every stderr line as it arrives. */
  onStderr?: (line: string) => void;
}

/** A running proxy process. */
export class ProxyProcess {
  /** The configuration file it runs on. */
  readonly file: string;
  readonly pid: number;
  /** Listening ports by frontend name, in the order announced. */
  readonly ports = new Map<string, number[]>();
  /** Every stdout line so far (session log lines). */
  readonly logs: string[] = [];
  /** Every stderr line so far (notices, warnings, errors). */
  readonly stderr: string[] = [];
  /** Exit status once the process has exited, else null. */
  exitStatus: Deno.CommandStatus | null = null;

  #child: Deno.ChildProcess;
  #pumps: Promise<void>;
  #waiters = new Set<() => void>();
  #ownsFile: boolean;
  #stopped = false;

  constructor(file: string, ownsFile: boolean, opts: StartOptions) {
    this.file = file;
    this.#ownsFile = ownsFile;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN_TS, "-f", file, ...(opts.args ?? [])],
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.pid = this.#child.pid;
    this.#pumps = Promise.all([
      pumpLines(this.#child.stdout, (line) => {
        this.logs.push(line);
        opts.onStdout?.(line);
        this.#notify();
      }),
      pumpLines(this.#child.stderr, (line) => {
        this.stderr.push(line);
        const m = /\blistening (\S+) (?:\S+):(\d+)\s*$/.exec(line);
        if (m !== null) {
          const list = this.ports.get(m[1]!) ?? [];
          list.push(Number(m[2]));
          this.ports.set(m[1]!, list);
        }
        opts.onStderr?.(line);
        this.#notify();
      }),
    ]).then(() => {});
    this.#child.status.then((s) => {
      this.exitStatus = s;
      this.#notify();
    });
  }

  /** The (first) listening port of frontend `name`; throws when it was not announced. */
  port(name: string): number {
    const p = this.ports.get(name)?.[0];
    if (p === undefined) {
      throw new Error(
        `Frontend ${JSON.stringify(name)} announced no port; stderr:\n${this.stderr.join("\n")}`,
      );
    }
    return p;
  }

  /** Sends a signal to the proxy (ignored once it has exited). */
  kill(signal: Deno.Signal): void {
    if (this.exitStatus !== null) return;
    try {
      this.#child.kill(signal);
    } catch {
      // exited in between
    }
  }

  /**
   * Waits until `pred()` returns a value other than undefined, re-checking on
   * every new output line and on exit. Rejects after `timeoutMs` with `what`
   * and the recent output, or as soon as the process exits when `failOnExit`.
   */
  async waitUntil<T>(
    pred: () => T | undefined,
    timeoutMs: number,
    what: string,
    failOnExit = true,
  ): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v !== undefined) return v;
      if (failOnExit && this.exitStatus !== null) {
        // let the pipes drain so the message shows the last words
        await this.#pumps;
        const again = pred();
        if (again !== undefined) return again;
        throw new Error(
          `Proxy exited (code ${this.exitStatus.code}) while waiting for ${what}\n${this.describe()}`,
        );
      }
      const left = end - Date.now();
      if (left <= 0) {
        throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      let wake!: () => void;
      await new Promise<void>((resolve) => {
        wake = resolve;
        this.#waiters.add(resolve);
        timer = setTimeout(resolve, left);
      });
      this.#waiters.delete(wake);
      clearTimeout(timer);
    }
  }

  /** Waits for a stdout (log) line matching `re` at index ≥ `from`; returns it. */
  waitForLog(re: RegExp, timeoutMs = 5_000, from = 0): Promise<string> {
    return this.waitUntil(
      () => this.logs.slice(from).find((l) => re.test(l)),
      timeoutMs,
      `a log line matching ${re}`,
    );
  }

  /** Waits until `count` stdout lines match `re`; returns them. */
  waitForLogs(re: RegExp, count: number, timeoutMs = 5_000): Promise<string[]> {
    return this.waitUntil(
      () => {
        const found = this.logs.filter((l) => re.test(l));
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      `${count} log lines matching ${re} (have ${this.logs.filter((l) => re.test(l)).length})`,
    );
  }

  /** Waits for a stderr line matching `re`; returns it. */
  waitForStderr(re: RegExp, timeoutMs = 5_000): Promise<string> {
    return this.waitUntil(
      () => this.stderr.find((l) => re.test(l)),
      timeoutMs,
      `a stderr line matching ${re}`,
    );
  }

  /** Waits for the process to exit by itself; returns its status. */
  async waitExit(timeoutMs: number): Promise<Deno.CommandStatus> {
    const s = await this.waitUntil(() => this.exitStatus ?? undefined, timeoutMs, "exit", false);
    await this.#pumps;
    return s;
  }

  /**
   * Stops the proxy: SIGTERM, wait up to a grace period, then SIGKILL; drains
   * the pipes and removes the temporary configuration. Idempotent.
   */
  async stop(): Promise<Deno.CommandStatus> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.kill("SIGKILL");
          resolve();
        }, STOP_GRACE_MS);
      });
      await Promise.race([this.#child.status, killed]);
      clearTimeout(timer);
      if (this.#ownsFile) await Deno.remove(this.file).catch(() => {});
    }
    const status = await this.#child.status;
    await this.#pumps;
    return status;
  }

  /** The last lines of output, for failure messages. */
  describe(): string {
    return `--- proxy stderr (last 20) ---\n${this.stderr.slice(-20).join("\n")}\n` +
      `--- proxy stdout (last 20) ---\n${this.logs.slice(-20).join("\n")}`;
  }

  #notify(): void {
    for (const w of this.#waiters) w();
    this.#waiters.clear();
  }
}

/**
 * Starts the proxy on configuration text `yaml` and waits for its ready
 * notice. On failure (exit, deadline) the process is stopped and the error
 * carries its stderr.
 */
export async function startProxy(yaml: string, opts: StartOptions = {}): Promise<ProxyProcess> {
  const file = await Deno.makeTempFile({ prefix: "sluice-test-", suffix: ".yaml" });
  await Deno.writeTextFile(file, yaml);
  return await launch(file, true, opts);
}

/** Starts the proxy on an existing configuration file (not removed on stop). */
export function startProxyFile(file: string, opts: StartOptions = {}): Promise<ProxyProcess> {
  return launch(file, false, opts);
}

async function launch(file: string, owns: boolean, opts: StartOptions): Promise<ProxyProcess> {
  const p = new ProxyProcess(file, owns, opts);
  try {
    await p.waitForStderr(/\bsluice \S+ ready\b/, opts.readyTimeoutMs ?? READY_TIMEOUT_MS);
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}

/** Result of a one-shot CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts` with `args` to completion (deadline `timeoutMs`, then SIGKILL). */
export async function runCli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN_TS, ...args],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const td = new TextDecoder();
    return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks configuration text with `-c`: writes it to a temporary file (removed
 * afterwards) and returns the exit code, the output and the file's path (error
 * messages name it).
 */
export async function checkConfig(yaml: string): Promise<CliResult & { file: string }> {
  const file = await Deno.makeTempFile({ prefix: "sluice-check-", suffix: ".yaml" });
  try {
    await Deno.writeTextFile(file, yaml);
    return { ...(await runCli(["-c", "-f", file])), file };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** One tcplog line, split (`%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`). */
export interface TcpLog {
  clientIp: string;
  clientPort: number;
  date: string;
  frontend: string;
  backend: string;
  server: string;
  tw: number;
  tc: number;
  tt: number;
  bytes: number;
  /** Two-letter termination state, e.g. "--", "cD", "SC". */
  ts: string;
  actconn: number;
  feconn: number;
  beconn: number;
  srvconn: number;
  retries: number;
  /** True when retries had the "+" prefix (redispatched). */
  redispatched: boolean;
  srvQueue: number;
  beQueue: number;
  line: string;
}

const TCPLOG_RE = new RegExp(
  "^(\\S+):(\\d+) \\[([^\\]]+)\\] (\\S+) ([^\\s/]+)/(\\S+) " +
    "(-?\\d+)/(-?\\d+)/\\+?(-?\\d+) \\+?(\\d+) (\\S\\S) " +
    "(\\d+)/(\\d+)/(\\d+)/(\\d+)/(\\+?)(\\d+) (\\d+)/(\\d+)$",
);

/** Parses a tcplog line; throws (quoting the line) when it does not have the tcplog shape. */
export function parseTcpLog(line: string): TcpLog {
  const m = TCPLOG_RE.exec(line.trimEnd());
  if (m === null) throw new Error(`Not a tcplog line: ${JSON.stringify(line)}`);
  const g = (i: number): string => m[i]!;
  return {
    clientIp: g(1),
    clientPort: Number(g(2)),
    date: g(3),
    frontend: g(4),
    backend: g(5),
    server: g(6),
    tw: Number(g(7)),
    tc: Number(g(8)),
    tt: Number(g(9)),
    bytes: Number(g(10)),
    ts: g(11),
    actconn: Number(g(12)),
    feconn: Number(g(13)),
    beconn: Number(g(14)),
    srvconn: Number(g(15)),
    redispatched: g(16) === "+",
    retries: Number(g(17)),
    srvQueue: Number(g(18)),
    beQueue: Number(g(19)),
    line,
  };
}

/** A regex matching the tcplog line of the session from client port `port`. */
export function logLineOf(port: number): RegExp {
  return new RegExp(`^127\\.0\\.0\\.1:${port} \\[`);
}

/**
 * Polls `fn` every `everyMs` until it returns a value other than undefined or
 * `timeoutMs` passes (for conditions no event announces, e.g. "the listener
 * now refuses connections").
 */
export async function pollUntil<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  everyMs = 25,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() >= end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}

async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl).replace(/\r$/, ""));
        pending = pending.slice(nl + 1);
      }
    }
    if (pending.length > 0) onLine(pending);
  } finally {
    reader.releaseLock();
  }
}
