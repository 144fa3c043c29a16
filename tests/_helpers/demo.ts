// The README demo: two echo servers and a small web server, the proxy on
// config.example.yaml, one "hello" through the TCP frontend and two HTTP
// requests through the HTTP one (a proxied page and the stats page).
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
const WEB_PORT = 8081;
const SERVER_PORTS = [9001, 9002];
const WEB_SERVER_PORT = 9003;
const MESSAGE = "hello";

/** The demo web server behind fe_web: /health for the checks, a page elsewhere. */
function webServer(): Deno.HttpServer {
  return Deno.serve(
    { hostname: "127.0.0.1", port: WEB_SERVER_PORT, onListen: () => {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/health") return new Response("ok\n");
      return new Response(
        `web1 served ${path} (X-Forwarded-For: ${req.headers.get("x-forwarded-for")})\n`,
      );
    },
  );
}

/** One HTTP/1.1 GET through the proxy with fetch; returns status, a header and the body. */
async function httpGet(
  path: string,
): Promise<{ status: number; proxy: string | null; body: string }> {
  const r = await fetch(`http://127.0.0.1:${WEB_PORT}${path}`, {
    signal: AbortSignal.timeout(5000),
  });
  return { status: r.status, proxy: r.headers.get("x-proxy"), body: await r.text() };
}

async function main(): Promise<number> {
  const once = Deno.args.includes("--once");
  const servers: StubServer[] = [];
  let web: Deno.HttpServer | undefined;
  let proxy: ProxyProcess | undefined;
  let live = false;
  const shutdown = async () => {
    await proxy?.stop();
    await Promise.all(servers.map((s) => s.close()));
    await web?.shutdown();
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
    try {
      web = webServer();
    } catch (e) {
      console.error(`demo: cannot listen on 127.0.0.1:${WEB_SERVER_PORT}: ${e}`);
      return 1;
    }
    console.log(
      `echo servers on 127.0.0.1:${SERVER_PORTS.join(", :")}, web server on :${WEB_SERVER_PORT}`,
    );
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

    // HTTP: a page proxied to the web server, a reply made by a rule, and the stats page.
    const page = await httpGet("/index.html");
    console.log(
      `GET http://127.0.0.1:${WEB_PORT}/index.html -> ${page.status} ${page.body.trim()} (X-Proxy: ${page.proxy})`,
    );
    const hello = await httpGet("/hello");
    console.log(`GET http://127.0.0.1:${WEB_PORT}/hello -> ${hello.status} ${hello.body.trim()}`);
    const stats = await httpGet("/stats;csv");
    const web1 = stats.body.split("\n").find((l) => l.startsWith("be_web,web1,")) ?? "";
    console.log(
      `GET http://127.0.0.1:${WEB_PORT}/stats;csv -> ${stats.status}, web1: ${
        web1.split(",")[17] ?? "?"
      }`,
    );
    console.log(
      `stats page: http://127.0.0.1:${WEB_PORT}/stats   metrics: http://127.0.0.1:${WEB_PORT}/metrics`,
    );
    if (
      page.status !== 200 || !page.body.startsWith("web1 served") ||
      hello.body !== "hello from sluice"
    ) {
      console.error("demo: unexpected HTTP answers");
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
