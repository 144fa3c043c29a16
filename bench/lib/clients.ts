// Load-bench clients other than wrk: a bulk download (throughput) and a crowd
// of idle connections (memory per connection).
//
// The download is `curl -o /dev/null`, which reports its own average speed;
// the idle connections are plain Deno.connect() sockets held by the bench
// process, opened a bounded number at a time so that no listen backlog
// overflows. Both only talk to 127.0.0.1.

import { capture } from "./proc.ts";
import { openCrowd } from "./crowds.ts";

/** One download through a proxy. */
export interface DownloadResult {
  bytes: number;
  seconds: number;
  /** Average speed in MiB/s (bytes / seconds / 2^20). */
  mibPerSec: number;
}

/**
 * Downloads `url` with curl (pinned to `cpus` when given), discarding the
 * body. Throws unless the status is 200 and exactly `expectBytes` arrived.
 */
export async function curlDownload(
  url: string,
  expectBytes: number,
  cpus?: string,
): Promise<DownloadResult> {
  const curlArgs = [
    "-sS",
    "-o",
    "/dev/null",
    "--max-time",
    "120",
    "-w",
    "%{http_code} %{size_download} %{time_total}",
    url,
  ];
  const r = cpus === undefined
    ? await capture("curl", curlArgs)
    : await capture("taskset", ["-c", cpus, "curl", ...curlArgs]);
  const [code, size, total] = r.stdout.trim().split(" ");
  const bytes = Number(size), seconds = Number(total);
  if (r.code !== 0 || code !== "200" || bytes !== expectBytes || !(seconds > 0)) {
    throw new Error(
      `Download of ${url} failed: curl exit ${r.code}, status ${code}, ${size} of ${expectBytes} bytes` +
        (r.stderr.trim() ? ` (${r.stderr.trim()})` : ""),
    );
  }
  return { bytes, seconds, mibPerSec: bytes / seconds / (1024 * 1024) };
}

/**
 * Opens `n` TCP connections to 127.0.0.1:`port`, at most `parallel` connects
 * in flight, and returns them open and idle (nothing is sent). On a failure
 * the ones already open are closed and the error is thrown.
 */
export function openIdleConnections(
  port: number,
  n: number,
  parallel = 100,
): Promise<Deno.TcpConn[]> {
  return openCrowd(port, n, () => Promise.resolve(), parallel, "idle connections");
}

/** Closes every connection, ignoring those already closed. */
export function closeAll(conns: Deno.TcpConn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // already closed (the peer may have timed it out)
    }
  }
  conns.length = 0;
}
