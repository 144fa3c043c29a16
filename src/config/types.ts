// Types of the resolved configuration (the RuntimeConfig).
//
// This file holds only types and the defaults table's shape; the YAML loader
// (load.ts), the keyword tables (keywords.ts), validation (validate.ts) and the
// resolution pass (resolve.ts) produce these objects. Everything the proxy reads
// at run time comes from here, already parsed: durations are milliseconds,
// sizes are bytes, addresses are split, names are resolved to objects' indexes.
// Mirrors HAProxy's `struct proxy`, `struct server` and `struct global`.

/** A duration in milliseconds; 0 means "no timeout" (infinite), as in HAProxy. */
export type Millis = number;

/** Every timeout a proxy section may carry. 0 = not set (infinite). */
export interface Timeouts {
  connect: Millis;
  client: Millis;
  server: Millis;
  /** Lingering time of a half-closed client side (HAProxy `timeout client-fin`). */
  clientFin: Millis;
  /** Lingering time of a half-closed server side (HAProxy `timeout server-fin`). */
  serverFin: Millis;
  /** Idle time in a tunnel (TCP mode data phase, or after Upgrade/CONNECT). */
  tunnel: Millis;
  /** Whole request head must arrive within this (HTTP mode; 408). */
  httpRequest: Millis;
  /** Idle time between two requests on a keep-alive client connection. */
  httpKeepAlive: Millis;
  /** Time a stream may wait in a server/backend queue (503). */
  queue: Millis;
  /** Health check timeout (read after connect). */
  check: Millis;
  /** Pause between two connection retries (HAProxy "turn-around" TAR). */
  tarpit: Millis;
}

export type ProxyMode = "tcp" | "http";

/** One listening address of a frontend with its bind options, defaults applied. */
export interface BindConfig {
  address: Address;
  /** Length of the kernel's accept queue (bind `backlog`; default: maxconn, as HAProxy). */
  backlog: number;
  /** TLS termination (`ssl crt ...`), null for a cleartext bind. */
  ssl?: BindSsl | null;
  /** Where the bind line is (errors about its files); absent in configs built in code. */
  at?: Position & { path: string };
  /** `accept-proxy`: read a PROXY protocol header before anything else (absent: false). */
  acceptProxy?: boolean;
  /** bind `proto h2`: HTTP/2 with prior knowledge (cleartext); absent: HTTP/1.1. */
  proto?: "h2" | null;
}

/** HTTP/2 limits (global `h2.*`, HAProxy's tune.h2.*; see docs/http2.md). */
export interface H2Tune {
  /** tune.h2.header-table-size: our HPACK decoder's table (default 4096, max 65536). */
  headerTableSize: number;
  /** tune.h2.initial-window-size: each stream's receive window (default 65535). */
  initialWindowSize: number;
  /** tune.h2.max-concurrent-streams: open streams per connection (default 100; 0: no limit). */
  maxConcurrentStreams: number;
  /** tune.h2.max-frame-size: the largest frame we accept (default 16384). */
  maxFrameSize: number;
  /** tune.h2.max-header-list-size: largest decoded header list (§4.1 sizes; default 16384). */
  maxHeaderListSize: number;
  /** tune.h2.fe.max-continuations: CONTINUATION frames one header block may use (default 16). */
  maxContinuations: number;
  /** tune.h2.fe.max-resets-per-sec: streams cancelled before their response, per second (100). */
  maxResetsPerSec: number;
  /** tune.h2.fe.max-empty-frames-per-sec: empty DATA/HEADERS/CONTINUATION per second (100). */
  maxEmptyFramesPerSec: number;
  /** tune.h2.fe.max-settings-per-sec: SETTINGS frames per second (50). */
  maxSettingsPerSec: number;
  /** tune.h2.fe.max-pings-per-sec: PING frames per second (50). */
  maxPingsPerSec: number;
  /** tune.h2.settings-timeout: ms to wait for the client's SETTINGS acknowledgement (10s). */
  settingsTimeout: number;
}

