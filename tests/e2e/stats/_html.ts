// A small HTML reader for the stats page tests: enough of HTML to read the
// page as served and the DOM Chromium dumps (`--dump-dom`), and to turn each
// proxy table into what a person reads: a caption, column names built from
// the two header rows (group + column, e.g. "Server Status", "Sessions
// Total"), and one row per server/frontend/backend keyed by those names.
//
// It is a tree builder over a tag tokenizer: void elements, raw text
// (style, script, title), comments, the doctype and character references are
// handled; a stray end tag is ignored and an end tag closes whatever is open
// above its element, as browsers do. Nothing else of the HTML parsing
// algorithm is attempted: the page is generated, not hand-written.

export interface Element {
  tag: string;
  attrs: Map<string, string>;
  children: Node[];
}
export type Node = Element | string;

const VOID = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "source",
  "track",
  "wbr",
]);
const RAW = new Set(["style", "script", "title", "textarea"]);

const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
};

/** Decodes character references. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return NAMED[ref] ?? m;
  });
}

function parseAttrs(src: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([^\s=\/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  for (const m of src.matchAll(re)) {
    attrs.set(m[1]!.toLowerCase(), decodeEntities(m[2] ?? m[3] ?? m[4] ?? ""));
  }
  return attrs;
}

/** Parses a document; returns a synthetic root element. */
export function parseHtml(html: string): Element {
  const root: Element = { tag: "#root", attrs: new Map(), children: [] };
  const stack: Element[] = [root];
  const top = () => stack[stack.length - 1]!;
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf("<", i);
    if (lt < 0) {
      top().children.push(decodeEntities(html.slice(i)));
      break;
    }
    if (lt > i) top().children.push(decodeEntities(html.slice(i, lt)));
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    if (html.startsWith("<!", lt) || html.startsWith("<?", lt)) {
      const end = html.indexOf(">", lt);
      i = end < 0 ? html.length : end + 1;
      continue;
    }
    const end = html.indexOf(">", lt);
    if (end < 0) throw new Error(`Unterminated tag at ${lt}: ${html.slice(lt, lt + 40)}`);
    const inner = html.slice(lt + 1, end);
    i = end + 1;
    if (inner.startsWith("/")) {
      const tag = inner.slice(1).trim().toLowerCase();
      const at = stack.map((e) => e.tag).lastIndexOf(tag);
      if (at > 0) stack.length = at; // closes it and whatever is open above it
      continue;
    }
    const m = /^([a-zA-Z][a-zA-Z0-9-]*)([\s\S]*?)\/?$/.exec(inner);
    if (m === null) {
      top().children.push(decodeEntities("<" + inner + ">"));
      continue;
    }
    const el: Element = { tag: m[1]!.toLowerCase(), attrs: parseAttrs(m[2]!), children: [] };
    top().children.push(el);
    if (VOID.has(el.tag) || inner.endsWith("/")) continue;
    if (RAW.has(el.tag)) {
      const close = html.toLowerCase().indexOf(`</${el.tag}`, i);
      const stop = close < 0 ? html.length : close;
      const text = html.slice(i, stop);
      el.children.push(el.tag === "title" || el.tag === "textarea" ? decodeEntities(text) : text);
      const gt = close < 0 ? html.length : html.indexOf(">", close);
      i = gt < 0 ? html.length : gt + 1;
      continue;
    }
    stack.push(el);
  }
  return root;
}

/** Every descendant element matching `pred`, in document order; `stop` prunes subtrees. */
export function findAll(
  el: Element,
  pred: (e: Element) => boolean,
  stop: (e: Element) => boolean = () => false,
): Element[] {
  const out: Element[] = [];
  const walk = (e: Element) => {
    for (const c of e.children) {
      if (typeof c === "string") continue;
      if (pred(c)) out.push(c);
      if (!stop(c)) walk(c);
    }
  };
  walk(el);
  return out;
}

