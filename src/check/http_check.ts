// Layer 7 of health checks: `option httpchk` and `http-check` rules (HAProxy's
// HTTP part of tcpcheck.c, with the 1.x wording of its content messages).
//
// compileHttpCheck() turns a backend's `option httpchk [METHOD] [URI]
// [VERSION]` and its `http-check send|expect` lines into a spec once, at
// start. runHttpExchange() sends the request on an established connection and
// reads the answer until evaluateHttpResponse() can decide; that function is
// pure (bytes in, outcome out) so every rule is tested without a socket.
// Deadlines are not handled here: the check task closes the connection when
// its timer expires, which ends a pending read.
//
// Outcomes: every expectation met is L7OK with the reason phrase as info; a
// status expectation failed is L7STS (code and reason phrase); a body
// expectation failed, or an answer that is not HTTP, is L7RSP.

import type { BackendConfig, RuleLine } from "../config/types.ts";
import type { Conn } from "../listener/protocol.ts";
import { socketErrorOutcome } from "./tcp_check.ts";
import { compileRegex, type Regex } from "../regex/regex.ts";
import {
  type CheckOutcome,
  HCHK_STATUS_L7OKD,
  HCHK_STATUS_L7RSP,
  HCHK_STATUS_L7STS,
} from "./types.ts";

/** Most bytes of response head read before giving up (the proxy's bufsize). */
export const HTTPCHK_HEAD_MAX = 16 * 1024;
/** Most bytes of body kept for `string` / `rstring` matches. */
export const HTTPCHK_BODY_MAX = 16 * 1024;

const CH_LF = 0x0a;
const CH_CR = 0x0d;

/** Kinds of `http-check expect` patterns. */
export type HttpExpectType = "status" | "rstatus" | "string" | "rstring";

/** One compiled `http-check expect` line. */
export interface HttpExpect {
  readonly type: HttpExpectType;
  /** `expect ! ...`: the rule passes when the pattern does not match. */
  readonly inverse: boolean;
  /** The pattern as written (for messages). */
  readonly pattern: string;
  /** `status`: inclusive [lo, hi] pairs, flattened; empty otherwise. */
  readonly ranges: readonly number[];
  /** `rstatus` / `rstring`: the compiled expression; null otherwise. */
  readonly re: Regex | null;
}

/** The request and expectations of a backend's HTTP checks. */
export interface HttpCheckSpec {
  readonly method: string;
  readonly uri: string;
  readonly version: string;
  /** Extra headers from `http-check send hdr NAME VALUE`. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Body from `http-check send body STRING` ("" for none). */
  readonly body: string;
  /** Expectations in order; empty means "status 2xx or 3xx". */
  readonly expects: readonly HttpExpect[];
  /** True when an expectation reads the body (the check then waits for it). */
  readonly needsBody: boolean;
}

/** A wrong `option httpchk` / `http-check` line; carries its position. */
export class CheckConfigError extends SyntaxError {
  override name = "CheckConfigError";
  readonly line: number;
  readonly col: number;
  /** The message without its position, for the config checker's file:line:col lines. */
  readonly detail: string;
  constructor(message: string, line: number, col: number) {
    super(`${message} (line ${line}, column ${col})`);
    this.detail = message;
    this.line = line;
    this.col = col;
  }
}

interface Token {
  text: string;
  /** Offset of the token in the line text. */
  at: number;
}

/**
 * Splits an http-check line into words as HAProxy's config parser does:
 * blanks separate words, "double" or 'single' quotes group them, a backslash
 * escapes the next character (outside single quotes). Returns null on an
 * unterminated quote.
 */
function tokenize(text: string): Token[] | null {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
    if (i >= text.length) break;
    const at = i;
    let word = "";
    let quote = "";
    while (i < text.length) {
      const c = text[i]!;
      if (quote === "") {
        if (c === " " || c === "\t") break;
        if (c === '"' || c === "'") quote = c;
        else if (c === "\\" && i + 1 < text.length) word += text[++i];
        else word += c;
      } else if (c === quote) quote = "";
      else if (c === "\\" && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
      i++;
    }
    if (quote !== "") return null;
    out.push({ text: word, at });
  }
  return out;
}

/** Parses "200", "200-399" or "200,204,300-302" into flattened [lo, hi] pairs; null if invalid. */
function parseStatusList(s: string): number[] | null {
  const out: number[] = [];
  for (const part of s.split(",")) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    if (m === null) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return null;
    out.push(lo, hi);
  }
  return out;
}

/** What the `http-check` lines of a backend set. */
interface ParsedRules {
  method: string | null;
  uri: string | null;
  version: string | null;
  headers: Array<[string, string]>;
  body: string;
  expects: HttpExpect[];
}

