// Keyword tables of the configuration, one per section.
//
// This file owns the schema: which keys each YAML section accepts, the kind of
// value each takes, its limits and its default. The tables are data only; the
// validator (validate.ts) walks the YAML against them and the resolver
// (resolve.ts) reads the defaults from here, so a key is added in one place.
// Key names are spelled as HAProxy spells its keywords (cfgparse-global.c,
// cfgparse-listen.c, server.c keyword lists), with `tune.` dropped in global.
// It must never read files or report issues.

import type { BalanceAlgo, GlobalConfig, Timeouts } from "./types.ts";
import { H2_GLOBAL_KEYWORDS } from "./h2_keywords.ts";

/** The proxy sections a keyword, option or timeout applies to (HAProxy PR_CAP_*). */
export const CAP_FE = 1;
/** Backend capability. */
export const CAP_BE = 2;
/** Both sides (defaults carry everything). */
export const CAP_ANY = CAP_FE | CAP_BE;

/** Largest integer a numeric keyword accepts unless it says otherwise (32-bit, like HAProxy). */
export const INT_MAX = 2147483647;

/**
 * How the validator reads a value. Each kind produces one parsed type:
 * int/size/duration → number; bool → boolean; enum/string/name/uri/auth →
 * string; host → string; server-address → Address; binds → located Address[];
 * rules → RuleLine[]; rule → RuleLine; options → OptionLine[]; acls →
 * AclLine[]; use-backend → UseBackendLine[]; balance → ParsedBalance;
 * timeouts/stats → a nested Section; servers → Section[]; section → a
 * top-level section walked with its own table; logs → boolean or a list of
 * located LogLine (log_target.ts).
 */
export type Kind =
  | "section"
  | "stats-socket"
  | "int"
  | "size"
  | "duration"
  | "bool"
  | "enum"
  | "string"
  | "name"
  | "uri"
  | "auth"
  | "host"
  | "server-address"
  | "binds"
  | "rules"
  | "rule"
  | "options"
  | "acls"
  | "use-backend"
  | "balance"
  | "timeouts"
  | "stats"
  | "servers"
  | "logs";

/** One configuration key. */
export interface Keyword {
  /** YAML key, in HAProxy spelling. */
  name: string;
  kind: Kind;
  /** Lower bound for int/size/duration. */
  min?: number;
  /** Upper bound for int/size/duration (INT_MAX / MAX_DURATION_MS when absent). */
  max?: number;
  /** Accepted values of an enum. */
  values?: readonly string[];
  /** What an enum value is called in messages ("mode", "log target"). */
  what?: string;
  /** The section is invalid without this key. */
  required?: boolean;
  /** One line for the reference documentation. */
  doc: string;
}

/** A timeout key: which Timeouts field it fills and which side uses it. */
export interface TimeoutKeyword extends Keyword {
  field: keyof Timeouts;
  cap: number;
}

/** A supported `option` (HAProxy "option NAME [ARGS]"). */
export interface OptionKeyword {
  name: string;
  cap: number;
  /** Ignored (with a warning) in a TCP-mode proxy. */
  httpOnly: boolean;
  /** Argument grammar: none, or one of the option-specific ones. */
  args: "none" | "httpchk" | "forwardfor" | "redispatch";
  doc: string;
}

/** A load-balancing algorithm and the grammar of its arguments. */
export interface BalanceKeyword {
  name: BalanceAlgo;
  args: "none" | "uri" | "url_param" | "hdr" | "random";
  /** Needs HTTP mode (layer 7 hash); falls back to roundrobin in TCP mode. */
  l7: boolean;
  doc: string;
}

