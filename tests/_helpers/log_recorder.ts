// A CheckLogger for the health-check tests: records every line the checks
// log ("LEVEL message") and lets a test await one without sleeping.

import type { CheckLogger } from "../../src/check/mod.ts";
import { Signal } from "./signal.ts";

/** Captures log lines ("LEVEL msg") and lets a test await one. */
export class LogRecorder implements CheckLogger {
  readonly lines: string[] = [];
  #changed = new Signal();

  notice(m: string): void {
    this.#push(`NOTICE ${m}`);
  }
  warning(m: string): void {
    this.#push(`WARNING ${m}`);
  }
  alert(m: string): void {
    this.#push(`ALERT ${m}`);
  }
  #push(line: string): void {
    this.lines.push(line);
    this.#changed.notify();
  }

  /** Resolves with the first line (already logged or coming) matching `re`; rejects after `ms`. */
  waitFor(re: RegExp, ms = 5_000): Promise<string> {
    return this.#changed.until(
      () => this.lines.find((l) => re.test(l)),
      ms,
      () => `a log line matching ${re}; got:\n${this.lines.join("\n")}`,
    );
  }
}
