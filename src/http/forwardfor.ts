// option forwardfor applied to a request (HAProxy's http_process_request()
// part that adds X-Forwarded-For). The option's settings are compiled by
// http_rules.ts (forwardforHeader); this file only decides and edits.

import { cidrListMatch } from "../acl/ip.ts";
import type { HeadEditor } from "./head_editor.ts";
import type { HttpStream } from "./http_stream.ts";

/**
 * Frontend and/or backend `option forwardfor`: adds the client address
 * header unless either side's `except` matches or either side's `if-none`
 * finds its header; the backend's header name wins (HAProxy checks both).
 */
export function applyForwardFor(s: HttpStream, ed: HeadEditor): void {
  const fe = s.fe.forwardFor, be = s.be?.forwardFor ?? null;
  if (fe === null && be === null) return;
  const ip = s.clientAddr.ip;
  if (ip === "unix") return; // no address to forward (HAProxy: IPv4/IPv6 clients only)
  for (const ff of [fe, be]) {
    if (ff === null) continue;
    if (ff.except !== null && cidrListMatch(ff.except, ip)) return;
    if (ff.ifNone && ed.headerValues(ff.header).length > 0) return;
  }
  ed.addHeader((be ?? fe)!.header, ip.startsWith("::ffff:") ? ip.slice(7) : ip);
}