/** The TLS options of a bind line (`ssl crt FILE|DIR alpn ... verify ... ca-file ...`). */
export interface BindSsl {
  /** Certificate files or directories, in order: the first certificate loaded is the default. */
  crt: readonly string[];
  /**
   * `crt-list FILE` (HAProxy's): files listing certificates with their SNI
   * filters; `pos` is the number of `crt` written before it on the line, so
   * that the first certificate loaded (the default) is the first written.
   */
  crtList?: readonly { path: string; pos: number }[];
  /** ALPN protocols offered, preferred first; [] for none. */
  alpn: readonly string[];
  /** Lowest protocol version accepted. */
  minVer: "TLSv1.2" | "TLSv1.3";
  /** Client certificates: not asked (none), asked (optional), or demanded (required). */
  verify: "none" | "optional" | "required";
  /** CAs that sign accepted client certificates (needed unless verify is none). */
  caFile: string | null;
}

/** TLS towards a server (`ssl: true` and its keys). */
export interface ServerSsl {
  /** `verify`: "required" (default) checks the chain and the name; "none" checks nothing. */
  verify: "none" | "required";
  /** CAs to trust instead of the system roots' defaults (added to them: see docs/tls.md). */
  caFile: string | null;
  /** Client certificate (PEM chain + key) presented to the server. */
  crt: string | null;
  /** Server name sent (SNI) and checked, when a literal; null: the address's host name. */
  sni: string | null;
  /**
   * `sni` as a sample expression (`req.hdr(host)`, `ssl_fc_sni`), evaluated
   * per connection by the stream; null when `sni` is a literal or absent.
   */
  sniExpr: { text: string; at: Position & { path: string } } | null;
  /** ALPN protocols offered; [] for none. */
  alpn: readonly string[];
  /** Where the server is defined (errors about its files). */
  at: Position & { path: string };
}

/** A listening or connecting address. */
export type Address =
  | { kind: "tcp"; host: string; port: number; family: 4 | 6 }
  | { kind: "unix"; path: string };

/**
 * How a log line is framed (HAProxy's `log ... format F`): `local` is rfc3164
 * without the host name (HAProxy's default), `raw` the bare line.
 */
export type LogFraming =
  | "raw"
  | "local"
  | "rfc3164"
  | "rfc5424"
  | "priority"
  | "short"
  | "timed"
  | "iso";

/**
 * One log target (HAProxy's `log <address> [len N] [format F] <facility>
 * [<level> [<minlevel>]]`): the process's stdout or stderr, a UDP syslog
 * server (`tcp` address: IP literal and port), or a unix datagram socket.
 */
export interface LogTarget extends Position {
  address: { kind: "stdout" } | { kind: "stderr" } | Address;
  framing: LogFraming;
  /** Syslog facility number, 0..23 (local0 = 16). */
  facility: number;
  /** Messages less important than this level (0 emerg .. 7 debug) are not sent. */
  maxLevel: number;
  /** Messages more important than this level are sent at this level. */
  minLevel: number;
  /** Longest line sent (`len`), 0: no limit. */
  len: number;
}

