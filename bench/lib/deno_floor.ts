// The Deno floor: the least a proxy on Deno's socket API can do per
// connection, run by the load bench as a reference column (BENCH_PROXIES=…,floor).
//
// It accepts with Deno.listen, opens one server connection per client
// connection with Deno.connect (TCP_NODELAY on both, like Sluice and
// HAProxy), copies bytes both ways with one read and one write op at a time,
// and closes both connections as soon as either side ends (what an HTTP proxy
// does when a response ends with the connection; no half-close). No parsing, no
// timeouts, no scheduler, no pools: whatever Sluice costs above this is
// Sluice's own; whatever this costs above HAProxy is the price of Deno's
// per-operation and per-connection machinery (async ops, promises, resource
// table), which no JavaScript on top of Deno.listen can avoid.
//
// Usage: deno run --allow-net bench/lib/deno_floor.ts LISTEN_PORT BACKEND_PORT

const [listenPort, backendPort] = Deno.args.map(Number);
if (!listenPort || !backendPort) {
  console.error("usage: deno_floor.ts LISTEN_PORT BACKEND_PORT");
  Deno.exit(2);
}

function closeBoth(a: Deno.TcpConn, b: Deno.TcpConn): void {
  for (const c of [a, b]) {
    try {
      c.close();
    } catch { /* already closed */ }
  }
}

async function pump(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(16384);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await to.write(buf.subarray(off, n));
    }
  } catch { /* a reset, or the other pump closed both */ }
  closeBoth(from, to);
}

async function serve(client: Deno.TcpConn): Promise<void> {
  client.setNoDelay(true);
  let server: Deno.TcpConn;
  try {
    server = await Deno.connect({ hostname: "127.0.0.1", port: backendPort! });
  } catch {
    client.close();
    return;
  }
  server.setNoDelay(true);
  pump(client, server);
  pump(server, client);
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: listenPort });
for await (const c of listener) serve(c as Deno.TcpConn).catch(() => {});
