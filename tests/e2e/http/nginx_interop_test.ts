// Interoperability with real software on both sides: curl as the client and
// nginx as the origin, Sluice in between (mode http). Checks what a user of
// these tools sees: curl's verbose trace (connection reuse, 100 Continue),
// status codes, bytes (SHA-256 of what nginx stored or served), and the
// proxy's log lines. Skipped, with a message, when nginx or curl is missing.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { SeededBytes, sha256Hex } from "../../_helpers/client.ts";
import { findNginx, NGINX_MISSING, type NginxProcess, startNginx } from "../../_helpers/nginx.ts";
import { type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, HTTP_DEFAULTS, logsOf, parseHttpLog } from "./_http.ts";

/** curl's absolute path, or null. */
function findCurl(): string | null {
  for (const d of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/bin", "/usr/local/bin"])) {
    if (d === "") continue;
    try {
      if (Deno.statSync(`${d}/curl`).isFile) return `${d}/curl`;
    } catch {
      // not here
    }
  }
  return null;
}

const NGINX = findNginx();
const CURL = findCurl();
const SKIP = NGINX === null || CURL === null;
if (SKIP) {
  console.warn(
    NGINX === null
      ? NGINX_MISSING
      : "curl is not installed: nginx interoperability tests are skipped",
  );
}

const UPLOAD_BYTES = 50 * 1024 * 1024;

const NGINX_SERVER = `
    client_max_body_size 0;
    location /upload/ {
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw;
    }
    location /gz/ {
      default_type text/plain;
      gzip on;
      gzip_types text/plain;
      gzip_min_length 0;
    }
    location / {
    }
`;

function proxyConfig(nginxPort: number): string {
  return HTTP_DEFAULTS + `
frontends:
  fe:
    bind: "127.0.0.1:0"
    default_backend: be
backends:
  be: { servers: [ { name: nginx, address: "127.0.0.1:${nginxPort}" } ] }
`;
}

interface Env {
  nginx: NginxProcess;
  proxy: ProxyProcess;
  /** Base URL of the proxy's frontend. */
  base: string;
  /** A scratch directory for the test's own files. */
  tmp: string;
}