export interface GlobalConfig {
  /** The runtime API socket (`stats: { socket: ... }`); absent = none. */
  statsSocket?: StatsSocketConfig;
  /** Process-wide maximum of concurrent client sessions. */
  maxconn: number;
  /** Size of one pool buffer in bytes (HAProxy tune.bufsize). */
  bufsize: number;
  /**
   * Size of the buffers busy bulk flows read into (TCP data, tunnels, bodies).
   * Deno's per-read cost is higher than a system call's, so a busy flow reads
   * in larger chunks; idle and head-parsing channels never use them.
   */
  bulkBufsize: number;
  /** Status for an oversize request head: 400 (default) or 431 (414 for a long request line). */
  largeHeadStatus: number;
  /** Reserve kept free in a buffer for header rewrites (tune.maxrewrite). */
  maxrewrite: number;
  /** Maximum number of headers in one message (tune.http.maxhdr). */
  maxhdr: number;
  /** Most connections one listener accepts per event-loop turn (tune.maxaccept). */
  maxaccept: number;
  /** Optional limit on the number of pool buffers (0 = unlimited). */
  bufferLimit: number;
  /**
   * Where log lines go (`log` lines; empty with `log: none`). Configs built in
   * code may use the short spellings (log_target.ts logTargetList() expands them).
   */
  log: readonly LogTarget[] | "stdout" | "stderr" | "none";
  /** HTTP/2 limits (absent when no h2.* key is set, and in configs built in code: the defaults apply). */
  h2?: H2Tune;
}

/** A frontend after resolution. */
export interface FrontendConfig {
  name: string;
  mode: ProxyMode;
  binds: BindConfig[];
  /** Frontend maxconn; 0 = only the global limit applies. */
  maxconn: number;
  /** Index into RuntimeConfig.backends, or -1 when there is none. */
  defaultBackend: number;
  timeouts: Timeouts;
  /** Options in HAProxy spelling, e.g. "tcplog", "httplog", "dontlognull". */
  options: ReadonlySet<string>;
  /** Arguments of the options that take some, e.g. "forwardfor" → ["except", "127.0.0.0/8"]. */
  optionArgs: ReadonlyMap<string, readonly string[]>;
  /**
   * Where each option of `options` was set (its option line), for the errors
   * found when compiling it (option forwardfor). Absent in configs built in code.
   */
  optionLines?: ReadonlyMap<string, Position>;
  /** Custom log-format string with its position, or null for the mode's default (tcplog/httplog). */
  logFormat: RuleLine | null;
  /** `no log`: sessions of this frontend are not logged. */
  noLog: boolean;
  /** Where its lines go (`log global` expanded); absent: the global targets. */
  logTargets?: readonly LogTarget[];
  /** Raw HAProxy-syntax lines kept for the HTTP layer (acl, use_backend, http-request ...). */
  acls: ReadonlyArray<{ name: string; expr: string; line: number; col: number }>;
  /**
   * use_backend lines; `dynamic` is the backend name as a log-format value
   * (`%[req.hdr(host),map_dom(hosts.map)]`, backend -1), resolved per request.
   */
  useBackends: ReadonlyArray<
    { backend: number; dynamic?: string; cond: string; line: number; col: number }
  >;
  httpRequest: ReadonlyArray<RuleLine>;
  httpResponse: ReadonlyArray<RuleLine>;
  /** Raw `tcp-request` lines (absent: none). */
  tcpRequest?: ReadonlyArray<RuleLine>;
  /** Stats page / prometheus settings (issue 4), null when disabled. */
  stats: StatsConfig | null;
  /** Raw `errorfile` lines ("503 /path/503.html"), from the frontend or defaults. */
  errorFiles: ReadonlyArray<RuleLine>;
  /** Raw `stick-table` line (the table takes the frontend's name), null/absent when none. */
  stickTable?: RuleLine | null;
  /** Raw `capture` lines ("request header Host len 20"), compiled by src/proxy/compile.ts. */
  captures?: ReadonlyArray<RuleLine>;
  /** `unique-id-format` (own or from defaults), null when not set. */
  uniqueIdFormat?: RuleLine | null;
  /** `unique-id-header`, null when not set. */
  uniqueIdHeader?: string | null;
  /** `compression` (own or from defaults), null when not set. */
  compression?: CompressionSettings | null;
}

/** A place in the configuration file: 1-based line and column (0 when unknown). */
export interface Position {
  line: number;
  col: number;
}

/**
 * One raw text value compiled after resolution (an `http-request` /
 * `http-response` / `http-check` / `errorfile` line, `cookie`, `log-format`)
 * with the position of its content, for errors.
 */
