// The nginx backend every bench runs against: nginxConfig() written to DIR,
// nginx spawned on it (through the bench's ProcessGroup), and waited for.

import { nginxConfig } from "./configs.ts";
import { type ManagedProcess, type ProcessGroup, waitForPort } from "./proc.ts";

export interface NginxBackend {
  /** Its own directory: prefix, config, logs, document root `www/`. */
  dir: string;
  port: number;
  /** worker_connections; default 4096. */
  workerConnections?: number;
  /** Open-file limit of the worker; default 8192. */
  nofile?: number;
  /** taskset CPU list, when pinned. */
  cpus?: string;
  /** Size of a sparse `www/big.bin` to create (no disk used, served from the page cache). */
  bigBytes?: number;
}

/** Starts nginx as `o` says and resolves once it listens. */
export async function startNginx(group: ProcessGroup, o: NginxBackend): Promise<ManagedProcess> {
  const { dir, port } = o;
  const nofile = o.nofile ?? 8192;
  await Deno.mkdir(`${dir}/www`, { recursive: true });
  if (o.bigBytes !== undefined) {
    const f = await Deno.open(`${dir}/www/big.bin`, { create: true, write: true });
    await f.truncate(o.bigBytes);
    f.close();
  }
  const conf = `${dir}/nginx.conf`;
  await Deno.writeTextFile(
    conf,
    nginxConfig({ dir, port, workerConnections: o.workerConnections ?? 4096, nofile }),
  );
  const p = group.spawn("nginx", "nginx", [
    "-e",
    `${dir}/nginx_error.log`,
    "-p",
    `${dir}/`,
    "-c",
    conf,
  ], {
    ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
    nofile,
    stderrFile: `${dir}/nginx.stderr`,
  });
  await waitForPort(port, p, 15_000);
  return p;
}
