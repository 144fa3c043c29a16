// Log formats (HAProxy's log.c log-format compiler).
//
// A log-format string is compiled once at startup into a list of parts
// (literal text or a variable); rendering a session's line walks that list.
// Supported variables are HAProxy's, spelled the same, and render as HAProxy
// 2.6 renders them: `%{+Q}` quotes text (not numbers), `%{+X}` prints
// addresses and ports in hex, the request line is cut at 1023 characters and
// escaped (#XX). Unknown variables and options, and HTTP-only variables in a
// TCP-mode frontend, are reported at config time.

import { compileFetch } from "../sample/expr.ts";
import { LineBuf } from "./line_buf.ts";
import { fetchOne, sampleToString } from "../sample/fetch.ts";
import {
  type Fetch,
  type SampleCtx,
  SMP_USE_REQ,
  SMP_USE_RES,
  SMP_USE_SIDE,
} from "../sample/types.ts";

/** The HAProxy `option tcplog` format. */
export const TCPLOG_FORMAT =
  "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

/** The HAProxy `option httplog` format. */
export const HTTPLOG_FORMAT =
  "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r";

/** What a log line can be made of: the stream provides it when it ends. */
export interface LogContext {
  clientIp: string;
  clientPort: number;
  frontendIp: string;
  frontendPort: number;
  /** Accept time (epoch ms). */
  acceptDate: number;
  /** Time the request head was complete (epoch ms; HTTP) or acceptDate. */
  requestDate: number;
  frontend: string;
  backend: string;
  server: string;
  /** Address of the server connection; "" / null when there is none (logged "-"). */
  serverIp: string;
  serverPort: number | null;
  /** Timers in ms, -1 when the stage was never reached. */
  tq: number; // TR: time to receive the full request head
  tw: number; // time waiting in queues
  tc: number; // time to connect to the server
  tr: number; // server response time (head)
  ta: number; // active time of the request (HTTP) or total
  tt: number; // total session time
  status: number; // HTTP status (-1 when none was sent), 0 in TCP mode
  bytesOut: number; // bytes sent to the client
  bytesIn: number; // bytes received from the client
  termState: string; // two letters
  actconn: number;
  feconn: number;
  beconn: number;
  srvconn: number;
  retries: string; // "+N" when redispatched, like HAProxy
  srvQueue: number;
  beQueue: number;
  /** The request line, "" when none was parsed (logged `<BADREQ>`). */
  requestLine: string;
  pid: number;
  /** Captured request / response header values by slot (`capture …`); absent: none. */
  reqCaptures?: ReadonlyArray<string | null>;
  resCaptures?: ReadonlyArray<string | null>;
  /** The request's unique id (`unique-id-format`), "" when none. */
  uniqueId?: string;
  /** What `%[...]` fields read (the transaction's sample context); absent in TCP mode. */
  sample?: SampleCtx | undefined;
  /** TLS version and cipher of the client connection (%sslv, %sslc); absent/null in cleartext. */
  sslVersion?: string | null;
  sslCipher?: string | null;
  /** The client came over TLS: %ft shows the frontend name with a "~", as HAProxy. */
  ssl?: boolean;
}

/** One compiled piece of a format: literal text, a variable with its options, or a `%[...]` sample. */
type Part = { lit: string; v: null; quote: false; hex: false } | {
  lit: null;
  v: VarName;
  quote: boolean;
  hex: boolean;
} | { lit: null; v: Fetch; quote: boolean; hex: false };

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function p2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** The last date formatted, and its second's text up to the dot: most lines reuse them. */
const dateCache = { ms: -1, text: "", sec: -1, secText: "" };

/** HAProxy's date format: 24/Nov/2026:16:20:01.123 (local time), built once per second/ms. */
export function formatLogDate(ms: number): string {
  const c = dateCache;
  if (ms === c.ms) return c.text;
  const sec = Math.floor(ms / 1000);
  if (sec !== c.sec) {
    const d = new Date(sec * 1000);
    c.sec = sec;
    c.secText = `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${
      p2(d.getHours())
    }:${p2(d.getMinutes())}:${p2(d.getSeconds())}.`;
  }
  const msx = ms - sec * 1000;
  c.ms = ms;
  c.text = c.secText + (msx < 10 ? "00" : msx < 100 ? "0" : "") + msx;
  return c.text;
}

/** formatLogDate(ms) written into a line: the second's text from the cache, then the milliseconds. */
function writeLogDate(out: LineBuf, ms: number): void {
  const c = dateCache;
  const sec = Math.floor(ms / 1000);
  if (sec !== c.sec) formatLogDate(ms);
  out.str(c.secText);
  const msx = ms - sec * 1000;
  out.byte(0x30 + ((msx / 100) | 0));
  out.byte(0x30 + (((msx / 10) | 0) % 10));
  out.byte(0x30 + (msx % 10));
}