async function withStack(body: (env: Env) => Promise<void>): Promise<void> {
  let nginx: NginxProcess | undefined;
  let proxy: ProxyProcess | undefined;
  const tmp = await Deno.makeTempDir({ prefix: "sluice-interop-" });
  try {
    nginx = await startNginx({ server: NGINX_SERVER });
    proxy = await startProxy(proxyConfig(nginx.port));
    await body({ nginx, proxy, base: `http://127.0.0.1:${proxy.port("fe")}`, tmp });
  } finally {
    await proxy?.stop();
    await nginx?.stop();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

interface CurlResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/**
 * Runs curl with `args` (no proxy from the environment, no config file),
 * optionally feeding `stdinFile` to its stdin; kills it after `timeoutMs`.
 */
async function curl(
  args: string[],
  opts: { stdinFile?: string; timeoutMs?: number } = {},
): Promise<CurlResult> {
  const child = new Deno.Command(CURL!, {
    args: [
      "-q",
      "--noproxy",
      "*",
      "--max-time",
      String((opts.timeoutMs ?? 30_000) / 1000),
      ...args,
    ],
    stdin: opts.stdinFile === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LC_ALL: "C" },
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, (opts.timeoutMs ?? 30_000) + 5_000);
  try {
    const feeding = opts.stdinFile === undefined ? Promise.resolve() : (async () => {
      const f = await Deno.open(opts.stdinFile!);
      await f.readable.pipeTo(child.stdin).catch(() => {});
    })();
    const [out] = await Promise.all([child.output(), feeding]);
    return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** Writes `size` seeded random bytes to `path`; returns their SHA-256. */
async function writeRandomFile(path: string, size: number, seed: number): Promise<string> {
  const gen = new SeededBytes(seed);
  const h = createHash("sha256");
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const buf = new Uint8Array(1024 * 1024);
    let left = size;
    while (left > 0) {
      const n = Math.min(left, buf.length);
      gen.fill(buf);
      const piece = buf.subarray(0, n);
      h.update(piece);
      let off = 0;
      while (off < n) off += await f.write(piece.subarray(off));
      left -= n;
    }
  } finally {
    f.close();
  }
  return h.digest("hex");
}

/** SHA-256 of a file, streamed. */
async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  const f = await Deno.open(path);
  try {
    const buf = new Uint8Array(1024 * 1024);
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    f.close();
  }
  return h.digest("hex");
}

/** Response status lines in curl's verbose trace (`< HTTP/1.1 200 OK`). */
function statusLines(trace: string): string[] {
  return trace.split("\n").filter((l) => l.startsWith("< HTTP/")).map((l) => l.slice(2).trim());
}

Deno.test({
  name:
    "nginx+curl: two URLs in one curl run reuse one client connection; both logged from one port",
  ignore: SKIP,
  fn: async () => {
    await withStack(async ({ nginx, proxy, base }) => {
      await Deno.writeTextFile(`${nginx.root}/a.txt`, "first file\n");
      await Deno.writeTextFile(`${nginx.root}/b.txt`, "second file\n");
      const r = await curl(["-sS", "-v", `${base}/a.txt`, `${base}/b.txt`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(new TextDecoder().decode(r.stdout), "first file\nsecond file\n");
      assert.match(r.stderr, /Re-using existing connection/, r.stderr);
      assert.deepEqual(statusLines(r.stderr), ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
      assert.doesNotMatch(r.stderr, /< connection: close/i, "the proxy kept the connection open");

      const lines = await proxy.waitForLogs(/"GET \/[ab]\.txt HTTP\/1\.1"$/, 2);
      const logs = lines.map(parseHttpLog);
      assert.equal(logs[0]!.clientPort, logs[1]!.clientPort, lines.join("\n"));
      assert.deepEqual(logs.map((l) => [l.status, l.request, `${l.backend}/${l.server}`, l.tsc]), [
        [200, "GET /a.txt HTTP/1.1", "be/nginx", "----"],
        [200, "GET /b.txt HTTP/1.1", "be/nginx", "----"],
      ]);
      // Keep-alive on the server side too: nginx served both on one connection.
      const served = nginx.accessLog().trim().split("\n").filter((l) =>
        /"GET \/[ab]\.txt /.test(l)
      );
      assert.equal(served.length, 2, nginx.accessLog());
      assert.equal(served[0]!.split(" ")[0], served[1]!.split(" ")[0], nginx.accessLog());
    });
  },
});

Deno.test({
  name: "nginx+curl: 50 MiB chunked upload (curl -T -) is stored by nginx byte for byte",
  ignore: SKIP,
  fn: async () => {
    await withStack(async ({ nginx, proxy, base, tmp }) => {
      const src = `${tmp}/upload.bin`;
      const digest = await writeRandomFile(src, UPLOAD_BYTES, 50);
      const r = await curl(
        [
          "-sS",
          "-v",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "-T",
          "-",
          "-H",
          "Transfer-Encoding: chunked",
          `${base}/upload/big.bin`,
        ],
        { stdinFile: src, timeoutMs: 40_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(new TextDecoder().decode(r.stdout), "201", nginx.errorLog());
      assert.match(r.stderr, /^> Transfer-Encoding: chunked\r?$/m, "curl sent a chunked body");
      assert.doesNotMatch(r.stderr, /^curl: /m, "curl reported no error");
      const stored = `${nginx.root}/upload/big.bin`;
      assert.equal((await Deno.stat(stored)).size, UPLOAD_BYTES);
      assert.equal(await sha256File(stored), digest);

      const [log] = (await proxy.waitForLogs(/"PUT \/upload\/big\.bin HTTP\/1\.1"$/, 1)).map(
        parseHttpLog,
      );
      assert.equal(log!.status, 201, log!.line);
      assert.equal(log!.tsc, "----", log!.line);
    });
  },
});

Deno.test({
  name:
    "nginx+curl: Expect: 100-continue gets the interim 100, then the final 201 (new) and 204 (overwrite)",
  ignore: SKIP,
  fn: async () => {
    await withStack(async ({ nginx, base, tmp }) => {
      const src = `${tmp}/body.bin`;
      const digest = await writeRandomFile(src, 2 * 1024 * 1024 + 17, 100);
      for (const expected of ["201", "204"]) {
        const r = await curl([
          "-sS",
          "-v",
          "--expect100-timeout",
          "5",
          "-H",
          "Expect: 100-continue",
          "-T",
          src,
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          `${base}/upload/expect.bin`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /> Expect: 100-continue/i);
        const statuses = statusLines(r.stderr);
        assert.equal(
          statuses[0],
          "HTTP/1.1 100 Continue",
          `interim response relayed:\n${r.stderr}`,
        );
        assert.equal(new TextDecoder().decode(r.stdout), expected, r.stderr);
        assert.match(statuses[statuses.length - 1]!, new RegExp(`^HTTP/1\\.1 ${expected} `));
        assert.equal(await sha256File(`${nginx.root}/upload/expect.bin`), digest);
      }
    });
  },
});

Deno.test({
  name: "nginx: HEAD then GET on one connection, both correct (no body after HEAD)",
  ignore: SKIP,
  fn: async () => {
    await withStack(async ({ nginx, proxy }) => {
      const size = 3 * 1024 * 1024 + 5;
      const digest = await writeRandomFile(`${nginx.root}/file.bin`, size, 33);
      const c = await connectHttp(proxy.port("fe"));
      try {
        const head = await c.request("HEAD /file.bin HTTP/1.1\r\nHost: localhost\r\n\r\n", "HEAD");
        assert.equal(head.status, 200, head.head.raw);
        assert.equal(head.get("content-length"), String(size));
        assert.equal(head.body.length, 0);
        assert.equal(c.reader.pending, 0, "no byte follows the HEAD response");

        const get = await c.request("GET /file.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert.equal(get.status, 200, get.head.raw);
        assert.equal(get.get("content-length"), String(size));
        assert.equal(get.body.length, size);
        assert.equal(sha256Hex(get.body), digest);

        const again = await c.request("HEAD /file.bin HTTP/1.1\r\nHost: localhost\r\n\r\n", "HEAD");
        assert.equal(again.status, 200);
        const missing = await c.request("GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert.equal(missing.status, 404);

        const logs = await logsOf(proxy, c.localPort, 4);
        assert.deepEqual(logs.map((l) => [l.request, l.status]), [
          ["HEAD /file.bin HTTP/1.1", 200],
          ["GET /file.bin HTTP/1.1", 200],
          ["HEAD /file.bin HTTP/1.1", 200],
          ["GET /nope HTTP/1.1", 404],
        ]);
        assert.ok(logs[1]!.bytes >= size, logs[1]!.line);
        assert.ok(logs[0]!.bytes < 1024, `HEAD sent only a head: ${logs[0]!.line}`);
      } finally {
        c.close();
      }

      // The same with curl: -I then a GET reusing the connection (--next).
      const base = `http://127.0.0.1:${proxy.port("fe")}`;
      const r = await curl([
        "-sS",
        "-v",
        "-I",
        `${base}/file.bin`,
        "--next",
        "-sS",
        "-v",
        "-o",
        "-",
        `${base}/file.bin`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Re-using existing connection/, r.stderr);
      const out = r.stdout;
      // stdout: the HEAD response's header block, then the GET body.
      const text = new TextDecoder("latin1").decode(out.subarray(0, 4096));
      const split = text.indexOf("\r\n\r\n");
      assert.ok(split > 0 && text.startsWith("HTTP/1.1 200"), text.slice(0, 200));
      const body = out.subarray(split + 4);
      assert.equal(body.length, size);
      assert.equal(sha256Hex(body), digest);
    });
  },
});

Deno.test({
  name: "nginx+curl: a chunked gzip response from nginx reaches curl --compressed intact",
  ignore: SKIP,
  fn: async () => {
    await withStack(async ({ nginx, proxy, base }) => {
      await Deno.mkdir(`${nginx.root}/gz`);
      let text = "";
      for (let i = 0; text.length < 1024 * 1024; i++) {
        text += `line ${i} ${"abcdefghij".repeat(i % 7)}\n`;
      }
      await Deno.writeTextFile(`${nginx.root}/gz/big.txt`, text);
      const r = await curl(["-sS", "-v", "--compressed", `${base}/gz/big.txt`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^< Content-Encoding: gzip\r?$/mi, r.stderr);
      assert.match(r.stderr, /^< Transfer-Encoding: chunked\r?$/mi, r.stderr);
      assert.equal(sha256Hex(r.stdout), sha256Hex(new TextEncoder().encode(text)));
      const [log] = (await proxy.waitForLogs(/"GET \/gz\/big\.txt HTTP\/1\.1"$/, 1)).map(
        parseHttpLog,
      );
      assert.equal(log!.status, 200, log!.line);
      assert.equal(log!.tsc, "----", log!.line);
    });
  },
});
