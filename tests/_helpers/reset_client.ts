// Clients that reset: connect, then close with SO_LINGER 0 so the kernel
// sends an RST instead of a FIN. Deno has no linger option, so the sockets
// are made by python3 (installed by .ci/run), one child process per call.
//
// `resetConnections(port, n)` opens n connections one after the other and
// resets each at once; it resolves once all n handshakes completed (the
// kernel completes them in the listen backlog whether or not the proxy has
// accepted yet). `resetStorm(port, perSecond, ms)` spreads them over time.

const SCRIPT = `
import socket, struct, sys, time
port, n, per_s, ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
lin = struct.pack('ii', 1, 0)
gap = 1.0 / per_s if per_s > 0 else 0
end = time.time() + ms / 1000.0
done = 0
while done < n and (ms == 0 or time.time() < end):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, lin)
    s.settimeout(2)
    try:
        s.connect(('127.0.0.1', port))
        done += 1
    except OSError:
        pass
    s.close()
    if gap:
        time.sleep(gap)
print(done)
`;

async function run(port: number, n: number, perSecond: number, ms: number): Promise<number> {
  const out = await new Deno.Command("python3", {
    args: ["-c", SCRIPT, String(port), String(n), String(perSecond), String(ms)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`reset client failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** Opens `n` connections to 127.0.0.1:`port` and resets each; resolves to the count made. */
export function resetConnections(port: number, n: number): Promise<number> {
  return run(port, n, 0, 0);
}

/** Resets about `perSecond` connections a second for `ms` milliseconds; resolves to the count. */
export function resetStorm(port: number, perSecond: number, ms: number): Promise<number> {
  return run(port, 1_000_000, perSecond, ms);
}