/**
 * How a variable renders, as HAProxy's log.c does: `text` is quoted by
 * `%{+Q}` and shows "-" when empty (`""` when quoted); `num` and `raw`
 * (dates, termination states) are never quoted; `ip` is text that `%{+X}`
 * turns into uppercase hex; `port` is a number that `%{+X}` turns into 4 hex
 * digits, "-" when there is none; `line` (the request line and its parts)
 * is escaped text, never empty, quoted by `%{+Q}`.
 */
type Kind = "text" | "num" | "raw" | "ip" | "port" | "line";

interface VarDef {
  kind: Kind;
  /** HAProxy's PR_MODE_HTTP keywords: a configuration error in a TCP-mode frontend. */
  http: boolean;
  get: (c: LogContext) => string | number | null;
  /**
   * The LogContext field `get` reads as is (a number for `num`, a string for
   * `text`), when it is one: the compiled line writes it without a call.
   */
  field: keyof LogContext | null;
}

const v = (
  kind: Kind,
  get: VarDef["get"],
  http = false,
  field: keyof LogContext | null = null,
): VarDef => ({ kind, http, get, field });

/** HAProxy's tune.http.logurilen (1024): the request line kept for logs is one less. */
export const LOG_URI_LEN = 1024;

const BADREQ = "<BADREQ>";

/** The request line as HAProxy keeps it for logs (txn->uri): at most 1023 characters. */
function logUri(c: LogContext): string | null {
  const l = c.requestLine;
  if (l === "") return null;
  return l.length < LOG_URI_LEN ? l : l.slice(0, LOG_URI_LEN - 1);
}

function isSpHt(ch: number): boolean {
  return ch === 0x20 || ch === 0x09;
}

/**
 * The request line's parts as HAProxy's %HM %HU %HV read them from the
 * logged line: method, URI (up to the next space), version (the rest;
 * HTTP/0.9 when the line stops after the URI); `<BADREQ>` for all three
 * without a line, or without a space after the method.
 */
function requestParts(c: LogContext, part: 0 | 1 | 2): string {
  const u = logUri(c);
  if (u === null) return BADREQ;
  const skip = (i: number, sp: boolean) => {
    while (i < u.length && isSpHt(u.charCodeAt(i)) === sp) i++;
    return i;
  };
  const m = skip(0, false); // end of the method
  const us = skip(m, true); // start of the URI
  if (us === m) return BADREQ;
  if (part === 0) return u.slice(0, m);
  const ue = skip(us, false);
  if (part === 1) return u.slice(us, ue);
  const vs = skip(ue, true);
  return vs === u.length ? "HTTP/0.9" : u.slice(vs);
}

const HEX = "0123456789ABCDEF";

function hex2(b: number): string {
  return HEX[(b >> 4) & 15]! + HEX[b & 15]!;
}

/** Characters HAProxy's url_encode_map escapes: controls, '"', '#', and bytes >= 0x7F. */
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /[\x00-\x1f"#\x7f-\uffff]/;

const utf8 = new TextEncoder();

/**
 * Escapes a request line (a latin1 byte string) as HAProxy's lf_encode_chunk()
 * does with url_encode_map: `#XX`, uppercase hex. A quoted field stays parseable.
 */
export function escapeLogUri(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch >= 0x20 && ch < 0x7f && ch !== 0x22 && ch !== 0x23) out += s[i];
    else if (ch <= 0xff) out += "#" + hex2(ch);
    else for (const b of utf8.encode(s[i])) out += "#" + hex2(b);
  }
  return out;
}

/** An IPv4 or IPv6 address as HAProxy's `%{+X}` prints it (uppercase hex bytes), null if unparsable. */
export function ipHex(ip: string): string | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4 !== null) {
    const b = v4.slice(1).map(Number);
    return b.every((x) => x <= 255) ? b.map(hex2).join("") : null;
  }
  if (!ip.includes(":")) return null;
  let s = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (tail !== null) {
    const b = tail.slice(1).map(Number);
    if (b.some((x) => x > 255)) return null;
    s = s.slice(0, tail.index) + ((b[0]! << 8) | b[1]!).toString(16) + ":" +
      ((b[2]! << 8) | b[3]!).toString(16);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0]!.split(":");
  const rest = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return null;
  const groups = [...head, ...Array<string>(fill).fill("0"), ...rest];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.toUpperCase().padStart(4, "0")).join("");
}

