// How a failed server connect is retried and logged, by the kind of
// failure (in-process: a Process whose transport's connect() fails as told).
// A connect that fails for lack of a descriptor or memory is the proxy's
// resource problem, not the server's: HAProxy logs it RC and retries at
// once, without the turn-around pause meant for a server that refuses.
import assert from "node:assert/strict";
import type { Conn, Protocol } from "../../src/listener/protocol.ts";
import { protoTcp } from "../../src/listener/proto_tcp.ts";
import { Process } from "../../src/proxy/process.ts";
import { backend, frontend, runtimeConfig, server } from "../_helpers/runtime_config.ts";

/** protoTcp whose connect() always fails with an OS error of `code`. */
function failingConnect(code: string, message: string): Protocol & { attempts: number } {
  const p = {
    name: "tcp",
    attempts: 0,
    bind: protoTcp.bind,
    connect(): Promise<Conn> {
      p.attempts++;
      return Promise.reject(Object.assign(new Error(message), { code }));
    },
  };
  return p;
}

async function oneSession(proto: Protocol): Promise<{ line: string; ms: number }> {
  const cfg = runtimeConfig([frontend("fe")], [backend("be", [server("s1", 9)])]);
  // Session lines are compiled only with a log target; they are caught below.
  const p = new Process({ ...cfg, global: { ...cfg.global, log: "stdout" } }, {
    quiet: true,
    debug: false,
  });
  (p as { proto: Protocol }).proto = proto;
  const lines: string[] = [];
  p.logger.sessionLine = () => void lines.push(p.logger.lineText());
  p.start();
  try {
    const l = p.listeners[0]!.sock!.local;
    assert.ok(!("path" in l));
    const t0 = performance.now();
    const c = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
    await c.write(new TextEncoder().encode("x"));
    const buf = new Uint8Array(16);
    const n = await c.read(buf).catch(() => null); // the proxy closes: no server
    c.close();
    assert.equal(n, null, "bytes came back without a server");
    for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    return { line: lines[0] ?? "", ms: performance.now() - t0 };
  } finally {
    p.hardStop();
  }
}

Deno.test("connect errors: no descriptor for a server socket is logged RC, retried at once", async () => {
  const proto = failingConnect("EMFILE", "Too many open files (os error 24)");
  const { line, ms } = await oneSession(proto);
  assert.match(line, / RC /, line);
  assert.equal(proto.attempts, 4, "the first attempt and 3 retries");
  // No turn-around pause (min(1 s, timeout connect) each with a refusing server).
  assert.ok(ms < 900, `the retries took ${ms.toFixed(0)} ms: ${line}`);
});

Deno.test("connect errors: a refused connect is logged SC after the turn-around pauses", async () => {
  const proto = failingConnect("ECONNREFUSED", "Connection refused (os error 111)");
  const { line, ms } = await oneSession(proto);
  assert.match(line, / SC /, line);
  assert.equal(proto.attempts, 4);
  assert.ok(ms >= 900, `no pause between retries of a refusing server (${ms.toFixed(0)} ms)`);
});
