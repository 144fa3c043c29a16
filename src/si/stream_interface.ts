// A stream interface: one side of a stream and its connection (HAProxy's
// stream_interface.c / stconn.c).
//
// It owns the socket of its side, starts reads into its input channel `ib`
// and writes out of its output channel `ob`, and turns their completions into
// channel flags before waking the stream's task. It never decides anything:
// processStream() does. Reads and writes are started only from update(),
// which processStream() calls at the end of each run, so that analysers
// always see a channel whose input no read is modifying.
// Completion handlers are methods bound once: no closure per read or write.

import type { Channel } from "../channel/channel.ts";
import {
  CF_DONT_READ,
  CF_READ_ERROR,
  CF_READ_NULL,
  CF_READ_PARTIAL,
  CF_SHUTR,
  CF_SHUTW,
  CF_SHUTW_NOW,
  CF_WRITE_ERROR,
  CF_WRITE_PARTIAL,
} from "../channel/types.ts";
import type { Conn } from "../listener/protocol.ts";
import { SI_ST_CLO, SI_ST_EST, SI_ST_INI } from "./types.ts";

/** What a stream interface needs from its stream. */
export interface SiOwner {
  /**
   * An I/O completed on side `side`: wake the task. `wrote`: a write of
   * `ob` (flagged CF_WRITE_PARTIAL), which the owner may take without a run
   * when nothing waits for it (stream/stream_wake.ts).
   */
  onIo(side: number, wrote: boolean): void;
  /** Every in-flight operation of a closed interface has settled. */
  onSettled(si: StreamInterface): void;
}

/** The owner of a parked interface: nothing completes into it (park()). */
const PARKED: SiOwner = { onIo() {}, onSettled() {} };

export class StreamInterface {
  readonly side: number;
  state!: number;
  conn!: Conn | null;
  /** Channel this side reads into (req for the client side, res for the server side). */
  ib!: Channel;
  /** Channel this side writes from. */
  ob!: Channel;
  /** Tick of the last byte read or written on this side (inactivity timeouts). */
  lastActivity!: number;
  /** Expiry tick of the current state (connect timeout, turn-around...). */
  exp!: number;
  /** Remaining connection retries (server side). */
  connRetries!: number;
  /** Operations in flight (reads, writes, connect, closeWrite). */
  pending!: number;
  /**
   * No read could be started for lack of room in `ib` (the other side is
   * slow to take what is buffered): this side is not idle, its inactivity
   * timeout is off, and it restarts when reading resumes (HAProxy arms no
   * read timeout on a full buffer).
   */
  readBlocked!: boolean;
  /**
   * HTTP transactions completed over this connection (server side): a parked
   * connection with two or more has proved that its server keeps connections
   * alive (`http-reuse aggressive`).
   */
  txns!: number;
  /**
   * What the connection was opened with that a request must match to reuse
   * it (server side): the SNI a server's `sni` expression gave
   * (stream/server_sni.ts), null when the server has none. Set on attach().
   */
  connKey!: string | null;
  /** Size of the region the in-flight read was given. */
  #readSize!: number;
  #owner!: SiOwner;
  #onRead: (n: number) => void;
  #onReadError: (e: unknown) => void;
  #onWrite: (n: number) => void;
  #onWriteError: (e: unknown) => void;
  #onShutDone: () => void;

  constructor(side: number, ib: Channel, ob: Channel, owner: SiOwner) {
    this.side = side;
    this.reuse(ib, ob, owner);
    this.#onRead = this.#readDone.bind(this);
    this.#onReadError = this.#readFailed.bind(this);
    this.#onWrite = this.#writeDone.bind(this);
    this.#onWriteError = this.#writeFailed.bind(this);
    this.#onShutDone = this.#shutDone.bind(this);
  }

  /**
   * Sets every field of a new interface (the constructor, and a closed one
   * whose I/O has all settled, for another stream on the same side): only
   * the side and the completion handlers, bound once, stay.
   */
  reuse(ib: Channel, ob: Channel, owner: SiOwner): void {
    this.state = SI_ST_INI;
    this.conn = null;
    this.ib = ib;
    this.ob = ob;
    this.lastActivity = 0;
    this.exp = 0;
    this.connRetries = 0;
    this.pending = 0;
    this.readBlocked = false;
    this.txns = 0;
    this.connKey = null;
    this.#readSize = 0;
    this.#owner = owner;
  }

  /**
   * Drops what ties a closed interface to its stream (its owner, connection
   * and connection key) while it waits in a free list: a parked part must not
   * keep its stream's frontend, and so an old configuration generation, alive.
   */
  park(): void {
    this.conn = null;
    this.connKey = null;
    this.#owner = PARKED;
  }

  /**
   * Moves the interface, its connection and its in-flight read, to other
   * channels and another owner (a server connection parked in an idle pool,
   * or adopted from it). The caller moves the buffer the read targets.
   */
  rebind(ib: Channel, ob: Channel, owner: SiOwner): void {
    this.ib = ib;
    this.ob = ob;
    this.#owner = owner;
  }

  /** Attaches an established connection, opened with `key` (connKey). */
  attach(conn: Conn, now: number, key: string | null = null): void {
    this.conn = conn;
    this.state = SI_ST_EST;
    this.lastActivity = now;
    this.txns = 0;
    this.connKey = key;
  }

