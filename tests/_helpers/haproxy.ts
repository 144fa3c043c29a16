// A real HAProxy 2.6 for interoperability tests: foreground (`-db`), its
// configuration and socket files in a fresh temporary directory, log lines
// to stdout (`log stdout format raw local0`) collected in `logs`.
//
// `findHaproxy()` looks for the binary (PATH, then /usr/sbin); tests skip with
// HAPROXY_MISSING when it returns null. `startHaproxy(bin, sections, ports)`
// writes the configuration (the caller's sections after a global/defaults
// preamble), spawns it and resolves once every port in `ports` accepts a
// connection, or rejects with its output; `startHaproxyConfig(cfg, ports)`
// does the same with a whole configuration of the caller's. `freePort()`
// gives a 127.0.0.1 port nobody listens on (for the configuration, which
// needs numbers).
// `stop()` sends SIGTERM (SIGKILL after a grace period); call it in `finally`.

import { delay } from "./client.ts";
import { Signal } from "./signal.ts";

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

export const HAPROXY_MISSING = "haproxy is not installed (not on PATH nor in /usr/sbin): " +
  "HAProxy interoperability tests are skipped; install it (apt-get install haproxy) to run them";

/** Absolute path of the haproxy binary, or null. */
export function findHaproxy(): string | null {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const d of [...dirs, "/usr/sbin", "/usr/local/sbin"]) {
    try {
      if (Deno.statSync(`${d}/haproxy`).isFile) return `${d}/haproxy`;
    } catch {
      // not here
    }
  }
  return null;
}

/** A free 127.0.0.1 TCP port (bound then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

export class HaproxyProcess {
  readonly dir: string;
  /** Every stdout/stderr line so far (log lines, alerts). */
  readonly logs: string[] = [];
  #child: Deno.ChildProcess;
  #changed = new Signal();
  #status: Deno.CommandStatus | null = null;
  #pumps: Promise<void>;

  constructor(bin: string, dir: string) {
    this.dir = dir;
    this.#child = new Deno.Command(bin, {
      args: ["-db", "-f", `${dir}/haproxy.cfg`],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const td = new TextDecoder();
      let rest = "";
      for await (const chunk of s) {
        rest += td.decode(chunk, { stream: true });
        const lines = rest.split("\n");
        rest = lines.pop()!;
        for (const l of lines) this.logs.push(l);
        this.#changed.notify();
      }
      if (rest !== "") this.logs.push(rest);
    };
    this.#pumps = Promise.all([pump(this.#child.stdout), pump(this.#child.stderr)]).then(() => {});
    this.#child.status.then((s) => {
      this.#status = s;
      this.#changed.notify();
    });
  }

  /** Waits for an output line matching `re`; returns it. */
  async waitForLog(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      const left = end - Date.now();
      if (left <= 0 || this.#status !== null) {
        throw new Error(`no haproxy line matching ${re}; output:\n${this.logs.join("\n")}`);
      }
      await this.#changed.wait(left);
    }
  }

  get exited(): boolean {
    return this.#status !== null;
  }

  async stop(): Promise<void> {
    if (this.#status === null) {
      try {
        this.#child.kill("SIGTERM");
      } catch { /* exited */ }
      const t = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* exited */ }
      }, STOP_GRACE_MS);
      await this.#child.status;
      clearTimeout(t);
    }
    await this.#pumps;
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Starts HAProxy with `sections` (frontends, backends, listens) after a
 * preamble that logs to stdout and sets short timeouts. Resolves when every
 * port of `ports` accepts connections.
 */
export function startHaproxy(
  bin: string,
  sections: string,
  ports: number[],
): Promise<HaproxyProcess> {
  return startHaproxyConfig(
    `global
  log stdout format raw local0
defaults
  log global
  mode tcp
  option tcplog
  timeout connect 2s
  timeout client 10s
  timeout server 10s
${sections}
`,
    ports,
    { bin },
  );
}

/**
 * Starts HAProxy on the whole configuration `cfg` (the binary findHaproxy()
 * finds unless `bin`). Resolves when every port of `ports` accepts
 * connections; rejects with its output when it exits or `deadlineMs` passes
 * first (it is stopped then).
 */
export async function startHaproxyConfig(
  cfg: string,
  ports: number[],
  opts: { bin?: string; deadlineMs?: number } = {},
): Promise<HaproxyProcess> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-haproxy-" });
  await Deno.writeTextFile(`${dir}/haproxy.cfg`, cfg);
  const p = new HaproxyProcess(opts.bin ?? findHaproxy() ?? "haproxy", dir);
  const end = Date.now() + (opts.deadlineMs ?? READY_TIMEOUT_MS);
  for (const port of ports) {
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch {
        if (p.exited || Date.now() > end) {
          await p.stop();
          throw new Error(`haproxy did not listen on ${port}:\n${p.logs.join("\n")}`);
        }
        await delay(50);
      }
    }
  }
  return p;
}
