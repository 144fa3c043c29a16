// The statistics page in a real browser: headless Chromium loads the page
// from the running proxy, `--dump-dom` gives the DOM it built (tables,
// server names and the status text a person reads), and `--screenshot`
// renders it at 1600x1000. The picture is checked (PNG signature, size,
// dimensions, and the status colours of the legend and of the servers'
// cells actually painted) and, only when every check passed and
// UPDATE_SCREENSHOT=1 is set, saved as docs/stats_screenshot.png for the
// documentation (a plain test run never modifies the repository).
//
// Skipped, with a message, when no Chromium is installed
// (`apt-get install -y chromium`; CHROMIUM=/path overrides the lookup).

import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { type ProxyProcess, REPO_ROOT, startProxy } from "../../_helpers/proxy.ts";
import { deadPort } from "../../_helpers/servers.ts";
import { closeAll, fetchOnce, HTTP_HEAD, NameServer, serverLines } from "../backends/_common.ts";
import { findAll, parseHtml, statsTables, text } from "./_html.ts";
import { findChromium, HEADLESS_ARGS } from "../../_helpers/chromium.ts";

const SCREENSHOT = `${REPO_ROOT}docs/stats_screenshot.png`;
const RUN_TIMEOUT_MS = 60_000;

const CHROMIUM = findChromium();
if (CHROMIUM === null) {
  console.warn(
    "stats_chromium_test: Chromium not found (install the Debian package `chromium`, " +
      "or set CHROMIUM=/path/to/chromium): the browser test is skipped.",
  );
}

/** Runs headless Chromium with `args` (fresh profile), bounded; returns stdout. */
async function chromium(args: string[]): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "sluice-chromium-" });
  try {
    const child = new Deno.Command(CHROMIUM!, {
      args: [
        ...HEADLESS_ARGS,
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        ...args,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
    }, RUN_TIMEOUT_MS);
    try {
      const out = await child.output();
      const stdout = new TextDecoder().decode(out.stdout);
      if (!out.success) {
        throw new Error(
          `chromium ${args.join(" ")} exited with ${out.code} (signal ${out.signal}):\n` +
            new TextDecoder().decode(out.stderr).slice(-2000),
        );
      }
      return stdout;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** A decoded PNG: size and RGBA pixels. */
interface Image {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/**
 * Decodes a non-interlaced 8-bit RGB or RGBA PNG (what Chromium writes);
 * throws on anything else, quoting what it found.
 */
function decodePng(png: Uint8Array): Image {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...png.subarray(0, 8)], sig, "PNG signature");
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let off = 8;
  let width = 0, height = 0, colorType = -1;
  const idat: Uint8Array[] = [];
  for (;;) {
    const len = dv.getUint32(off);
    const type = new TextDecoder().decode(png.subarray(off + 4, off + 8));
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = dv.getUint32(off + 8);
      height = dv.getUint32(off + 12);
      const depth = data[8]!;
      colorType = data[9]!;
      const interlace = data[12]!;
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0) {
        throw new Error(
          `Unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${interlace}`,
        );
      }
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    off += 12 + len;
    if (off >= png.length) throw new Error("PNG without IEND");
  }
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  assert.equal(raw.length, height * (stride + 1), "inflated PNG size");
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = px.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? px.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let v = line[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`Bad PNG filter ${filter} on row ${y}`);
      cur[i] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < px.length; i += bpp, j += 4) {
    rgba[j] = px[i]!;
    rgba[j + 1] = px[i + 1]!;
    rgba[j + 2] = px[i + 2]!;
    rgba[j + 3] = bpp === 4 ? px[i + 3]! : 255;
  }
  return { width, height, rgba };
}

/** Pixels of colour `hex` (± 3 per channel). */
function countColour(img: Image, hex: string): number {
  const r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  let n = 0;
  for (let i = 0; i < img.rgba.length; i += 4) {
    if (
      Math.abs(img.rgba[i]! - r) <= 3 && Math.abs(img.rgba[i + 1]! - g) <= 3 &&
      Math.abs(img.rgba[i + 2]! - b) <= 3
    ) n++;
  }
  return n;
}

