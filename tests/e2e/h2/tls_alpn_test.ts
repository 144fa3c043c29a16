// HTTP/2 over TLS: a bind with `ssl crt ... alpn h2,http/1.1` gives ALPN h2
// to the clients that offer it (curl --http2, a browser) and HTTP/1.1 to the
// others, on one port. Headless Chromium loads a page with 50 sub-resources
// over HTTPS/h2 through Sluice: every image arrives (the page's script
// counts them) and the log shows each request as HTTP/2.0.

import assert from "node:assert/strict";
import { parseHttpLog, type ProxyProcess, startProxy } from "../../_helpers/proxy.ts";
import { makePki } from "../../_helpers/tls.ts";
import { run } from "./_h2.ts";
import { findChromium, HEADLESS_ARGS } from "../../_helpers/chromium.ts";

const IMAGES = 50;

/** One pixel, as an SVG image; `/img/N.svg` for each N. */
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><rect width="1" height="1"/></svg>';

/** The page: 50 images, and a script that writes how many loaded once all are done. */
function page(): string {
  const imgs = Array.from({ length: IMAGES }, (_, i) => `<img src="/img/${i}.svg">`).join("");
  return `<!doctype html><html><body>${imgs}<p id="r">waiting</p><script>
let ok = 0, done = 0;
for (const im of document.images) {
  const end = (good) => { ok += good; if (++done === ${IMAGES}) document.getElementById("r").textContent = "loaded " + ok; };
  if (im.complete) end(im.naturalWidth > 0 ? 1 : 0);
  else { im.onload = () => end(1); im.onerror = () => end(0); }
}
</script></body></html>`;
}

function startSite(): { port: number; close(): Promise<void> } {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/page.html") {
        return new Response(page(), { headers: { "content-type": "text/html" } });
      }
      if (path.startsWith("/img/")) {
        return new Response(SVG, { headers: { "content-type": "image/svg+xml" } });
      }
      return new Response(`hello ${path}\n`);
    },
  );
  return {
    port: server.addr.port,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

async function tlsH2Proxy(sitePort: number): Promise<ProxyProcess> {
  const pki = await makePki();
  const leaf = await pki.leaf("localhost", ["localhost"]);
  return await startProxy(`
global: { log: stdout }
defaults:
  mode: http
  timeout: { connect: 2s, client: 20s, server: 20s, http-request: 10s, http-keep-alive: 10s }
  option: [httplog]
frontends:
  fe:
    bind: "127.0.0.1:0 ssl crt ${leaf.pem} alpn h2,http/1.1"
    default_backend: be
backends:
  be:
    servers: [{ name: s1, address: "127.0.0.1:${sitePort}" }]
`);
}

Deno.test("h2 over TLS: ALPN gives h2 to curl --http2 and HTTP/1.1 to --http1.1, on one bind", async () => {
  const site = startSite();
  const p = await tlsH2Proxy(site.port);
  try {
    const url = `https://localhost:${p.port("fe")}/x`;
    const resolve = `localhost:${p.port("fe")}:127.0.0.1`;
    for (const [flag, want] of [["--http2", "2"], ["--http1.1", "1.1"]] as const) {
      const r = await run("curl", [
        "-sSk",
        flag,
        "--resolve",
        resolve,
        "-w",
        " %{http_version}",
        url,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(new TextDecoder().decode(r.stdout), `hello /x\n ${want}`);
    }
    await p.waitForLog(/"GET \/x HTTP\/2\.0"/, 10_000);
    await p.waitForLog(/"GET \/x HTTP\/1\.1"/, 10_000);
  } finally {
    await p.stop();
    await site.close();
  }
});

const CHROMIUM = findChromium();

Deno.test({
  name: "h2 over TLS: headless Chromium loads a page and its 50 images through Sluice over HTTP/2",
  ignore: CHROMIUM === null,
  fn: async () => {
    const site = startSite();
    const p = await tlsH2Proxy(site.port);
    const profile = await Deno.makeTempDir({ prefix: "sluice-chromium-" });
    try {
      const r = await run(
        CHROMIUM!,
        [
          ...HEADLESS_ARGS,
          "--ignore-certificate-errors",
          `--user-data-dir=${profile}`,
          "--virtual-time-budget=15000",
          "--dump-dom",
          `https://localhost:${p.port("fe")}/page.html`,
        ],
        undefined,
        90_000,
      );
      const dom = new TextDecoder().decode(r.stdout);
      assert.match(dom, new RegExp(`<p id="r">loaded ${IMAGES}</p>`), r.stderr.slice(-2000));
      // Every request went over HTTP/2: the page and each image once (a favicon may follow).
      await p.waitForLog(/"GET \/img\/49\.svg HTTP\/2\.0"/, 10_000);
      const lines = p.logs.map(parseHttpLog).filter((l) => l.request.includes(" /img/"));
      assert.equal(lines.length, IMAGES, p.logs.join("\n"));
      for (const l of lines) {
        assert.match(l.request, / HTTP\/2\.0$/);
        assert.equal(l.status, 200);
      }
      assert.ok(p.logs.some((l) => l.includes('"GET /page.html HTTP/2.0"')));
    } finally {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      await p.stop();
      await site.close();
    }
  },
});
