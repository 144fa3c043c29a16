// Counters kept per backend and per server (HAProxy's struct be_counters).
// Plain objects with numeric fields, updated in place by the backend, its
// servers and the streams that use them. They live with the backend that
// owns them; src/stats/ reads them from above (snapshot.ts), never the
// other way round.

/** Counters of a backend or a server. */
export class BackendCounters {
  /** Connections/sessions sent here since start. */
  cumSessions = 0;
  maxSessions = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Failed connection attempts. */
  connErrors = 0;
  /** Errors while reading responses / aborted transfers. */
  respErrors = 0;
  /** Connection retries and redispatches. */
  retries = 0;
  redispatches = 0;
  /** Compression: raw bytes in, compressed bytes out, bytes that bypassed it, responses compressed. */
  compIn = 0;
  compOut = 0;
  compByp = 0;
  compRsp = 0;
  /** Streams that could not get a server (no server up, queue full/timeout). */
  failedNoServer = 0;
  /** Requests denied by this backend's rules; responses denied (backend and server). */
  denied = 0;
  deniedResp = 0;
  httpResp = [0, 0, 0, 0, 0, 0];
  /** Sum of connect and response times (ms) and their sample count, for averages. */
  connectTimeSum = 0;
  connectSamples = 0;
  /** Sum of server response times (ms, head received after the request could reach it) and count. */
  respTimeSum = 0;
  respSamples = 0;

  /** Counts a finished session's bytes from (`inb`) and to (`outb`) the client. */
  addBytes(inb: number, outb: number): void {
    this.bytesIn += inb;
    this.bytesOut += outb;
  }

  /** Counts one server response time (ms), for the stats' average. */
  addRespTime(tr: number): void {
    this.respTimeSum += tr;
    this.respSamples++;
  }
}