Deno.test({
  name:
    "stats page in headless Chromium: the rendered tables show every server and its status; screenshot saved" +
    (CHROMIUM === null ? " (SKIPPED: Chromium not installed)" : ""),
  ignore: CHROMIUM === null,
  async fn() {
    const app = [
      new NameServer("web1"),
      new NameServer("web3"),
      new NameServer("web4"),
      new NameServer("spare"),
    ];
    const api = [new NameServer("api1"), new NameServer("api2")];
    const [web1, web3, web4, spare] = app as [NameServer, NameServer, NameServer, NameServer];
    const dead = deadPort();
    let proxy: ProxyProcess | undefined;
    const shotDir = await Deno.makeTempDir({ prefix: "sluice-shot-" });
    try {
      proxy = await startProxy(
        HTTP_HEAD + `
frontends:
  fe_main:
    bind: "127.0.0.1:0"
    default_backend: be_app
    stats: { uri: /stats, admin: true }
  fe_api:
    bind: "127.0.0.1:0"
    default_backend: be_api
backends:
  be_app:
    balance: roundrobin
    servers:
${serverLines([web1], () => "check: true, inter: 200ms")}
      - { name: web2, address: "127.0.0.1:${dead}", check: true, inter: 200ms }
${serverLines([web3], () => "disabled: true")}
${serverLines([web4], () => "weight: 0")}
${serverLines([spare], () => "backup: true")}
  be_api:
    balance: leastconn
    servers:
${serverLines(api)}
`,
      );
      await proxy.waitForStderr(/Server be_app\/web2 is DOWN/, 5_000);
      const main = proxy.port("fe_main");
      const apiPort = proxy.port("fe_api");
      for (let i = 0; i < 12; i++) assert.equal((await fetchOnce(main, `/shop/${i}`)).status, 200);
      for (let i = 0; i < 6; i++) assert.equal((await fetchOnce(apiPort, `/v1/${i}`)).status, 200);
      const url = `http://127.0.0.1:${main}/stats`;

      // What the browser built.
      const dom = parseHtml(await chromium(["--dump-dom", url]));
      const title = findAll(dom, (e) => e.tag === "title")[0];
      assert.match(
        title === undefined ? "" : text(title),
        /^Statistics Report for sluice on pid \d+$/,
      );
      const body = findAll(dom, (e) => e.tag === "body")[0]!;
      assert.match(text(body), /Statistics Report for pid \d+/);
      const tables = statsTables(dom);
      assert.deepEqual(tables.map((t) => t.name), ["fe_main", "fe_api", "be_app", "be_api"]);
      const rows = (name: string) =>
        Object.fromEntries(
          tables.find((t) => t.name === name)!.rows.map((
            r,
          ) => [r.name, r.cells.get("Server Status")]),
        );
      assert.deepEqual(rows("fe_main"), { Frontend: "OPEN" });
      assert.deepEqual(rows("fe_api"), { Frontend: "OPEN" });
      assert.deepEqual(rows("be_app"), {
        web1: "UP",
        web2: "DOWN",
        web3: "MAINT",
        web4: "DRAIN",
        spare: "UP",
        Backend: "UP",
      });
      assert.deepEqual(rows("be_api"), { api1: "UP", api2: "UP", Backend: "UP" });
      const beApp = tables.find((t) => t.name === "be_app")!;
      // 12 requests, plus the favicon Chromium may ask for (it goes to be_app too).
      const web1Total = Number(
        beApp.rows.find((r) => r.name === "web1")!.cells.get("Sessions Total"),
      );
      assert.ok(
        web1Total >= 12 && web1Total <= web1.served,
        `web1 Sessions Total ${web1Total}, served ${web1.served}`,
      );
      assert.match(
        beApp.rows.find((r) => r.name === "web2")!.cells.get("Server LastChk")!,
        /^L4CON in \d+ms$/,
      );
      const buttons = beApp.rows.find((r) => r.name === "web1")!.buttons;
      for (const want of ["Ready", "Drain", "Maint"]) {
        assert.ok(buttons.includes(want), `web1 admin buttons: ${JSON.stringify(buttons)}`);
      }
      assert.match(tables.find((t) => t.name === "be_api")!.caption, /balance leastconn/);

      // What a person sees.
      const tmp = `${shotDir}/stats.png`;
      await chromium([`--screenshot=${tmp}`, "--window-size=1600,1000", url]);
      const png = await Deno.readFile(tmp);
      assert.ok(png.length > 20_000 && png.length < 5_000_000, `screenshot of ${png.length} bytes`);
      const img = decodePng(png);
      assert.equal(`${img.width}x${img.height}`, "1600x1000");
      // The status colours are painted (legend and server cells): UP green,
      // DOWN red, MAINT grey, DRAIN blue; and the header bar.
      for (
        const [what, hex] of [["UP", "#c0ffc0"], ["DOWN", "#ff9090"], ["MAINT", "#c8c8d8"], [
          "DRAIN",
          "#a0c8ff",
        ], ["header", "#20377d"]]
      ) {
        const n = countColour(img, hex!);
        assert.ok(n > 500, `${what} colour ${hex} covers only ${n} pixels`);
      }
      if (Deno.env.get("UPDATE_SCREENSHOT") === "1") await Deno.copyFile(tmp, SCREENSHOT);
    } finally {
      await proxy?.stop();
      await closeAll([...app, ...api]);
      await Deno.remove(shotDir, { recursive: true }).catch(() => {});
    }
  },
});
