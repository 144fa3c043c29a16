// Counters kept per frontend (HAProxy's struct fe_counters). A plain object
// with numeric fields, updated in place by the process when it accepts a
// session and by the frontend's streams. It lives with the frontend that
// owns it; src/stats/ reads it from above (snapshot.ts), never the other
// way round.

/** Counters of a frontend. */
export class FrontendCounters {
  /** Sessions accepted since start. */
  cumSessions = 0;
  /** Highest concurrent sessions seen. */
  maxSessions = 0;
  /** Bytes received from clients / sent to clients. */
  bytesIn = 0;
  bytesOut = 0;
  /** Requests denied, responses denied, errors in requests (HTTP). */
  denied = 0;
  deniedResp = 0;
  errors = 0;
  /** Connections rejected by `tcp-request connection` rules (HAProxy's denied_conn). */
  deniedConn = 0;
  /** HTTP requests and responses by status class (index 1..5; 0 = other). */
  httpReqs = 0;
  httpResp = [0, 0, 0, 0, 0, 0];

  /** Counts a finished session's bytes from (`inb`) and to (`outb`) the client. */
  addBytes(inb: number, outb: number): void {
    this.bytesIn += inb;
    this.bytesOut += outb;
  }
}
