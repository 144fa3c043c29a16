// The Deno floor for TLS termination: the least a server on one of Deno's
// TLS APIs costs per handshake, per keep-alive request and per downloaded
// byte, run by the TLS bench (bench/lib/tls_bench.ts) as reference columns.
//
// It terminates TLS with the bench's certificate and answers without a
// backend (it proxies nothing: Sluice also pays for the cleartext hop to
// nginx on its core):
//   - `GET /big.bin`: BIG_BYTES of zeros written from one 64 KiB buffer;
//   - any other request head: a fixed 200 with "hello\n" (the body nginx
//     gives Sluice for `/`), keep-alive.
// Requests are found by the blank line that ends their head at the end of a
// read (wrk and curl send one request per write and wait for the answer).
// Nothing else: no parsing, no timeouts, no logs.
//
// Two routes, as Sluice's (docs/tls.md):
//   - `node`: node:net accepts (pauseOnConnect), a node:tls TLSSocket wraps
//     each socket server-side with the certificate's SecureContext and no
//     SNICallback (the cheapest shape of that API in Deno 2.9.6): Sluice's
//     default route.
//   - `deno`: Deno.listenTls, one read loop per connection over a 16 KiB
//     buffer: Sluice's SLUICE_TLS_LISTENER=deno route.
// Whatever Sluice costs above the floor of its route is Sluice's own;
// whatever the floor costs above HAProxy is the runtime's.
//
// Usage: deno run -A bench/lib/tls_floor.ts node|deno PORT PEM BIG_BYTES

import net from "node:net";
import tls from "node:tls";

const [route, portArg, pemPath, bigArg] = Deno.args;
const port = Number(portArg);
const big = Number(bigArg);
if ((route !== "node" && route !== "deno") || !port || !pemPath || !(big >= 0)) {
  console.error("usage: tls_floor.ts node|deno PORT PEM BIG_BYTES");
  Deno.exit(2);
}

const pem = Deno.readTextFileSync(pemPath);
const key = pem.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/)
  ?.[0];
const cert = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.join(
  "\n",
);
if (key === undefined || cert === undefined) {
  console.error(`${pemPath}: no certificate or no key`);
  Deno.exit(2);
}

const enc = new TextEncoder();
const HELLO = enc.encode(
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n",
);
const BIG_HEAD = enc.encode(
  `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${big}\r\n\r\n`,
);
const CHUNK = new Uint8Array(65536);
const BIG_PATH = enc.encode("GET /big.bin ");

/** True when `b[0..n)` ends with the blank line that ends a request head. */
function endsHead(b: Uint8Array, n: number): boolean {
  return n >= 4 && b[n - 4] === 13 && b[n - 3] === 10 && b[n - 2] === 13 && b[n - 1] === 10;
}

function asksBig(b: Uint8Array): boolean {
  if (b.length < BIG_PATH.length) return false;
  for (let i = 0; i < BIG_PATH.length; i++) if (b[i] !== BIG_PATH[i]) return false;
  return true;
}

if (route === "deno") {
  const l = Deno.listenTls({ hostname: "127.0.0.1", port, cert, key, alpnProtocols: ["http/1.1"] });
  const serve = async (c: Deno.TlsConn) => {
    const buf = new Uint8Array(16384);
    try {
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        if (!endsHead(buf, n)) continue;
        if (asksBig(buf)) {
          await c.write(BIG_HEAD);
          for (let left = big; left > 0;) {
            const w = await c.write(left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left));
            left -= w;
          }
        } else await c.write(HELLO);
      }
    } catch { /* a reset */ }
    try {
      c.close();
    } catch { /* closed */ }
  };
  for await (const c of l) serve(c);
} else {
  const ctx = tls.createSecureContext({ cert, key });
  const opts: tls.TLSSocketOptions = {
    isServer: true,
    secureContext: ctx,
    ALPNProtocols: ["http/1.1"],
    requestCert: false,
    rejectUnauthorized: false,
  };
  const sendBig = (s: tls.TLSSocket) => {
    let left = big;
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          s.once("drain", more);
          return;
        }
      }
    };
    s.write(BIG_HEAD);
    more();
  };
  const server = net.createServer({ pauseOnConnect: true }, (sock: net.Socket) => {
    sock.on("error", () => {});
    sock.setNoDelay(true);
    const s = new tls.TLSSocket(sock, opts);
    s.on("error", () => {});
    s.on("data", (d: Uint8Array) => {
      if (!endsHead(d, d.length)) return;
      if (asksBig(d)) sendBig(s);
      else s.write(HELLO);
    });
    sock.resume();
  });
  server.listen({ host: "127.0.0.1", port });
}
