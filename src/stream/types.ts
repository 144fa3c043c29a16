// Stream and stream-interface types (HAProxy's stream-t.h, stconn-t.h).
//
// Stream-interface states, stream termination causes (SF_ERR_*) and final
// states (SF_FINST_*), and their log letters. Only constants and stringifiers.

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

// Termination causes: the first letter of the termination state.
/** Normal end. */
export const SF_ERR_NONE = 0;
/** Client-side timeout ('c'). */
export const SF_ERR_CLITO = 1;
/** Client closed or reset ('C'). */
export const SF_ERR_CLICL = 2;
/** Server-side timeout ('s'). */
export const SF_ERR_SRVTO = 3;
/** Server closed, reset or refused ('S'). */
export const SF_ERR_SRVCL = 4;
/** The proxy decided to end it (deny, bad request) ('P'). */
export const SF_ERR_PRXCOND = 5;
/** A resource was lacking (buffers, sockets) ('R'). */
export const SF_ERR_RESOURCE = 6;
/** Internal error ('I'). */
export const SF_ERR_INTERNAL = 7;
/** Killed by an admin or a hard stop ('K'). */
export const SF_ERR_KILLED = 8;
/** No server is up in the backend ('D' is for "down" detections; we use 'S' like HAProxy's NOSRV). */
export const SF_ERR_DOWN = 9;
/** Produced locally (the proxy answered, e.g. a redirect or stats) ('L'). */
export const SF_ERR_LOCAL = 10;

const ERR_LETTERS = "-cCsSPRIKDL";

// Final states: the second letter of the termination state.
/** Session still running (never logged as such). */
export const SF_FINST_NONE = 0;
/** Waiting for the request ('R'). */
export const SF_FINST_R = 1;
/** Waiting in a queue ('Q'). */
export const SF_FINST_Q = 2;
/** Connecting to a server ('C'). */
export const SF_FINST_C = 3;
/** Waiting for response headers ('H'). */
export const SF_FINST_H = 4;
/** Data phase ('D'). */
export const SF_FINST_D = 5;
/** Sending the last data to the client ('L'). */
export const SF_FINST_L = 6;
/** Tarpitted ('T'). */
export const SF_FINST_T = 7;

const FINST_LETTERS = "-RQCHDLT";

/** The two-letter termination state of the logs, e.g. "sC", "CD", "--". */
export function terminationState(err: number, finst: number): string {
  return (ERR_LETTERS[err] ?? "?") + (err === SF_ERR_NONE ? "-" : (FINST_LETTERS[finst] ?? "?"));
}
