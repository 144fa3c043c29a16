// The Deno floor for an idle keep-alive client: the least any server on
// Deno's socket API holds per open connection, run by the memory bench as a
// reference column (BENCH_PROXIES=…,floor; keepalive and slowloris only).
//
// It accepts with Deno.listen and, per connection, runs one async loop with
// one 1 KiB read buffer: read, answer every read that ends a request head
// with a fixed 200 (no backend, no parsing, no timeouts, no scheduler, no
// pools), read again. A client idle between requests costs it exactly one
// pending read op, one promise and the runtime's resource for the socket:
// whatever Sluice holds above this per idle client is Sluice's own; whatever
// this holds above HAProxy is the price of Deno's per-connection machinery.
//
// Usage: deno run --allow-net bench/lib/idle_floor.ts LISTEN_PORT

const port = Number(Deno.args[0]);
if (!port) {
  console.error("usage: idle_floor.ts LISTEN_PORT");
  Deno.exit(2);
}

const RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n",
);

/** True when `buf[0..n)` ends with the blank line that ends a request head. */
function endsHead(buf: Uint8Array, n: number): boolean {
  return n >= 4 && buf[n - 4] === 13 && buf[n - 3] === 10 && buf[n - 2] === 13 &&
    buf[n - 1] === 10;
}

async function serve(c: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(1024);
  try {
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      if (endsHead(buf, n)) await c.write(RESPONSE);
    }
  } catch { /* a reset */ }
  try {
    c.close();
  } catch { /* already closed */ }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port, tcpBacklog: 20000 });
for await (const c of listener) void serve(c);