/** Text content, whitespace collapsed and trimmed. */
export function text(n: Node): string {
  const raw = (x: Node): string =>
    typeof x === "string"
      ? x
      : x.tag === "style" || x.tag === "script"
      ? ""
      : x.children.map(raw).join("");
  return raw(n).replace(/[\s\u00a0]+/g, " ").trim();
}

/** Text of the element's own text nodes only (not of its child elements). */
export function ownText(e: Element): string {
  return e.children.filter((c): c is string => typeof c === "string").join("").trim();
}

export function classes(e: Element): string[] {
  return (e.attrs.get("class") ?? "").split(/\s+/).filter((c) => c !== "");
}

/** One body row of a proxy table. */
export interface StatsRow {
  /** The first cell: a server name, "Frontend" or "Backend". */
  name: string;
  /** Cell text by column name ("Server Status", "Sessions Total", ...). */
  cells: Map<string, string>;
  /** Classes of the row (`srv`, `backup`, `fe`, `be`). */
  classes: string[];
  /** Classes of each cell by column name (status colours). */
  cellClasses: Map<string, string[]>;
  /** Text of the buttons in the row (admin forms). */
  buttons: string[];
}

/** One proxy table as a person reads it. */
export interface StatsTable {
  /** The proxy name (the caption's own text). */
  name: string;
  /** The whole caption text (name and description). */
  caption: string;
  /** Classes of the table (`px frontend` / `px backend`). */
  classes: string[];
  columns: string[];
  rows: StatsRow[];
}

/**
 * Every table with a caption, read as a stats table. The column names come
 * from the header rows (a `rowspan=2` cell names one column, a `colspan=N`
 * cell names a group completed by the N cells of the second row). Throws when
 * a body row has not as many cells as there are columns.
 */
export function statsTables(doc: Element): StatsTable[] {
  const isTable = (e: Element) => e.tag === "table";
  return findAll(
    doc,
    (e) => isTable(e) && e.children.some((c) => typeof c !== "string" && c.tag === "caption"),
  )
    .map((t) => {
      const caption = findAll(t, (e) => e.tag === "caption", isTable)[0]!;
      const trs = findAll(t, (e) => e.tag === "tr", isTable);
      const headRows = trs.filter((tr) => findAll(tr, (e) => e.tag === "th").length > 0);
      const bodyRows = trs.filter((tr) => findAll(tr, (e) => e.tag === "td").length > 0);
      const columns: string[] = [];
      const groups: string[] = [];
      const [h1, h2] = headRows;
      if (h1 !== undefined) {
        for (const th of findAll(h1, (e) => e.tag === "th")) {
          const span = Number(th.attrs.get("colspan") ?? "1");
          if (span > 1) { for (let k = 0; k < span; k++) groups.push(text(th)); }
          else {
            columns.push(text(th) === "" ? "Name" : text(th));
            groups.push("");
          }
        }
      }
      // Fill the grouped slots, in order, from the second header row.
      const subs = h2 === undefined ? [] : findAll(h2, (e) => e.tag === "th").map(text);
      const full: string[] = [];
      let single = 0;
      let sub = 0;
      for (const g of groups) {
        if (g === "") full.push(columns[single++]!);
        else full.push(`${g} ${subs[sub++] ?? "?"}`);
      }
      const rows = bodyRows.map((tr) => {
        const tds = findAll(tr, (e) => e.tag === "td", isTable);
        if (tds.length !== full.length) {
          throw new Error(
            `Table ${ownText(caption)}: a row has ${tds.length} cells for ${full.length} columns: ${
              text(tr)
            }`,
          );
        }
        const cells = new Map<string, string>();
        const cellClasses = new Map<string, string[]>();
        tds.forEach((td, k) => {
          cells.set(full[k]!, text(td));
          cellClasses.set(full[k]!, classes(td));
        });
        const buttons = findAll(tr, (e) => e.tag === "button").map(text);
        return { name: text(tds[0]!), cells, classes: classes(tr), cellClasses, buttons };
      });
      return {
        name: ownText(caption),
        caption: text(caption),
        classes: classes(t),
        columns: full,
        rows,
      };
    });
}
