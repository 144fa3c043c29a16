// Termination states (HAProxy's SF_ERR_* and SF_FINST_* of stream-t.h): the
// two letters of a log line that say who ended a session and at which
// stage. Set by the stream and by the HTTP analysers, read by the log
// formats. Only constants and the stringifier.

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
// 9 ('D') is HAProxy's SF_ERR_DOWN, a session killed because its server went
// down (`on-marked-down shutdown-sessions`), which Sluice does not do.
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
