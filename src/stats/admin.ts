// Admin actions of the stats page (HAProxy's stats_process_http_post): parses
// the application/x-www-form-urlencoded body the page's forms POST,
// `s=<backend>/<server>&action=ready|drain|maint`, or `action=weight&weight=N`
// (HAProxy's runtime `set weight`: the balancer follows at once).
//
// This file only parses and validates the form; it never looks the server
// up nor changes it. The caller resolves the names against the process and
// applies the action through the check manager (setReady/setDrain/setMaint) or
// sets the weight.

/** What an admin form may ask for a server. */
export type AdminActionName = "ready" | "drain" | "maint" | "weight";

/** The actions accepted, for validation and display. */
export const ADMIN_ACTIONS: readonly AdminActionName[] = ["ready", "drain", "maint", "weight"];

export interface AdminAction {
  backend: string;
  server: string;
  action: AdminActionName;
  /** The new weight (0..256) for action "weight", else -1. */
  weight: number;
}

/** Largest body accepted; the page's forms send well under 1 KiB. */
export const ADMIN_BODY_MAX = 4096;

/** Proxy and server names allowed by the config (HAProxy's invalid_char()). */
const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

/**
 * Parses an admin POST body. Accepts `s` = "backend/server" and `action`
 * (case-insensitive) among ADMIN_ACTIONS, in any order, with + or %20 for
 * spaces as usual; other fields are ignored. Refuses a body over
 * ADMIN_BODY_MAX, a missing or repeated `s`/`action`, a target without
 * exactly one "/", a name with a character the config refuses, and an
 * unknown action; the error string says which, quoting the bad value.
 */
export function parseAdminForm(body: string): AdminAction | { error: string } {
  if (body.length > ADMIN_BODY_MAX) return { error: "Form too large" };
  let form: URLSearchParams;
  try {
    form = new URLSearchParams(body);
  } catch {
    return { error: "Malformed form" };
  }
  const targets = form.getAll("s");
  const actions = form.getAll("action");
  if (targets.length === 0) return { error: 'Missing "s" (backend/server)' };
  if (targets.length > 1) return { error: 'Several "s" fields: one server at a time' };
  if (actions.length === 0) return { error: 'Missing "action"' };
  if (actions.length > 1) return { error: 'Several "action" fields' };
  const target = targets[0]!;
  const rawAction = actions[0]!;
  const slash = target.indexOf("/");
  if (slash < 0 || target.indexOf("/", slash + 1) >= 0) {
    return { error: `Invalid server "${clip(target)}": expected backend/server` };
  }
  const backend = target.slice(0, slash);
  const server = target.slice(slash + 1);
  if (!NAME_RE.test(backend)) return { error: `Invalid backend name "${clip(backend)}"` };
  if (!NAME_RE.test(server)) return { error: `Invalid server name "${clip(server)}"` };
  const action = rawAction.toLowerCase();
  if (!isAction(action)) {
    return { error: `Unknown action "${clip(rawAction)}": expected ${ADMIN_ACTIONS.join(", ")}` };
  }
  let weight = -1;
  if (action === "weight") {
    const w = form.get("weight") ?? "";
    if (!/^\d{1,3}$/.test(w) || Number(w) > 256) {
      return { error: `Invalid weight "${clip(w)}": expected 0..256` };
    }
    weight = Number(w);
  }
  return { backend, server, action, weight };
}

function isAction(a: string): a is AdminActionName {
  return (ADMIN_ACTIONS as readonly string[]).includes(a);
}

/** Keeps quoted user input short in messages. */
function clip(s: string): string {
  return s.length > 64 ? s.slice(0, 64) + "…" : s;
}
