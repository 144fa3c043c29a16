// The logger (HAProxy's log.c sink part).
//
// Session lines go to stdout (or stderr, or nowhere) through a buffer that is
// flushed once per event-loop turn, so a burst of session ends costs one
// write, not one per line. Notices and warnings (startup, server state
// changes) go to stderr at once, prefixed as HAProxy prefixes them.

import type { LogTarget } from "../config/types.ts";

const encoder = new TextEncoder();

export class Logger {
  #target: LogTarget;
  #pending: string;
  #scheduled: boolean;
  quiet: boolean;
  debugEnabled: boolean;
  #flushBound: () => void;

  constructor(target: LogTarget, quiet = false, debug = false) {
    this.#target = target;
    this.#pending = "";
    this.#scheduled = false;
    this.quiet = quiet;
    this.debugEnabled = debug;
    this.#flushBound = this.flush.bind(this);
  }

  /** Queues one session log line. */
  session(line: string): void {
    if (this.#target === "none") return;
    this.#pending += line + "\n";
    if (this.#pending.length > 65536) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(this.#flushBound, 0);
    }
  }

  /** Writes queued lines now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending === "") return;
    const data = encoder.encode(this.#pending);
    this.#pending = "";
    const out = this.#target === "stderr" ? Deno.stderr : Deno.stdout;
    let off = 0;
    try {
      while (off < data.length) off += out.writeSync(data.subarray(off));
    } catch { /* stdout closed: logs are lost, the proxy keeps running */ }
  }

  notice(msg: string): void {
    if (!this.quiet) this.#stderr("NOTICE", msg);
  }

  warning(msg: string): void {
    if (!this.quiet) this.#stderr("WARNING", msg);
  }

  alert(msg: string): void {
    this.#stderr("ALERT", msg);
  }

  debug(msg: string): void {
    if (this.debugEnabled) this.#stderr("DEBUG", msg);
  }

  #stderr(level: string, msg: string): void {
    const line = encoder.encode(`[${level}] (${Deno.pid}) : ${msg}\n`);
    try {
      let off = 0;
      while (off < line.length) off += Deno.stderr.writeSync(line.subarray(off));
    } catch { /* stderr closed */ }
  }
}