  /**
   * Takes what the connection already holds into ib without a read in
   * flight (Conn.readNow: an HTTP/2 stream's request head), as a completed
   * read would (CF_READ_PARTIAL); the caller's stream runs next anyway.
   */
  readNow(): void {
    const conn = this.conn, ib = this.ib;
    if (conn === null || conn.readNow === undefined || ib.reading || this.state !== SI_ST_EST) {
      return;
    }
    const region = ib.readRegion();
    if (region === null) return;
    const n = conn.readNow(region);
    if (n <= 0) return;
    ib.commitRead(n, region.length);
    ib.flags |= CF_READ_PARTIAL;
  }

  /**
   * Starts whatever I/O the channels allow: a read when ib is open and has
   * room, a write when ob holds forwarded bytes, the write shutdown when ob
   * asked for one and is empty. Called at the end of processStream().
   */
  update(now: number): void {
    if (this.state !== SI_ST_EST) return;
    const ib = this.ib, ob = this.ob;
    if (!ib.reading && !(ib.flags & CF_SHUTR) && !(ib.flags & CF_DONT_READ)) {
      const region = ib.readRegion();
      if (region === null) this.readBlocked = true;
      else {
        if (this.readBlocked) {
          this.readBlocked = false;
          this.lastActivity = now; // the inactivity timeout restarts with the read
        }
        ib.reading = true;
        this.pending++;
        this.#readSize = region.length;
        const conn = this.conn!;
        if (conn.readTo !== undefined) conn.readTo(region, this.#onRead, this.#onReadError);
        else conn.read(region).then(this.#onRead, this.#onReadError);
      }
    }
    if (!ob.writing && !(ob.flags & CF_SHUTW)) {
      let region = ob.writeRegion();
      if (region !== null && this.conn!.writeNow !== undefined) region = this.#writeNow(region);
      if (region !== null) {
        ob.writing = true;
        this.pending++;
        this.conn!.write(region).then(this.#onWrite, this.#onWriteError);
      } else if ((ob.flags & CF_SHUTW_NOW) && ob.isEmpty()) {
        // Every byte before the FIN is out: now the FIN may follow (DESIGN §2).
        ob.flags = (ob.flags & ~CF_SHUTW_NOW) | CF_SHUTW;
        this.pending++;
        this.conn!.closeWrite().then(this.#onShutDone, this.#onShutDone);
      }
    }
  }

  /**
   * Writes to a connection that takes bytes in memory (an HTTP/2 stream) at
   * once: the channel is empty before the other side's read starts, which
   * then gets the whole buffer rather than the part after this one's bytes
   * (one server read per buffer instead of two). Completes as a write does:
   * CF_WRITE_PARTIAL, and the stream runs again. Returns what is left to
   * write (null: nothing).
   */
  #writeNow(region: Uint8Array): Uint8Array | null {
    const ob = this.ob, conn = this.conn!;
    let took = 0, r: Uint8Array | null = region;
    while (r !== null) {
      const n = conn.writeNow!(r);
      if (n <= 0) break;
      ob.commitWrite(n);
      took += n;
      r = ob.writeRegion();
    }
    if (took > 0) {
      ob.flags |= CF_WRITE_PARTIAL;
      this.#owner.onIo(this.side, true);
    }
    return r;
  }

  /**
   * TCP mode: this side failed (a reset). Nothing more can be written to it
   * (what `ob` holds is dropped) or read from it; what `ib` holds goes on to
   * the other side, then the FIN. The socket closes now; the stream ends
   * once the other side is done too.
   */
  shutAfterReset(): void {
    const ob = this.ob;
    ob.flags = (ob.flags | CF_SHUTW) & ~CF_SHUTW_NOW;
    if (!ob.writing) ob.erase();
    ob.toForward = 0;
    this.ib.flags |= CF_SHUTR;
    this.close();
  }

  /** Closes the socket; in-flight operations settle with errors that are ignored. */
  close(): void {
    if (this.state === SI_ST_CLO) return;
    this.state = SI_ST_CLO;
    // An operation settling inside conn.close() (Conn.readTo) tells the owner itself.
    const pending = this.pending;
    if (this.conn !== null) {
      try {
        this.conn.close();
      } catch { /* already closed by the peer's reset */ }
    }
    if (pending === 0) this.#owner.onSettled(this);
  }

  #settle(): boolean {
    this.pending--;
    if (this.state === SI_ST_CLO) {
      if (this.pending === 0) this.#owner.onSettled(this);
      return false;
    }
    return true;
  }

  #readDone(n: number): void {
    this.ib.reading = false;
    if (!this.#settle()) return;
    const ib = this.ib;
    if (n === 0) {
      ib.flags |= CF_READ_NULL | CF_SHUTR; // end of stream (a read region is never empty)
    } else {
      ib.commitRead(n, this.#readSize);
      ib.flags |= CF_READ_PARTIAL; // processStream() turns it into activity
    }
    this.#owner.onIo(this.side, false);
  }

  #readFailed(_e: unknown): void {
    this.ib.reading = false;
    if (!this.#settle()) return;
    this.ib.flags |= CF_READ_ERROR | CF_SHUTR;
    this.#owner.onIo(this.side, false);
  }

  #writeDone(n: number): void {
    this.ob.writing = false;
    if (!this.#settle()) return;
    this.ob.commitWrite(n);
    this.ob.flags |= CF_WRITE_PARTIAL; // processStream() turns it into activity
    this.#owner.onIo(this.side, true);
  }

  #writeFailed(_e: unknown): void {
    this.ob.writing = false;
    if (!this.#settle()) return;
    this.ob.flags |= CF_WRITE_ERROR | CF_SHUTW;
    this.#owner.onIo(this.side, false);
  }

  #shutDone(): void {
    if (!this.#settle()) return;
    this.#owner.onIo(this.side, false);
  }
}