/** Parses `http-check` lines, pushing one error per bad line into `errors`. */
function parseRules(lines: ReadonlyArray<RuleLine>, errors: CheckConfigError[]): ParsedRules {
  const out: ParsedRules = {
    method: null,
    uri: null,
    version: null,
    headers: [],
    body: "",
    expects: [],
  };
  for (const l of lines) {
    const err = parseRule(l, out);
    if (err !== null) errors.push(new CheckConfigError(err.msg, l.line, l.col + err.at));
  }
  return out;
}

/** Parses one line into `out`; returns an error (message, offset) or null. */
function parseRule(l: RuleLine, out: ParsedRules): { msg: string; at: number } | null {
  const toks = tokenize(l.text);
  if (toks === null) return { msg: `unterminated quote in http-check "${l.text}"`, at: 0 };
  const head = toks[0];
  if (head === undefined) return { msg: "empty http-check line", at: 0 };
  if (head.text === "expect") {
    let i = 1;
    let inverse = false;
    if (toks[i]?.text === "!") {
      inverse = true;
      i++;
    }
    const kind = toks[i];
    const pat = toks[i + 1];
    if (kind === undefined) return { msg: 'missing pattern type after "expect"', at: head.at };
    if (pat === undefined) {
      return { msg: `missing pattern after "expect ${kind.text}"`, at: kind.at };
    }
    if (toks.length > i + 2) {
      const extra = toks[i + 2]!;
      return {
        msg: `unexpected "${extra.text}" after the expect pattern (quote a pattern with spaces)`,
        at: extra.at,
      };
    }
    switch (kind.text) {
      case "status": {
        const ranges = parseStatusList(pat.text);
        if (ranges === null) {
          return {
            msg: `invalid status list "${pat.text}" (expected codes or ranges like 200,300-399)`,
            at: pat.at,
          };
        }
        out.expects.push({ type: "status", inverse, pattern: pat.text, ranges, re: null });
        return null;
      }
      case "rstatus":
      case "rstring": {
        const re = compileRegex(pat.text);
        if ("error" in re) {
          return { msg: `invalid regular expression "${pat.text}": ${re.error}`, at: pat.at };
        }
        out.expects.push({ type: kind.text, inverse, pattern: pat.text, ranges: [], re });
        return null;
      }
      case "string":
        out.expects.push({ type: "string", inverse, pattern: pat.text, ranges: [], re: null });
        return null;
      default:
        return {
          msg: `unknown expect type "${kind.text}" (expected status, rstatus, string or rstring)`,
          at: kind.at,
        };
    }
  }
  if (head.text === "send") {
    for (let i = 1; i < toks.length; i++) {
      const key = toks[i]!;
      const v = toks[i + 1];
      if (v === undefined) return { msg: `missing value after "${key.text}"`, at: key.at };
      switch (key.text) {
        case "meth":
          if (!/^[A-Z]+$/.test(v.text)) {
            return { msg: `invalid method "${v.text}" (expected an upper-case method)`, at: v.at };
          }
          out.method = v.text;
          break;
        case "uri":
          out.uri = v.text;
          break;
        case "ver":
          if (!/^HTTP\/1\.[01]$/.test(v.text)) {
            return {
              msg: `invalid HTTP version "${v.text}" (expected HTTP/1.0 or HTTP/1.1)`,
              at: v.at,
            };
          }
          out.version = v.text;
          break;
        case "hdr": {
          const val = toks[i + 2];
          if (val === undefined) return { msg: `missing value of header "${v.text}"`, at: v.at };
          if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v.text)) {
            return { msg: `invalid header name "${v.text}"`, at: v.at };
          }
          out.headers.push([v.text, val.text]);
          i++;
          break;
        }
        case "body":
          out.body = v.text;
          break;
        default:
          return {
            msg: `unknown send option "${key.text}" (expected meth, uri, ver, hdr or body)`,
            at: key.at,
          };
      }
      i++;
    }
    return null;
  }
  return {
    msg: `unsupported http-check directive "${head.text}" (expected expect or send)`,
    at: head.at,
  };
}

/** Every problem of a backend's `http-check` lines (for the configuration checker). */
export function httpCheckIssues(cfg: BackendConfig): CheckConfigError[] {
  const errors: CheckConfigError[] = [];
  parseRules(cfg.httpCheck, errors);
  return errors;
}

/**
 * Compiles a backend's HTTP check: null when `option httpchk` is not set
 * (then `http-check` lines are ignored, as HAProxy ignores them). `option
 * httpchk` arguments follow HAProxy: one is the URI, two are METHOD URI,
 * three add the version; defaults are OPTIONS / HTTP/1.0. `http-check send`
 * overrides them. Throws a CheckConfigError on the first bad line.
 */
