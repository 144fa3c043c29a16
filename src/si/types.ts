// Stream-interface states (HAProxy's stconn-t.h SC_ST_*, formerly SI_ST_*).
// Only constants and a stringifier. The termination causes and final states
// a stream ends with (SF_ERR_*, SF_FINST_*) are log/termination.ts.

/** Not yet initialised. */
export const SI_ST_INI = 0;
/** A connection is requested (server not yet chosen). */
export const SI_ST_REQ = 1;
/** Waiting in a queue for a server slot. */
export const SI_ST_QUE = 2;
/** Turn-around: pausing before a connection retry. */
export const SI_ST_TAR = 3;
/** A server is assigned, the connection is not yet attempted. */
export const SI_ST_ASS = 4;
/** Connecting. */
export const SI_ST_CON = 5;
/** The connection attempt failed (retry decision pending). */
export const SI_ST_CER = 6;
/** Established: data may flow. */
export const SI_ST_EST = 7;
/** Disconnecting (both directions shut, closing). */
export const SI_ST_DIS = 8;
/** Closed. */
export const SI_ST_CLO = 9;

const SI_NAMES = ["INI", "REQ", "QUE", "TAR", "ASS", "CON", "CER", "EST", "DIS", "CLO"];

export function siStateToString(st: number): string {
  return SI_NAMES[st] ?? `?${st}`;
}
