// SIGUSR1 guard: Sluice never uses SIGUSR1, and closes the V8 inspector the
// runtime opens when one arrives (DESIGN.md §9).
//
// Since Deno 2.9.2, SIGUSR1 starts the inspector on 127.0.0.1:9229, as
// Node.js does: an unauthenticated debugger through which any local user can
// run code in the proxy. Deno runs JavaScript signal listeners as well, but
// (measured on 2.9.6) the listener runs *before* the runtime opens the
// server: `inspector.url()` is still undefined in the listener, and becomes
// defined on the next timer turn, about 2.5 ms after the signal. So the guard
// closes the inspector at once if it is open, then looks again on each timer
// turn for a bounded time and closes it as soon as it appears. The port is
// connectable for about 1–3 ms (measured from outside with a connect loop).
//
// An inspector that was already open when the guard was installed (an
// `--inspect*` flag: the operator asked for it) is left alone; SIGUSR1 is a
// no-op for Deno in that case anyway.
//
// Installed first thing in main.ts: without a JavaScript listener, a SIGUSR1
// in the first 500 ms (before Deno installs its own handler) would kill the
// process (the signal's default action).

import inspector from "node:inspector";

/** How long after a SIGUSR1 the guard keeps looking for the inspector to appear. */
const WATCH_MS = 5_000;

/**
 * Installs the SIGUSR1 listener. `warn` is called once per signal with the
 * warning to log (and, on a later call, whether the inspector was closed);
 * it may change over the process's life (logger not yet built at install
 * time), hence a getter. Returns a function that removes the listener.
 */
export function guardInspector(warn: () => (msg: string) => void): () => void {
  const preexisting = inspector.url() !== undefined;
  let watching = false;
  let until = 0;
  const close = (): boolean => {
    if (preexisting || inspector.url() === undefined) return false;
    try {
      inspector.close();
    } catch { /* already closed */ }
    return true;
  };
  const watch = () => {
    if (close()) {
      watching = false;
      warn()("SIGUSR1: the runtime's inspector was opened by the signal and is now closed");
      return;
    }
    if (Date.now() < until) setTimeout(watch, 0);
    else watching = false;
  };
  const onSignal = () => {
    warn()(
      "SIGUSR1 received: Sluice does not use SIGUSR1 (soft stop is SIGQUIT, reload SIGHUP); " +
        (preexisting
          ? "the inspector opened by an --inspect flag stays open"
          : "closing the inspector the runtime opens on it"),
    );
    if (preexisting) return;
    until = Date.now() + WATCH_MS;
    if (close()) {
      warn()("SIGUSR1: the runtime's inspector is now closed");
      return;
    }
    if (!watching) {
      watching = true;
      setTimeout(watch, 0);
    }
  };
  Deno.addSignalListener("SIGUSR1", onSignal);
  return () => Deno.removeSignalListener("SIGUSR1", onSignal);
}
