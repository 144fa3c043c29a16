// Signals of the running proxy and the binary upgrade's hand-over
// (docs/operations.md; HAProxy's haproxy.c signal handlers and -sf/-st).
//
// SIGTERM, SIGINT: stop now. SIGQUIT: soft stop (nginx's graceful stop;
// HAProxy's SIGUSR1 is the runtime's debugger signal, see
// inspector_guard.ts). SIGHUP: reload the file in place (reload.ts).
//
// `sluice -f FILE -sf PID...`: once this process has bound its listeners
// (SO_REUSEPORT, next to the old process's sockets), each old PID gets
// SIGQUIT, stops listening and finishes its sessions; `-st PID...` sends
// SIGTERM instead (the old sessions are cut).

import type { Process } from "./process.ts";
import type { Reloader } from "./reload.ts";

/** What main.ts hands over: the process, and how to leave. */
export function installSignals(
  proc: Process,
  reloader: Reloader,
  exit: (code: number) => void,
): void {
  const hard = async () => {
    proc.hardStop();
    await proc.logger.drainAtExit(200);
    exit(0);
  };
  Deno.addSignalListener("SIGTERM", hard);
  Deno.addSignalListener("SIGINT", hard);
  Deno.addSignalListener("SIGQUIT", async () => {
    await proc.softStop();
    await proc.logger.drainAtExit();
    exit(0);
  });
  Deno.addSignalListener("SIGHUP", () => {
    proc.logger.notice("SIGHUP: reloading the configuration");
    void reloader.reload();
  });
}

/**
 * Takes HAProxy's `-sf PID...` / `-st PID...` out of the command line
 * (node:util's parseArgs has no two-letter short flags nor option lists):
 * every numeric argument after the flag belongs to it. Returns the other
 * arguments and the PIDs, or an error message.
 */
export function splitOldPids(
  args: readonly string[],
): { args: string[]; soft: number[]; hard: number[] } | { error: string } {
  const out: string[] = [];
  const soft: number[] = [];
  const hard: number[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a !== "-sf" && a !== "-st") {
      out.push(a);
      continue;
    }
    const into = a === "-sf" ? soft : hard;
    let n = 0;
    while (i + 1 < args.length && /^\d+$/.test(args[i + 1]!)) {
      const pid = Number(args[++i]);
      if (pid <= 1 || pid === Deno.pid) return { error: `${a}: bad PID ${pid}` };
      into.push(pid);
      n++;
    }
    if (n === 0) return { error: `${a} needs at least one PID` };
  }
  return { args: out, soft, hard };
}

/**
 * Sends `sig` to `pid`. Deno.kill needs the whole of `--allow-run`; with
 * only `--allow-run=kill` (what `deno task compile` grants) the `kill`
 * program does it. Throws with the reason when neither can.
 */
function signalPid(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied)) {
      throw e;
    }
  }
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command("kill", { args: ["-s", sig.slice(3), String(pid)], stdin: "null" })
      .outputSync();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`no permission to signal it (run with --allow-run=kill): ${why}`);
  }
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim() || "kill failed");
}

/**
 * Tells the old processes of a binary upgrade to go, once this one is
 * serving: SIGQUIT (soft stop) to `soft`, SIGTERM to `hard`. A PID that is
 * gone is a warning, not an error (the old process may have just exited).
 */
export function stopOldProcesses(proc: Process, soft: number[], hard: number[]): void {
  const send = (pid: number, sig: Deno.Signal, what: string) => {
    try {
      signalPid(pid, sig);
      proc.logger.notice(`sent ${sig} (${what}) to old process ${pid}`);
    } catch (e) {
      proc.logger.warning(
        `cannot signal old process ${pid}: ${e instanceof Error ? e.message : e}`,
      );
    }
  };
  for (const pid of soft) send(pid, "SIGQUIT", "soft stop");
  for (const pid of hard) send(pid, "SIGTERM", "stop now");
}