const VARS = {
  ci: v("ip", (c) => c.clientIp),
  cp: v("port", (c) => c.clientPort, false, "clientPort"),
  fi: v("ip", (c) => c.frontendIp),
  fp: v("port", (c) => c.frontendPort, false, "frontendPort"),
  t: v("raw", (c) => formatLogDate(c.acceptDate)),
  tr: v("raw", (c) => formatLogDate(c.requestDate), true),
  ft: v("text", (c) => c.ssl === true ? c.frontend + "~" : c.frontend),
  f: v("text", (c) => c.frontend, false, "frontend"),
  b: v("text", (c) => c.backend, false, "backend"),
  s: v("text", (c) => c.server, false, "server"),
  si: v("ip", (c) => c.serverIp),
  sp: v("port", (c) => c.serverPort),
  TR: v("num", (c) => c.tq, true, "tq"),
  Tq: v("num", (c) => c.tq, true, "tq"),
  Tw: v("num", (c) => c.tw, false, "tw"),
  Tc: v("num", (c) => c.tc, false, "tc"),
  Tr: v("num", (c) => c.tr, true, "tr"),
  Ta: v("num", (c) => c.ta, true, "ta"),
  Tt: v("num", (c) => c.tt, false, "tt"),
  ST: v("num", (c) => c.status, false, "status"),
  B: v("num", (c) => c.bytesOut, false, "bytesOut"),
  U: v("num", (c) => c.bytesIn, false, "bytesIn"),
  // Cookie captures are not supported: an empty capture, "-" (`""` quoted).
  CC: v("text", () => "", true),
  CS: v("text", () => "", true),
  ts: v("raw", (c) => c.termState),
  tsc: v("raw", (c) => c.termState + "--"),
  ac: v("num", (c) => c.actconn, false, "actconn"),
  fc: v("num", (c) => c.feconn, false, "feconn"),
  bc: v("num", (c) => c.beconn, false, "beconn"),
  sc: v("num", (c) => c.srvconn, false, "srvconn"),
  rc: v("num", (c) => c.retries),
  sq: v("num", (c) => c.srvQueue, false, "srvQueue"),
  bq: v("num", (c) => c.beQueue, false, "beQueue"),
  // Header captures: rendered by LogFormat.render() (it knows the slot counts).
  hr: v("raw", () => ""),
  hs: v("raw", () => ""),
  ID: v("text", (c) => c.uniqueId ?? "", true),
  r: v("line", (c) => escapeLogUri(logUri(c) ?? BADREQ), true),
  HM: v("line", (c) => escapeLogUri(requestParts(c, 0)), true),
  HU: v("line", (c) => escapeLogUri(requestParts(c, 1)), true),
  HV: v("line", (c) => escapeLogUri(requestParts(c, 2)), true),
  pid: v("num", (c) => c.pid, false, "pid"),
  sslv: v("text", (c) => c.sslVersion ?? ""),
  sslc: v("text", (c) => c.sslCipher ?? ""),
} satisfies Record<string, VarDef>;

type VarName = keyof typeof VARS;

export class LogFormatError extends SyntaxError {}

/** One compiled part: writes its text of the line into `out`. */
type PartWriter = (c: LogContext, out: LineBuf) => void;

/**
 * One part compiled into a function that writes it, the variable's kind and
 * options decided once: a line is its parts written in order.
 */
