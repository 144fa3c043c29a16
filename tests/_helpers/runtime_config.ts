// Builds resolved RuntimeConfig objects in code, for tests that start a
// Process in-process without going through the YAML loader.

import type {
  BackendConfig,
  FrontendConfig,
  RuntimeConfig,
  ServerConfig,
  Timeouts,
} from "../../src/config/types.ts";

export function timeouts(t: Partial<Timeouts> = {}): Timeouts {
  return {
    connect: 1000,
    client: 10000,
    server: 10000,
    clientFin: 0,
    serverFin: 0,
    tunnel: 0,
    httpRequest: 0,
    httpKeepAlive: 0,
    queue: 0,
    check: 0,
    tarpit: 0,
    ...t,
  };
}

export function server(name: string, port: number, s: Partial<ServerConfig> = {}): ServerConfig {
  return {
    name,
    address: { kind: "tcp", host: "127.0.0.1", port, family: 4 },
    weight: 1,
    maxconn: 0,
    maxqueue: 0,
    disabled: false,
    backup: false,
    check: false,
    inter: 2000,
    fastinter: 2000,
    downinter: 2000,
    rise: 2,
    fall: 3,
    checkPort: null,
    checkAddr: null,
    cookie: null,
    ...s,
  };
}

export function backend(
  name: string,
  servers: ServerConfig[],
  b: Partial<BackendConfig> = {},
): BackendConfig {
  return {
    name,
    mode: "tcp",
    balance: { algo: "roundrobin", args: [], hashType: "map-based" },
    retries: 3,
    redispatch: false,
    redispatchAfter: -1,
    httpReuse: "safe",
    timeouts: timeouts(),
    options: new Set(),
    optionArgs: new Map(),
    servers,
    httpCheck: [],
    cookie: null,
    httpRequest: [],
    httpResponse: [],
    ...b,
  };
}

export function frontend(name: string, f: Partial<FrontendConfig> = {}): FrontendConfig {
  return {
    name,
    mode: "tcp",
    binds: [{ address: { kind: "tcp", host: "127.0.0.1", port: 0, family: 4 }, backlog: 4096 }],
    maxconn: 0,
    defaultBackend: 0,
    timeouts: timeouts(),
    options: new Set(["tcplog"]),
    optionArgs: new Map(),
    logFormat: null,
    noLog: false,
    acls: [],
    useBackends: [],
    httpRequest: [],
    httpResponse: [],
    stats: null,
    errorFiles: [],
    ...f,
  };
}

export function runtimeConfig(
  frontends: FrontendConfig[],
  backends: BackendConfig[],
): RuntimeConfig {
  return {
    file: "test.yaml",
    global: {
      maxconn: 4096,
      bufsize: 16384,
      bulkBufsize: 65536,
      largeHeadStatus: 400,
      maxrewrite: 1024,
      maxhdr: 101,
      maxaccept: 64,
      bufferLimit: 0,
      log: "none",
    },
    frontends,
    backends,
  };
}
