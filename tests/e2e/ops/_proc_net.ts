// What a process listens on, from `ss -Hltnp` (iproute2, installed by
// .ci/run): the TCP sockets in LISTEN state that process `pid` holds. Tests
// use it to tell "this proxy listens on port P" apart from "some other
// process on this shared machine does" (the inspector's 9229 is one port for
// the whole host). `ss` reads the owners itself: the test needs no access to
// the proxy's /proc/PID/fd (Deno grants that only under --allow-all).

/** TCP ports (IPv4 and IPv6) that process `pid` listens on, with their local address. */
export async function listeningPorts(pid: number): Promise<{ addr: string; port: number }[]> {
  const out = await new Deno.Command("ss", { args: ["-Hltnp"], stdout: "piped", stderr: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const ports: { addr: string; port: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes(`pid=${pid},`)) continue;
    // State Recv-Q Send-Q Local:Port Peer:Port Process
    const local = line.trim().split(/\s+/)[3];
    if (local === undefined) continue;
    const i = local.lastIndexOf(":");
    ports.push({ addr: local.slice(0, i), port: Number(local.slice(i + 1)) });
  }
  return ports;
}
