// Process management for the load bench: start, pin, wait for, and always stop.
//
// Every process the bench starts goes through a ProcessGroup, which stops all
// of them in stopAll() (SIGTERM, then SIGKILL after a grace period). On top of
// that, each child is started under `setpriv --pdeathsig KILL` when setpriv
// exists, so that even a bench killed with SIGKILL leaves no nginx or haproxy
// behind. A child runs as
//   taskset -c CPUS setpriv --pdeathsig KILL bash -c 'ulimit -n N; exec "$@" >OUT 2>ERR' bash CMD ARGS…
// and every step execs the next, so the child's pid IS the pid of CMD: the
// caller can read /proc/PID/stat and /proc/PID/status of the proxy itself.
// This file never decides what to run; load.ts does.

/** Terminal colour sequences (ESC [ … m), stripped from captured stderr. */
const ANSI_SGR = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** Shell-quotes one word for bash. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** True when `cmd` is found on PATH (or is an existing path). */
export async function hasCommand(cmd: string): Promise<boolean> {
  const out = await new Deno.Command("bash", {
    args: ["-c", `command -v ${shellQuote(cmd)}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

/** Runs a command to completion and returns its exit code, stdout and stderr as text. */
export async function capture(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Pins every thread of process `pid` to `cpus` (taskset list syntax). */
export async function pinProcess(pid: number, cpus: string): Promise<void> {
  const r = await capture("taskset", ["-a", "-p", "-c", cpus, String(pid)]);
  if (r.code !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${r.stderr.trim()}`);
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** How to start one child. */
export interface SpawnOptions {
  /** CPU list for taskset (e.g. "1"); the child is not pinned when absent. */
  cpus?: string;
  /** Open-file limit to raise to; falls back to the hard limit when refused. */
  nofile?: number;
  /** Where the child's stdout goes (default /dev/null). */
  stdoutFile?: string;
  /** Where the child's stderr goes (default /dev/null); shown when it fails to start. */
  stderrFile?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** A started child whose pid is the pid of the program itself (see the file header). */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: Deno.ChildProcess;
  readonly stderrFile: string | null;
  /** Exit status once the child ended, null while it runs. */
  exitStatus: Deno.CommandStatus | null;
  readonly #done: Promise<Deno.CommandStatus>;

  constructor(name: string, child: Deno.ChildProcess, stderrFile: string | null) {
    this.name = name;
    this.pid = child.pid;
    this.child = child;
    this.stderrFile = stderrFile;
    this.exitStatus = null;
    this.#done = child.status.then((s) => {
      this.exitStatus = s;
      return s;
    });
  }

  /** Resolves with the exit status when the child ends. */
  done(): Promise<Deno.CommandStatus> {
    return this.#done;
  }

  /** The last `max` characters the child wrote to its stderr file, for error messages. */
  stderrTail(max = 2000): string {
    if (this.stderrFile === null) return "";
    try {
      // Without colour codes, and without Deno's "Stack backtrace" trailer.
      let t = Deno.readTextFileSync(this.stderrFile).replace(ANSI_SGR, "");
      const bt = t.indexOf("\nStack backtrace:");
      if (bt >= 0) t = t.slice(0, bt);
      t = t.trim();
      return t.length > max ? t.slice(t.length - max) : t;
    } catch {
      return "";
    }
  }

  /**
   * Stops the child: SIGTERM, then SIGKILL when it has not exited after
   * `graceMs`. Resolves once it has exited. Never throws.
   */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exitStatus !== null) return;
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#done.then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(true), graceMs)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await this.#done;
    }
  }
}

/** All children of one bench run; stopAll() is called from a finally block and on signals. */
export class ProcessGroup {
  readonly #procs: ManagedProcess[];
  readonly #pdeathsig: boolean;

  constructor(pdeathsig: boolean) {
    this.#procs = [];
    this.#pdeathsig = pdeathsig;
  }

  /** Starts `cmd args` as described in the file header and registers it. */
  spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ManagedProcess {
    const out = opts.stdoutFile ?? "/dev/null";
    const err = opts.stderrFile ?? "/dev/null";
    let script = "";
    if (opts.nofile !== undefined) {
      script += `ulimit -n ${opts.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; `;
    }
    script += `exec "$@" >${shellQuote(out)} 2>${shellQuote(err)}`;
    const argv: string[] = [];
    if (opts.cpus !== undefined) argv.push("taskset", "-c", opts.cpus);
    if (this.#pdeathsig) argv.push("setpriv", "--pdeathsig", "KILL");
    argv.push("bash", "-c", script, "bash", cmd, ...args);
    const child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: opts.env ?? {},
    }).spawn();
    const p = new ManagedProcess(name, child, opts.stderrFile ?? null);
    this.#procs.push(p);
    return p;
  }

  /** Stops every child still running, in reverse start order. Never throws. */
  async stopAll(): Promise<void> {
    const procs = this.#procs.splice(0).reverse();
    await Promise.all(procs.map((p) => p.stop()));
  }

  /** Stops one child and forgets it. */
  async stop(p: ManagedProcess): Promise<void> {
    const i = this.#procs.indexOf(p);
    if (i >= 0) this.#procs.splice(i, 1);
    await p.stop();
  }
}

/**
 * Waits until 127.0.0.1:`port` accepts a connection, polling every 50 ms.
 * Throws when `proc` exits first (with the tail of its stderr) or after
 * `timeoutMs`.
 */
export async function waitForPort(
  port: number,
  proc: ManagedProcess,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitStatus !== null) {
      throw new Error(
        `${proc.name} exited with code ${proc.exitStatus.code} before listening on port ${port}` +
          (proc.stderrTail() ? `:\n${proc.stderrTail()}` : ""),
      );
    }
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} did not listen on port ${port} within ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}