export interface RuleLine extends Position {
  text: string;
}

export interface StatsConfig {
  uri: string;
  refresh: Millis;
  auth: { user: string; password: string } | null;
  admin: boolean;
  prometheusUri: string | null;
}

export type BalanceAlgo =
  | "roundrobin"
  | "static-rr"
  | "leastconn"
  | "first"
  | "source"
  | "uri"
  | "url_param"
  | "hdr"
  | "random";

export interface BalanceConfig {
  algo: BalanceAlgo;
  /** Algorithm arguments in HAProxy spelling, e.g. ["len", "12"] for uri, or the param name. */
  args: string[];
  hashType: "map-based" | "consistent";
}

/** Options of `balance uri` (HAProxy: `len`, `depth`, `whole`, `path-only`). */
export interface UriHashOptions {
  /** Hash at most this many characters of the (path-only) URI; 0 = no limit. */
  len: number;
  /** Hash up to (excluding) the (depth+1)-th slash; 0 = no limit. */
  depth: number;
  /** Include the query string (by default hashing stops at the `?`). */
  whole: boolean;
  /** Strip the scheme and authority of an absolute URI first. */
  pathOnly: boolean;
}

/**
 * A BalanceConfig with its arguments compiled to values, once, by
 * config/balance.ts: what backend/lb.ts builds a balancer from. Arguments an
 * algorithm does not take keep their defaults.
 */
export interface CompiledBalance {
  algo: BalanceAlgo;
  hashType: BalanceConfig["hashType"];
  /** random: number of draws (>= 1, default 2). */
  draws: number;
  /** uri: hashing options. */
  uri: UriHashOptions;
  /** url_param: the query parameter name (case-sensitive). */
  param: string;
  /** hdr: the header name, lower-cased. */
  header: string;
  /** hdr: hash only the domain label before the TLD (`use_domain_only`). */
  domainOnly: boolean;
}

export interface ServerConfig {
  name: string;
  address: Address;
  /** 0..256; 0 takes no new traffic. */
  weight: number;
  /** 0 = unlimited. */
  maxconn: number;
  /** 0 = unlimited. */
  maxqueue: number;
  disabled: boolean;
  backup: boolean;
  check: boolean;
  inter: Millis;
  fastinter: Millis;
  downinter: Millis;
  rise: number;
  fall: number;
  /** Port/address for health checks, null = the server's own. */
  checkPort: number | null;
  checkAddr: string | null;
  /** Value for cookie persistence, null when not set. */
  cookie: string | null;
  /** TLS to the server (`ssl: true`), null for cleartext. */
  ssl?: ServerSsl | null;
  /** `check-ssl`: health checks over TLS (implied by `ssl` unless set to false). */
  checkSsl?: boolean;
  /** `check-sni`: the server name of TLS health checks (absent: none sent, as HAProxy). */
  checkSni?: string;
  /**
   * PROXY protocol header sent first on every connection: 0 none (absent:
   * none), 1 `send-proxy`, 2 `send-proxy-v2`, 3 `send-proxy-v2-ssl`.
   */
  sendProxy?: number;
}

/** A backend after resolution. */
/** HAProxy's `http-reuse` modes (see docs/configuration.md). */
export type HttpReuse = "never" | "safe" | "aggressive" | "always";