const MODE: Keyword = {
  name: "mode",
  kind: "enum",
  values: ["tcp", "http"],
  what: "mode",
  doc: "proxy mode: tcp (byte stream) or http (HTTP/1.1 analysis); default tcp",
};
const TIMEOUT: Keyword = {
  name: "timeout",
  kind: "timeouts",
  doc: "map of timeouts (see the timeout table)",
};
const OPTION: Keyword = {
  name: "option",
  kind: "options",
  doc:
    'list of HAProxy option lines, e.g. "redispatch", "httpchk GET /health"; "no NAME" cancels an inherited one',
};
const LOG_FORMAT: Keyword = {
  name: "log-format",
  kind: "rule",
  doc: "custom log line format (HAProxy log-format variables); default: the mode's tcplog/httplog",
};
const LOG: Keyword = {
  name: "log",
  kind: "logs",
  doc:
    'true (default) = "log global"; false = "no log"; or HAProxy log lines, e.g. ["global", "127.0.0.1:514 local0"]',
};
const PROXY_MAXCONN: Keyword = {
  name: "maxconn",
  kind: "int",
  min: 0,
  doc: "maximum concurrent sessions of a frontend; 0 = only the global limit",
};
const RETRIES: Keyword = {
  name: "retries",
  kind: "int",
  min: 0,
  doc: "connection retries after the first failed attempt; default 3",
};
const BALANCE: Keyword = {
  name: "balance",
  kind: "balance",
  doc: 'load-balancing algorithm and its arguments, e.g. "roundrobin", "uri len 12", "hdr(host)"',
};
const HASH_TYPE: Keyword = {
  name: "hash-type",
  kind: "enum",
  values: ["map-based", "consistent"],
  what: "hash type",
  doc: "how hash-based algorithms map keys to servers; default map-based",
};
const HTTP_REUSE: Keyword = {
  name: "http-reuse",
  kind: "enum",
  values: ["never", "safe", "aggressive", "always"],
  what: "http-reuse mode",
  doc: "which requests may use another client's idle server connection: never, safe (follow-up " +
    "requests only), aggressive (also first requests, on connections already reused) or always; " +
    "default safe",
};
const ERRORFILE: Keyword = {
  name: "errorfile",
  kind: "rules",
  doc: 'list of "CODE FILE" lines: FILE\'s content replaces the HTML body of that error reply',
};
const HTTP_REQUEST: Keyword = {
  name: "http-request",
  kind: "rules",
  doc: 'list of HAProxy http-request rules, e.g. "set-header X-Foo bar"',
};
const STICK_TABLE: Keyword = {
  name: "stick-table",
  kind: "rule",
  doc: "the proxy's stick table (named after it), e.g. \"type ip size 100k expire 30s store " +
    'http_req_rate(10s),conn_cur"; see docs/stick_tables.md',
};
const UNIQUE_ID_FORMAT: Keyword = {
  name: "unique-id-format",
  kind: "rule",
  doc: 'format of the unique id of each request (a value: "%[...]", %ci, %cp, %Ts, %rt …)',
};
const UNIQUE_ID_HEADER: Keyword = {
  name: "unique-id-header",
  kind: "string",
  doc: "header the unique id is added to before the request is forwarded",
};
const COMPRESSION: Keyword = {
  name: "compression",
  kind: "rules",
  doc: 'list of "algo gzip deflate", "type text/html text/plain", "offload" lines (mode http)',
};
const TCP_REQUEST: Keyword = {
  name: "tcp-request",
  kind: "rules",
  doc:
    'list of HAProxy tcp-request lines: "inspect-delay 5s", "content accept if { req.ssl_hello_type 1 }", ' +
    '"connection reject if { src 10.0.0.0/8 }" (frontends only)',
};
const HTTP_RESPONSE: Keyword = {
  name: "http-response",
  kind: "rules",
  doc: "list of HAProxy http-response rules",
};

/** Top level of the file. */
export const ROOT_KEYWORDS: readonly Keyword[] = [
  { name: "global", kind: "section", doc: "process-wide settings" },
  { name: "defaults", kind: "section", doc: "values every frontend and backend inherits" },
  { name: "frontends", kind: "section", doc: "map of frontend name → frontend section" },
  { name: "backends", kind: "section", doc: "map of backend name → backend section" },
  {
    name: "tables",
    kind: "section",
    doc: "map of table name → section with a stick-table line (a table with no proxy)",
  },
  { name: "userlists", kind: "section", doc: "map of userlist name → userlist section" },
];

/** `userlists.NAME:` (HAProxy's userlist section). */
export const USERLIST_KEYWORDS: readonly Keyword[] = [
  {
    name: "user",
    kind: "rules",
    doc: 'list of "NAME password HASH|insecure-password PASS [groups G,...]" lines',
  },
  { name: "group", kind: "rules", doc: 'list of "NAME [users U,...]" lines' },
];

