// Where headless Chromium is for the browser tests: $CHROMIUM, else the
// first of chromium, chromium-browser, google-chrome on PATH (Debian's
// package `chromium`, which .ci/run installs); null when none is there.

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