export interface BackendConfig {
  name: string;
  mode: ProxyMode;
  balance: BalanceConfig;
  /** Connection retries after the first attempt (HAProxy `retries`, default 3). */
  retries: number;
  /** option redispatch: retry on another server. */
  redispatch: boolean;
  /**
   * `option redispatch <interval>` (HAProxy's redispatch_after): P > 0
   * redispatches on every Pth retry, N < 0 on the Nth retry before the last
   * (-1, the default: the last one). 0 turns redispatch off.
   */
  redispatchAfter: number;
  /** `http-reuse`: which requests may take another client's idle server connection. */
  httpReuse: HttpReuse;
  timeouts: Timeouts;
  options: ReadonlySet<string>;
  /** Arguments of the options that take some, e.g. "httpchk" → ["GET", "/health"]. */
  optionArgs: ReadonlyMap<string, readonly string[]>;
  /** Where each option of `options` was set, as in FrontendConfig. */
  optionLines?: ReadonlyMap<string, Position>;
  servers: ServerConfig[];
  /** Raw `http-request`/`http-response` lines of the backend (HTTP layer). */
  httpRequest: ReadonlyArray<RuleLine>;
  httpResponse: ReadonlyArray<RuleLine>;
  /** Raw `tcp-request` and `use-server` lines (absent: none). */
  tcpRequest?: ReadonlyArray<RuleLine>;
  useServer?: ReadonlyArray<RuleLine>;
  /** Raw `http-check` lines (health-check layer), e.g. "expect status 200-399". */
  httpCheck: ReadonlyArray<RuleLine>;
  /** Raw `cookie` line ("SERVERID insert indirect nocache"), null when not set. */
  cookie: RuleLine | null;
  /** Raw `stick-table` line (the table takes the backend's name), null/absent when none. */
  stickTable?: RuleLine | null;
  /** Raw `stick` lines ("on src", "store-response res.hdr(x) table t"). */
  stick?: ReadonlyArray<RuleLine>;
  /** `compression` (own or from defaults), null when not set. */
  compression?: CompressionSettings | null;
}

/** A dedicated stick table (`tables.NAME.stick-table`). */
export interface TableConfig {
  name: string;
  stickTable: RuleLine;
}

/** The frozen, fully resolved configuration the proxy runs on. */
export interface RuntimeConfig {
  /** Path of the file it came from (for messages). */
  file: string;
  global: GlobalConfig;
  frontends: FrontendConfig[];
  backends: BackendConfig[];
  /** Dedicated stick tables (`tables:`); absent in configs built in code. */
  tables?: TableConfig[];
  /** `userlists:` sections, raw lines compiled by src/proxy/compile.ts (absent: none). */
  userlists?: UserlistConfig[];
}

/** `compression` lines of a proxy, parsed (HAProxy's comp settings). */
export interface CompressionSettings {
  /** `algo`: "gzip" / "deflate", in preference order. */
  algos: readonly string[];
  /** `type`: Content-Type prefixes to compress, lower-case; empty = any. */
  types: readonly string[];
  /** `offload`: Accept-Encoding removed from requests so servers answer uncompressed. */
  offload: boolean;
}

/** A userlist section (HAProxy `userlist NAME`): its `user` and `group` lines. */
export interface UserlistConfig {
  name: string;
  users: ReadonlyArray<RuleLine>;
  groups: ReadonlyArray<RuleLine>;
}

/** One configuration problem, with its position and the key path. */
export interface ConfigIssue {
  severity: "error" | "warning";
  file: string;
  line: number;
  col: number;
  /** Key path, e.g. "frontends.fe_main.timeout.client". */
  path: string;
  message: string;
}

/** Access level of a runtime API socket, as HAProxy: user < operator < admin. */
export type CliLevel = "user" | "operator" | "admin";

/** The runtime API socket (HAProxy's `stats socket`, `stats timeout`, `stats maxconn`). */
export interface StatsSocketConfig {
  /** A unix socket path, or a loopback TCP address. */
  address: Address;
  /** Permission bits of the unix socket (0o600 by default). */
  mode: number;
  level: CliLevel;
  /** Idle time before a CLI connection closes, ms. */
  timeout: Millis;
  /** Concurrent CLI connections. */
  maxconn: number;
}

// Note about invariants: a RuntimeConfig is only produced when there is no
// issue of severity "error"; every backend index in it is valid; every
// frontend has at least one bind; modes of a frontend and its backends match.