/** `tables.NAME:` (a dedicated stick table, like HAProxy's backend that only holds one). */
export const TABLE_KEYWORDS: readonly Keyword[] = [{ ...STICK_TABLE, required: true }];

/** `global:` (HAProxy's global section; tune.* keywords without the prefix). */
export const GLOBAL_KEYWORDS: readonly Keyword[] = [
  {
    name: "maxconn",
    kind: "int",
    min: 1,
    doc: "process-wide maximum of concurrent sessions; default 4096",
  },
  {
    name: "bufsize",
    kind: "size",
    min: 1024,
    max: 1024 ** 3,
    doc: "size of one pool buffer (tune.bufsize); default 16k",
  },
  {
    name: "large-head-status",
    kind: "int",
    min: 400,
    max: 431,
    doc:
      "status for a request head over bufsize - maxrewrite or with too many headers: 400 (default) or 431 (414 when the request line alone is too long)",
  },
  {
    name: "bulk-bufsize",
    kind: "size",
    min: 1024,
    max: 1024 ** 3,
    doc:
      "size of the buffers a busy bulk flow reads into (TCP, tunnels, bodies); default 64k, at least bufsize",
  },
  {
    name: "maxrewrite",
    kind: "size",
    min: 0,
    doc: "room kept free in a buffer for header rewrites (tune.maxrewrite); default 1k",
  },
  {
    name: "maxhdr",
    kind: "int",
    min: 1,
    max: 32767,
    doc: "maximum number of headers in a message (tune.http.maxhdr); default 101",
  },
  {
    name: "maxaccept",
    kind: "int",
    min: 1,
    doc: "connections one listener accepts per event-loop turn (tune.maxaccept); default 64",
  },
  {
    name: "buffer-limit",
    kind: "int",
    min: 0,
    doc: "maximum number of pool buffers; default 0 = unlimited",
  },
  {
    name: "log",
    kind: "logs",
    doc:
      'where log lines go: stdout, stderr, none, or HAProxy log lines ("127.0.0.1:514 local0 info", "/dev/log format rfc5424 daemon", a list for several); default stdout',
  },
  {
    name: "stats",
    kind: "stats-socket",
    doc: "the runtime API socket (HAProxy's stats socket; see the stats socket table)",
  },
  ...H2_GLOBAL_KEYWORDS,
];

/** Resolved global values when a key is absent (HAProxy's built-in defaults). */
export const GLOBAL_DEFAULTS: Readonly<GlobalConfig> = {
  maxconn: 4096,
  bufsize: 16384,
  bulkBufsize: 131072,
  largeHeadStatus: 400,
  maxrewrite: 1024,
  maxhdr: 101,
  maxaccept: 64,
  bufferLimit: 0,
  log: "stdout",
};

/** `defaults:` keys apply to every frontend and backend that does not set them. */
export const DEFAULTS_KEYWORDS: readonly Keyword[] = [
  MODE,
  TIMEOUT,
  PROXY_MAXCONN,
  RETRIES,
  BALANCE,
  HASH_TYPE,
  HTTP_REUSE,
  OPTION,
  LOG_FORMAT,
  LOG,
  ERRORFILE,
  UNIQUE_ID_FORMAT,
  UNIQUE_ID_HEADER,
  COMPRESSION,
];

/** `frontends.NAME:` */
export const FRONTEND_KEYWORDS: readonly Keyword[] = [
  {
    name: "bind",
    kind: "binds",
    required: true,
    doc: 'listening address or list of addresses, e.g. "127.0.0.1:8080", ":80", "[::]:80"',
  },
  MODE,
  PROXY_MAXCONN,
  {
    name: "default_backend",
    kind: "string",
    doc: "backend used when no use_backend rule matches",
  },
  TIMEOUT,
  OPTION,
  LOG_FORMAT,
  LOG,
  {
    name: "acl",
    kind: "acls",
    doc: 'map of ACL name → expression ("path_beg /api"), or list of "NAME EXPRESSION" lines',
  },
  {
    name: "use_backend",
    kind: "use-backend",
    doc: 'list of "BACKEND [if|unless CONDITION]" switching rules, first match wins',
  },
  HTTP_REQUEST,
  HTTP_RESPONSE,
  TCP_REQUEST,
  ERRORFILE,
  { name: "stats", kind: "stats", doc: "statistics page (see the stats table)" },
  STICK_TABLE,
  {
    name: "capture",
    kind: "rules",
    doc: 'list of "request header NAME len N" / "response header NAME len N" captures for the log',
  },
  UNIQUE_ID_FORMAT,
  UNIQUE_ID_HEADER,
  COMPRESSION,
];

