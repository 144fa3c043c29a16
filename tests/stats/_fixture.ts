// A real Process (never started) with counters set by hand, and the check
// states a check manager would report, shared by the stats tests.

import type { Server } from "../../src/backend/server.ts";
import { Process } from "../../src/proxy/process.ts";
import type { CheckState, CheckStateProvider } from "../../src/stats/snapshot.ts";
import { backend, frontend, runtimeConfig, server } from "../_helpers/runtime_config.ts";

/** Fixed epoch ms used as "last change" by the fake check states. */
export const CHANGE_AT = 1_700_000_000_000;

/**
 * Frontends: fe_http (http, maxconn 100), fe_tcp (tcp). Backends:
 * be_app (http, roundrobin): web1 (up), web2 (weight 0), web3 (disabled),
 * spare (backup); be_db (tcp, leastconn): db1 not usable.
 */
export function makeProcess(): Process {
  const cfg = runtimeConfig(
    [
      frontend("fe_http", {
        mode: "http",
        maxconn: 100,
        options: new Set(["httplog"]),
        stats: {
          uri: "/stats",
          refresh: 10000,
          auth: null,
          admin: true,
          prometheusUri: "/metrics",
        },
      }),
      frontend("fe_tcp", { defaultBackend: 1 }),
    ],
    [
      backend("be_app", [
        server("web1", 8001, { weight: 3, maxconn: 50, maxqueue: 10, check: true }),
        server("web2", 8002, { weight: 0, check: true }),
        server("web3", 8003, { disabled: true }),
        server("spare", 8004, { backup: true }),
      ], { mode: "http" }),
      backend("db", [server("db1", 5432)], {
        balance: { algo: "leastconn", args: [], hashType: "map-based" },
      }),
    ],
  );
  const p = new Process(cfg, { quiet: true, debug: false });

  p.actconn = 7;
  const fe = p.frontends[0]!;
  fe.feconn = 5;
  Object.assign(fe.counters, {
    cumSessions: 1000,
    maxSessions: 42,
    bytesIn: 123456,
    bytesOut: 7654321,
    denied: 3,
    errors: 4,
    httpReqs: 2000,
    httpResp: [1, 2, 1900, 30, 50, 17],
  });
  const fe2 = p.frontends[1]!;
  fe2.feconn = 2;
  fe2.counters.cumSessions = 9;

  const app = p.backends[0]!;
  app.beconn = 5;
  Object.assign(app.counters, {
    cumSessions: 990,
    maxSessions: 40,
    bytesIn: 120000,
    bytesOut: 7600000,
    connErrors: 6,
    respErrors: 2,
    retries: 8,
    redispatches: 1,
    failedNoServer: 5,
    httpResp: [1, 2, 1890, 30, 50, 17],
    connectTimeSum: 300,
    connectSamples: 100,
  });
  const web1 = app.servers[0]!;
  web1.cur = 4;
  Object.assign(web1.counters, {
    cumSessions: 900,
    maxSessions: 38,
    bytesIn: 110000,
    bytesOut: 7000000,
    connErrors: 5,
    retries: 7,
    httpResp: [0, 1, 1800, 20, 40, 15],
    connectTimeSum: 250,
    connectSamples: 100,
  });
  // Two streams waiting for web1, one of which gave up.
  const w = () => ({ queued: false, dequeued: () => {}, requeue: () => {} });
  web1.queue.push(w());
  const gone = w();
  web1.queue.push(gone);
  web1.queue.abandon(gone);
  const web2 = app.servers[1]!;
  web2.cur = 1;
  web2.counters.cumSessions = 90;

  const db1 = p.backends[1]!.servers[0]!;
  db1.usable = false;
  return p;
}

/** Check states as a check manager would report them, by server name. */
export const CHECK_STATES: Record<string, CheckState> = {
  web1: {
    status: "UP 2/3",
    lastCheck: "L7STS",
    checkDuration: 12,
    lastChange: CHANGE_AT,
    downtime: 61_000,
    checkCode: 503,
    checkFails: 4,
    checkDowns: 1,
    desc: "HTTP status check returned code <503>",
  },
  web2: {
    status: "DRAIN",
    lastCheck: "L4OK",
    checkDuration: 1,
    lastChange: CHANGE_AT,
    downtime: 0,
  },
  // Known to the check manager but not checked: the default status applies.
  spare: {
    status: "no check",
    lastCheck: "",
    checkDuration: -1,
    lastChange: CHANGE_AT,
    downtime: 0,
  },
  // Not checked, put in maintenance by an admin action.
  db1: {
    status: "MAINT",
    lastCheck: "",
    checkDuration: -1,
    lastChange: CHANGE_AT,
    downtime: 0,
    checked: false,
  },
};

/** A provider answering from CHECK_STATES, null for unchecked servers. */
export const checks: CheckStateProvider<Server> = (s) => CHECK_STATES[s.name] ?? null;
