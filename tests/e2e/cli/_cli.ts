// Tools of the runtime API tests: send commands to a stats socket as a script
// would, through Deno.connect (unix or TCP) or through `socat` as a user
// does, and read the answer until the proxy closes the connection.
//
// Every read has a deadline; a test that forgets `quit` in prompt mode fails
// with a DeadlineError naming the socket instead of hanging.

import { concat, DEFAULT_DEADLINE_MS, withDeadline } from "../../_helpers/client.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** A fresh socket path in a temporary directory (removed by cleanup()). */
export async function tempSocket(): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-cli-" });
  return {
    path: `${dir}/api.sock`,
    cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

async function readToClose(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch (e) {
      // A connection closed with our command unread ends with a reset.
      if (e instanceof Deno.errors.ConnectionReset) break;
      throw e;
    }
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  return td.decode(concat(chunks));
}

/**
 * Sends `text` (a newline is added when missing) on a new connection to the
 * unix socket `path`, or to 127.0.0.1:`path` when it is a port number, and
 * returns everything the proxy writes until it closes the connection.
 */
export function cli(
  path: string | number,
  text: string,
  ms = DEFAULT_DEADLINE_MS,
): Promise<string> {
  let conn: Deno.Conn | null = null;
  return withDeadline(
    async () => {
      conn = typeof path === "number"
        ? await Deno.connect({ hostname: "127.0.0.1", port: path })
        : await Deno.connect({ transport: "unix", path });
      try {
        await conn.write(te.encode(text.endsWith("\n") ? text : text + "\n"));
      } catch (e) {
        // A connection the proxy refuses (maxconn) may be closed before the
        // command is written: the proxy answered nothing.
        if (!(e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset)) {
          throw e;
        }
        try {
          conn.close();
        } catch { /* closed */ }
        return "";
      }
      try {
        return await readToClose(conn);
      } finally {
        try {
          conn.close();
        } catch { /* closed */ }
      }
    },
    ms,
    `the answer of ${path} to ${JSON.stringify(text.slice(0, 60))}`,
    () => {
      try {
        conn?.close();
      } catch { /* closed */ }
    },
  );
}

/** `printf TEXT | socat - UNIX-CONNECT:path` (or TCP:127.0.0.1:port), as a user would. */
export async function socat(path: string | number, text: string): Promise<string> {
  const target = typeof path === "number" ? `TCP:127.0.0.1:${path}` : `UNIX-CONNECT:${path}`;
  const child = new Deno.Command("socat", {
    args: ["-t", "5", "-", target],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(te.encode(text.endsWith("\n") ? text : text + "\n"));
  await w.close();
  const out = await withDeadline(
    () => child.output(),
    DEFAULT_DEADLINE_MS,
    `socat ${target}`,
    () => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    },
  );
  return td.decode(out.stdout);
}

/** The "Key: value" lines of `show info` as a map. */
export function infoMap(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(": ");
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 2));
  }
  return m;
}

/** `show stat` CSV as header names and rows keyed by them. */
export function parseCsv(text: string): { header: string[]; rows: Map<string, string>[] } {
  const lines = text.split("\n").filter((l) => l !== "");
  const header = lines[0]!.replace(/^# /, "").split(",");
  if (header.at(-1) === "") header.pop();
  const rows = lines.slice(1).map((l) => {
    const f = l.split(",");
    const m = new Map<string, string>();
    header.forEach((h, i) => m.set(h, f[i] ?? ""));
    return m;
  });
  return { header, rows };
}

/** The row of `pxname`/`svname` in a parsed CSV. */
export function row(csv: ReturnType<typeof parseCsv>, px: string, sv: string): Map<string, string> {
  const r = csv.rows.find((m) => m.get("pxname") === px && m.get("svname") === sv);
  if (r === undefined) throw new Error(`no row ${px}/${sv} in show stat`);
  return r;
}

/** `show servers state` lines (after the version and header) split into fields by name. */
export function serversState(text: string): Map<string, string>[] {
  const lines = text.split("\n").filter((l) => l !== "");
  const names = lines[1]!.replace(/^# /, "").split(" ");
  return lines.slice(2).map((l) => {
    const f = l.split(" ");
    const m = new Map<string, string>();
    names.forEach((n, i) => m.set(n, f[i] ?? ""));
    return m;
  });
}
