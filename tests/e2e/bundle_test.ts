// The module graph is self-contained: `deno bundle` packs main.ts with every
// dependency into one file, and that file alone checks a config and runs.
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("the bundled proxy alone validates config.example.yaml", async () => {
  const out = await Deno.makeTempDir();
  try {
    const bundle = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--output", `${out}/sluice.js`, `${root}main.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bundle.code, 0, new TextDecoder().decode(bundle.stderr));
    // Run from an empty directory so nothing but the bundle can be resolved.
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--unstable-net",
        "--no-config",
        `${out}/sluice.js`,
        "-c",
        "-f",
        `${root}config.example.yaml`,
      ],
      cwd: out,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    assert.match(stdout, /Configuration file is valid/);
    const version = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", `${out}/sluice.js`, "-v"],
      cwd: out,
      stdout: "piped",
    }).output();
    assert.match(new TextDecoder().decode(version.stdout), /^sluice \d+\.\d+\.\d+/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
