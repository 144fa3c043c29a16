// Log sinks: where framed messages are written, never waited for (HAProxy's
// fd@ targets with non-blocking writes and its DroppedLogs counter).
//
// A slow or stalled reader must never slow the proxy down: a sink keeps a
// bounded queue and at most one write in flight. The write is asynchronous
// (Deno runs a write to stdio on a blocking-pool thread and a datagram send
// on the socket's event source), so the event loop keeps serving while it
// waits. While a write is in flight, messages queue; when the queue is full
// they are dropped and counted. Once the reader catches up, the queue drains
// and messages flow again.
//
// - StreamSink: stdout or stderr; the messages of an event-loop turn go out
//   in one write.
// - DgramSink: a UDP syslog server or a unix datagram socket (/dev/log); one
//   datagram per message (Deno allows one send in flight per socket).
//
// A sink never throws to its caller: failures are counted drops.

import type { LogCounters } from "./types.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** What a sink accepts: one framed message ("\n" included). */
export interface LogSink {
  /** Queues `msg`; counts it dropped when the queue is full or the sink is dead. */
  push(msg: string): void;
  /**
   * Queues the message `head` + `line` + "\n" (a log line written as bytes,
   * its framing header), cut to `limit` bytes, newline included (0: no
   * limit), as push() queues a string. `line` is copied before it returns.
   */
  pushLine(head: string, line: Uint8Array, limit: number): void;
  /**
   * At exit: writes what is queued if the sink is idle (its last write
   * completed: the reader keeps up), else counts it dropped. Never waits on
   * a write in flight.
   */
  flushAtExit(): void;
  /** A write is in flight (more may follow from the queue): at exit, worth a short wait. */
  readonly busy: boolean;
  /** Releases the socket, if any. */
  close(): void;
}

/** The writer a StreamSink uses (Deno.stdout / Deno.stderr satisfy it). */
export interface ByteWriter {
  write(p: Uint8Array): Promise<number>;
  writeSync(p: Uint8Array): number;
}

/** Queue limit of a stream sink, in bytes of queued messages. */
export const STREAM_QUEUE_BYTES = 1 << 18;
/** How long lines for a regular file gather before one write (ms). */
export const FILE_BATCH_MS = 10;
/** The queue is written at once past this size (instead of at the end of the turn). */
const STREAM_EAGER_BYTES = 65536;

/**
 * stdout / stderr with a bounded queue and one asynchronous write in flight.
 * A message is encoded into the queue's bytes when it is pushed, so no line
 * string outlives its turn (a string kept for a batch would survive young
 * collections and cost an old-generation one); two buffers alternate, one
 * filling while the other is written.
 */
export class StreamSink implements LogSink {
  readonly #out: ByteWriter;
  readonly #counters: LogCounters;
  readonly #limit: number;
  /** The queue: encoded messages, #len bytes of #buf (allocated at the first message). */
  #buf: Uint8Array | null;
  #len: number;
  #queued: number;
  /** The bytes of the write in flight (null: idle) and how many are written. */
  #data: Uint8Array | null;
  #off: number;
  /** The other buffer, free while no write is in flight. */
  #spare: Uint8Array | null;
  /** Messages in the write in flight. */
  #inFlight: number;
  /** A write is scheduled (end of this turn, or FILE_BATCH_MS for a file). */
  #scheduled: boolean;
  /** The writer failed (closed stdout): every later message is dropped at once. */
  #dead: boolean;
  /** Write synchronously: the output is a regular file, where a write never waits on a reader. */
  readonly #sync: boolean;
  readonly #kickBound: () => void;
  readonly #onWritten: (n: number) => void;
  readonly #onError: () => void;
  /** A file's batch timer: one interval while lines keep coming, cleared at the first idle tick. */
  #interval: ReturnType<typeof setInterval> | null;
  readonly #tickBound: () => void;

