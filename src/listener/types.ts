// Listener states (HAProxy's listener-t.h LI_*).

/** Created, not bound. */
export const LI_INIT = 0;
/** Bound, accept loop not yet running. */
export const LI_LISTEN = 1;
/** Accepting connections. */
export const LI_READY = 2;
/** Frontend maxconn reached: not accepting until a session of it ends. */
export const LI_FULL = 3;
/** Global maxconn reached: not accepting until any session ends. */
export const LI_LIMITED = 4;
/** Stopped (soft stop or shutdown): the socket is closed. */
export const LI_STOPPED = 5;

const NAMES = ["INIT", "LISTEN", "READY", "FULL", "LIMITED", "STOPPED"];

export function listenerStateToString(st: number): string {
  return NAMES[st] ?? `?${st}`;
}
