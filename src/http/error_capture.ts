// Error snapshots for the runtime API's `show errors` (HAProxy's
// http_capture_bad_message() and struct error_snapshot): the last request a
// frontend refused as invalid and the last response a backend refused, each
// with the bytes as received, the offset where the parser stopped and who
// was involved. Only the last one per proxy and direction is kept.
//
// Capturing copies at most one buffer, and only when a message is refused:
// never on the path of a valid message. The store is the process's (the
// HTTP context hands it in); this file never formats anything.

/** One refused message (see the runtime API's CliErrorSnapshot, which this satisfies). */
export interface ErrorSnapshot {
  readonly when: number;
  readonly dir: "request" | "response";
  /** The proxy that keeps it: the frontend for a request, the backend for a response. */
  readonly proxy: string;
  readonly frontend: string;
  readonly backend: string;
  readonly server: string;
  readonly src: string;
  readonly srcPort: number;
  /** Offset of the first invalid byte in `bytes`, -1 when unknown. */
  readonly errPos: number;
  readonly reason: string;
  /** The process-wide number of this event, from 0 (HAProxy's ev_id). */
  readonly event: number;
  readonly bytes: Uint8Array;
}

/** The snapshots of a process, the last per proxy and direction. */
export class ErrorCaptures {
  #last = new Map<string, ErrorSnapshot>();
  #events = 0;

  /** Events captured since start. */
  get events(): number {
    return this.#events;
  }

  /**
   * Keeps a copy of `buf[start, end)` as the last refused message of its
   * proxy in direction `dir`; `errAt` is the parser's absolute offset of the
   * bad byte in `buf` (-1: unknown).
   */
  capture(
    dir: "request" | "response",
    names: { frontend: string; backend: string; server: string },
    client: { ip: string; port: number },
    buf: Uint8Array,
    start: number,
    end: number,
    errAt: number,
    reason: string,
  ): void {
    const proxy = dir === "request" ? names.frontend : names.backend;
    const snap: ErrorSnapshot = {
      when: Date.now(),
      dir,
      proxy,
      ...names,
      src: client.ip,
      srcPort: client.port,
      errPos: errAt >= start && errAt <= end ? errAt - start : -1,
      reason,
      event: this.#events++,
      bytes: buf.slice(start, Math.max(start, end)),
    };
    this.#last.set(`${dir} ${proxy}`, snap);
  }

  /** The kept snapshots, oldest first. */
  list(): ErrorSnapshot[] {
    return [...this.#last.values()].sort((a, b) => a.event - b.event);
  }
}

/** The `name` of a frontend, backend or server object, "" when there is none. */
export function nameOf(o: unknown): string {
  const n = (o as { name?: unknown } | null)?.name;
  return typeof n === "string" ? n : "";
}
