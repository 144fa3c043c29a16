// Types of the layer-4 rules (HAProxy's tcp_rules.c and action-t.h): the
// compiled `tcp-request` rules of a proxy, the action table every rule
// action plugs into, and what the rules and the content analysers need of
// a stream, its frontend, backend and servers (declared here, implemented
// above, as http/http_stream.ts does for the HTTP analysers).
//
// Only types and constants: the logic is in tcp_rules.ts (compiling and
// running rules) and tcp_inspect.ts (the analysers).

import type { Channel } from "../channel/channel.ts";
import type { Condition } from "../acl/acl.ts";
import type { PeerAddr } from "../listener/protocol.ts";
import type { SampleCtx } from "../sample/types.ts";

// ---------------------------------------------------------------------------
// Rule sets (HAProxy's tcp-request connection / content rule lists).

/** `tcp-request connection ...`: evaluated once per accepted connection, before any byte. */
export const TCP_RS_CONN = 0x1;
/** `tcp-request content ...`: evaluated on the request data, until inspect-delay. */
export const TCP_RS_CONTENT = 0x2;

/** What an action's run() tells the rule engine. */
/** Go on with the next rule (an action that only records something: set-var, track-sc). */
export const TCP_ACT_CONTINUE = 0;
/** Stop evaluating: the rules accept (HAProxy ACT_RET_STOP). */
export const TCP_ACT_STOP = 1;
/** Reject: the connection or stream is closed (HAProxy ACT_RET_DENY). */
export const TCP_ACT_DENY = 2;
/** Not possible yet, evaluate this rule again when more data came (HAProxy ACT_RET_YIELD). */
export const TCP_ACT_YIELD = 3;

/** What a rule runs against: its sample context, and the stream (content rules) or the connection. */
export interface TcpRuleSubject {
  readonly sample: SampleCtx;
  /** The stream (content rules); null for connection rules. */
  readonly stream: TcpStream | null;
  /** Connection rules: `expect-proxy layer4` asks for a PROXY header before anything else. */
  expectProxy: boolean;
}

/**
 * One action keyword (HAProxy's struct action_kw): parsed once at load
 * time, run per evaluation. Other subsystems add theirs with
 * registerTcpAction() (tcp_rules.ts): track-sc, set-var...
 */
export interface TcpAction {
  /**
   * Keyword, e.g. "accept", "use-server", "expect-proxy". A written keyword
   * `NAME(ARGS)` finds the action `NAME` (`set-var(txn.x)` → "set-var"), and
   * a name ending in `*` matches every keyword starting with the rest
   * (`track-sc*` → track-sc0, track-sc1, track-sc2), as HAProxy's keyword
   * lists do; parse() gets the keyword as written.
   */
  readonly name: string;
  /** TCP_RS_* sets it may be used in. */
  readonly where: number;
  /** Only in a backend section (it needs the backend's servers). */
  readonly backendOnly?: boolean;
  /**
   * Parses the words between the keyword and `if`/`unless`. Returns the
   * action's argument (any value, passed back to run()) or `{ error }`.
   */
  parse(words: readonly string[], env: TcpParseEnv, keyword: string): unknown;
  /** Runs it; returns a TCP_ACT_* code. Must not throw on any input. */
  run(arg: unknown, subject: TcpRuleSubject): number;
}

/** What an action's parser may look up. */
export interface TcpParseEnv {
  /** The section is a backend. */
  readonly backend: boolean;
  /** Server names of the backend (index = position), [] in a frontend. */
  readonly servers: readonly string[];
}

/** A compiled rule. */
export interface TcpRule {
  readonly action: TcpAction;
  readonly arg: unknown;
  /** null: unconditional. The condition is compiled without `if`/`unless`. */
  readonly cond: Condition | null;
  /** `unless`: the rule applies when the condition is false. */
  readonly unless: boolean;
  /** Where it was written (messages). */
  readonly line: number;
  readonly col: number;
}

/** A proxy's compiled `tcp-request` lines. */
export interface TcpRuleSet {
  /** `tcp-request inspect-delay`, ms; 0 = rules are evaluated once, on what is there. */
  readonly inspectDelay: number;
  readonly connection: readonly TcpRule[];
  readonly content: readonly TcpRule[];
}

/** A backend `use-server SRV [if|unless COND]` line. */
export interface TcpServerRule {
  /** Index into the backend's servers. */
  readonly server: number;
  readonly cond: Condition | null;
  readonly unless: boolean;
}

// ---------------------------------------------------------------------------
// What the rules and analysers see of a stream.

/** A server as the TCP rules see it. */
export interface TcpServer {
  readonly name: string;
  /** It may take traffic (UP or draining, not in maintenance). */
  readonly usable: boolean;
  readonly cur: number;
  readonly maxconn: number;
}

/** A backend as the TCP rules see it (backend/backend.ts). */
export interface TcpBackend {
  readonly cfg: { readonly retries: number };
  readonly tcpRules: TcpRuleSet | null;
  readonly useServers: readonly TcpServerRule[];
  readonly servers: readonly TcpServer[];
  readonly counters: { denied: number };
}

/** A frontend as the TCP rules see it (frontend/frontend.ts). */
export interface TcpFrontend {
  readonly tcpRules: TcpRuleSet | null;
  /** It has use_backend rules (TCP mode then waits for the switching analyser). */
  readonly hasUseBackend: boolean;
  readonly counters: { denied: number };
  /** use_backend, else default_backend; null for none. */
  selectBackend(ctx: SampleCtx): TcpBackend | null;
}

/** A stream as the TCP analysers drive it (stream/stream.ts). */
export interface TcpStream {
  readonly ctx: { readonly cfg: { readonly global: { readonly bufsize: number } } };
  readonly fe: TcpFrontend;
  readonly be: TcpBackend | null;
  /** The server chosen so far (`use-server` sets it). */
  srv: TcpServer | null;
  readonly req: Channel;
  /** The server side: INI while the analysers run, REQ (or ASS) to connect. */
  readonly srvSi: { state: number; connRetries: number };
  readonly clientAddr: PeerAddr;
  readonly frontAddr: PeerAddr;
  now(): number;
  setBackend(be: TcpBackend): void;
  setTermination(err: number, finst: number): void;
  /** Ends the stream now with the termination state recorded (logged). */
  endStream(): void;
}

// Note about invariants: rule sets, rules and their arguments are frozen
// once compiled and shared by every stream; an action's run() keeps no
// per-stream state of its own (it writes to the subject).
