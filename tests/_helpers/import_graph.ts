// The import graph of src/ and the layering rules of
// docs/internals/architecture.md, for tests/architecture_test.ts.
//
// srcImportGraph() runs `deno info --json main.ts` (and the same on any src/
// file main.ts does not reach, so that no file escapes) and keeps the edges
// between src/ files, value and type imports alike. parseLayerTable() reads
// the table of the architecture page. cycleEdges() and layerViolations()
// turn both into plain lists of "from -> to" edges that a test compares with
// its known list.
//
// Run it to see the graph: `deno run --allow-read --allow-run
// tests/_helpers/import_graph.ts` prints folder edges, folders that import
// each other, import cycles and table violations.

/** Repository root, found from this file. */
export const REPO_ROOT = new URL("../../", import.meta.url);
const SRC = new URL("src/", REPO_ROOT).href;

/** An import between two src/ files, paths relative to src/ ("http/http_ana.ts"). */
export interface ImportEdge {
  from: string;
  to: string;
  /** "code" when any import of the pair is a value import, else "type". */
  kind: "code" | "type";
}

export interface ImportGraph {
  /** Every src/ file, relative to src/, sorted. */
  files: string[];
  /** One edge per importing pair, sorted by from, then to. */
  edges: ImportEdge[];
}

interface InfoDependency {
  code?: { specifier?: string };
  type?: { specifier?: string };
}

interface InfoModule {
  specifier?: string;
  dependencies?: InfoDependency[];
}

/** `deno info --json ROOT` run from the repository root; throws on failure. */
async function denoInfo(root: string): Promise<InfoModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno info ${root} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const json = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules?: InfoModule[] };
  return json.modules ?? [];
}

