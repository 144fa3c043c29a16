// The stats applet (HAProxy's stats "service" and the prometheus-exporter
// service): answers requests for a frontend's stats URI (HTML, `;csv`,
// `;json`, admin POSTs) and Prometheus URI from the proxy itself, after the
// frontend's http-request rules and before any backend is chosen.
//
// The HTTP analysers call it through the StatsApplet interface of
// src/http/applet.ts, which the process puts in its context
// (statsApplet()); they never import this file.

import type { Server } from "../backend/server.ts";
import { statsCheckState } from "../check/mod.ts";
import type { StatsConfig } from "../config/types.ts";
import type { AppletReply, StatsApplet, StatsTarget } from "../http/applet.ts";
import { parseAdminForm } from "./admin.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus.ts";
import { type BackendSource, buildSnapshot, type SnapshotSource } from "./snapshot.ts";
import { renderStatsCsv } from "./stats_csv.ts";
import { renderStatsJson } from "./stats_json.ts";
import { renderStatsHtml } from "./stats_page.ts";
import { type AdminBackend, findServer, setServerState, setServerWeight } from "./server_admin.ts";

/**
 * What the applet reads and changes of the process (src/proxy/process.ts's
 * Process satisfies it): the snapshot's sources, and the backends' load
 * balancers, told when an admin action changes a server.
 */
export interface StatsSource extends SnapshotSource<Server> {
  readonly backends: readonly (BackendSource<Server> & AdminBackend)[];
}

/** The stats applet of a process, as the HTTP analysers call it (StatsApplet). */
export function statsApplet(src: StatsSource): StatsApplet {
  return {
    target: statsTarget,
    authorized: statsAuthorized,
    reply: (cfg, target, method, body) => statsReply(src, cfg, target, method, body),
  };
}

/** Which stats page a path asks for, or null when it is not a stats path. */
export function statsTarget(cfg: StatsConfig, path: string): StatsTarget | null {
  if (cfg.prometheusUri !== null && path === cfg.prometheusUri) return "prom";
  if (!path.startsWith(cfg.uri)) return null;
  const rest = path.slice(cfg.uri.length);
  if (rest === "" || rest === "/") return "html";
  if (rest === ";csv") return "csv";
  if (rest === ";json") return "json";
  return null;
}

/** Checks HTTP Basic credentials; true when no auth is configured. */
export function statsAuthorized(cfg: StatsConfig, authorization: string | null): boolean {
  if (cfg.auth === null) return true;
  if (authorization === null || !/^basic /i.test(authorization)) return false;
  let decoded: string;
  try {
    decoded = atob(authorization.slice(6).trim());
  } catch {
    return false;
  }
  return decoded === `${cfg.auth.user}:${cfg.auth.password}`;
}

/**
 * Builds the reply for a stats request. `method` and `body` serve admin
 * POSTs (drain / maint / ready a server), allowed only with `admin: true`.
 */
export function statsReply(
  ctx: StatsSource,
  cfg: StatsConfig,
  target: StatsTarget,
  method: string,
  body: string,
): AppletReply {
  let message: string | undefined;
  if (method === "POST" && target === "html") {
    if (!cfg.admin) {
      return { status: 403, contentType: "text/plain", body: "admin is disabled\n", headers: [] };
    }
    const a = parseAdminForm(body);
    if ("error" in a) message = a.error;
    else {
      // The same code as the runtime API's `set server` (server_admin.ts).
      const found = findServer(ctx.backends, `${a.backend}/${a.server}`);
      if ("msg" in found) message = `No server ${a.backend}/${a.server}`;
      else {
        const r = a.action === "weight"
          ? setServerWeight(found.be, found.srv, String(a.weight))
          : setServerState(found.be, found.srv, a.action);
        message = r.ok ? `${a.backend}/${a.server}: ${a.action} done` : `${a.action} refused`;
      }
    }
  }
  const snap = buildSnapshot(ctx, statsCheckState);
  switch (target) {
    case "prom":
      return {
        status: 200,
        contentType: PROMETHEUS_CONTENT_TYPE,
        body: renderPrometheus(snap),
        headers: [],
      };
    case "csv":
      return {
        status: 200,
        contentType: "text/plain; charset=utf-8",
        body: renderStatsCsv(snap),
        headers: [],
      };
    case "json":
      return {
        status: 200,
        contentType: "application/json",
        body: renderStatsJson(snap),
        headers: [],
      };
    default: {
      const opts = { uri: cfg.uri, refresh: cfg.refresh, admin: cfg.admin } as {
        uri: string;
        refresh: number;
        admin: boolean;
        message?: string;
      };
      if (message !== undefined) opts.message = message;
      return {
        status: 200,
        contentType: "text/html; charset=utf-8",
        body: renderStatsHtml(snap, opts),
        headers: [],
      };
    }
  }
}
