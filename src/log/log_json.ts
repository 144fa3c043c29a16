// The JSON log line (`log-format: json`), for collectors: one object per
// line with every field of a session's log context named, so that nothing
// has to be parsed positionally. A Sluice addition: HAProxy 2.6 has no JSON
// encoding of its log lines (one builds it by hand in a log-format string).
//
// Field names and meanings (the HAProxy variable each mirrors in brackets)
// are listed in docs/logging.md. Values render as the text format renders
// them: timers are milliseconds with -1 for a stage never reached, the
// request line is escaped (#XX) and cut at 1023 characters, absent values
// (no server address, no parsed request line) are null. Dates are
// ISO 8601 UTC with milliseconds, built once per millisecond. In TCP mode
// the HTTP fields (request_date, tq, tr, ta, status, method, uri,
// http_version, request) are absent.

import { escapeLogUri, LOG_URI_LEN, type LogContext } from "./log_format.ts";
import type { LogLineFormat } from "./types.ts";
import type { LineBuf } from "./line_buf.ts";

/** JSON text of a string (quotes included). */
const q = JSON.stringify;

/** An ISO date, rebuilt only when the millisecond changes. */
class IsoDateCache {
  #ms = -1;
  #text = "";

  get(ms: number): string {
    if (ms !== this.#ms) {
      this.#ms = ms;
      this.#text = q(new Date(ms).toISOString());
    }
    return this.#text;
  }
}

/** The request line's method, URI and version as %HM %HU %HV split it; null without a line. */
function requestParts(line: string): [string, string, string] | null {
  if (line === "") return null;
  const l = line.length < LOG_URI_LEN ? line : line.slice(0, LOG_URI_LEN - 1);
  const m = /^(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(l);
  if (m === null) return null;
  return [m[1]!, m[2]!, m[3] ?? "HTTP/0.9"];
}

/** The JSON line format; `http` adds the request fields (null in TCP mode). */
export class JsonLogFormat implements LogLineFormat {
  readonly source = "json";
  readonly #http: boolean;
  readonly #accept = new IsoDateCache();
  readonly #request = new IsoDateCache();

  constructor(mode: "http" | "tcp") {
    this.#http = mode === "http";
  }

  write(c: LogContext, out: LineBuf): void {
    out.str(this.render(c));
  }

  render(c: LogContext): string {
    const redispatched = c.retries.startsWith("+");
    let http = "";
    if (this.#http) {
      const line = c.requestLine;
      const parts = requestParts(line);
      const cut = line.length < LOG_URI_LEN ? line : line.slice(0, LOG_URI_LEN - 1);
      http = `,"request_date":${this.#request.get(c.requestDate)}` +
        `,"tq":${c.tq},"tr":${c.tr},"ta":${c.ta},"status":${c.status}` +
        `,"method":${parts === null ? null : q(escapeLogUri(parts[0]))}` +
        `,"uri":${parts === null ? null : q(escapeLogUri(parts[1]))}` +
        `,"http_version":${parts === null ? null : q(escapeLogUri(parts[2]))}` +
        `,"request":${line === "" ? null : q(escapeLogUri(cut))}`;
    }
    return `{"accept_date":${this.#accept.get(c.acceptDate)}` +
      `,"client_ip":${q(c.clientIp)},"client_port":${c.clientPort}` +
      `,"frontend_ip":${q(c.frontendIp)},"frontend_port":${c.frontendPort}` +
      `,"frontend":${q(c.frontend)},"backend":${q(c.backend)},"server":${q(c.server)}` +
      `,"server_ip":${c.serverIp === "" ? null : q(c.serverIp)}` +
      `,"server_port":${c.serverPort}` +
      `,"tw":${c.tw},"tc":${c.tc},"tt":${c.tt}` +
      http +
      `,"bytes_out":${c.bytesOut},"bytes_in":${c.bytesIn}` +
      `,"termination_state":${q(c.termState)}` +
      `,"actconn":${c.actconn},"feconn":${c.feconn},"beconn":${c.beconn}` +
      `,"srvconn":${c.srvconn},"retries":${redispatched ? c.retries.slice(1) : c.retries}` +
      `,"redispatched":${redispatched},"srv_queue":${c.srvQueue},"backend_queue":${c.beQueue}` +
      `,"pid":${c.pid}}`;
  }
}
