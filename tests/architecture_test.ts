// The import graph of src/ follows docs/internals/architecture.md: no import
// cycle among src/ files (type imports included) and no import its layer
// table forbids, read from `deno info --json main.ts`.
//
// The imports that still break these rules are listed below, one exact
// "from -> to" edge each. A violation not in the lists fails; so does a
// listed one that has gone, so that the lists only shrink: remove the line
// in the commit that fixes it. The lists must reach zero (issue 10).

import assert from "node:assert/strict";
import {
  cycleEdges,
  edgeName,
  type ImportGraph,
  layerViolations,
  parseLayerTable,
  REPO_ROOT,
  srcImportGraph,
  tableProblems,
  unitsWithoutRow,
} from "./_helpers/import_graph.ts";

/** Imports the layer table forbids today. */
const KNOWN_LAYER_VIOLATIONS: readonly string[] = [];

/** Imports that lie on an import cycle today (both ends in one cycle). */
const KNOWN_CYCLE_EDGES: readonly string[] = [];

const DOC = new URL("docs/internals/architecture.md", REPO_ROOT);

let graphPromise: Promise<ImportGraph> | null = null;
/** The graph, computed once for the whole file (deno info runs once). */
function graph(): Promise<ImportGraph> {
  return graphPromise ??= srcImportGraph();
}

async function table() {
  return parseLayerTable(await Deno.readTextFile(DOC));
}

/** Fails with the new and the gone entries when `found` differs from `known`. */
function assertSameAsKnown(what: string, found: string[], known: readonly string[]): void {
  const fresh = found.filter((e) => !known.includes(e));
  const gone = known.filter((e) => !found.includes(e));
  const msg = [
    fresh.length > 0
      ? `new ${what} (fix it, or change docs/internals/architecture.md first if the layering ` +
        `itself should change):\n  ${fresh.join("\n  ")}`
      : "",
    gone.length > 0
      ? `fixed ${what}, remove them from the known list of tests/architecture_test.ts:\n  ${
        gone.join("\n  ")
      }`
      : "",
  ].filter((s) => s !== "").join("\n");
  if (msg !== "") assert.fail(msg);
  assert.equal(new Set(known).size, known.length, `the known ${what} list has a duplicate`);
}

Deno.test("architecture: the layer table is one-way and has a row for every folder of src/", async () => {
  const t = await table();
  assert.deepEqual(tableProblems(t), []);
  assert.deepEqual(unitsWithoutRow(await graph(), t), []);
});

Deno.test("architecture: every folder of the table says what it owns", async () => {
  const text = await Deno.readTextFile(DOC);
  const missing = [...(await table()).keys()].filter((f) =>
    !text.includes("- **`" + f + "`** owns")
  );
  assert.deepEqual(missing, [], "folders without their '- **`folder`** owns ...' paragraph");
});

Deno.test("architecture: the graph lists the files of src/ and sees type imports", async () => {
  const g = await graph();
  // Sanity checks of the reading itself: files at both depths, a known
  // value import and a known type import.
  assert.ok(g.files.includes("version.ts") && g.files.includes("stream/stream.ts"));
  const edge = (from: string, to: string) => g.edges.find((e) => e.from === from && e.to === to);
  assert.equal(edge("proxy/process.ts", "stream/session_accept.ts")?.kind, "code");
  assert.equal(edge("log/log.ts", "config/types.ts")?.kind, "type");
});

Deno.test("architecture: no import the layer table forbids, but the known ones", async () => {
  const found = layerViolations(await graph(), await table()).map(edgeName);
  assertSameAsKnown("layer violations", found, KNOWN_LAYER_VIOLATIONS);
});

Deno.test("architecture: no import cycle among src/ files, but the known one", async () => {
  const found = cycleEdges(await graph()).map(edgeName);
  assertSameAsKnown("imports on a cycle", found, KNOWN_CYCLE_EDGES);
});

// The checker on small graphs, so that a broken checker cannot pass the
// tests above by finding nothing.

function fake(edges: string[]): ImportGraph {
  const list = edges.map((s) => {
    const [from, to] = s.split(" -> ") as [string, string];
    return { from, to, kind: "type" as const };
  });
  const files = [...new Set(list.flatMap((e) => [e.from, e.to]))].sort();
  return { files, edges: list };
}

Deno.test("architecture checker: cycleEdges() finds cycles, type imports and self-imports included", () => {
  const g = fake([
    "a/x.ts -> b/y.ts",
    "b/y.ts -> c/z.ts",
    "c/z.ts -> a/x.ts",
    "c/z.ts -> d/w.ts",
    "d/w.ts -> d/w.ts",
    "e/v.ts -> a/x.ts",
  ]);
  assert.deepEqual(cycleEdges(g).map(edgeName), [
    "a/x.ts -> b/y.ts",
    "b/y.ts -> c/z.ts",
    "c/z.ts -> a/x.ts",
    "d/w.ts -> d/w.ts",
  ]);
  assert.deepEqual(cycleEdges(fake(["a/x.ts -> b/y.ts", "a/x.ts -> c/z.ts"])), []);
});

Deno.test("architecture checker: the table allows downward imports only, as listed", () => {
  const t = parseLayerTable(
    [
      "| Layer | Folder | May import |",
      "| --- | --- | --- |",
      "| L0 | `low/` | — |",
      "| L0 | `leaf.ts` | — |",
      "| L1 | `mid/` | `low/` |",
      "| L2 | `top/` | any lower layer |",
    ].join("\n"),
  );
  assert.deepEqual([...t.get("top/")!.mayImport].sort(), ["leaf.ts", "low/", "mid/"]);
  const g = fake([
    "mid/a.ts -> low/b.ts",
    "mid/a.ts -> mid/c.ts",
    "low/b.ts -> mid/a.ts",
    "mid/a.ts -> leaf.ts",
    "top/d.ts -> leaf.ts",
    "other/e.ts -> low/b.ts",
  ]);
  assert.deepEqual(layerViolations(g, t).map(edgeName), [
    "low/b.ts -> mid/a.ts",
    "mid/a.ts -> leaf.ts",
    "other/e.ts -> low/b.ts",
  ]);
  assert.deepEqual(unitsWithoutRow(g, t), ["other/"]);
  assert.deepEqual(tableProblems(t), []);
  const upward = parseLayerTable(
    "| Layer | Folder | May import |\n|-|-|-|\n| L0 | `low/` | `mid/` |\n| L1 | `mid/` | `low/` |",
  );
  assert.deepEqual(tableProblems(upward), ["low/ (L0) may import mid/ (L1): not a lower layer"]);
});

/** Longest a source file may be (issue 10: files small enough to read whole). */
const MAX_LINES = 1000;

Deno.test("architecture: no file in src/ is longer than 1,000 lines", async () => {
  const long: string[] = [];
  const walk = async (dir: URL): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(u);
      else if (e.name.endsWith(".ts")) {
        const n = (await Deno.readTextFile(u)).split("\n").length - 1;
        if (n > MAX_LINES) long.push(`${u.pathname.slice(REPO_ROOT.pathname.length)}: ${n} lines`);
      }
    }
  };
  await walk(new URL("src/", REPO_ROOT));
  assert.deepEqual(long, [], "split these files (one concept per file)");
});
