// A real nginx for interoperability tests, run the way a test needs it:
// foreground (`daemon off;`), one process (`master_process off;`, so that
// killing the child we spawned kills nginx), every file it writes (pid,
// error and access logs, temp paths, document root) inside a fresh temporary
// directory, listening on a free 127.0.0.1 port.
//
// `findNginx()` looks for the binary on PATH (and in the sbin directories
// Debian installs it to, which a non-root PATH often lacks); tests call it
// first and skip with a clear message when it returns null.
// `startNginx({ server })` writes the configuration (the caller's directives
// go inside `server { … }`), spawns `nginx -p DIR/ -c DIR/nginx.conf` and
// resolves once the port accepts connections, or rejects
// with nginx's error log. `stop()` sends SIGTERM (SIGKILL after a grace
// period), awaits the exit and removes the directory; call it in `finally`.

import { delay } from "./client.ts";
import { freePort } from "./haproxy.ts";

/** Time allowed for nginx to accept connections after spawning. */
const READY_TIMEOUT_MS = 5_000;
/** Grace period between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 3_000;

/** Absolute path of the nginx binary, or null when none is installed. */
export function findNginx(): string | null {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const d of [...dirs, "/usr/sbin", "/usr/local/sbin", "/sbin"]) {
    const p = `${d}/nginx`;
    try {
      const st = Deno.statSync(p);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Message tests print when they skip for lack of nginx. */
export const NGINX_MISSING = "nginx is not installed (not on PATH nor in /usr/sbin): " +
  "nginx interoperability tests are skipped; install it (apt-get install nginx-light) to run them";

export interface NginxOptions {
  /** Directives placed inside `server { … }` (after listen/root). */
  server: string;
  /** Extra directives placed inside `http { … }`. */
  http?: string;
  /** Listen with TLS (`listen … ssl`); the caller gives ssl_certificate in `server`. */
  ssl?: boolean;
}

/** A running nginx. */
export class NginxProcess {
  /** Its temporary prefix directory (configuration, logs, temp files). */
  readonly dir: string;
  /** The document root, `DIR/www`. */
  readonly root: string;
  readonly port: number;
  #child: Deno.ChildProcess;
  #status: Deno.CommandStatus | null = null;
  #stopped = false;

  constructor(dir: string, port: number, child: Deno.ChildProcess) {
    this.dir = dir;
    this.root = `${dir}/www`;
    this.port = port;
    this.#child = child;
    child.status.then((s) => (this.#status = s));
  }

  /** Exit status once nginx exited, else null. */
  get exitStatus(): Deno.CommandStatus | null {
    return this.#status;
  }

  /** nginx's error log so far (for failure messages). */
  errorLog(): string {
    try {
      return Deno.readTextFileSync(`${this.dir}/error.log`);
    } catch {
      return "(no error log)";
    }
  }

  /**
   * nginx's access log so far, one line per request:
   * `CONNECTION_ID REQUEST_NUMBER_ON_IT "REQUEST LINE" STATUS BODY_BYTES`.
   */
  accessLog(): string {
    try {
      return Deno.readTextFileSync(`${this.dir}/access.log`);
    } catch {
      return "";
    }
  }

  /** Stops nginx (SIGTERM, then SIGKILL after a grace period) and removes its directory. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      const kill = (sig: Deno.Signal) => {
        if (this.#status !== null) return;
        try {
          this.#child.kill(sig);
        } catch {
          // exited in between
        }
      };
      kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#child.status,
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            kill("SIGKILL");
            resolve();
          }, STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    await this.#child.status;
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Starts nginx with `opts.server` inside its server block. Rejects (after
 * stopping it) when nginx exits or does not accept connections in time, with
 * its error log in the message. Throws when nginx is not installed.
 */
export async function startNginx(opts: NginxOptions): Promise<NginxProcess> {
  const bin = findNginx();
  if (bin === null) throw new Error(NGINX_MISSING);
  const dir = await Deno.makeTempDir({ prefix: "sluice-nginx-" });
  await Deno.mkdir(`${dir}/www`);
  const port = freePort();
  // As root, keep the workers' user as root so they can write our 0700 temp
  // directory (in single-process mode nginx does not switch user anyway).
  const user = Deno.uid() === 0 ? "user root root;\n" : "";
  const conf = `${user}daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 128; }
http {
  log_format sluice_test '$connection $connection_requests "$request" $status $body_bytes_sent';
  access_log ${dir}/access.log sluice_test;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;
  default_type application/octet-stream;
  keepalive_timeout 30s;
  keepalive_requests 1000;
${opts.http ?? ""}
  server {
    listen 127.0.0.1:${port}${opts.ssl === true ? " ssl" : ""};
    server_name localhost;
    root ${dir}/www;
${opts.server}
  }
}
`;
  await Deno.writeTextFile(`${dir}/nginx.conf`, conf);
  const child = new Deno.Command(bin, {
    // No `-e` (nginx < 1.19.5 lacks it): before reading the configuration
    // nginx may complain on stderr about its default error log; harmless.
    args: ["-p", `${dir}/`, "-c", `${dir}/nginx.conf`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const ng = new NginxProcess(dir, port, child);
  try {
    const end = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (ng.exitStatus !== null) {
        throw new Error(`nginx exited (code ${ng.exitStatus.code}):\n${ng.errorLog()}`);
      }
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        c.close();
        break;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) {
        throw new Error(
          `nginx did not listen on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms:\n${ng.errorLog()}`,
        );
      }
      await delay(20);
    }
  } catch (e) {
    await ng.stop();
    throw e;
  }
  return ng;
}
