// Syslog framing of a log line (HAProxy's log.c build_log_header()).
//
// A target's `format` decides what precedes the line: nothing (`raw`), the
// priority (`priority`, `short`), the date (`iso`, `timed`), or a whole
// RFC 3164 / RFC 5424 header. The header is built as HAProxy 2.6 builds it,
// byte for byte but for the tag and pid (`sluice[PID]`):
//
//   local    <134>Dec  7 08:37:11 sluice[42]: LINE
//   rfc3164  <134>Dec  7 08:37:11 localhost sluice[42]: LINE
//   rfc5424  <134>1 2026-12-07T08:37:11.806624+00:00 - sluice 42 - - LINE
//   priority <134>LINE        short <6>LINE        raw LINE
//   timed    <6>2026-12-07T08:37:11.806641+00:00 LINE
//   iso      2026-12-07T08:37:11.806644+00:00 LINE
//
// Every message ends with "\n" (HAProxy ends datagrams with one too). The
// part of a header that only changes once a second is cached, so a line
// costs a string concatenation. It never writes anything (sinks do).

import type { LogFraming } from "../config/types.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function p2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** "+01:00" for a Date's local offset (RFC 5424 / ISO 8601). */
function tzOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return (off < 0 ? "-" : "+") + p2(Math.floor(a / 60)) + ":" + p2(a % 60);
}

/** The epoch time in microseconds (the RFC 5424 timestamp's precision). */
function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** Frames lines for one target: header, length limit, newline. */
export class LogFramer {
  readonly framing: LogFraming;
  readonly #facility: number;
  readonly #minLevel: number;
  readonly #len: number;
  readonly #tag: string;
  readonly #pid: string;
  /** The epoch second the cached date parts belong to (-1: none yet). */
  #sec: number;
  /** "Dec  7 08:37:11 " (rfc3164 date) for #sec. */
  #bsdDate: string;
  /** "2026-12-07T08:37:11." for #sec, and the "+00:00" that follows the microseconds. */
  #isoHead: string;
  #isoTail: string;

  /**
   * `len` 0: no limit; otherwise the message, newline included, is cut to
   * `len` bytes' worth of characters (HAProxy's `len`).
   */
  constructor(framing: LogFraming, facility: number, minLevel: number, len: number, tag: string) {
    this.framing = framing;
    this.#facility = facility;
    this.#minLevel = minLevel;
    this.#len = len;
    this.#tag = tag;
    this.#pid = String(Deno.pid);
    this.#sec = -1;
    this.#bsdDate = "";
    this.#isoHead = "";
    this.#isoTail = "";
  }

  /** The target's `len` (0: no limit): sinks cut a message, newline included, to it. */
  get maxLen(): number {
    return this.#len;
  }

  /** What precedes a line at syslog `level` (0 emerg .. 7 debug): "" in `raw`. */
  header(level: number): string {
    return this.framing === "raw" ? "" : this.#header(level);
  }

  /** The whole message for `line` at syslog `level` (0 emerg .. 7 debug), "\n" included. */
  frame(line: string, level: number): string {
    const head = this.header(level);
    const len = this.#len;
    if (len > 0 && head.length + line.length + 1 > len) {
      return (head + line).slice(0, Math.max(0, len - 1)) + "\n";
    }
    return head + line + "\n";
  }

  #header(level: number): string {
    // HAProxy's minimum level caps more severe messages at it.
    const lvl = level < this.#minLevel ? this.#minLevel : level;
    const pri = "<" + (this.#facility * 8 + lvl) + ">";
    switch (this.framing) {
      case "priority":
        return pri;
      case "short":
        return "<" + lvl + ">";
      case "local":
      case "rfc3164": {
        this.#refresh(Date.now());
        const host = this.framing === "rfc3164" ? "localhost " : "";
        return pri + this.#bsdDate + host + this.#tag + "[" + this.#pid + "]: ";
      }
      case "rfc5424":
        return pri + "1 " + this.#iso() + " - " + this.#tag + " " + this.#pid + " - - ";
      case "timed":
        return "<" + lvl + ">" + this.#iso() + " ";
      case "iso":
        return this.#iso() + " ";
      default:
        return "";
    }
  }

  /** ISO 8601 local time with microseconds and offset. */
  #iso(): string {
    const us = nowMicros();
    this.#refresh(Math.floor(us / 1000));
    const frac = String(us % 1_000_000);
    return this.#isoHead + "000000".slice(frac.length) + frac + this.#isoTail;
  }

  /** Rebuilds the cached date parts when the second changed. */
  #refresh(ms: number): void {
    const sec = Math.floor(ms / 1000);
    if (sec === this.#sec) return;
    this.#sec = sec;
    const d = new Date(sec * 1000);
    const day = d.getDate();
    this.#bsdDate = `${MONTHS[d.getMonth()]} ${day < 10 ? " " + day : day} ${p2(d.getHours())}:${
      p2(d.getMinutes())
    }:${p2(d.getSeconds())} `;
    this.#isoHead = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(day)}T${p2(d.getHours())}:${
      p2(d.getMinutes())
    }:${p2(d.getSeconds())}.`;
    this.#isoTail = tzOffset(d);
  }
}