/** Every .ts file under src/, relative to src/. */
async function listSrc(dir = new URL("src/", REPO_ROOT), prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      out.push(...await listSrc(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`));
    } else if (e.isFile && e.name.endsWith(".ts")) out.push(`${prefix}${e.name}`);
  }
  return out;
}

/** The import graph among src/ files (see ImportGraph). */
export async function srcImportGraph(): Promise<ImportGraph> {
  const kinds = new Map<string, "code" | "type">();
  const seen = new Set<string>();
  const add = (modules: InfoModule[]) => {
    for (const m of modules) {
      const from = srcPath(m.specifier);
      if (from === null || seen.has(from)) continue;
      seen.add(from);
      for (const d of m.dependencies ?? []) {
        for (const kind of ["code", "type"] as const) {
          const to = srcPath(d[kind]?.specifier);
          if (to === null) continue;
          const key = `${from} -> ${to}`;
          if (kind === "code" || !kinds.has(key)) kinds.set(key, kind);
        }
      }
    }
  };
  add(await denoInfo("main.ts"));
  const files = (await listSrc()).sort();
  for (const f of files) if (!seen.has(f)) add(await denoInfo(`src/${f}`));
  const edges = [...kinds].map(([key, kind]) => {
    const [from, to] = key.split(" -> ") as [string, string];
    return { from, to, kind };
  }).sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to));
  return { files, edges };
}

function srcPath(specifier: string | undefined): string | null {
  return specifier !== undefined && specifier.startsWith(SRC) ? specifier.slice(SRC.length) : null;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The text form used in reports and known lists: "http/http_ana.ts -> stream/stream.ts". */
export function edgeName(e: { from: string; to: string }): string {
  return `${e.from} -> ${e.to}`;
}

/**
 * The unit a src/ file belongs to in the layer table: its top folder with a
 * slash ("http/"), or the file itself when it sits directly in src/
 * ("version.ts").
 */
export function unitOf(file: string): string {
  const i = file.indexOf("/");
  return i < 0 ? file : file.slice(0, i + 1);
}

/**
 * The edges that lie on an import cycle: both ends in one strongly
 * connected component (Tarjan). Removing an import can only shrink this
 * set; adding one that closes a cycle grows it.
 */
export function cycleEdges(graph: ImportGraph): ImportEdge[] {
  const next = new Map<string, string[]>();
  for (const e of graph.edges) {
    const l = next.get(e.from);
    if (l === undefined) next.set(e.from, [e.to]);
    else l.push(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const component = new Map<string, number>();
  let counter = 0;
  let components = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.set(w, components);
      } while (w !== v);
      components++;
    }
  };
  const nodes = new Set([...graph.files, ...graph.edges.flatMap((e) => [e.from, e.to])]);
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  // A self-import is a cycle of one; otherwise both ends share a component.
  return graph.edges.filter((e) => component.get(e.from) === component.get(e.to));
}

/** One row of the layer table. */
export interface LayerRow {
  /** 0 for L0, 11 for L11. */
  layer: number;
  /** Units ("http/", "version.ts") this one may import. */
  mayImport: Set<string>;
}

/**
 * Reads the table of docs/internals/architecture.md: the markdown table
 * whose header has the cells Layer, Folder and May import. Names are the
 * backquoted ones ("`http/`", "`version.ts`"); a cell without any (—)
 * allows nothing, and "any lower layer" allows every unit of a lower layer
 * (the top layer). Throws when there is no such table or a row is malformed.
 */
export function parseLayerTable(markdown: string): Map<string, LayerRow> {
  const lines = markdown.split("\n").map((l) => l.trim());
  const cells = (l: string) =>
    l.replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  const h = lines.findIndex((l) => {
    if (!l.startsWith("|")) return false;
    const c = cells(l).map((x) => x.toLowerCase());
    return c.includes("layer") && c.includes("folder") && c.includes("may import");
  });
  if (h < 0) throw new Error("no table with the columns Layer, Folder and May import");
  const head = cells(lines[h]!).map((x) => x.toLowerCase());
  const [li, fi, mi] = [head.indexOf("layer"), head.indexOf("folder"), head.indexOf("may import")];
  const rows = new Map<string, LayerRow>();
  const anyLower: LayerRow[] = [];
  for (let i = h + 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    const c = cells(lines[i]!);
    const layer = /^L(\d+)$/.exec(c[li] ?? "");
    const unit = /^`([^`]+)`$/.exec(c[fi] ?? "");
    if (layer === null || unit === null) throw new Error(`malformed table row: ${lines[i]}`);
    if (rows.has(unit[1]!)) throw new Error(`${unit[1]} has two rows`);
    const names = [...(c[mi] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const row = { layer: Number(layer[1]), mayImport: new Set(names) };
    rows.set(unit[1]!, row);
    if (/any lower layer/i.test(c[mi] ?? "")) anyLower.push(row);
  }
  for (const row of anyLower) {
    for (const [u, r] of rows) if (r.layer < row.layer) row.mayImport.add(u);
  }
  return rows;
}

/**
 * Problems of the table itself: an allowed import that is not of a lower
 * layer (which would let two folders import each other), or that names a
 * unit without a row.
 */
export function tableProblems(table: Map<string, LayerRow>): string[] {
  const out: string[] = [];
  for (const [unit, row] of table) {
    for (const m of row.mayImport) {
      const target = table.get(m);
      if (target === undefined) out.push(`${unit} may import ${m}, which has no row`);
      else if (target.layer >= row.layer) {
        out.push(`${unit} (L${row.layer}) may import ${m} (L${target.layer}): not a lower layer`);
      }
    }
  }
  return out;
}

/** The units of src/ that have no row in the table. */
export function unitsWithoutRow(graph: ImportGraph, table: Map<string, LayerRow>): string[] {
  return [...new Set(graph.files.map(unitOf))].filter((u) => !table.has(u)).sort();
}

/** The edges between two units that the table does not allow. */
export function layerViolations(graph: ImportGraph, table: Map<string, LayerRow>): ImportEdge[] {
  return graph.edges.filter((e) => {
    const a = unitOf(e.from), b = unitOf(e.to);
    return a !== b && table.get(a)?.mayImport.has(b) !== true;
  });
}

/** Prints the folder edges, mutual folder pairs, cycles and violations of the table. */
async function main(): Promise<void> {
  const graph = await srcImportGraph();
  const table = parseLayerTable(
    await Deno.readTextFile(new URL("docs/internals/architecture.md", REPO_ROOT)),
  );
  const pairs = new Map<string, ImportEdge[]>();
  for (const e of graph.edges) {
    const a = unitOf(e.from), b = unitOf(e.to);
    if (a === b) continue;
    const k = `${a} -> ${b}`;
    pairs.set(k, [...pairs.get(k) ?? [], e]);
  }
  const show = (e: ImportEdge) => `    ${edgeName(e)} (${e.kind})`;
  console.log(`${graph.files.length} files, ${graph.edges.length} imports among them`);
  console.log("\nfolder edges (number of file imports):");
  for (const [k, l] of [...pairs].sort()) console.log(`  ${k}: ${l.length}`);
  console.log("\nfolders that import each other:");
  for (const [k, l] of [...pairs].sort()) {
    const [a, b] = k.split(" -> ") as [string, string];
    const back = pairs.get(`${b} -> ${a}`);
    if (a < b && back !== undefined) {
      console.log(`  ${a} <-> ${b}`);
      for (const e of [...l, ...back]) console.log(show(e));
    }
  }
  console.log("\nimports on a cycle:");
  for (const e of cycleEdges(graph)) console.log(show(e));
  console.log("\nimports the table does not allow:");
  for (const e of layerViolations(graph, table)) console.log(show(e));
  for (const u of unitsWithoutRow(graph, table)) console.log(`  ${u}: no row in the table`);
  for (const p of tableProblems(table)) console.log(`  table: ${p}`);
}

if (import.meta.main) await main();
