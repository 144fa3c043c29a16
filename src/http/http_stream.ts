// What the HTTP layer needs of a stream, of its frontend, backend and server,
// and of the process (HAProxy's http_ana.c sees `struct stream`; here the
// HTTP analysers see this interface).
//
// The stream (src/stream/stream.ts) implements HttpStream and runs the
// analysers; the proxy's Frontend and the backend's Backend and Server
// satisfy the views below. Declaring them here keeps the path one-way: the
// analysers, rules, cookies and forwardfor (all in http/) call the stream
// for transport things (a server connection, a reply to send, the end of a
// transaction) and never import the stream, the backend or the process
// (docs/internals/architecture.md).
//
// Only types: nothing here runs.

import type { ErrorCaptures } from "./error_capture.ts";
import type { Pools } from "../buf/pool.ts";
import type { Channel } from "../channel/channel.ts";
import type { BackendConfig, FrontendConfig, RuntimeConfig } from "../config/types.ts";
import type { PeerAddr } from "../listener/protocol.ts";
import type { SampleCtx } from "../sample/types.ts";
import type { Condition } from "../acl/acl.ts";
import type { StatsApplet } from "./applet.ts";
import type { CookieConfig } from "./cookie.ts";
import type { ErrorReplies } from "./http_errors.ts";
import type { ForwardFor, Rule } from "./http_rules.ts";
import type { HttpTxn } from "./txn.ts";
import type { StickRule } from "./stick_types.ts";

/** What the HTTP layer reads of the process. */
export interface HttpCtx {
  readonly cfg: RuntimeConfig;
  readonly pools: Pools;
  /** Soft stop in progress: connections close after their response. */
  readonly stopping: boolean;
  /** The stats page and Prometheus exporter. */
  readonly stats: StatsApplet;
  /** Debug messages (`-d`): why the proxy answered. */
  readonly logger: { readonly debugEnabled: boolean; debug(msg: string): void };
  /** Refused messages kept for the runtime API's `show errors`; absent = none kept. */
  readonly errorCaptures?: ErrorCaptures;
}

/** A frontend as the HTTP layer sees it (frontend/frontend.ts). */
export interface HttpFrontend {
  readonly name: string;
  readonly cfg: FrontendConfig;
  readonly httpReqRules: readonly Rule[];
  readonly httpResRules: readonly Rule[];
  readonly forwardFor: ForwardFor | null;
  /** Its http-response rules read request fetches (the request must be kept for them). */
  readonly resRulesUseRequest: boolean;
  /** The compiled log format, null with `log: false` (only its presence matters here). */
  readonly logFormat: unknown;
  readonly errorReplies: ErrorReplies;
  /** A reload replaced it: its connections close after their next response. */
  readonly retired: boolean;
  readonly counters: {
    errors: number;
    httpReqs: number;
    denied: number;
    deniedResp: number;
    /** Responses by status class (index 1..5; 0: other). */
    readonly httpResp: number[];
    /** Compression counters (compression.ts). */
    compIn: number;
    compOut: number;
    compRsp: number;
  };
  /** The backend of a request (use_backend, else default_backend); null for none. */
  selectBackend(ctx: SampleCtx): HttpBackend | null;
}

/** A server as the HTTP layer sees it (cookie persistence, counters). */
export interface HttpServer {
  /** Server name (stick tables store it as server_key). */
  readonly name: string;
  readonly cfg: { readonly cookie: string | null };
  /** It may take traffic (UP or draining, not in maintenance). */
  readonly usable: boolean;
  readonly counters: { deniedResp: number; readonly httpResp: number[] };
}

/** A backend as the HTTP layer sees it (backend/backend.ts). */
export interface HttpBackend {
  readonly cfg: BackendConfig;
  readonly httpReqRules: readonly Rule[];
  readonly httpResRules: readonly Rule[];
  readonly forwardFor: ForwardFor | null;
  /** Its http-response rules read request fetches (the request must be kept for them). */
  readonly resRulesUseRequest: boolean;
  /** Cookie persistence, null without a `cookie` line. */
  readonly cookie: CookieConfig | null;
  /** `use-server SERVER [if|unless COND]` lines (conditions compiled without if/unless). */
  readonly useServers: ReadonlyArray<
    { readonly server: number; readonly cond: Condition | null; readonly unless: boolean }
  >;
  readonly servers: readonly HttpServer[];
  /** `stick` persistence rules (stick_persist.ts); absent or empty: none. */
  readonly stickRules?: readonly StickRule[];
  readonly counters: {
    denied: number;
    deniedResp: number;
    readonly httpResp: number[];
    compIn: number;
    compOut: number;
    compRsp: number;
  };
}

/**
 * A stream as the HTTP analysers drive it. Everything that touches a socket,
 * a timer or the server-side state machine stays behind these methods.
 */
export interface HttpStream {
  readonly ctx: HttpCtx;
  readonly fe: HttpFrontend;
  readonly be: HttpBackend | null;
  /** The server of the current transaction, null before one is chosen. */
  readonly srv: HttpServer | null;
  readonly txn: HttpTxn | null;
  readonly req: Channel;
  readonly res: Channel;
  /** Tick of the accept (the first request's http-request timer starts there). */
  readonly tAccept: number;
  /** Wall-clock date of the accept (epoch ms). */
  readonly acceptDate: number;
  /** The client's address (forwardfor). */
  readonly clientAddr: PeerAddr;
  /** The scheduler's clock for this run. */
  now(): number;
  /** Whether the server connection is established. */
  serverEstablished(): boolean;
  /** Tick of the server side's last activity (`timeout server` counts from it). */
  serverLastActivity(): number;
  /** The request goes to `be` (switching rules). */
  setBackend(be: HttpBackend): void;
  /** The request head is committed: reuse the server connection or ask for one. */
  requestServer(): void;
  /** Records how the stream ends (the first cause wins). */
  setTermination(err: number, finst: number): void;
  /** Ends the stream now, with the termination state recorded (output not yet written is dropped). */
  endStream(): void;
  /** Closes the server connection, if any, keeping the client side. */
  closeServerSide(): void;
  /** Gives back the server slot this transaction held (keep-alive: the connection stays). */
  releaseServer(): void;
  /** The server connection carried one more transaction. */
  serverTxnDone(): void;
  /** Writes the session's log line now (`final`: the stream ends after it). */
  writeLog(final: boolean): void;
  /** Bytes of a proxy reply not yet written to the client. */
  prefixLeft(): number;
  /** Runs the stream again soon (new input, a reply to send). */
  wake(): void;
  /** A keep-alive connection's next transaction starts (per-request facts reset). */
  beginNextTxn(): void;
  /** Counts a bad or missing response against the server and the backend. */
  countServerError(): void;
  /** A response head was parsed: count its response time, bind the editor and sample context. */
  bindResponse(): void;
}
