// What a process listens on, read from /proc (Linux): the TCP sockets in
// LISTEN state whose inode is one of the process's file descriptors. Tests
// use it to tell "this proxy listens on port P" apart from "some other
// process on this shared machine does" (the inspector's 9229 is one port for
// the whole host).

/** TCP ports (IPv4 and IPv6) that process `pid` listens on, with their local address. */
export async function listeningPorts(pid: number): Promise<{ addr: string; port: number }[]> {
  const inodes = new Set<string>();
  for await (const e of Deno.readDir(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(await Deno.readLink(`/proc/${pid}/fd/${e.name}`));
      if (m !== null) inodes.add(m[1]!);
    } catch { /* closed meanwhile */ }
  }
  const out: { addr: string; port: number }[] = [];
  for (const file of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = await Deno.readTextFile(`/proc/${pid}/net/${file}`);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10 || f[3] !== "0A" || !inodes.has(f[9]!)) continue;
      const [hexAddr, hexPort] = f[1]!.split(":");
      out.push({ addr: hexAddr!, port: parseInt(hexPort!, 16) });
    }
  }
  return out;
}
