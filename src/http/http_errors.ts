// Error replies the proxy produces (HAProxy's http_err_msgs / errorfiles).
//
// Each is a complete HTTP/1.1 response with Content-Length, Content-Type
// text/html, Cache-Control no-cache and Connection close (HTTP_RULES.md,
// "Error replies"). They are built once at startup; an `errorfiles` entry
// replaces a body. Replies made by rules (`return`, `redirect`) are built
// per use by buildReply().

import { REASONS } from "./status.ts";
import { bytesOf } from "./types.ts";

const encoder = new TextEncoder();

/** Text of the default error bodies, as HAProxy words them. */
const MESSAGES: Record<number, string> = {
  400: "Your browser sent an invalid request.",
  401: "You need a valid user and password to access this content.",
  403: "Request forbidden by administrative rules.",
  408: "Your browser didn't send a complete request in time.",
  414: "The request URI is too long.",
  422: "The request could not be processed.",
  431: "The request header fields are too large.",
  500: "An internal server error occurred.",
  501: "The request method is not supported.",
  502: "The server returned an invalid or incomplete response.",
  503: "No server is available to handle this request.",
  504: "The server didn't respond in time.",
};

/** Statuses the proxy produces itself, whose body an errorfile may replace. */
export const ERRORFILE_CODES: ReadonlySet<number> = new Set(
  [400, 401, 403, 408, 413, 414, 431, 500, 501, 502, 503, 504],
);

/**
 * Builds a complete response; `extra` are header lines without CRLF. The
 * head (status line, `contentType`, `extra`) is made of byte strings, one
 * code unit per byte, as the rules render them (a Location copied from a
 * header or converted from the configuration): it is written byte for byte,
 * never UTF-8 encoded. `body` is already bytes and is copied as it is.
 */
export function buildReply(
  status: number,
  contentType: string | null,
  body: Uint8Array,
  extra: readonly string[] = [],
  close = true,
): Uint8Array {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\n`;
  // 1xx, 204 and 304 carry no body, and 1xx/204 must not announce one.
  const bodyless = status < 200 || status === 204 || status === 304;
  if (!bodyless) head += `content-length: ${body.length}\r\n`;
  if (contentType !== null && contentType !== "" && !bodyless) {
    head += `content-type: ${contentType}\r\n`;
  }
  head += "cache-control: no-cache\r\n";
  for (const h of extra) head += h + "\r\n";
  if (close) head += "connection: close\r\n";
  head += "\r\n";
  const h = bytesOf(head);
  const b = bodyless ? body.subarray(0, 0) : body;
  const out = new Uint8Array(h.length + b.length);
  out.set(h, 0);
  out.set(b, h.length);
  return out;
}

/** The default HTML body of an error status. */
export function defaultErrorBody(status: number): Uint8Array {
  const reason = REASONS[status] ?? "Error";
  const msg = MESSAGES[status] ?? reason;
  return encoder.encode(`<html><body><h1>${status} ${reason}</h1>\n${msg}\n</body></html>\n`);
}

/** The prepared error replies of a proxy, by status. */
export class ErrorReplies {
  #replies: Map<number, Uint8Array>;

  /** `files` maps a status to a body read at startup (errorfiles). */
  constructor(files: ReadonlyMap<number, Uint8Array> = new Map()) {
    this.#replies = new Map();
    for (const st of new Set([...Object.keys(MESSAGES).map(Number), ...ERRORFILE_CODES])) {
      const body = files.get(st) ?? defaultErrorBody(st);
      this.#replies.set(st, buildReply(st, "text/html", body));
    }
  }

  /** The reply for `status` (built on the fly for a status without a prepared one). */
  get(status: number): Uint8Array {
    let r = this.#replies.get(status);
    if (r === undefined) {
      r = buildReply(status, "text/html", defaultErrorBody(status));
      this.#replies.set(status, r);
    }
    return r;
  }
}