export function compileHttpCheck(cfg: BackendConfig): HttpCheckSpec | null {
  if (!cfg.options.has("httpchk")) return null;
  const args = cfg.optionArgs.get("httpchk") ?? [];
  let method = "OPTIONS", uri = "/", version = "HTTP/1.0";
  if (args.length === 1) uri = args[0]!;
  else if (args.length >= 2) {
    method = args[0]!;
    uri = args[1]!;
    if (args[2] !== undefined) version = args[2];
  }
  const errors: CheckConfigError[] = [];
  const r = parseRules(cfg.httpCheck, errors);
  if (errors.length > 0) throw errors[0]!;
  return {
    method: r.method ?? method,
    uri: r.uri ?? uri,
    version: r.version ?? version,
    headers: r.headers,
    body: r.body,
    expects: r.expects,
    needsBody: r.expects.some((e) => e.type === "string" || e.type === "rstring"),
  };
}

const encoder = new TextEncoder();

/**
 * The request bytes of a check: request line, `Host: <host>` for HTTP/1.1
 * (unless a `send hdr Host` gave one), the `send` headers, Content-Length
 * when there is a body, and `Connection: close` (unless given).
 */
export function buildHttpCheckRequest(spec: HttpCheckSpec, host: string): Uint8Array {
  let s = `${spec.method} ${spec.uri} ${spec.version}\r\n`;
  const has = (n: string) => spec.headers.some(([k]) => k.toLowerCase() === n);
  if (spec.version === "HTTP/1.1" && !has("host")) s += `Host: ${host}\r\n`;
  for (const [k, v] of spec.headers) s += `${k}: ${v}\r\n`;
  const body = encoder.encode(spec.body);
  if (body.length > 0 && !has("content-length")) s += `Content-Length: ${body.length}\r\n`;
  if (!has("connection")) s += "Connection: close\r\n";
  s += "\r\n";
  const head = encoder.encode(s);
  if (body.length === 0) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

/** Index of the first LF in buf[from, len), or -1. */
function indexOfLf(buf: Uint8Array, from: number, len: number): number {
  for (let i = from; i < len; i++) if (buf[i] === CH_LF) return i;
  return -1;
}

/** Offset just after the blank line ending the head (CRLFCRLF or LFLF), or -1. */
function headEnd(buf: Uint8Array, len: number): number {
  let i = indexOfLf(buf, 0, len);
  while (i >= 0) {
    const next = i + 1;
    if (next < len && buf[next] === CH_LF) return next + 1;
    if (next + 1 < len && buf[next] === CH_CR && buf[next + 1] === CH_LF) return next + 2;
    i = indexOfLf(buf, next, len);
  }
  return -1;
}

/** Status line text for an L7RSP info: the first line without CR/LF, at most 127 chars. */
function firstLine(buf: Uint8Array, len: number): string {
  let end = indexOfLf(buf, 0, len);
  if (end < 0) end = len;
  if (end > 0 && buf[end - 1] === CH_CR) end--;
  return latin1.decode(buf.subarray(0, Math.min(end, 127)));
}

/**
 * Decodes a chunked body as far as it goes. `complete` is true once the last
 * chunk was seen (trailers are not needed to decide) or when the framing is
 * broken (what was decoded is used).
 */
function dechunk(b: Uint8Array): { data: Uint8Array; complete: boolean } {
  const parts: Uint8Array[] = [];
  let total = 0;
  let i = 0;
  let complete = false;
  for (;;) {
    const lf = indexOfLf(b, i, b.length);
    if (lf < 0) break;
    const sizeText = latin1.decode(b.subarray(i, lf)).replace(/[;\r].*$/, "").trim();
    if (!/^[0-9A-Fa-f]+$/.test(sizeText)) {
      complete = true; // broken framing: decide on what we have
      break;
    }
    const size = parseInt(sizeText, 16);
    if (size === 0) {
      complete = true;
      break;
    }
    const start = lf + 1;
    const avail = Math.min(size, b.length - start);
    parts.push(b.subarray(start, start + avail));
    total += avail;
    if (avail < size) break;
    i = start + size;
    if (i < b.length && b[i] === CH_CR) i++;
    if (i < b.length && b[i] === CH_LF) i++;
    else break;
  }
  const data = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { data, complete };
}

/** True when `code` is in the flattened [lo, hi] pairs. */
function inRanges(code: number, ranges: readonly number[]): boolean {
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    if (code >= ranges[i]! && code <= ranges[i + 1]!) return true;
  }
  return false;
}

/**
 * Decides a check from the response bytes buf[0, len). `done` says no more
 * bytes will come (EOF, read error or buffer full). Returns null when more
 * bytes are needed, never null when `done`.
 *
 * The status line must start with "HTTP/1." and carry a 3-digit code
 * (otherwise L7RSP with the line as info). Without expectations, 2xx and 3xx
 * pass. Body expectations wait for the whole body (Content-Length, chunked
 * last chunk, or EOF), at most HTTPCHK_BODY_MAX bytes of it.
 */
