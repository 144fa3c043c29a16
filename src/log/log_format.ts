// Log formats (HAProxy's log.c log-format compiler).
//
// A log-format string is compiled once at startup into a list of parts
// (literal text or a variable); rendering a session's line walks that list.
// Supported variables are HAProxy's, spelled the same; `%{+Q}r` quotes.
// Unknown variables are reported at config time.

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
  serverIp: string;
  serverPort: number;
  /** Timers in ms, -1 when the stage was never reached. */
  tq: number; // TR: time to receive the full request head
  tw: number; // time waiting in queues
  tc: number; // time to connect to the server
  tr: number; // server response time (head)
  ta: number; // active time of the request (HTTP) or total
  tt: number; // total session time
  status: number; // HTTP status, -1 in TCP mode
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
  requestLine: string;
  method: string;
  uri: string;
  httpVersion: string;
  pid: number;
}

type Part = { lit: string; v: null; quote: false } | {
  lit: null;
  v: keyof typeof VARS;
  quote: boolean;
};

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function p2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** HAProxy's date format: 24/Nov/2026:16:20:01.123 (local time). */
export function formatLogDate(ms: number): string {
  const d = new Date(ms);
  const msx = d.getMilliseconds();
  return `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${
    p2(d.getMinutes())
  }:${p2(d.getSeconds())}.${msx < 10 ? "00" : msx < 100 ? "0" : ""}${msx}`;
}

const VARS = {
  ci: (c: LogContext) => c.clientIp,
  cp: (c: LogContext) => String(c.clientPort),
  fi: (c: LogContext) => c.frontendIp,
  fp: (c: LogContext) => String(c.frontendPort),
  t: (c: LogContext) => formatLogDate(c.acceptDate),
  tr: (c: LogContext) => formatLogDate(c.requestDate),
  ft: (c: LogContext) => c.frontend,
  f: (c: LogContext) => c.frontend,
  b: (c: LogContext) => c.backend,
  s: (c: LogContext) => c.server,
  si: (c: LogContext) => c.serverIp,
  sp: (c: LogContext) => String(c.serverPort),
  TR: (c: LogContext) => String(c.tq),
  Tq: (c: LogContext) => String(c.tq),
  Tw: (c: LogContext) => String(c.tw),
  Tc: (c: LogContext) => String(c.tc),
  Tr: (c: LogContext) => String(c.tr),
  Ta: (c: LogContext) => String(c.ta),
  Tt: (c: LogContext) => String(c.tt),
  ST: (c: LogContext) => String(c.status),
  B: (c: LogContext) => String(c.bytesOut),
  U: (c: LogContext) => String(c.bytesIn),
  CC: (_c: LogContext) => "-",
  CS: (_c: LogContext) => "-",
  ts: (c: LogContext) => c.termState,
  tsc: (c: LogContext) => c.termState + "--",
  ac: (c: LogContext) => String(c.actconn),
  fc: (c: LogContext) => String(c.feconn),
  bc: (c: LogContext) => String(c.beconn),
  sc: (c: LogContext) => String(c.srvconn),
  rc: (c: LogContext) => c.retries,
  sq: (c: LogContext) => String(c.srvQueue),
  bq: (c: LogContext) => String(c.beQueue),
  hr: (_c: LogContext) => "",
  hs: (_c: LogContext) => "",
  r: (c: LogContext) => c.requestLine,
  HM: (c: LogContext) => c.method,
  HU: (c: LogContext) => c.uri,
  HV: (c: LogContext) => c.httpVersion,
  pid: (c: LogContext) => String(c.pid),
} as const;

export class LogFormatError extends SyntaxError {}

/** A compiled log format. */
export class LogFormat {
  readonly source: string;
  #parts: Part[];

  /** Compiles `fmt`; throws LogFormatError naming the unknown variable. */
  constructor(fmt: string) {
    this.source = fmt;
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
      let j = i + 1;
      if (fmt[j] === "{") {
        const close = fmt.indexOf("}", j);
        if (close < 0) throw new LogFormatError(`Unclosed "{" in log-format at offset ${i}`);
        quote = fmt.slice(j + 1, close).split(",").includes("+Q");
        j = close + 1;
      }
      let k = j;
      while (k < fmt.length && /[A-Za-z]/.test(fmt[k]!)) k++;
      const name = fmt.slice(j, k);
      if (!(name in VARS)) throw new LogFormatError(`Unknown log-format variable "%${name}"`);
      if (lit) this.#parts.push({ lit, v: null, quote: false });
      lit = "";
      this.#parts.push({ lit: null, v: name as keyof typeof VARS, quote });
      i = k;
    }
    if (lit) this.#parts.push({ lit, v: null, quote: false });
  }

  /** Renders one line for a finished session. */
  render(c: LogContext): string {
    let out = "";
    for (const p of this.#parts) {
      if (p.v === null) out += p.lit;
      else {
        const s = VARS[p.v](c);
        out += p.quote ? `"${s}"` : s;
      }
    }
    return out;
  }
}
