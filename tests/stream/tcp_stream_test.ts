// In-process TCP-mode tests: a Process built from a code-made config, real
// sockets on 127.0.0.1, and the process's own counters and pools.
import assert from "node:assert/strict";
import { Process } from "../../src/proxy/process.ts";
import { backend, frontend, runtimeConfig, server } from "../_helpers/runtime_config.ts";

function echoServer(): { port: number; close: () => void; done: Promise<void> } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const done = (async () => {
    for await (const c of l) {
      conns.push(c);
      (async () => {
        const buf = new Uint8Array(65536);
        try {
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            let off = 0;
            while (off < n) off += await c.write(buf.subarray(off, n));
          }
          await c.closeWrite();
        } catch { /* peer gone */ }
        try {
          c.close();
        } catch { /* closed */ }
      })();
    }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    close: () => {
      l.close();
    },
    done,
  };
}

function portOf(p: Process): number {
  const l = p.listeners[0]!.sock!.local;
  assert.ok(!("path" in l));
  return l.port;
}

async function readAll(c: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  let total = 0;
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.length;
  }
  return out;
}

Deno.test("TCP mode echoes bytes through the proxy and frees every buffer", async () => {
  const echo = echoServer();
  const p = new Process(
    runtimeConfig([frontend("fe")], [backend("be", [server("s1", echo.port)])]),
    { quiet: true, debug: false },
  );
  p.start();
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: portOf(p) });
    const payload = new Uint8Array(200_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const reading = readAll(c);
    let off = 0;
    while (off < payload.length) off += await c.write(payload.subarray(off));
    await c.closeWrite();
    const got = await reading;
    c.close();
    assert.equal(got.length, payload.length);
    const bad = got.findIndex((b, i) => b !== payload[i]);
    assert.equal(bad, -1, `first corrupted byte at ${bad}`);
    // The session ends once both sides closed; then buffers go back.
    for (let i = 0; i < 100 && p.actconn > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(p.actconn, 0);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(p.pools.big.stats().used, 0);
    assert.equal(p.pools.small.stats().used, 0);
    assert.equal(p.backends[0]!.servers[0]!.counters.cumSessions, 1);
    assert.equal(p.frontends[0]!.counters.bytesIn, payload.length);
  } finally {
    p.hardStop();
    p.sched.stop();
    echo.close();
    await echo.done;
  }
});

Deno.test("a bug in one stream closes that stream only; the others keep working", async () => {
  const echo = echoServer();
  const p = new Process(
    runtimeConfig([frontend("fe")], [backend("be", [server("s1", echo.port)])]),
    { quiet: true, debug: false },
  );
  const alerts: string[] = [];
  p.sched.onCrash = (task, e) => {
    alerts.push(String(e));
    (task.owner as unknown as { crash(e: unknown): void }).crash(e);
  };
  p.start();
  try {
    const port = portOf(p);
    const a = await Deno.connect({ hostname: "127.0.0.1", port });
    const b = await Deno.connect({ hostname: "127.0.0.1", port });
    for (let i = 0; i < 100 && p.sessions.size < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(p.sessions.size, 2);
    // Make the first stream's next run throw, as a bug would.
    const victim = p.sessions.toArray()[0] as unknown as { process(): void; task: unknown };
    victim.process = () => {
      throw new TypeError("simulated bug");
    };
    p.sched.wake(victim.task as never, 4);
    // One of the two clients is cut off; the other still echoes.
    const results = await Promise.all([a, b].map(async (c) => {
      try {
        await c.write(new TextEncoder().encode("ping"));
        const buf = new Uint8Array(16);
        const n = await c.read(buf);
        return n === null ? "closed" : new TextDecoder().decode(buf.subarray(0, n));
      } catch {
        return "closed";
      }
    }));
    assert.deepEqual(results.sort(), ["closed", "ping"]);
    assert.equal(alerts.length, 1);
    assert.match(alerts[0]!, /simulated bug/);
    a.close();
    b.close();
    for (let i = 0; i < 100 && p.actconn > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(p.actconn, 0, "the crashed session was counted as ended");
  } finally {
    p.hardStop();
    p.sched.stop();
    echo.close();
    await echo.done;
  }
});