function partWriter(p: Part, reqCaps: number, resCaps: number): PartWriter {
  if (p.v === null) {
    const lit = p.lit;
    return (_c, out) => out.str(lit);
  }
  const quote = p.quote;
  if (typeof p.v === "object") {
    // %[fetch,converters]: sampled from the context the line is written with.
    const f = p.v;
    const empty = quote ? '""' : "-";
    return (c, out) => {
      const smp = c.sample === undefined ? null : fetchOne(c.sample, f);
      const txt = smp === null ? "" : sampleToString(smp);
      if (txt === "") return out.str(empty);
      if (quote) out.byte(0x22);
      out.escaped(txt);
      if (quote) out.byte(0x22);
    };
  }
  if (p.v === "hr") return (c, out) => writeCaptures(out, c.reqCaptures, reqCaps, quote);
  if (p.v === "hs") return (c, out) => writeCaptures(out, c.resCaptures, resCaps, quote);
  if (p.v === "t" || p.v === "tr") {
    // Dates: no string per millisecond.
    const accept = p.v === "t";
    return (c, out) => writeLogDate(out, accept ? c.acceptDate : c.requestDate);
  }
  if (p.v === "r") {
    // The request line: the common case, without an intermediate string.
    return (c, out) => {
      if (quote) out.byte(0x22);
      const u = logUri(c);
      if (u === null) out.str(BADREQ);
      else out.escaped(u);
      if (quote) out.byte(0x22);
    };
  }
  const def: VarDef = VARS[p.v];
  const get = def.get;
  switch (def.kind) {
    case "num":
    case "raw":
      return (c, out) => {
        const val = get(c);
        if (typeof val === "number") out.int(val);
        else out.str(String(val));
      };
    case "line":
      return (c, out) => {
        if (quote) out.byte(0x22);
        out.str(String(get(c)));
        if (quote) out.byte(0x22);
      };
    case "port": {
      const none = quote ? '""' : "-";
      if (p.hex) {
        return (c, out) => {
          const val = get(c) as number | null;
          if (val === null) return out.str(none);
          out.str(hex2((val >> 8) & 255) + hex2(val & 255));
        };
      }
      return (c, out) => {
        const val = get(c) as number | null;
        if (val === null) out.str(none);
        else out.int(val);
      };
    }
    case "ip":
    case "text": {
      const hex = def.kind === "ip" && p.hex;
      const empty = quote ? '""' : "-";
      return (c, out) => {
        const val = get(c);
        const s = typeof val === "string" ? val : String(val ?? "");
        const h = hex && s !== "" ? ipHex(s) : null;
        if (h !== null) return out.str(h);
        if (s === "") return out.str(empty);
        if (quote) out.byte(0x22);
        out.str(s);
        if (quote) out.byte(0x22);
      };
    }
  }
}

/**
 * Compiles the inside of a `%[...]` field. The line is written when the
 * transaction ends, after the request and response heads have left their
 * buffers, so fetches that read a head are refused: variables (`var()`,
 * filled by set-var when the head was there), `unique-id`, addresses,
 * constants, and their converters (maps) are what a log line can show.
 */
function logFetch(text: string): Fetch {
  const f = compileFetch(text);
  if ("error" in f) throw new LogFormatError(`log-format: ${f.error}`);
  if (
    (f.def.use & (SMP_USE_REQ | SMP_USE_RES | SMP_USE_SIDE)) !== 0 && f.def.name !== "unique-id"
  ) {
    throw new LogFormatError(
      `log-format: '${text}' reads a message head, which is gone when the line is written ` +
        `(store it with 'http-request set-var(txn.NAME) ${text}' and log %[var(txn.NAME)], or capture it)`,
    );
  }
  return f;
}

/** Options a compiled format depends on. */
export interface LogFormatOptions {
  /** The frontend's mode: HTTP-only variables are refused in "tcp". Default "http". */
  mode?: "http" | "tcp";
  /** Capture slots of the frontend (`%hr` / `%hs` show them); default 0. */
  reqCaptures?: number;
  resCaptures?: number;
}

/**
 * `%hr` / `%hs`: `{v1|v2}` with HAProxy's header encoding (`#XX` for
 * controls, bytes >= 0x7F and `" # { | }`); nothing when the frontend has
 * no slot. A quoted field is wrapped in quotes.
 */
function writeCaptures(
  out: LineBuf,
  caps: ReadonlyArray<string | null> | undefined,
  n: number,
  quote: boolean,
): void {
  if (n === 0) return;
  if (quote) out.byte(0x22);
  out.byte(0x7b);
  for (let i = 0; i < n; i++) {
    if (i > 0) out.byte(0x7c);
    const s = caps?.[i] ?? null;
    if (s === null) continue;
    for (let k = 0; k < s.length; k++) {
      const ch = s.charCodeAt(k);
      const esc = ch < 0x20 || ch >= 0x7f || ch === 0x22 || ch === 0x23 || ch === 0x7b ||
        ch === 0x7c || ch === 0x7d;
      if (esc) out.hexEscape(ch & 0xff);
      else out.byte(ch);
    }
  }
  out.byte(0x7d);
  if (quote) out.byte(0x22);
}

/**
 * The parts of a format compiled into one function of straight-line code
 * (HAProxy walks a list of nodes; a list of closures here costs a
 * megamorphic call per part, about half the line): literals become byte
 * writes, numeric and plain text fields of the context are written
 * directly, every other part calls its writer. The generated text holds
 * only field names from VARS, byte values and indexes, never configuration
 * text (literals are passed in `L`).
 */
