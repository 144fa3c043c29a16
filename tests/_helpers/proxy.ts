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
// `parseTcpLog()` and `parseHttpLog()` split an HAProxy tcplog / httplog line
// into typed fields so tests assert on termination states, byte counts, timers
// and retries by name; `logLineOf(port)` matches the lines of one client.

import { delay } from "./client.ts";
import { Signal } from "./signal.ts";

/** Absolute path of the proxy's entry point, found from this file. */
export const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;
/** Repository root (cwd of the child, so that deno.json applies). */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/**
 * The permissions and V8 flags `deno task start` gives (read from
 * deno.json): the proxy under test runs with exactly those, so that a
 * feature needing more (a path Deno refuses without --allow-all, a
 * subprocess) fails here as it would for a user, instead of passing under
 * -A, and so that the tests run the code as V8 compiles it for users.
 */
export const START_FLAGS: string[] = (() => {
  const cfg = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  return String(cfg.tasks.start).split(/\s+/).filter((w) =>
    w.startsWith("--allow-") || w.startsWith("--v8-flags=")
  );
})();

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
  #changed = new Signal();
  #ownsFile: boolean;
  #stopped = false;

  constructor(file: string, ownsFile: boolean, opts: StartOptions) {
    this.file = file;
    this.#ownsFile = ownsFile;
    this.#child = spawnDeno([
      "run",
      ...START_FLAGS,
      MAIN_TS,
      "-f",
      file,
      ...(opts.args ?? []),
    ]);
    this.pid = this.#child.pid;
    this.#pumps = Promise.all([
      pumpLines(this.#child.stdout, (line) => {
        this.logs.push(line);
        opts.onStdout?.(line);
        this.#changed.notify();
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
        this.#changed.notify();
      }),
    ]).then(() => {});
    this.#child.status.then((s) => {
      this.exitStatus = s;
      this.#changed.notify();
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
      await this.#changed.wait(left);
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

/** Spawns `deno ARGS` in the repository root: no stdin, stdout and stderr piped, no colours. */
export function spawnDeno(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** Runs `main.ts` with `args` to completion (deadline `timeoutMs`, then SIGKILL). */
export function runCli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return runDeno(["run", ...START_FLAGS, MAIN_TS, ...args], timeoutMs);
}

/**
 * Runs `deno ARGS` (e.g. `run -A SCRIPT`) in the repository root to completion
 * (deadline `timeoutMs`, then SIGKILL).
 */
