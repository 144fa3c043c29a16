// A listener: one bound address of a frontend and its accept loop (HAProxy's
// listener.c).
//
// The loop accepts at most `maxaccept` connections per event-loop turn and
// then yields. It never calls accept() while the frontend or the process is
// at maxconn: the listener goes FULL or LIMITED and excess clients wait in
// the kernel backlog, as with HAProxy; it resumes when a session ends. A
// failing accept (out of file descriptors) is logged and retried after a
// pause; nothing a connection does can reach this loop.

import type { Address, BindConfig } from "../config/types.ts";
import { formatAddress } from "../config/units.ts";
import type { AcceptedConn, ListenSocket, Protocol } from "./protocol.ts";
import { LI_FULL, LI_INIT, LI_LIMITED, LI_LISTEN, LI_READY, LI_STOPPED } from "./types.ts";

/**
 * What a listener needs of its frontend: whether the frontend's own maxconn
 * is reached. The listener never reads more of it; it hands the owner's
 * frontend (type F) back to the owner untouched, so that this layer does not
 * depend on the proxy's Frontend (src/frontend/frontend.ts satisfies this).
 */
export interface ListenerFrontend {
  /** True when the frontend's own maxconn is reached (the listener goes FULL). */
  isFull(): boolean;
}

/** What a listener needs from the process. */
export interface ListenerOwner<F extends ListenerFrontend = ListenerFrontend> {
  readonly maxconn: number;
  readonly maxaccept: number;
  actconn: number;
  /** Creates the session for an accepted connection. Must not throw. */
  sessionAccept(l: Listener<F>, a: AcceptedConn): void;
  /** Reports an accept failure (`resource`: the listener pauses; logged once per burst). */
  acceptError(l: Listener<F>, e: unknown, resource: boolean): void;
}

/**
 * Longest pause after an accept() that failed for lack of resources, unless
 * a session ends first (HAProxy waits 100 ms in the global listener queue).
 */
export const ACCEPT_RESOURCE_PAUSE = 100;

/** Error codes of accept() that mean the process lacks a resource. */
const RESOURCE_ERRORS: ReadonlySet<string> = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * Whether an accept() error is a lack of resources (the listener pauses) or
 * concerns a single connection (the listener goes on at once). Errors without
 * a code are treated as per-connection: a pause is what an attacker wants.
 */
export function isResourceError(e: unknown): boolean {
  const code = e !== null && typeof e === "object" ? Reflect.get(e, "code") : undefined;
  return typeof code === "string" && RESOURCE_ERRORS.has(code);
}

export class Listener<F extends ListenerFrontend = ListenerFrontend> {
  /** Its frontend; a reload moves an unchanged bind to the new one (moveTo()). */
  fe: F;
  readonly addr: Address;
  /** The bind line's options (backlog). */
  readonly bindCfg: BindConfig;
  /**
   * 1-based position of this bind in its frontend: what HAProxy logs as the
   * "port" of a client accepted on a unix socket (`unix:1`).
   */
  id: number;
  state: number;
  sock: ListenSocket | null;
  #owner: ListenerOwner<F>;
  #resume: (() => void) | null;

  constructor(fe: F, bind: BindConfig, owner: ListenerOwner<F>, id = 1) {
    this.fe = fe;
    this.addr = bind.address;
    this.bindCfg = bind;
    this.id = id;
    this.state = LI_INIT;
    this.sock = null;
    this.#owner = owner;
    this.#resume = null;
  }

  /**
   * Binds the address (throws on failure: reported at startup). `takeOver`:
   * next to a socket already listening there (see BindOptions).
   */
  bind(proto: Protocol, takeOver = false): void {
    this.sock = proto.bind(this.addr, { backlog: this.bindCfg.backlog, takeOver });
    this.state = LI_LISTEN;
  }

  /** Text of the configured address (messages about a bind that failed). */
  addrName(): string {
    return formatAddress(this.addr);
  }

  /** Text of the bound address, with port 0 resolved. */
  boundName(): string {
    const l = this.sock?.local;
    if (l === undefined) return "?";
    if ("path" in l) return `unix@${l.path}`;
    return l.ip.includes(":") ? `[${l.ip}]:${l.port}` : `${l.ip}:${l.port}`;
  }

  /** Starts the accept loop. */
  start(): void {
    this.state = LI_READY;
    this.#run();
  }

  /** Wakes a FULL or LIMITED listener so that it re-checks the limits. */
  wake(): void {
    const r = this.#resume;
    if (r !== null) {
      this.#resume = null;
      r();
    }
  }

  /**
   * A reload kept this bind: the next connections go to `fe` (the socket
   * stays open, nothing in the accept queue is lost). A FULL listener
   * re-checks against the new frontend's limit.
   */
  moveTo(fe: F, id: number): void {
    this.fe = fe;
    this.id = id;
    this.wake();
  }

  /** Stops accepting and closes the socket. */
  stop(): void {
    this.state = LI_STOPPED;
    this.sock?.close();
    this.wake();
  }

  #waitResume(): Promise<void> {
    return new Promise((r) => this.#resume = r);
  }

  /** LIMITED until a session ends (wake()) or ACCEPT_RESOURCE_PAUSE passes. */
  async #pauseForResources(): Promise<void> {
    this.state = LI_LIMITED;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((r) => {
      this.#resume = r;
      timer = setTimeout(() => this.wake(), ACCEPT_RESOURCE_PAUSE);
    });
    clearTimeout(timer);
  }

  async #run(): Promise<void> {
    const owner = this.#owner;
    const sock = this.sock!;
    let burst = 0;
    while (this.state !== LI_STOPPED) {
      if (owner.actconn >= owner.maxconn) {
        this.state = LI_LIMITED;
        await this.#waitResume();
        continue;
      }
      if (this.fe.isFull()) {
        this.state = LI_FULL;
        await this.#waitResume();
        continue;
      }
      if (this.state !== LI_STOPPED) this.state = LI_READY;
      let a: AcceptedConn;
      try {
        a = await sock.accept();
      } catch (e) {
        if (this.state === LI_STOPPED) break;
        const resource = isResourceError(e);
        owner.acceptError(this, e, resource);
        if (resource) await this.#pauseForResources();
        continue;
      }
      // Another listener may have taken the last slot while this one waited
      // in accept(): hold the connection until a slot frees (HAProxy leaves
      // it in the kernel's backlog; one held connection is the closest).
      while (
        this.state !== LI_STOPPED && (owner.actconn >= owner.maxconn || this.fe.isFull())
      ) {
        this.state = owner.actconn >= owner.maxconn ? LI_LIMITED : LI_FULL;
        await this.#waitResume();
      }
      if (this.state === LI_STOPPED) {
        // Accepted just before the socket closed (soft stop, reload, -sf):
        // served rather than reset; a hard stop ends it at its first run.
        owner.sessionAccept(this, a);
        break;
      }
      this.state = LI_READY;
      owner.sessionAccept(this, a);
      if (++burst >= owner.maxaccept) {
        burst = 0;
        await new Promise((r) => setTimeout(r, 0));
      }
    }
  }
}