function compileLine(parts: readonly Part[], writers: readonly PartWriter[]): PartWriter {
  const lits: string[] = [];
  const body: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.v === null) {
      const lit = p.lit;
      if (lit.length <= 4 && /^[\x20-\x7e]*$/.test(lit)) {
        for (let k = 0; k < lit.length; k++) body.push(`out.byte(${lit.charCodeAt(k)});`);
      } else {
        body.push(`out.str(L[${lits.length}]);`);
        lits.push(lit);
      }
      continue;
    }
    if (typeof p.v === "string" && !p.hex) {
      const def: VarDef = VARS[p.v];
      const f = def.field;
      if (f !== null && (def.kind === "num" || def.kind === "port")) {
        body.push(`out.int(c.${f});`);
        continue;
      }
      if (f !== null && def.kind === "text" && !p.quote) {
        body.push(`{ const s = c.${f}; if (s === "") out.byte(45); else out.str(s); }`);
        continue;
      }
    }
    body.push(`W[${i}](c, out);`);
  }
  const make = new Function(
    "W",
    "L",
    `"use strict";\nreturn function writeLine(c, out) {\n${body.join("\n")}\n};`,
  ) as (w: readonly PartWriter[], l: readonly string[]) => PartWriter;
  return make(writers, lits);
}

/** A compiled log format. */
export class LogFormat {
  readonly source: string;
  #parts: Part[];
  /** The whole line compiled into one function (compileLine()). */
  #write: PartWriter;
  readonly #reqCaps: number;
  readonly #resCaps: number;

  /**
   * Compiles `fmt`; throws LogFormatError naming the unknown variable, an
   * unsupported `%{...}` option, or an HTTP-only variable in TCP mode.
   */
  constructor(fmt: string, opts: LogFormatOptions = {}) {
    const mode = opts.mode ?? "http";
    this.source = fmt;
    this.#reqCaps = opts.reqCaptures ?? 0;
    this.#resCaps = opts.resCaptures ?? 0;
    this.#parts = [];
    let lit = "";
    let i = 0;
    while (i < fmt.length) {
      const ch = fmt[i]!;
      if (ch !== "%") {
        lit += ch;
        i++;
        continue;
      }
      if (fmt[i + 1] === "%") {
        lit += "%";
        i += 2;
        continue;
      }
      let quote = false;
      let hex = false;
      let j = i + 1;
      if (fmt[j] === "{") {
        const close = fmt.indexOf("}", j);
        if (close < 0) throw new LogFormatError(`Unclosed "{" in log-format at offset ${i}`);
        const optText = fmt.slice(j + 1, close);
        for (const o of optText.split(",")) {
          if (o === "") continue;
          const m = /^(?:[+-][A-Za-z])+$/.exec(o);
          const flags = m === null ? [o] : o.match(/[+-][A-Za-z]/g)!;
          for (const f of flags) {
            if (f === "+Q") quote = true;
            else if (f === "-Q") quote = false;
            else if (f === "+X") hex = true;
            else if (f === "-X") hex = false;
            else {
              throw new LogFormatError(
                `Unsupported log-format option "${f}" in "%{${optText}}" (supported: +Q, -Q, +X, -X)`,
              );
            }
          }
        }
        j = close + 1;
      }
      if (fmt[j] === "[") {
        if (lit) this.#parts.push({ lit, v: null, quote: false, hex: false });
        lit = "";
        const close = fmt.indexOf("]", j);
        if (close < 0) throw new LogFormatError(`missing ']' after '%[' in log-format`);
        this.#parts.push({ lit: null, v: logFetch(fmt.slice(j + 1, close)), quote, hex: false });
        i = close + 1;
        continue;
      }
      let k = j;
      while (k < fmt.length && /[A-Za-z]/.test(fmt[k]!)) k++;
      const name = fmt.slice(j, k);
      if (!Object.hasOwn(VARS, name)) {
        throw new LogFormatError(`Unknown log-format variable "%${name}"`);
      }
      if (mode !== "http" && VARS[name as VarName].http) {
        throw new LogFormatError(`format variable '${name}' is reserved for HTTP mode`);
      }
      if (lit) this.#parts.push({ lit, v: null, quote: false, hex: false });
      lit = "";
      this.#parts.push({ lit: null, v: name as VarName, quote, hex });
      i = k;
    }
    if (lit) this.#parts.push({ lit, v: null, quote: false, hex: false });
    const writers = this.#parts.map((p) => partWriter(p, this.#reqCaps, this.#resCaps));
    this.#write = compileLine(this.#parts, writers);
  }

  /** Writes one line for a finished session at the end of `out`. */
  write(c: LogContext, out: LineBuf): void {
    this.#write(c, out);
  }

  /** The line as text (tests; the logger writes lines as bytes). */
  render(c: LogContext): string {
    const out = new LineBuf();
    this.write(c, out);
    return out.text();
  }
}
