// Stand-in HTTP backend for the load bench when nginx is not installed.
//
// Usage: deno run --allow-net bench/lib/stub_backend.ts PORT BIG_BYTES
// Serves on 127.0.0.1:PORT: `GET /` → 200 "hello\n"; `GET /big.bin` → 200
// with BIG_BYTES bytes of zeros (one reused 64 KiB chunk, Content-Length set);
// anything else → 404. Idle connections are held open (Deno.serve keeps
// them). It is slower than nginx, which makes the proxies' ratios less
// telling: prefer nginx (apt-get install nginx).

const port = Number(Deno.args[0]);
const bigBytes = Number(Deno.args[1] ?? 100 * 1024 * 1024);
if (!Number.isInteger(port) || port <= 0 || !Number.isInteger(bigBytes) || bigBytes < 0) {
  console.error("usage: stub_backend.ts PORT BIG_BYTES");
  Deno.exit(2);
}

const HELLO = new TextEncoder().encode("hello\n");
const CHUNK = new Uint8Array(64 * 1024);

function bigBody(): ReadableStream<Uint8Array> {
  let left = bigBytes;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (left <= 0) {
        ctl.close();
        return;
      }
      const n = Math.min(left, CHUNK.length);
      left -= n;
      ctl.enqueue(n === CHUNK.length ? CHUNK.slice() : CHUNK.subarray(0, n).slice());
    },
  });
}

Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/") {
    return new Response(HELLO, { headers: { "content-type": "text/plain" } });
  }
  if (path === "/big.bin") {
    return new Response(bigBody(), {
      headers: { "content-type": "application/octet-stream", "content-length": String(bigBytes) },
    });
  }
  return new Response("not found\n", { status: 404 });
});