export async function runDeno(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  const child = spawnDeno(args);
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

/** The fields tcplog and httplog lines share. */
export interface SessionLog {
  clientIp: string;
  clientPort: number;
  date: string;
  frontend: string;
  backend: string;
  server: string;
  bytes: number;
  /** Two-letter termination state, e.g. "--", "cD", "SC", "PR". */
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

/** One tcplog line, split (`%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`). */
export interface TcpLog extends SessionLog {
  tw: number;
  tc: number;
  tt: number;
}

/**
 * One httplog line, split (`%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B
 * %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r`).
 */
export interface HttpLog extends SessionLog {
  /** %TR: time to receive the full request head. */
  tR: number;
  /** %Tw: time waiting in queues. */
  tw: number;
  /** %Tc: time to connect to the server. */
  tc: number;
  /** %Tr: server response time (-1 when no response came). */
  tr: number;
  /** %Ta: active time of the request. */
  ta: number;
  status: number;
  /** Captured request / response cookie fields (`-` when none). */
  cookieReq: string;
  cookieRes: string;
  /** Four-character termination state (`%tsc`), e.g. "----", "PR--", "sQ--"; `ts` is its start. */
  tsc: string;
  /** The request line, unquoted (`<BADREQ>` for an unparsable request). */
  request: string;
}

/** `%ci:%cp [%t] %ft %b/%s `, the start of both formats. */
const LOG_HEAD = "^(?<clientIp>\\S+):(?<clientPort>\\d+) \\[(?<date>[^\\]]+)\\] " +
  "(?<frontend>\\S+) (?<backend>[^\\s/]+)/(?<server>\\S+) ";
/** `%ac/%fc/%bc/%sc/%rc %sq/%bq`, in both formats. */
const LOG_CONNS = "(?<actconn>\\d+)/(?<feconn>\\d+)/(?<beconn>\\d+)/(?<srvconn>\\d+)/" +
  "(?<redispatched>\\+?)(?<retries>\\d+) (?<srvQueue>\\d+)/(?<beQueue>\\d+)";

const TCPLOG_RE = new RegExp(
  LOG_HEAD + "(?<tw>-?\\d+)/(?<tc>-?\\d+)/\\+?(?<tt>-?\\d+) \\+?(?<bytes>\\d+) (?<ts>\\S\\S) " +
    LOG_CONNS + "$",
);

const HTTPLOG_RE = new RegExp(
  LOG_HEAD +
    "(?<tR>-?\\d+)/(?<tw>-?\\d+)/(?<tc>-?\\d+)/(?<tr>-?\\d+)/\\+?(?<ta>-?\\d+) " +
    "(?<status>-?\\d+) \\+?(?<bytes>\\d+) (?<cookieReq>\\S+) (?<cookieRes>\\S+) " +
    "(?<tsc>(?<ts>\\S\\S)\\S\\S) " + LOG_CONNS + ' "(?<request>.*)"$',
);

/** The named groups of `re` on `line`; throws (quoting the line) when it does not match. */
function logFields(re: RegExp, line: string, what: string): (name: string) => string {
  const groups = re.exec(line.trimEnd())?.groups;
  if (groups === undefined) throw new Error(`Not ${what} line: ${JSON.stringify(line)}`);
  return (name) => groups[name]!;
}

function sessionLog(g: (name: string) => string, line: string): SessionLog {
  return {
    clientIp: g("clientIp"),
    clientPort: Number(g("clientPort")),
    date: g("date"),
    frontend: g("frontend"),
    backend: g("backend"),
    server: g("server"),
    bytes: Number(g("bytes")),
    ts: g("ts"),
    actconn: Number(g("actconn")),
    feconn: Number(g("feconn")),
    beconn: Number(g("beconn")),
    srvconn: Number(g("srvconn")),
    redispatched: g("redispatched") === "+",
    retries: Number(g("retries")),
    srvQueue: Number(g("srvQueue")),
    beQueue: Number(g("beQueue")),
    line,
  };
}

/** Parses a tcplog line; throws (quoting the line) when it does not have the tcplog shape. */
export function parseTcpLog(line: string): TcpLog {
  const g = logFields(TCPLOG_RE, line, "a tcplog");
  return { ...sessionLog(g, line), tw: Number(g("tw")), tc: Number(g("tc")), tt: Number(g("tt")) };
}

/** Parses an httplog line; throws (quoting it) when it does not have the httplog shape. */
export function parseHttpLog(line: string): HttpLog {
  const g = logFields(HTTPLOG_RE, line, "an httplog");
  return {
    ...sessionLog(g, line),
    tR: Number(g("tR")),
    tw: Number(g("tw")),
    tc: Number(g("tc")),
    tr: Number(g("tr")),
    ta: Number(g("ta")),
    status: Number(g("status")),
    cookieReq: g("cookieReq"),
    cookieRes: g("cookieRes"),
    tsc: g("tsc"),
    request: g("request"),
  };
}

/**
 * A regex matching the log lines (tcplog or httplog) of the client at
 * `ip`:`port` (an IPv6 address given bare, e.g. "::1").
 */
export function logLineOf(port: number, ip = "127.0.0.1"): RegExp {
  return new RegExp(`^${ip.replace(/[.:[\]]/g, (c) => `\\${c}`)}:${port} \\[`);
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
