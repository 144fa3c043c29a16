// TLS towards servers, with nginx as the real peer: verification against
// `ca-file` and the name from `sni` passes; a wrong CA or a wrong name
// fails the connection (503, the server never reached at the HTTP level);
// `verify none` connects anyway; `crt` presents a client certificate. Health checks over TLS (`check-ssl`) see
// nginx up; a check whose server fails verification takes it DOWN with
// "Layer6 invalid response" (HAProxy's L6RSP).

import assert from "node:assert/strict";
import { findNginx, NGINX_MISSING, startNginx } from "../../_helpers/nginx.ts";
import { startProxy } from "../../_helpers/proxy.ts";
import { makePki } from "../../_helpers/tls.ts";
import { curl } from "./_tls.ts";

const HAVE_NGINX = findNginx() !== null;

Deno.test({
  name: "ssl servers: verified by CA and name; wrong CA or name refused; verify none connects",
  ignore: !HAVE_NGINX,
  fn: async () => {
    const pki = await makePki("ca");
    const other = await makePki("other", pki.dir);
    const leaf = await pki.leaf("backend.test");
    const client = await pki.leaf("sluice-client");
    const ng = await startNginx({
      ssl: true,
      server: [
        `    ssl_certificate ${leaf.crt};`,
        `    ssl_certificate_key ${leaf.key};`,
        `    ssl_client_certificate ${pki.caCrt};`,
        "    ssl_verify_client optional;",
        '    location / { return 200 "nginx $ssl_protocol sni=$ssl_server_name dn=$ssl_client_s_dn\\n"; }',
      ].join("\n"),
    });
    const srv = (name: string, extra: string) =>
      `      - { name: ${name}, address: "127.0.0.1:${ng.port}", ssl: true${extra} }`;
    const p = await startProxy(
      [
        "global: { log: stdout }",
        "defaults:",
        "  mode: http",
        "  timeout: { connect: 5s, client: 30s, server: 30s }",
        "  retries: 0",
        "frontends:",
        "  fe:",
        '    bind: "127.0.0.1:0"',
        "    use_backend:",
        "      - be_bad_ca if { path_beg /badca }",
        "      - be_bad_name if { path_beg /badname }",
        "      - be_noverify if { path_beg /noverify }",
        "      - be_mtls_badca if { path_beg /mtlsbad }",
        "      - be_mtls if { path_beg /mtls }",
        "    default_backend: be_ok",
        "backends:",
        "  be_ok:",
        "    option: ['httpchk GET /']",
        "    servers:",
        srv("ok", `, ca-file: ${pki.caCrt}, sni: backend.test, check: true, inter: 200ms`),
        "  be_bad_ca:",
        "    servers:",
        srv("badca", `, ca-file: ${other.caCrt}, sni: backend.test`),
        "  be_check_bad:",
        "    servers:",
        srv(
          "chk",
          `, ca-file: ${other.caCrt}, sni: backend.test, check: true, inter: 200ms, fall: 1`,
        ),
        "  be_bad_name:",
        "    servers:",
        srv("badname", `, ca-file: ${pki.caCrt}, sni: other.test`),
        "  be_noverify:",
        "    servers:",
        srv("nv", `, verify: none, sni: "str(backend.test)"`),
        "  be_mtls:",
        "    servers:",
        srv("mtls", `, ca-file: ${pki.caCrt}, sni: backend.test, crt: ${client.pem}`),
        "  be_mtls_badca:",
        "    servers:",
        srv("mtlsbad", `, ca-file: ${other.caCrt}, sni: backend.test, crt: ${client.pem}`),
        "",
      ].join("\n"),
      { args: ["-d"] },
    ).catch(async (e) => {
      await ng.stop();
      throw e;
    });
    try {
      const port = p.ports.get("fe")![0]!;
      const ok = await curl(["-D-", `http://127.0.0.1:${port}/`]);
      assert.match(ok.out, /^HTTP\/1\.1 200/);
      assert.match(ok.out, /nginx TLSv1\.[23] sni=backend\.test dn=\n/);
      // Keep-alive towards the server: a second request on the same client connection works too.
      const two = await curl([`http://127.0.0.1:${port}/a`, `http://127.0.0.1:${port}/b`]);
      assert.equal(two.out.match(/nginx TLSv1/g)?.length, 2);

      const badCa = await curl(["-D-", `http://127.0.0.1:${port}/badca`]);
      assert.match(badCa.out, /^HTTP\/1\.1 503/);
      const badName = await curl(["-D-", `http://127.0.0.1:${port}/badname`]);
      assert.match(badName.out, /^HTTP\/1\.1 503/);
      await p.waitForLog(/be_bad_ca\/badca .* 503 .* SC/, 10_000);
      await p.waitForLog(/be_bad_name\/badname .* 503 .* SC/, 10_000);

      const nv = await curl(["-D-", `http://127.0.0.1:${port}/noverify`]);
      assert.match(nv.out, /^HTTP\/1\.1 200/);
      assert.match(nv.out, /sni=backend\.test/);

      const mtls = await curl(["-D-", `http://127.0.0.1:${port}/mtls`]);
      assert.match(mtls.out, /dn=CN=sluice-client/, "the client certificate reached nginx");
      const mtlsBad = await curl(["-D-", `http://127.0.0.1:${port}/mtlsbad`]);
      assert.match(mtlsBad.out, /^HTTP\/1\.1 503/, "with crt too, a wrong CA is refused");

      // The health checks reach nginx over TLS: its access log shows them.
      const deadline = Date.now() + 15_000;
      let checks = 0;
      while (Date.now() < deadline && checks === 0) {
        const log = await Deno.readTextFile(`${ng.dir}/access.log`).catch(() => "");
        checks = log.split("\n").filter((l) => l.includes('"GET / HTTP/1.0" 200 ')).length;
        if (checks === 0) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(checks > 0, "nginx saw health checks over TLS");
      // A check that cannot verify the server fails at layer 6, as HAProxy's.
      const down = await p.waitForStderr(/be_check_bad\/chk is DOWN/, 15_000);
      assert.match(down, /Layer6 invalid response.*SSL handshake failure/);
    } finally {
      await p.stop();
      await ng.stop();
      await Deno.remove(pki.dir, { recursive: true });
    }
  },
});

if (!HAVE_NGINX) console.warn(NGINX_MISSING);
