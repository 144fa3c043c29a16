// Cookie persistence applied to a transaction (HAProxy's manage_client_side_cookies()
// and manage_server_side_cookies() in http_ana.c): the request's cookie names
// the server, the response tells the client which server it used.
//
// cookie.ts parses the keyword and edits cookie header values; this file
// decides what a request and a response get, through the head editors. It
// never picks a server by balancing and never touches a socket.

import {
  findPersistCookie,
  insertSetCookie,
  requestCookieForServer,
  rewriteSetCookie,
} from "./cookie.ts";
import type { HeadEditor } from "./head_editor.ts";
import type { HttpStream } from "./http_stream.ts";

/**
 * Request side: remembers the server the cookie names (when usable) and
 * removes or unprefixes the cookie for the server.
 */
export function applyCookieRequest(s: HttpStream, ed: HeadEditor): void {
  const ck = s.be!.cookie;
  if (ck === null) return;
  const values = ed.headerValues("cookie");
  if (values.length === 0) return;
  const v = findPersistCookie(values, ck);
  if (v !== null) {
    const srv = s.be!.servers.find((x) => x.cfg.cookie === v);
    if (srv !== undefined && srv.usable) s.txn!.persistSrv = srv;
  }
  if ((ck.mode === "insert" && ck.indirect) || ck.mode === "prefix") {
    const out: string[] = [];
    let changed = false;
    for (const val of values) {
      const nv = requestCookieForServer(val, ck);
      if (nv !== val) changed = true;
      if (nv !== null) out.push(nv);
    }
    if (changed) {
      ed.delHeader("cookie");
      for (const nv of out) ed.addHeader("cookie", nv);
    }
  }
}

/**
 * `use-server` (HAProxy's process_server_rules()): unless a persistence
 * cookie already named a usable server, the first line whose condition
 * holds forces its server when it is usable; otherwise balancing chooses.
 */
export function applyUseServer(s: HttpStream): void {
  const be = s.be!, txn = s.txn!;
  const rules = be.useServers;
  if (rules.length === 0 || txn.persistSrv !== null) return;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.cond !== null && r.cond.eval(txn.sample) === r.unless) continue;
    const srv = be.servers[r.server];
    if (srv !== undefined && srv.usable) txn.persistSrv = srv;
    return;
  }
}

/**
 * Response side: insert tells the client its server (unless the request
 * already named it), rewrite/prefix edit the server's own Set-Cookie.
 */
export function applyCookieResponse(s: HttpStream, ed: HeadEditor): void {
  const ck = s.be?.cookie ?? null;
  const srv = s.srv;
  if (ck === null || srv === null || srv.cfg.cookie === null) return;
  const value = srv.cfg.cookie;
  if (ck.mode === "insert") {
    const own = (l: string) => l.trim().startsWith(ck.name + "=");
    const lines = ed.headerValues("set-cookie");
    if (ck.preserve && lines.some(own)) return;
    // The server's own cookie of that name never reaches the client (it
    // would replace the persistence cookie), unless `preserve`.
    if (!ck.preserve && lines.some(own)) {
      ed.delHeader("set-cookie");
      for (const l of lines) if (!own(l)) ed.addHeader("set-cookie", l);
    }
    if (s.txn!.persistSrv === srv) return; // the client already has it
    ed.addHeader("set-cookie", insertSetCookie(ck, value));
    // nocache: a shared cache must not keep one client's persistence cookie.
    if (
      ck.nocache &&
      !ed.headerValues("cache-control").some((v) => /private|no-cache|no-store/i.test(v))
    ) {
      ed.addHeader("cache-control", "private");
    }
    return;
  }
  const lines = ed.headerValues("set-cookie");
  let changed = false;
  const out = lines.map((l) => {
    const nl = rewriteSetCookie(l, ck, value);
    if (nl === null) return l;
    changed = true;
    return nl;
  });
  if (changed) {
    ed.delHeader("set-cookie");
    for (const l of out) ed.addHeader("set-cookie", l);
  }
}
