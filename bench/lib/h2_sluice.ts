// What the HTTP/2 benches (h2_load.ts, h2_profile.ts) share: Sluice's
// configuration with a `proto h2` bind in front of one nginx server, the
// Sluice process started from it, and the h2load command they measure with.
// Only text and processes: each bench reads its own figures.

import type { CommonSettings } from "./env.ts";
import { capture, type ManagedProcess, type ProcessGroup } from "./proc.ts";

/**
 * Sluice's YAML: frontend on 127.0.0.1:`port` (`proto h2`, or `ssl crt PEM
 * alpn h2` when `pem` is given), one server at 127.0.0.1:`backend`.
 */
export function sluiceH2Config(
  s: CommonSettings,
  port: number,
  backend: number,
  pem?: string,
): string {
  const bind = pem === undefined ? "proto h2" : `ssl crt ${pem} alpn h2`;
  return [
    `global: { maxconn: 4096, bufsize: ${s.bufsize}, log: none }`,
    "defaults:",
    "  mode: http",
    "  timeout: { connect: 5s, client: 60s, server: 60s }",
    "frontends:",
    `  fe: { bind: "127.0.0.1:${port} ${bind}", default_backend: be }`,
    "backends:",
    `  be: { servers: [ { name: s1, address: "127.0.0.1:${backend}" } ] }`,
    "",
  ].join("\n");
}

/**
 * Starts the Sluice of `root` (default `s.sluiceRoot`) on `${dir}/${name}.yaml`
 * (stderr into `${dir}/${name}.err`), pinned to the proxy core; `denoFlags`
 * go before `--config` (e.g. `--inspect=...`).
 */
export function spawnSluice(
  group: ProcessGroup,
  s: CommonSettings,
  dir: string,
  denoFlags: string[] = [],
  o: { root?: string | undefined; name?: string } = {},
): ManagedProcess {
  const root = o.root ?? s.sluiceRoot, name = o.name ?? "sluice";
  return group.spawn(name, Deno.execPath(), [
    "run",
    "--allow-all",
    ...denoFlags,
    "--config",
    `${root}/deno.json`,
    `${root}/main.ts`,
    "-f",
    `${dir}/${name}.yaml`,
    "-q",
  ], {
    cpus: s.proxyCpu,
    nofile: 65536,
    stderrFile: `${dir}/${name}.err`,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
}

/**
 * `h2load -c clients -m streams -D duration [extra...] url`, pinned to the
 * load core; its exit code and output (not checked here).
 */
export function runH2load(
  s: CommonSettings,
  o: { clients: number; streams: number; duration: number; url: string; extra?: string[] },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return capture("taskset", [
    "-c",
    s.loadCpu,
    "h2load",
    "-c",
    String(o.clients),
    "-m",
    String(o.streams),
    "-D",
    String(o.duration),
    ...(o.extra ?? []),
    o.url,
  ]);
}
