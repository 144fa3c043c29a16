// A stalled log reader never stalls the proxy (issue 13): with stdout on a
// pipe nobody reads (a stuck collector, a paused `journalctl`), every request
// is still served; the lines that did not fit are dropped and counted, and
// the count shows on the stats page and in the exit notice.
//
// Before the non-blocking sinks, writeSync() on the full pipe blocked the
// event loop after about 500 requests and every connection hung.

import assert from "node:assert/strict";
import { MAIN_TS, spawnDeno, START_FLAGS } from "../../_helpers/proxy.ts";
import { connectHttp, get } from "../http/_http.ts";
import { httpStub } from "../../_helpers/http_stub.ts";
import { withDeadline } from "../../_helpers/client.ts";

const REQUESTS = 5_000;
const CLIENTS = 10;

/** Reads stderr lines as they come; resolves `ready` with the frontend's port. */
function pumpStderr(child: Deno.ChildProcess, lines: string[]): Promise<void> {
  return (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stderr) {
      rest += dec.decode(chunk, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
    if (rest !== "") lines.push(rest);
  })();
}

async function until<T>(
  f: () => T | undefined,
  ms: number,
  what: string,
  out: string[],
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${out.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("log stall: stdout on a pipe nobody reads, 5,000 requests are all served and the drops counted", async () => {
  const origin = httpStub();
  const file = await Deno.makeTempFile({ prefix: "sluice-stall-", suffix: ".yaml" });
  await Deno.writeTextFile(
    file,
    `
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 5s, client: 30s, server: 30s, http-request: 30s, http-keep-alive: 30s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    stats: { uri: /stats }
backends:
  be:
    servers:
      - { name: s1, address: "127.0.0.1:${origin.port}" }
`,
  );
  // stdout piped and never read: the pipe (64 KiB) fills after a few hundred lines.
  const child = spawnDeno(["run", ...START_FLAGS, MAIN_TS, "-f", file]);
  const stderr: string[] = [];
  const pump = pumpStderr(child, stderr);
  try {
    const port = await until(
      () => {
        for (const l of stderr) {
          const m = /\blistening fe \S+:(\d+)\s*$/.exec(l);
          if (m !== null && stderr.some((x) => /\bready\b/.test(x))) return Number(m[1]);
        }
        return undefined;
      },
      30_000,
      "the ready notice",
      stderr,
    );
    let served = 0;
    let next = 0;
    await withDeadline(
      () =>
        Promise.all(Array.from({ length: CLIENTS }, async () => {
          const c = await connectHttp(port);
          try {
            while (next < REQUESTS) {
              next++;
              const r = await c.request(get("/item"), "GET", 30_000);
              assert.equal(r.status, 200);
              served++;
            }
          } finally {
            c.close();
          }
        })),
      300_000,
      `${REQUESTS} requests through a proxy whose stdout is stalled`,
    );
    assert.equal(served, REQUESTS);

    const c = await connectHttp(port);
    let page: string;
    try {
      page = (await c.request(get("/stats"), "GET", 30_000)).text;
    } finally {
      c.close();
    }
    const m = /log messages = <\/b>(\d+) sent, <span class="log-dropped">(\d+) dropped/.exec(page);
    assert.ok(m !== null, "the stats page shows the log counters");
    const sent = Number(m[1]);
    const dropped = Number(m[2]);
    assert.ok(dropped > 0, `lines were dropped (sent ${sent}, dropped ${dropped})`);
    // What was not dropped fit in the pipe and the queue: far fewer than the requests.
    assert.ok(sent < REQUESTS, `sent ${sent} < ${REQUESTS}`);

    // The exit notice on stderr reports the drops too.
    child.kill("SIGTERM");
    const status = await withDeadline(() => child.status, 30_000, "the proxy's exit");
    await pump;
    assert.equal(status.code, 0);
    const notice = stderr.find((l) => /\d+ log messages dropped/.test(l));
    assert.ok(notice !== undefined, `exit notice of the drops; stderr:\n${stderr.join("\n")}`);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await pump.catch(() => {});
    await origin.close();
    await Deno.remove(file).catch(() => {});
  }
});