  /**
   * `limit`: queue size in bytes (a message that does not fit is dropped).
   * `sync`: the writer is a regular file (see isRegularFile()): the messages
   * of FILE_BATCH_MS are written at once with writeSync(), which cannot wait
   * on a reader, and costs less than a write handed to a worker thread.
   */
  constructor(out: ByteWriter, counters: LogCounters, limit = STREAM_QUEUE_BYTES, sync = false) {
    this.#out = out;
    this.#sync = sync;
    this.#counters = counters;
    this.#limit = limit;
    this.#buf = null;
    this.#len = 0;
    this.#queued = 0;
    this.#data = null;
    this.#off = 0;
    this.#spare = null;
    this.#inFlight = 0;
    this.#scheduled = false;
    this.#dead = false;
    this.#kickBound = () => {
      this.#scheduled = false;
      this.#kick();
    };
    this.#onWritten = (n) => this.#written(n);
    this.#onError = () => this.#failed();
    this.#interval = null;
    this.#tickBound = () => {
      if (this.#queued === 0) {
        clearInterval(this.#interval!);
        this.#interval = null;
        return;
      }
      this.#kick();
    };
  }

  push(msg: string): void {
    if (this.#dead) {
      this.#counters.dropped++;
      return;
    }
    const buf = this.#buf ??= new Uint8Array(this.#limit);
    const r = encoder.encodeInto(msg, buf.subarray(this.#len));
    if (r.read < msg.length) {
      // It does not fit: the queue is full (the bytes written past #len are ignored).
      this.#counters.dropped++;
      return;
    }
    this.#queue(this.#len + r.written);
  }

  pushLine(head: string, line: Uint8Array, limit: number): void {
    if (this.#dead) {
      this.#counters.dropped++;
      return;
    }
    const buf = this.#buf ??= new Uint8Array(this.#limit);
    const start = this.#len;
    let pos = start;
    if (head !== "") {
      const r = encoder.encodeInto(head, buf.subarray(pos));
      if (r.read < head.length) {
        this.#counters.dropped++;
        return;
      }
      pos += r.written;
    }
    let n = line.length;
    if (limit > 0 && pos - start + n + 1 > limit) {
      // HAProxy's `len`: the message is cut, its newline kept.
      const keep = limit - 1;
      if (keep < pos - start) pos = start + Math.max(0, keep);
      n = Math.max(0, keep - (pos - start));
    }
    if (pos + n + 1 > buf.length) {
      this.#counters.dropped++;
      return;
    }
    buf.set(n === line.length ? line : line.subarray(0, n), pos);
    pos += n;
    buf[pos++] = 0x0a;
    this.#queue(pos);
  }

  /** A message was added: the queue now ends at `end`; starts or schedules its write. */
  #queue(end: number): void {
    this.#len = end;
    this.#queued++;
    if (this.#data !== null) return; // the write in flight takes the queue when it completes
    if (this.#len > STREAM_EAGER_BYTES) this.#kick();
    else if (this.#sync) {
      // A file gathers FILE_BATCH_MS of lines into one write (one timer per busy period).
      this.#interval ??= setInterval(this.#tickBound, FILE_BATCH_MS);
    } else if (!this.#scheduled) {
      // A pipe's lines go at the end of the turn (then gather while a write is in flight).
      this.#scheduled = true;
      setTimeout(this.#kickBound, 0);
    }
  }

  /** Starts a write of everything queued, unless one is in flight. */
  #kick(): void {
    if (this.#data !== null || this.#queued === 0 || this.#dead) return;
    if (this.#sync) {
      this.flushAtExit();
      return;
    }
    this.#data = this.#buf!.subarray(0, this.#len);
    this.#off = 0;
    this.#inFlight = this.#queued;
    this.#buf = this.#spare;
    this.#spare = null;
    this.#len = 0;
    this.#queued = 0;
    this.#write();
  }

  #write(): void {
    try {
      this.#out.write(this.#data!.subarray(this.#off)).then(this.#onWritten, this.#onError);
    } catch {
      this.#failed();
    }
  }

  #written(n: number): void {
    const data = this.#data!;
    this.#off += n;
    if (this.#off < data.length) {
      this.#write();
      return;
    }
    this.#counters.sent += this.#inFlight;
    this.#inFlight = 0;
    this.#data = null;
    // The written buffer becomes the spare (a full-size view of it).
    this.#spare = new Uint8Array(data.buffer, data.byteOffset, this.#limit);
    this.#kick();
  }

  #failed(): void {
    // A closed stdout (EPIPE, bad resource) stays closed: drop from now on.
    this.#dead = true;
    this.#counters.dropped += this.#inFlight + this.#queued;
    this.#inFlight = 0;
    this.#queued = 0;
    this.#len = 0;
    this.#data = null;
  }

  get busy(): boolean {
    return this.#data !== null && !this.#dead;
  }

  flushAtExit(): void {
    if (this.#data !== null || this.#dead) {
      this.#counters.dropped += this.#queued;
      this.#queued = 0;
      this.#len = 0;
      return;
    }
    if (this.#queued === 0) return;
    const data = this.#buf!.subarray(0, this.#len);
    const n = this.#queued;
    this.#len = 0;
    this.#queued = 0;
    try {
      let off = 0;
      while (off < data.length) off += this.#out.writeSync(data.subarray(off));
      this.#counters.sent += n;
    } catch {
      this.#counters.dropped += n;
      this.#dead = true;
    }
  }

  close(): void {
    if (this.#interval !== null) clearInterval(this.#interval);
    this.#interval = null;
  }
}

/**
 * True when `path` (`/dev/stdout`, `/dev/stderr`) is a regular file (a
 * redirection to a file); false for a pipe, a socket, a terminal, or when it
 * cannot be told.
 */
export function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Where a DgramSink sends: a UDP address or a unix datagram socket path. */
export type DgramTarget =
  | { transport: "udp"; hostname: string; port: number }
  | { transport: "unixpacket"; path: string };

/** Queue limit of a datagram sink, in messages. */
export const DGRAM_QUEUE_MSGS = 1024;
/** Largest datagram (HAProxy's `len` maximum). */
const DGRAM_MAX = 65535;

/**
 * A syslog server over UDP or a unix datagram socket: one datagram per
 * message, one send in flight, a bounded queue. The sending socket is
 * unbound for unix targets (an abstract autobound name) and bound to an
 * ephemeral port for UDP.
 */
/** Sending sockets opened by this process (their abstract names must differ). */
let dgramSockets = 0;

/**
 * A name in Linux's abstract socket namespace for the sending side of a
 * unix datagram target: nothing on disk to clean up. An empty path (the
 * kernel's autobind) would do the same, but Deno refuses it unless every
 * permission is granted (`deno task start` grants only some).
 */
function abstractSocketName(): string {
  return `\0sluice-log-${Deno.pid}-${++dgramSockets}-${Date.now().toString(36)}`;
}

export class DgramSink implements LogSink {
  readonly #to: Deno.Addr;
  readonly #counters: LogCounters;
  readonly #limit: number;
  #conn: Deno.DatagramConn | null;
  /** Queued messages (encoded): a ring of #limit slots. */
  readonly #ring: Array<Uint8Array | null>;
  #head: number;
  #count: number;
  /** A send is in flight. */
  #busy: boolean;
  readonly #onSent: () => void;
  readonly #onError: () => void;

  /** Opens the sending socket; throws when the runtime cannot (no --unstable-net). */
  constructor(to: DgramTarget, counters: LogCounters, limit = DGRAM_QUEUE_MSGS) {
    this.#to = to;
    this.#counters = counters;
    this.#limit = limit;
    this.#conn = to.transport === "udp"
      ? Deno.listenDatagram({
        transport: "udp",
        hostname: to.hostname.includes(":") ? "::" : "0.0.0.0",
        port: 0,
      })
      : Deno.listenDatagram({ transport: "unixpacket", path: abstractSocketName() });
    this.#ring = new Array<Uint8Array | null>(limit).fill(null);
    this.#head = 0;
    this.#count = 0;
    this.#busy = false;
    this.#onSent = () => this.#done(true);
    this.#onError = () => this.#done(false);
  }

  get busy(): boolean {
    return this.#busy && this.#conn !== null;
  }

  push(msg: string): void {
    this.#offer(encoder.encode(msg));
  }

  pushLine(head: string, line: Uint8Array, limit: number): void {
    const h = head === "" ? EMPTY : encoder.encode(head);
    let total = h.length + line.length + 1;
    if (limit > 0 && total > limit) total = limit;
    total = Math.min(total, DGRAM_MAX);
    // A datagram of its own (queued messages wait, a send is in flight).
    const msg = new Uint8Array(total);
    msg.set(h.length < total ? h : h.subarray(0, total - 1));
    if (h.length < total - 1) msg.set(line.subarray(0, total - 1 - h.length), h.length);
    msg[total - 1] = 0x0a;
    this.#offer(msg);
  }

  #offer(msg: Uint8Array): void {
    if (this.#conn === null) {
      this.#counters.dropped++;
      return;
    }
    if (!this.#busy) {
      this.#send(msg);
      return;
    }
    if (this.#count === this.#limit) {
      this.#counters.dropped++;
      return;
    }
    this.#ring[(this.#head + this.#count) % this.#limit] = msg;
    this.#count++;
  }

  #send(msg: Uint8Array): void {
    this.#busy = true;
    try {
      this.#conn!.send(msg.length > DGRAM_MAX ? msg.subarray(0, DGRAM_MAX) : msg, this.#to)
        .then(this.#onSent, this.#onError);
    } catch {
      this.#done(false);
    }
  }

  /** A send completed (or failed: no receiver, socket gone): count it, send the next one. */
  #done(ok: boolean): void {
    if (ok) this.#counters.sent++;
    else this.#counters.dropped++;
    this.#busy = false;
    if (this.#count === 0 || this.#conn === null) return;
    const msg = this.#ring[this.#head]!;
    this.#ring[this.#head] = null;
    this.#head = (this.#head + 1) % this.#limit;
    this.#count--;
    this.#send(msg);
  }

  flushAtExit(): void {
    // Datagrams cannot be sent synchronously: what is still queued is lost.
    this.#counters.dropped += this.#count;
    this.#count = 0;
  }

  close(): void {
    const c = this.#conn;
    this.#conn = null;
    try {
      c?.close();
    } catch { /* already closed */ }
  }
}
