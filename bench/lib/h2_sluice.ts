// What the HTTP/2 benches (h2_load.ts, h2_profile.ts) share: Sluice's
// configuration with a `proto h2` bind in front of one nginx server, the
// Sluice process started from it, and the h2load command they measure with.
// Only text and processes: each bench reads its own figures.

import type { CommonSettings } from "./env.ts";
import { type ProxyParams, sluiceConfig } from "./configs.ts";
import { spawnSluiceTree } from "./sluice_proc.ts";
import { capture, type ManagedProcess, type ProcessGroup } from "./proc.ts";

/**
 * The proxies' settings for the HTTP/2 benches: load.ts's HTTP configuration
 * (bench/lib/configs.ts) with a `proto h2` bind on 127.0.0.1:`port` (or
 * `ssl crt PEM alpn h2` when `pem` is given), one server at 127.0.0.1:`backend`.
 */
export function h2Params(
  s: CommonSettings,
  port: number,
  backend: number,
  pem?: string,
): ProxyParams {
  return {
    mode: "http",
    bindPort: port,
    backendPort: backend,
    maxconn: 4096,
    bufsize: s.bufsize,
    bindOptions: pem === undefined ? "proto h2" : `ssl crt ${pem} alpn h2`,
  };
}

/** Sluice's YAML for h2Params(). */
export function sluiceH2Config(
  s: CommonSettings,
  port: number,
  backend: number,
  pem?: string,
): string {
  return sluiceConfig(h2Params(s, port, backend, pem));
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
  const name = o.name ?? "sluice";
  return spawnSluiceTree(group, name, o.root ?? s.sluiceRoot, `${dir}/${name}.yaml`, {
    denoFlags,
    cpus: s.proxyCpu,
    nofile: 65536,
    stderrFile: `${dir}/${name}.err`,
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