/** `backends.NAME:` */
export const BACKEND_KEYWORDS: readonly Keyword[] = [
  MODE,
  BALANCE,
  HASH_TYPE,
  HTTP_REUSE,
  RETRIES,
  OPTION,
  {
    name: "http-check",
    kind: "rules",
    doc: 'list of HAProxy http-check lines, e.g. "expect status 200-399"',
  },
  {
    name: "cookie",
    kind: "rule",
    doc: 'cookie persistence line, e.g. "SERVERID insert indirect nocache"',
  },
  TIMEOUT,
  HTTP_REQUEST,
  HTTP_RESPONSE,
  COMPRESSION,
  TCP_REQUEST,
  {
    name: "use-server",
    kind: "rules",
    doc: 'list of "SERVER [if|unless CONDITION]" lines: the first that holds picks the server',
  },
  { name: "servers", kind: "servers", doc: "list of servers (see the server table)" },
  STICK_TABLE,
  {
    name: "stick",
    kind: "rules",
    doc: 'list of persistence rules "on|match|store-request|store-response EXPR [table T] ' +
      "[if|unless COND]\" (HAProxy's stick on / stick match / stick store-*)",
  },
];

/** One item of `servers:` (HAProxy `server NAME ADDRESS [params]`). */
export const SERVER_KEYWORDS: readonly Keyword[] = [
  { name: "name", kind: "name", required: true, doc: "server name, unique in its backend" },
  {
    name: "address",
    kind: "server-address",
    required: true,
    doc: 'where to connect: "10.0.0.1:80", "host:80", "[::1]:80" or "unix@/path"',
  },
  {
    name: "weight",
    kind: "int",
    min: 0,
    max: 256,
    doc: "share of the traffic, 0..256; 0 takes no new traffic; default 1",
  },
  { name: "maxconn", kind: "int", min: 0, doc: "concurrent connections; 0 = unlimited" },
  { name: "maxqueue", kind: "int", min: 0, doc: "queued streams; 0 = unlimited" },
  { name: "disabled", kind: "bool", doc: "starts in maintenance; default false" },
  { name: "backup", kind: "bool", doc: "used only when no active server is up; default false" },
  { name: "check", kind: "bool", doc: "enable health checks; default false" },
  { name: "inter", kind: "duration", min: 1, doc: "interval between checks; default 2s" },
  {
    name: "fastinter",
    kind: "duration",
    min: 1,
    doc: "interval while a state change is pending; default inter",
  },
  { name: "downinter", kind: "duration", min: 1, doc: "interval while down; default inter" },
  { name: "rise", kind: "int", min: 1, doc: "consecutive successes to go up; default 2" },
  { name: "fall", kind: "int", min: 1, doc: "consecutive failures to go down; default 3" },
  { name: "port", kind: "int", min: 1, max: 65535, doc: "port for health checks" },
  { name: "addr", kind: "host", doc: "address for health checks" },
  { name: "cookie", kind: "string", doc: "value of the persistence cookie for this server" },
  { name: "ssl", kind: "bool", doc: "connect to the server with TLS; default false" },
  {
    name: "verify",
    kind: "enum",
    values: ["none", "required"],
    what: "verify mode",
    doc: "with ssl: check the server's certificate and name (required, default) or not (none)",
  },
  {
    name: "ca-file",
    kind: "string",
    doc: "with ssl: PEM file of the CAs that sign the server's certificate",
  },
  {
    name: "crt",
    kind: "string",
    doc: "with ssl: client certificate (PEM chain + key) sent to the server",
  },
  {
    name: "sni",
    kind: "string",
    doc:
      "with ssl: server name sent and verified: a host name, str(NAME), or a sample expression evaluated per connection (req.hdr(host), ssl_fc_sni)",
  },
  {
    name: "check-sni",
    kind: "string",
    doc: "server name sent by TLS health checks (a host name); default none",
  },
  {
    name: "alpn",
    kind: "string",
    doc: 'with ssl: ALPN protocols offered, comma-separated ("http/1.1")',
  },
  {
    name: "check-ssl",
    kind: "bool",
    doc: "health checks over TLS; default: as the server when checks use its own port",
  },
  {
    name: "send-proxy",
    kind: "bool",
    doc: "start every connection with a PROXY protocol v1 header (the client's addresses)",
  },
  {
    name: "send-proxy-v2",
    kind: "bool",
    doc: "start every connection with a PROXY protocol v2 header",
  },
  {
    name: "send-proxy-v2-ssl",
    kind: "bool",
    doc: "send-proxy-v2 with the SSL TLV (whether the client came over TLS, and its version)",
  },
];

