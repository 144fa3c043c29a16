// 20 reloads under load (`wrk -c50`), keep-alive and `Connection: close`,
// alternating two configurations that differ in servers (s1,s2 / s2,s3) and
// rules (the X-Gen response header): wrk sees no failed request (no socket
// error, no non-2xx answer), and after each reload a new connection gets the
// new rules and a server of the new list. Load runs during every reload: the
// test waits for requests to reach the servers between two reloads.

import assert from "node:assert/strict";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import {
  closeAll,
  fetchOnce,
  headerValues,
  HTTP_HEAD,
  NameServer,
  serverLines,
} from "../backends/_common.ts";
import { reloadWith } from "./_reload.ts";

const RELOADS = 20;
/** Requests the servers must see between two reloads (so that load overlaps every reload). */
const BETWEEN = 100;

function config(gen: "A" | "B", servers: NameServer[]): string {
  return HTTP_HEAD + `
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
    http-response: ["set-header X-Gen ${gen}"]
backends:
  be:
    balance: roundrobin
    servers:
${serverLines(servers)}
`;
}

/** What wrk printed, in numbers. */
interface WrkResult {
  requests: number;
  socketErrors: number;
  non2xx: number;
  text: string;
}

function parseWrk(text: string): WrkResult {
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = se === null ? 0 : se.slice(1).reduce((a, b) => a + Number(b), 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  return { requests, socketErrors, non2xx, text };
}

async function reloadsUnderLoad(close: boolean): Promise<void> {
  const servers = [new NameServer("s1"), new NameServer("s2"), new NameServer("s3")];
  const [s1, s2, s3] = servers as [NameServer, NameServer, NameServer];
  const gens = { A: [s1, s2], B: [s2, s3] };
  let proxy: ProxyProcess | undefined;
  let wrk: Deno.ChildProcess | undefined;
  try {
    proxy = await startProxy(config("A", gens.A));
    const port = proxy.port("fe");
    const served = () => servers.reduce((n, s) => n + s.requests.length, 0);
    wrk = new Deno.Command("wrk", {
      args: [
        "-t1",
        "-c50",
        "-d120s",
        "--timeout",
        "10s",
        ...(close ? ["-H", "Connection: close"] : []),
        `http://127.0.0.1:${port}/`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = wrk.output();
    const waitLoad = async (from: number) => {
      const end = Date.now() + 20_000;
      while (served() < from + BETWEEN) {
        if (Date.now() > end) throw new Error(`no load: ${served() - from} requests in 20 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitLoad(0);
    for (let i = 1; i <= RELOADS; i++) {
      const gen = i % 2 === 1 ? "B" : "A";
      const r = await reloadWith(proxy, config(gen, gens[gen]));
      assert.ok(r.ok, `reload ${i}: ${r.lines.join("\n")}`);
      // The new rules and servers, on a new connection, right after the reload.
      for (let k = 0; k < 2; k++) {
        const res = await fetchOnce(port, "/probe");
        assert.equal(res.status, 200, `reload ${i}`);
        assert.equal(headerValues(res.head, "x-gen")[0], gen, `reload ${i}: old rules`);
        assert.ok(
          gens[gen].some((s) => s.name === res.server),
          `reload ${i}: ${res.server} is not in ${gen}`,
        );
      }
      await waitLoad(served());
    }
    wrk.kill("SIGINT");
    const out = await output;
    wrk = undefined;
    const w = parseWrk(new TextDecoder().decode(out.stdout));
    console.log(
      `wrk -c50 ${close ? "Connection: close" : "keep-alive"}: ${w.requests} requests over ` +
        `${RELOADS} reloads, ${w.socketErrors} socket errors, ${w.non2xx} non-2xx`,
    );
    assert.ok(w.requests >= RELOADS * BETWEEN, w.text);
    assert.equal(w.socketErrors, 0, w.text);
    assert.equal(w.non2xx, 0, w.text);
    assert.equal(proxy.exitStatus, null);
    // The proxy's own view: no request answered by an error (5xx) in the logs.
    const bad = proxy.logs.filter((l) => / 5\d\d \d+ /.test(l));
    assert.deepEqual(bad.slice(0, 3), [], `${bad.length} error responses logged`);
  } finally {
    if (wrk !== undefined) {
      try {
        wrk.kill("SIGKILL");
      } catch { /* gone */ }
      await wrk.output().catch(() => {});
    }
    await proxy?.stop();
    await closeAll(servers);
  }
}

Deno.test("reload under load: 20 reloads under wrk -c50 keep-alive, 0 failed requests, new rules after each", async () => {
  await reloadsUnderLoad(false);
});

Deno.test("reload under load: 20 reloads under wrk -c50 Connection: close, 0 failed requests, new rules after each", async () => {
  await reloadsUnderLoad(true);
});
