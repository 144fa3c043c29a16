// The README demo: two echo servers, the proxy on config.example.yaml, one
// "hello" through it.
//
//   deno run -A tests/_helpers/demo.ts          # keeps running until Ctrl-C
//   deno run -A tests/_helpers/demo.ts --once   # exits after the first reply
//
// Starts echo servers on 127.0.0.1:9001 and 127.0.0.1:9002 (the servers of
// config.example.yaml), runs `main.ts -f config.example.yaml` (which listens
// on 127.0.0.1:8080), sends "hello" through 127.0.0.1:8080, and prints the
// echoed reply and the session's log line. Without --once it then keeps
// everything running and prints every further log line (try
// `nc 127.0.0.1 8080`) until Ctrl-C. Exit status: 0 on success, 1 when
// something could not start or the reply is wrong.

import { closeWrite, connect, readAll, td, te, writeAll } from "./client.ts";
import { echoServer, type StubServer } from "./servers.ts";
import { logLineOf, type ProxyProcess, startProxyFile } from "./proxy.ts";

const EXAMPLE = new URL("../../config.example.yaml", import.meta.url).pathname;
const PROXY_PORT = 8080;
const SERVER_PORTS = [9001, 9002];
const MESSAGE = "hello";

async function main(): Promise<number> {
  const once = Deno.args.includes("--once");
  const servers: StubServer[] = [];
  let proxy: ProxyProcess | undefined;
  let live = false;
  const shutdown = async () => {
    await proxy?.stop();
    await Promise.all(servers.map((s) => s.close()));
  };
  try {
    for (const port of SERVER_PORTS) {
      try {
        servers.push(echoServer({ port }));
      } catch (e) {
        console.error(`demo: cannot listen on 127.0.0.1:${port}: ${e}`);
        return 1;
      }
    }
    console.log(`echo servers on 127.0.0.1:${SERVER_PORTS.join(", :")}`);
    try {
      proxy = await startProxyFile(EXAMPLE, {
        onStdout: (line) => {
          if (live) console.log(line);
        },
        onStderr: (line) => {
          if (live) console.error(line);
        },
      });
    } catch (e) {
      console.error(`demo: the proxy did not start: ${e instanceof Error ? e.message : e}`);
      return 1;
    }
    console.log(`sluice running on ${EXAMPLE}`);

    const conn = await connect(PROXY_PORT);
    let reply: string;
    let localPort: number;
    try {
      localPort = (conn.localAddr as Deno.NetAddr).port;
      const reading = readAll(conn, 5_000);
      await writeAll(conn, te.encode(MESSAGE));
      await closeWrite(conn);
      const got = await reading;
      reply = td.decode(got.data);
    } finally {
      conn.close();
    }
    console.log(`sent ${JSON.stringify(MESSAGE)} to 127.0.0.1:${PROXY_PORT}`);
    console.log(`reply: ${JSON.stringify(reply)}`);
    const line = await proxy.waitForLog(logLineOf(localPort), 5_000);
    console.log(`log: ${line}`);
    if (reply !== MESSAGE) {
      console.error(`demo: wrong reply (expected ${JSON.stringify(MESSAGE)})`);
      return 1;
    }
    if (once) return 0;

    console.log(`running; try: echo hi | nc -q1 127.0.0.1 ${PROXY_PORT}   (Ctrl-C to stop)`);
    // lines that came after ours, then every new one as it arrives
    for (const l of proxy.logs.slice(proxy.logs.indexOf(line) + 1)) console.log(l);
    live = true;
    await new Promise<void>((resolve) => {
      const stop = () => {
        Deno.removeSignalListener("SIGINT", stop);
        Deno.removeSignalListener("SIGTERM", stop);
        resolve();
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      // the proxy dying on its own ends the demo too
      proxy!.waitExit(2 ** 31 - 1).then(stop, stop);
    });
    console.log("\nstopping");
    return proxy.exitStatus !== null && proxy.exitStatus.code !== 0 ? 1 : 0;
  } catch (e) {
    console.error(`demo: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    await shutdown();
  }
}

Deno.exit(await main());