/** Server values when a key is absent; fastinter/downinter default to inter. */
export const SERVER_DEFAULTS = {
  weight: 1,
  maxconn: 0,
  maxqueue: 0,
  inter: 2000,
  rise: 2,
  fall: 3,
} as const;

function timeout(name: string, field: keyof Timeouts, cap: number, doc: string): TimeoutKeyword {
  return { name, kind: "duration", field, cap, doc };
}

/** `timeout:` map, in defaults, frontends and backends. */
export const TIMEOUT_KEYWORDS: readonly TimeoutKeyword[] = [
  timeout("connect", "connect", CAP_BE, "maximum time to establish a server connection"),
  timeout("client", "client", CAP_FE, "maximum inactivity of the client side"),
  timeout("server", "server", CAP_BE, "maximum inactivity of the server side"),
  timeout("client-fin", "clientFin", CAP_FE, "inactivity of a half-closed client side"),
  timeout("server-fin", "serverFin", CAP_BE, "inactivity of a half-closed server side"),
  timeout("tunnel", "tunnel", CAP_BE, "inactivity in a tunnel (TCP data, Upgrade, CONNECT)"),
  timeout("http-request", "httpRequest", CAP_ANY, "time to receive a whole request head (408)"),
  timeout("http-keep-alive", "httpKeepAlive", CAP_ANY, "idle time between two requests"),
  timeout("queue", "queue", CAP_BE, "time a stream may wait in a queue (503)"),
  timeout("check", "check", CAP_BE, "health check read timeout after connect"),
  timeout("tarpit", "tarpit", CAP_ANY, "how long http-request tarpit holds a request"),
];

/** `stats:` map of a frontend. */
export const STATS_KEYWORDS: readonly Keyword[] = [
  { name: "uri", kind: "uri", doc: "path of the stats page; default /stats" },
  { name: "refresh", kind: "duration", doc: "auto-refresh period of the page; default 0 (none)" },
  { name: "auth", kind: "auth", doc: 'basic authentication "user:password"; default none' },
  { name: "admin", kind: "bool", doc: "allow admin actions on the page; default false" },
  { name: "prometheus", kind: "uri", doc: "path of the Prometheus exporter; default none" },
];

/** `global: { stats: ... }`: the runtime API socket (HAProxy's `stats socket` line and `stats timeout`/`maxconn`). */
export const STATS_SOCKET_KEYWORDS: readonly Keyword[] = [
  {
    name: "socket",
    kind: "string",
    required: true,
    doc: 'a unix socket path ("/run/sluice.sock") or a loopback TCP address ("127.0.0.1:9999")',
  },
  {
    name: "mode",
    kind: "int",
    min: 0,
    max: 777,
    doc: "octal mode of the unix socket; default 600",
  },
  {
    name: "level",
    kind: "enum",
    values: ["user", "operator", "admin"],
    what: "level",
    doc: "what the socket may do: user, operator (default) or admin, as HAProxy",
  },
  {
    name: "timeout",
    kind: "duration",
    doc: "idle time before a CLI connection closes; default 10s",
  },
  { name: "maxconn", kind: "int", min: 1, doc: "concurrent CLI connections; default 10" },
];

