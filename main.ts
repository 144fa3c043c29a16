// Sluice command line: flags → loadConfig() → start(); nothing else.
//
// Exit status: 0 success (or -c with a valid config), 1 configuration or
// startup error, 2 usage error.

import { parseArgs } from "node:util";
import { guardInspector } from "./src/proxy/inspector_guard.ts";
import { formatIssue, loadConfigFile } from "./src/proxy/load.ts";
import { start } from "./src/proxy/process.ts";
import { Reloader } from "./src/proxy/reload.ts";
import { installSignals, splitOldPids, stopOldProcesses } from "./src/proxy/signals.ts";
import { VERSION } from "./src/version.ts";

const USAGE = `Usage: sluice -f FILE [-c] [-q] [-d] [-p PIDFILE] [-sf PID... | -st PID...]
  -f, --file FILE   configuration file (YAML)
  -sf PID...        binary upgrade: once listening (SO_REUSEPORT), tell the old
                    process(es) to stop listening and finish their sessions
  -st PID...        the same, but the old process(es) stop at once
  -c, --check       check the configuration and exit (0 valid, 1 errors)
  -p, --pidfile F   write the process id to file F once listening
  -q, --quiet       no notices or warnings on stderr
  -d, --debug       debug messages on stderr
  -v, --version     print the version and exit
  -h, --help        print this help and exit
Signals: SIGTERM/SIGINT stop at once; SIGQUIT stops listening and exits when
the last session ends (soft stop); SIGHUP reloads the file in place (on an
error the running configuration stays). Sluice never uses SIGUSR1: it closes
the debugger the runtime opens on it and logs a warning.
Exit status: 0 ok, 1 configuration or startup error, 2 usage error.
`;

function usageError(msg: string): never {
  console.error(`sluice: ${msg}\n${USAGE}`);
  Deno.exit(2);
}

async function main(): Promise<void> {
  // First of all: a SIGUSR1 opens the runtime's inspector (see the guard).
  let warn = (msg: string) => console.error(`[WARNING] (${Deno.pid}) : ${msg}`);
  guardInspector(() => warn);
  const split = splitOldPids(Deno.args);
  if ("error" in split) usageError(split.error);
  let values;
  try {
    ({ values } = parseArgs({
      args: split.args,
      options: {
        file: { type: "string", short: "f" },
        check: { type: "boolean", short: "c" },
        quiet: { type: "boolean", short: "q" },
        pidfile: { type: "string", short: "p" },
        debug: { type: "boolean", short: "d" },
        version: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.version) {
    console.log(`sluice ${VERSION}`);
    return;
  }
  if (values.file === undefined) usageError("missing -f FILE");

  const { config, compiled, issues } = await loadConfigFile(values.file);
  for (const i of issues) {
    if (i.severity === "error" || !values.quiet) console.error(formatIssue(i));
  }
  if (config === null) {
    const n = issues.filter((i) => i.severity === "error").length;
    console.error(`sluice: ${n} error(s) in ${values.file}`);
    Deno.exit(1);
  }
  if (values.check) {
    console.log(`Configuration file is valid: ${values.file}`);
    return;
  }

  let proc;
  try {
    proc = start(config, {
      quiet: values.quiet ?? false,
      debug: values.debug ?? false,
      takeOver: split.soft.length + split.hard.length > 0,
      ...(values.pidfile === undefined ? {} : { pidfile: values.pidfile }),
    }, compiled);
  } catch (e) {
    console.error(`sluice: cannot start: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
  // Last line of defence: an error escaping an I/O callback is logged, never
  // fatal (one connection's failure must not take the others down).
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    proc.logger.alert(
      `unhandled rejection: ${ev.reason instanceof Error ? ev.reason.stack : ev.reason}`,
    );
  });
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    proc.logger.alert(`uncaught error: ${ev.error instanceof Error ? ev.error.stack : ev.message}`);
  });
  warn = (msg) => proc.logger.warning(msg);
  const reloader = new Reloader(proc, values.file);
  proc.reloader = reloader;
  installSignals(proc, reloader, (code) => Deno.exit(code));
  stopOldProcesses(proc, split.soft, split.hard);
}

await main();
