// A strict reader of the Prometheus text exposition format 0.0.4, for the
// `/metrics` end-to-end test. It refuses, naming the line: a line that is
// neither `# HELP`, `# TYPE` nor a sample (blank lines and free comments
// included: the exporter never writes them); a bad metric or label name; a
// label value with an escape other than \\ \" \n; a repeated label name; a
// value Go's ParseFloat would refuse; a timestamp that is not an integer; a
// sample before its family's HELP and TYPE; a family split in two runs; a
// second HELP or TYPE; a duplicate series; a sample whose name does not belong
// to its family's type; a counter family not ending in `_total` or with a
// negative value; output not ending with a line feed.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|NaN|Inf|inf)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Sample names a family of `type` named `family` may carry. */
function belongs(type: string, family: string, name: string): boolean {
  if (name === family) return type !== "histogram";
  if (type === "histogram") {
    return [`${family}_bucket`, `${family}_sum`, `${family}_count`].includes(name);
  }
  if (type === "summary") return [`${family}_sum`, `${family}_count`].includes(name);
  return false;
}

function parseValue(s: string, where: string): number {
  if (!FLOAT.test(s)) throw new Error(`Bad value ${JSON.stringify(s)}, ${where}`);
  if (/^[+-]?inf$/i.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  return Number(s);
}

function parseSample(line: string, where: string): Sample {
  const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (nm === null) throw new Error(`Bad metric name, ${where}`);
  const name = nm[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      if (line[i] === "}") {
        i++;
        break;
      }
      const ln = /^[^=]*/.exec(line.slice(i))![0];
      if (!LABEL_NAME.test(ln)) throw new Error(`Bad label name ${JSON.stringify(ln)}, ${where}`);
      if (ln in labels) throw new Error(`Repeated label ${ln}, ${where}`);
      i += ln.length;
      if (line.slice(i, i + 2) !== '="') throw new Error(`Expected ="... after ${ln}, ${where}`);
      i += 2;
      let v = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`Unterminated label value, ${where}`);
        if (c === '"') {
          i++;
          break;
        }
        if (c === "\\") {
          const e = line[i + 1];
          if (e === "\\") v += "\\";
          else if (e === '"') v += '"';
          else if (e === "n") v += "\n";
          else throw new Error(`Bad escape \\${e ?? ""} in a label value, ${where}`);
          i += 2;
          continue;
        }
        v += c;
        i++;
      }
      labels[ln] = v;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") throw new Error(`Expected , or } after a label, ${where}`);
    }
  }
  if (line[i] !== " ") throw new Error(`Expected one space before the value, ${where}`);
  const rest = line.slice(i + 1).split(" ");
  if (rest.length > 2 || rest[0] === "") throw new Error(`Bad value/timestamp part, ${where}`);
  const value = parseValue(rest[0]!, where);
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw new Error(`Bad timestamp, ${where}`);
  return { name, labels, value };
}

/** Parses and checks `text`; returns the families by name, in order. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("The output does not end with a line feed");
  const families = new Map<string, Family & { closed: boolean }>();
  const series = new Set<string>();
  let current: (Family & { name: string; closed: boolean }) | null = null;
  let pendingHelp: { name: string; help: string } | null = null;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, n) => {
    const where = `line ${n + 1}: ${JSON.stringify(line)}`;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) throw new Error(`Not a HELP or TYPE line, ${where}`);
      const [, kw, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`Bad metric name, ${where}`);
      if (kw === "HELP") {
        if (families.has(name) || pendingHelp?.name === name) {
          throw new Error(`Second HELP, ${where}`);
        }
        if (/\\[^\\n]/.test(rest)) throw new Error(`Bad escape in HELP, ${where}`);
        if (pendingHelp !== null) {
          throw new Error(`HELP of ${pendingHelp.name} without TYPE, ${where}`);
        }
        pendingHelp = { name, help: rest };
        return;
      }
      if (families.has(name)) throw new Error(`Second TYPE (or family split in two), ${where}`);
      if (!TYPES.has(rest)) throw new Error(`Bad type, ${where}`);
      if (pendingHelp === null || pendingHelp.name !== name) {
        throw new Error(`TYPE without HELP, ${where}`);
      }
      if (rest === "counter" && !name.endsWith("_total")) {
        throw new Error(`Counter without _total, ${where}`);
      }
      if (current !== null) current.closed = true;
      current = { name, help: pendingHelp.help, type: rest, samples: [], closed: false };
      families.set(name, current);
      pendingHelp = null;
      return;
    }
    const s = parseSample(line, where);
    if (current === null || !belongs(current.type, current.name, s.name)) {
      throw new Error(`Sample outside its family (HELP/TYPE missing, or family split), ${where}`);
    }
    if (pendingHelp !== null) throw new Error(`Sample between a HELP and its TYPE, ${where}`);
    const key = s.name + JSON.stringify(Object.entries(s.labels).sort());
    if (series.has(key)) throw new Error(`Duplicate series, ${where}`);
    series.add(key);
    if (current.type === "counter" && !(s.value >= 0)) {
      throw new Error(`Negative counter, ${where}`);
    }
    current.samples.push(s);
  });
  if (pendingHelp !== null) throw new Error("HELP without TYPE at the end");
  const out = new Map<string, Family>();
  for (const [k, f] of families) out.set(k, { help: f.help, type: f.type, samples: f.samples });
  return out;
}
