// Where headless Chromium is for the browser tests: $CHROMIUM, else the
// first of chromium, chromium-browser, google-chrome on PATH (Debian's
// package `chromium`, which .ci/run installs); null when none is there.
// HEADLESS_ARGS: the flags every browser test starts it with.

/**
 * Headless, no sandbox (tests may run as root), and nothing a browser does
 * on its own (QUIC, first-run pages, background fetches, updates, sync): the
 * only requests are the page's. Add `--user-data-dir` (a fresh profile).
 */
export const HEADLESS_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function findChromium(): string | null {
  const env = Deno.env.get("CHROMIUM");
  const names = env !== undefined ? [env] : ["chromium", "chromium-browser", "google-chrome"];
  for (const n of names) {
    const paths = n.includes("/")
      ? [n]
      : (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "").map((d) => `${d}/${n}`);
    for (const p of paths) {
      try {
        if (Deno.statSync(p).isFile) return p;
      } catch {
        // not there
      }
    }
  }
  return null;
}
