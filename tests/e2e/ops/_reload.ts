// Reloading a running proxy the way an operator does: rewrite its file, send
// SIGHUP, wait for the outcome on stderr ("reload #N done" or "reload
// failed"). Shared by the reload tests.

import type { ProxyProcess } from "../../_helpers/proxy.ts";

/** Outcome of one reload, as stderr told it. */
export interface ReloadOutcome {
  ok: boolean;
  /** The stderr lines the reload printed (from its "reading" notice on). */
  lines: string[];
}

/**
 * Writes `yaml` to the proxy's file, sends SIGHUP and waits (bounded) for
 * the reload's last line. Reloads are counted from the proxy's stderr, so
 * this works for any number of reloads in a row.
 */
export async function reloadWith(
  proxy: ProxyProcess,
  yaml: string,
  timeoutMs = 15_000,
): Promise<ReloadOutcome> {
  await Deno.writeTextFile(proxy.file, yaml);
  const from = proxy.stderr.length;
  proxy.kill("SIGHUP");
  const end = await proxy.waitUntil(
    () => {
      const i = proxy.stderr.findIndex((l, k) =>
        k >= from && /reload #\d+ done|reload failed/.test(l)
      );
      return i < 0 ? undefined : i;
    },
    timeoutMs,
    "the end of a reload",
  );
  const lines = proxy.stderr.slice(from, end + 1);
  return { ok: /reload #\d+ done/.test(lines[lines.length - 1]!), lines };
}

/** A free TCP port on 127.0.0.1 (bound and released; for a bind a test adds later). */
export { freePort } from "../../_helpers/haproxy.ts";

/** True when a TCP connect to 127.0.0.1:port succeeds (the socket is closed again). */
export async function accepts(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}
