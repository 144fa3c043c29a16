// The runtime API socket (HAProxy's CLI applet, cli.c: cli_io_handler):
// listens on the configured unix socket (or loopback TCP address), reads
// commands, runs them and writes their answers.
//
// The protocol is HAProxy's: a command ends at a line feed or at a `;` not
// escaped by a backslash; after each answer comes an empty line, or "\n> "
// in interactive (`prompt`) mode. Outside prompt mode the connection closes
// once the commands already received are answered, so `echo "show info" |
// socat - /run/sluice.sock` works as with HAProxy; in prompt mode it stays
// open until `quit`, the client closes, or `timeout` passes idle.
//
// This is an administration channel, not a data path: it allocates freely,
// reads with plain async reads, and serves at most `maxconn` connections at
// once (more are closed at accept). A connection's failure, or a bug in a
// command, only ends that connection.

import type { StatsSocketConfig } from "../config/types.ts";
import { type CliConnState, type CliEnv, runCommand } from "./commands.ts";
import { SessionIds } from "./show_misc.ts";
import { cliLevel, type CliProcess } from "./types.ts";

/** Longest command line accepted; a longer one closes the connection (HAProxy: a buffer). */
const MAX_LINE = 64 * 1024;

/** Where the CLI reports its own problems (the process Logger fits). */
export interface CliLogger {
  notice(msg: string): void;
  warning(msg: string): void;
}

const encoder = new TextEncoder();

/**
 * Takes the next complete command from `buf`: up to a line feed or an
 * unescaped `;` (a trailing "\r" is dropped). Returns [command, rest], or
 * null when no complete command is there yet.
 */
export function nextCommand(buf: string): [string, string] | null {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "\n" || c === ";") {
      let cmd = buf.slice(0, i);
      if (c === "\n" && cmd.endsWith("\r")) cmd = cmd.slice(0, -1);
      return [cmd, buf.slice(i + 1)];
    }
  }
  return null;
}

async function writeAll(conn: Deno.Conn, text: string): Promise<void> {
  let b = encoder.encode(text);
  while (b.length > 0) {
    const n = await conn.write(b);
    b = b.subarray(n);
  }
}

/** The runtime API socket of a process. */
export class CliServer {
  readonly #p: CliProcess;
  readonly #cfg: StatsSocketConfig;
  readonly #log: CliLogger;
  readonly #ids = new SessionIds();
  readonly #conns = new Set<Deno.Conn>();
  #listener: Deno.Listener | null = null;
  #closed = false;
  /** Inode of the unix socket file this server created (null: none or TCP). */
  #ino: number | null = null;

  constructor(p: CliProcess, cfg: StatsSocketConfig, log: CliLogger) {
    this.#p = p;
    this.#cfg = cfg;
    this.#log = log;
  }

  /** Where it listens, for messages: the path or "host:port". */
  get addrName(): string {
    const a = this.#cfg.address;
    if (a.kind === "unix") return a.path;
    const host = a.family === 6 ? `[${a.host}]` : a.host;
    return `${host}:${this.port || a.port}`;
  }

  /** The TCP port it listens on (port 0 in the configuration: the one the system chose). */
  get port(): number {
    const a = this.#listener?.addr;
    return a !== undefined && a.transport === "tcp" ? a.port : 0;
  }

  /**
   * Binds the socket and starts accepting. A stale unix socket file left by
   * a previous process is replaced; any other file at the path is an error,
   * as is a bind failure (thrown).
   */
  start(): void {
    const a = this.#cfg.address;
    if (a.kind === "unix") {
      try {
        const st = Deno.lstatSync(a.path);
        if (!st.isSocket) throw new Error(`${a.path} exists and is not a socket`);
        Deno.removeSync(a.path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      // Bound under a temporary name and renamed once its mode is set (as
      // HAProxy does): nobody may connect while the mode is still the umask's.
      const tmp = `${a.path}.${Deno.pid}.tmp`;
      try {
        Deno.removeSync(tmp);
      } catch { /* none left over */ }
      this.#listener = Deno.listen({ transport: "unix", path: tmp });
      try {
        Deno.chmodSync(tmp, this.#cfg.mode);
        Deno.renameSync(tmp, a.path);
        this.#ino = Deno.lstatSync(a.path).ino;
      } catch (e) {
        this.#listener.close();
        this.#listener = null;
        try {
          Deno.removeSync(tmp);
        } catch { /* gone */ }
        throw e;
      }
    } else {
      this.#listener = Deno.listen({ hostname: a.host, port: a.port });
    }
    void this.#acceptLoop(this.#listener);
  }

  /** Stops listening, closes the open connections and removes the unix socket file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#conns.clear();
    // The socket file goes too, unless another process (a binary upgrade
    // with -sf) has replaced it with its own meanwhile.
    const a = this.#cfg.address;
    if (a.kind === "unix" && this.#ino !== null) {
      try {
        if (Deno.lstatSync(a.path).ino === this.#ino) Deno.removeSync(a.path);
      } catch { /* gone already */ }
    }
  }

  async #acceptLoop(l: Deno.Listener): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await l.accept();
      } catch (e) {
        if (this.#closed) return;
        this.#log.warning(`stats socket ${this.addrName}: accept failed: ${e}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.#conns.size >= this.#cfg.maxconn) {
        try {
          conn.close();
        } catch { /* ignore */ }
        continue;
      }
      this.#conns.add(conn);
      this.#serve(conn).catch(() => {}).finally(() => {
        this.#conns.delete(conn);
        try {
          conn.close();
        } catch { /* already closed */ }
      });
    }
  }

  /** One connection: read, run each complete command, answer; see the file header. */
  async #serve(conn: Deno.Conn): Promise<void> {
    const state: CliConnState = {
      level: cliLevel(this.#cfg.level),
      prompt: false,
      quit: false,
      noLf: false,
    };
    const env: CliEnv = { p: this.#p, conn: state, ids: this.#ids };
    const dec = new TextDecoder();
    const chunk = new Uint8Array(16384);
    let pending = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      if (this.#cfg.timeout > 0) {
        timer = setTimeout(() => {
          this.#conns.delete(conn); // the slot is free as soon as the close is sent
          try {
            conn.close();
          } catch { /* already closed */ }
        }, this.#cfg.timeout);
      }
    };
    try {
      arm();
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) return;
        arm();
        pending += dec.decode(chunk.subarray(0, n), { stream: true });
        let ran = false;
        for (let c = nextCommand(pending); c !== null; c = nextCommand(pending)) {
          pending = c[1];
          state.noLf = false;
          const answer = await runCommand(env, c[0]);
          ran = true;
          if (state.quit) {
            if (answer !== "") await writeAll(conn, answer);
            return;
          }
          const after = state.prompt ? "\n> " : state.noLf ? "" : "\n";
          await writeAll(conn, answer + after);
          if (this.#closed) return;
        }
        if (pending.length > MAX_LINE) return;
        // Outside prompt mode, the commands received so far were the request.
        if (ran && !state.prompt && pending === "") return;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Starts the runtime API of `p` on `cfg`. Throws when the socket cannot be
 * bound (the process reports it like a listener's bind error).
 */
export function startCli(p: CliProcess, cfg: StatsSocketConfig, log: CliLogger): CliServer {
  const s = new CliServer(p, cfg, log);
  s.start();
  log.notice(`stats socket ready on ${s.addrName}`);
  return s;
}
