// Applets: services the HTTP layer answers from the proxy itself instead of
// forwarding to a server (HAProxy's applets, here the stats page and the
// Prometheus exporter of a frontend's `stats` section).
//
// The HTTP analysers only know this interface; the implementation lives
// above them (src/stats/stats_service.ts) and reaches them through the
// process context, so that http/ never imports stats/ (which reads the
// backends and checks, layers above http/). An applet never touches a
// socket: it returns a reply, and the analyser sends it as a local reply.

import type { StatsConfig } from "../config/types.ts";

/** The page a stats request asks for. */
export type StatsTarget = "html" | "csv" | "json" | "prom";

/** What an applet answers: status, content type, body, extra header lines. */
export interface AppletReply {
  status: number;
  contentType: string;
  body: string;
  headers: string[];
}

/** The stats applet, as the frontend analyser (AN_REQ_HTTP_PROCESS_FE) calls it. */
export interface StatsApplet {
  /** Which page `path` asks for under `cfg`, or null when it is not a stats request. */
  target(cfg: StatsConfig, path: string): StatsTarget | null;
  /**
   * Whether the `authorization` header value (null when absent) is accepted;
   * true when `cfg` has no auth.
   */
  authorized(cfg: StatsConfig, authorization: string | null): boolean;
  /**
   * The reply to a stats request. `method` and `body` serve admin POSTs
   * (drain / maint / ready a server), allowed only with `admin: true`.
   */
  reply(cfg: StatsConfig, target: StatsTarget, method: string, body: string): AppletReply;
}