/** Options this proxy supports; any other name is an error. */
export const OPTION_KEYWORDS: readonly OptionKeyword[] = [
  {
    name: "redispatch",
    cap: CAP_BE,
    httpOnly: false,
    args: "redispatch",
    doc:
      "retry on another server after a failed connection; arg: [INTERVAL] (default -1: the last retry)",
  },
  {
    name: "tcplog",
    cap: CAP_FE,
    httpOnly: false,
    args: "none",
    doc: "TCP log line format",
  },
  {
    name: "httplog",
    cap: CAP_FE,
    httpOnly: true,
    args: "none",
    doc: "HTTP log line format",
  },
  {
    name: "dontlognull",
    cap: CAP_FE,
    httpOnly: false,
    args: "none",
    doc: "do not log sessions that carried no data",
  },
  {
    name: "http-server-close",
    cap: CAP_ANY,
    httpOnly: true,
    args: "none",
    doc: "close the server connection after each response",
  },
  {
    name: "httpclose",
    cap: CAP_ANY,
    httpOnly: true,
    args: "none",
    doc: "close both connections after each response",
  },
  {
    name: "http-keep-alive",
    cap: CAP_ANY,
    httpOnly: true,
    args: "none",
    doc: "keep both connections open between requests (the default in HTTP mode)",
  },
  {
    name: "forwardfor",
    cap: CAP_ANY,
    httpOnly: true,
    args: "forwardfor",
    doc: "add X-Forwarded-For; args: [except NETWORK] [header NAME] [if-none]",
  },
  {
    name: "httpchk",
    cap: CAP_BE,
    httpOnly: false,
    args: "httpchk",
    doc: "HTTP health checks; args: [METHOD] [URI] [VERSION]",
  },
  {
    name: "allbackups",
    cap: CAP_BE,
    httpOnly: false,
    args: "none",
    doc: "use all backup servers at once when no active one is up",
  },
  {
    name: "abortonclose",
    cap: CAP_BE,
    httpOnly: false,
    args: "none",
    doc: "drop a queued or connecting request when the client goes away",
  },
  {
    name: "log-health-checks",
    cap: CAP_BE,
    httpOnly: false,
    args: "none",
    doc: "log every health check state change",
  },
  {
    name: "tcp-check",
    cap: CAP_BE,
    httpOnly: false,
    args: "none",
    doc: "TCP connect health checks (the default)",
  },
  {
    name: "idle-close-on-response",
    cap: CAP_FE,
    httpOnly: true,
    args: "none",
    doc:
      "soft stop: keep idle keep-alive connections until their next response (Connection: close)",
  },
];

/** Load-balancing algorithms (HAProxy `balance`). */
export const BALANCE_KEYWORDS: readonly BalanceKeyword[] = [
  { name: "roundrobin", args: "none", l7: false, doc: "weighted round robin, dynamic weights" },
  { name: "static-rr", args: "none", l7: false, doc: "weighted round robin, static weights" },
  { name: "leastconn", args: "none", l7: false, doc: "server with the fewest connections" },
  { name: "first", args: "none", l7: false, doc: "first server with a free slot" },
  { name: "source", args: "none", l7: false, doc: "hash of the client address" },
  {
    name: "uri",
    args: "uri",
    l7: true,
    doc: "hash of the URI; args: [len N] [depth N] [whole] [path-only]",
  },
  {
    name: "url_param",
    args: "url_param",
    l7: true,
    doc: "hash of a query parameter: url_param NAME",
  },
  { name: "hdr", args: "hdr", l7: true, doc: "hash of a header: hdr(NAME) [use_domain_only]" },
  { name: "random", args: "random", l7: false, doc: "random draw; random(N) = best of N draws" },
];

/** ACLs HAProxy predefines; a condition may name them without declaring them. */
export const PREDEFINED_ACLS: ReadonlySet<string> = new Set([
  "FALSE",
  "HTTP",
  "HTTP_1.0",
  "HTTP_1.1",
  "HTTP_2.0",
  "HTTP_3.0",
  "HTTP_CONTENT",
  "HTTP_URL_ABS",
  "HTTP_URL_SLASH",
  "HTTP_URL_STAR",
  "LOCALHOST",
  "METH_CONNECT",
  "METH_DELETE",
  "METH_GET",
  "METH_HEAD",
  "METH_OPTIONS",
  "METH_POST",
  "METH_PUT",
  "METH_TRACE",
  "RDP_COOKIE",
  "REQ_CONTENT",
  "TRUE",
  "WAIT_END",
]);

/** Finds a keyword by name in a table, or undefined. */
export function findKeyword<K extends { name: string }>(
  table: readonly K[],
  name: string,
): K | undefined {
  return table.find((k) => k.name === name);
}