export function evaluateHttpResponse(
  buf: Uint8Array,
  len: number,
  done: boolean,
  spec: HttpCheckSpec,
): CheckOutcome | null {
  const lf = indexOfLf(buf, 0, len);
  if (lf < 0 && !done) return null;
  const line = firstLine(buf, len);
  const m = /^HTTP\/1\.\d (\d{3})(?:[ \t]+(.*))?$/.exec(line);
  if (m === null) return { status: HCHK_STATUS_L7RSP, code: 0, desc: line };
  const code = Number(m[1]);
  const reason = (m[2] ?? "").trim();

  let body: Uint8Array | null = null;
  if (spec.needsBody) {
    const he = headEnd(buf, len);
    if (he < 0) {
      if (!done) return null;
      return {
        status: HCHK_STATUS_L7RSP,
        code,
        desc: "HTTP content check could not find a response body",
      };
    }
    const head = latin1.decode(buf.subarray(0, he));
    const raw = buf.subarray(he, len);
    const noBody = spec.method === "HEAD" || code === 204 || code === 304 ||
      (code >= 100 && code < 200);
    const cl = /\r?\ncontent-length[ \t]*:[ \t]*(\d+)/i.exec(head);
    const chunked = /\r?\ntransfer-encoding[ \t]*:[^\r\n]*chunked/i.test(head);
    if (noBody) body = raw.subarray(0, 0);
    else if (chunked) {
      const d = dechunk(raw);
      if (!d.complete && !done && d.data.length < HTTPCHK_BODY_MAX) return null;
      body = d.data;
    } else if (cl !== null) {
      const want = Math.min(Number(cl[1]), HTTPCHK_BODY_MAX);
      if (raw.length < want && !done) return null;
      body = raw.subarray(0, Math.min(raw.length, want));
    } else {
      if (!done && raw.length < HTTPCHK_BODY_MAX) return null;
      body = raw;
    }
    if (body.length > HTTPCHK_BODY_MAX) body = body.subarray(0, HTTPCHK_BODY_MAX);
  }

  if (spec.expects.length === 0) {
    const ok = code >= 200 && code < 400;
    return { status: ok ? HCHK_STATUS_L7OKD : HCHK_STATUS_L7STS, code, desc: reason };
  }
  let text: string | null = null;
  for (const e of spec.expects) {
    if (e.type === "status" || e.type === "rstatus") {
      const hit = e.type === "status" ? inRanges(code, e.ranges) : e.re!.test(String(code));
      if (hit === e.inverse) return { status: HCHK_STATUS_L7STS, code, desc: reason };
      continue;
    }
    const b = body!;
    if (b.length === 0) {
      return {
        status: HCHK_STATUS_L7RSP,
        code,
        desc: e.inverse
          ? "HTTP content check could not find a response body"
          : "HTTP content check found empty response body",
      };
    }
    text ??= utf8.decode(b);
    const hit = e.type === "string" ? text.includes(e.pattern) : e.re!.test(text);
    if (hit && e.inverse) {
      return { status: HCHK_STATUS_L7RSP, code, desc: "HTTP check matched unwanted content" };
    }
    if (!hit && !e.inverse) {
      return { status: HCHK_STATUS_L7RSP, code, desc: "HTTP content check did not match" };
    }
  }
  return { status: HCHK_STATUS_L7OKD, code, desc: reason };
}

/**
 * Runs the HTTP part of a check on an established connection: writes
 * `request`, reads until evaluateHttpResponse() decides. Never rejects: an
 * I/O error before any answer is SOCKERR; after some bytes, they are judged
 * as a complete answer. The caller closes the connection (also to abort).
 */
export async function runHttpExchange(
  conn: Conn,
  request: Uint8Array,
  spec: HttpCheckSpec,
): Promise<CheckOutcome> {
  try {
    let off = 0;
    while (off < request.length) off += await conn.write(request.subarray(off));
  } catch (e) {
    return socketErrorOutcome(e);
  }
  const max = HTTPCHK_HEAD_MAX + HTTPCHK_BODY_MAX;
  let buf = new Uint8Array(4096);
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      if (len >= max) return evaluateHttpResponse(buf, len, true, spec)!;
      const bigger = new Uint8Array(Math.min(buf.length * 2, max));
      bigger.set(buf);
      buf = bigger;
    }
    let n: number;
    try {
      n = await conn.read(buf.subarray(len));
    } catch (e) {
      if (len === 0) return socketErrorOutcome(e);
      n = 0;
    }
    if (n === 0) return evaluateHttpResponse(buf, len, true, spec)!;
    len += n;
    const o = evaluateHttpResponse(buf, len, false, spec);
    if (o !== null) return o;
  }
}
