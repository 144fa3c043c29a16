// The logger (HAProxy's log.c sink part).
//
// Session lines go to the targets of their frontend (`log` lines: stdout,
// stderr, UDP syslog, unix datagram sockets; the global ones by default),
// framed per target (syslog.ts) and written through sinks that never block
// (sink.ts): a stalled reader costs dropped lines, counted in `counters`,
// never a stalled proxy. A line is rendered once and framed once per target.
// Notices and warnings (startup, server state changes) go to stderr,
// prefixed as HAProxy prefixes them, through the same non-blocking stderr
// sink.

import type { GlobalConfig, LogTarget } from "../config/types.ts";
import { LOG_INFO, logTargetList } from "../config/log_target.ts";
import { LogFramer } from "./syslog.ts";
import { DgramSink, isRegularFile, type LogSink, StreamSink } from "./sink.ts";
import type { LogCounters } from "./types.ts";
import { LineBuf } from "./line_buf.ts";

export type { LogCounters } from "./types.ts";

/** The syslog tag of Sluice's messages (HAProxy's `log-tag`, default the program name). */
export const LOG_TAG = "sluice";

/** One target of a route: its framing, level filter and sink. */
interface Output {
  readonly framer: LogFramer;
  readonly maxLevel: number;
  readonly sink: LogSink;
}

export class Logger {
  quiet: boolean;
  debugEnabled: boolean;
  /**
   * Messages sent and dropped, all targets together (HAProxy's
   * `DroppedLogs`): the stats page shows them, the runtime API reads them.
   */
  readonly counters: LogCounters;
  /** Targets of frontends without `log` lines. */
  readonly #global: readonly Output[];
  /** Per frontend id: its own targets, or null for the global ones. */
  readonly #routes: ReadonlyArray<readonly Output[] | null>;
  /** stdout and stderr sinks, shared by every target writing there. */
  readonly #stdout: StreamSink;
  readonly #stderr: StreamSink;
  /** Every sink opened, to flush and close them. */
  readonly #sinks: LogSink[];
  readonly #sockets: Map<string, LogSink>;
  /** The session line being built (startLine()). */
  readonly #line = new LineBuf();

  /**
   * `targets`: the global targets (or a legacy spelling); `frontends[i]`:
   * frontend i's own targets (`log` lines, `log global` expanded), absent for
   * the global ones. Throws when a datagram socket cannot be opened.
   */
  constructor(
    targets: GlobalConfig["log"],
    quiet = false,
    debug = false,
    frontends: ReadonlyArray<readonly LogTarget[] | undefined> = [],
  ) {
    this.quiet = quiet;
    this.debugEnabled = debug;
    this.counters = { sent: 0, dropped: 0 };
    // A redirection to a file is written synchronously (it never waits on a reader).
    this.#stdout = new StreamSink(
      Deno.stdout,
      this.counters,
      undefined,
      isRegularFile("/dev/stdout"),
    );
    this.#stderr = new StreamSink(
      Deno.stderr,
      this.counters,
      undefined,
      isRegularFile("/dev/stderr"),
    );
    this.#sinks = [this.#stdout, this.#stderr];
    this.#sockets = new Map();
    this.#global = logTargetList(targets).map((t) => this.#output(t));
    this.#routes = frontends.map((f) => f === undefined ? null : f.map((t) => this.#output(t)));
  }

  /**
   * The buffer a session line is written into, emptied: write the line,
   * then sessionLine(). One for the process (lines are built one at a time).
   */
  startLine(): LineBuf {
    this.#line.reset();
    return this.#line;
  }

  /** The line written since startLine(), as text (tests read lines through it). */
  lineText(): string {
    return this.#line.text();
  }

  /** Queues the line written since startLine() for frontend `fe`'s targets (-1: the global ones). */
  sessionLine(fe = -1): void {
    const route = fe >= 0 ? this.#routes[fe] ?? this.#global : this.#global;
    const line = this.#line.view();
    for (let i = 0; i < route.length; i++) {
      const o = route[i]!;
      if (o.maxLevel >= LOG_INFO) {
        o.sink.pushLine(o.framer.header(LOG_INFO), line, o.framer.maxLen);
      }
    }
  }

  /** Queues one session line (no newline) given as text. */
  session(line: string, fe = -1): void {
    this.startLine().str(line);
    this.sessionLine(fe);
  }

  /**
   * At exit: lets writes in flight finish, and the lines queued behind them
   * go, for at most `ms` (a stalled sink is not waited for longer), then
   * flush(). The last lines of a soft stop are otherwise lost with the
   * write that carried them.
   */
  async drainAtExit(ms = 500): Promise<void> {
    const end = Date.now() + ms;
    while (this.#sinks.some((s) => s.busy) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 2));
    }
    this.flush();
  }

  /**
   * At exit: writes what the sinks can write without waiting (a stalled
   * sink's queue is counted dropped), then reports dropped messages on
   * stderr. Sockets are closed.
   */
  flush(): void {
    for (const s of this.#sinks) if (s !== this.#stderr) s.flushAtExit();
    if (this.counters.dropped > 0 && !this.quiet) {
      this.#notice("NOTICE", `${this.counters.dropped} log messages dropped (log target too slow)`);
    }
    this.#stderr.flushAtExit();
    for (const s of this.#sinks) s.close();
  }

  notice(msg: string): void {
    if (!this.quiet) this.#notice("NOTICE", msg);
  }

  warning(msg: string): void {
    if (!this.quiet) this.#notice("WARNING", msg);
  }

  alert(msg: string): void {
    this.#notice("ALERT", msg);
  }

  debug(msg: string): void {
    if (this.debugEnabled) this.#notice("DEBUG", msg);
  }

  #notice(level: string, msg: string): void {
    this.#stderr.push(`[${level}] (${Deno.pid}) : ${msg}\n`);
  }

  #output(t: LogTarget): Output {
    const framer = new LogFramer(t.framing, t.facility, t.minLevel, t.len, LOG_TAG);
    return { framer, maxLevel: t.maxLevel, sink: this.#sink(t) };
  }

  /** The sink of a target's address: one per address, stdout and stderr shared. */
  #sink(t: LogTarget): LogSink {
    const a = t.address;
    if (a.kind === "stdout") return this.#stdout;
    if (a.kind === "stderr") return this.#stderr;
    const key = a.kind === "unix" ? a.path : `${a.host}:${a.port}`;
    let s = this.#sockets.get(key);
    if (s === undefined) {
      s = new DgramSink(
        a.kind === "unix"
          ? { transport: "unixpacket", path: a.path }
          : { transport: "udp", hostname: a.host, port: a.port },
        this.counters,
      );
      this.#sockets.set(key, s);
      this.#sinks.push(s);
    }
    return s;
  }
}
