// Counters kept per frontend, backend and server (HAProxy's struct fe_counters,
// be_counters). Plain objects with numeric fields, updated in place.

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
  /** HTTP requests and responses by status class (index 1..5; 0 = other). */
  httpReqs = 0;
  httpResp = [0, 0, 0, 0, 0, 0];
}

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
}
