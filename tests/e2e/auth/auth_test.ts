// Basic authentication against userlists, side by side with HAProxy 2.6:
// `http-request auth realm R if !{ http_auth(L) }` and `http_auth_group`.
// The same userlist (SHA-512 `$6$` and SHA-256 `$5$` hashes made by
// `openssl passwd`, a bcrypt `$2b$` hash made by python3's crypt(3), an
// insecure password) runs on both proxies, and every credential (right,
// wrong, unknown user, bad header) gets the same status, realm and body
// from both. A userlist error is refused at its line.

import assert from "node:assert/strict";
import { runCli, startProxy } from "../../_helpers/proxy.ts";
import { connectHttp, HTTP_DEFAULTS } from "../http/_http.ts";
import { freePort, startHaproxyConfig } from "../../_helpers/haproxy.ts";

async function cmd(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${bin} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** One answer, as the client sees it. */
interface Seen {
  status: number;
  realm: string | null;
  body: string;
}

async function ask(port: number, auth: string | null): Promise<Seen> {
  const c = await connectHttp(port);
  try {
    await c.send(
      `GET / HTTP/1.1\r\nHost: x\r\n${auth === null ? "" : `Authorization: ${auth}\r\n`}\r\n`,
    );
    const r = await c.readResponse();
    return {
      status: r.status,
      realm: r.get("www-authenticate") ?? null,
      body: new TextDecoder().decode(r.body),
    };
  } finally {
    c.close();
  }
}

const b64 = (s: string) => btoa(s);

Deno.test("auth accepts and refuses what HAProxy 2.6 does, for each hash type", async () => {
  const h6 = await cmd("openssl", ["passwd", "-6", "-salt", "s6saltsa", "pw six"]);
  const h5 = await cmd("openssl", ["passwd", "-5", "-salt", "s5saltsa", "pw5"]);
  const hb = await cmd("python3", [
    "-c",
    "import crypt; print(crypt.crypt('pwb', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))",
  ]);
  assert.match(h6, /^\$6\$/);
  assert.match(h5, /^\$5\$/);
  assert.match(hb, /^\$2b\$04\$/);
  const hport = freePort();
  const haproxy = await startHaproxyConfig(
    `global
  maxconn 100
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
userlist L
  group admins
  group ops users u5
  user u6 password ${h6} groups admins
  user u5 password ${h5}
  user ub password ${hb}
  user uc insecure-password clear
frontend fe
  bind 127.0.0.1:${hport}
  http-request auth realm Private if !{ http_auth(L) }
  http-request return status 200 content-type text/plain string admin if { http_auth_group(L) admins }
  http-request return status 200 content-type text/plain string ops if { http_auth_group(L) ops }
  http-request return status 200 content-type text/plain string user
`,
    [hport],
  );
  const sluice = await startProxy(
    HTTP_DEFAULTS + `
userlists:
  L:
    group: [admins, "ops users u5"]
    user:
      - 'u6 password ${h6} groups admins'
      - 'u5 password ${h5}'
      - 'ub password ${hb}'
      - 'uc insecure-password clear'
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-request:
      - 'auth realm Private if !{ http_auth(L) }'
      - 'return status 200 content-type text/plain string admin if { http_auth_group(L) admins }'
      - 'return status 200 content-type text/plain string ops if { http_auth_group(L) ops }'
      - 'return status 200 content-type text/plain string user'
`,
  );
  try {
    const cases: Array<[string, string | null]> = [
      ["no header", null],
      ["sha512 right", "Basic " + b64("u6:pw six")],
      ["sha512 wrong", "Basic " + b64("u6:pw 6")],
      ["sha256 right", "Basic " + b64("u5:pw5")],
      ["sha256 wrong", "Basic " + b64("u5:pw55")],
      ["bcrypt right", "Basic " + b64("ub:pwb")],
      ["bcrypt wrong", "Basic " + b64("ub:pwB")],
      ["insecure right", "Basic " + b64("uc:clear")],
      ["insecure wrong", "Basic " + b64("uc:clear ")],
      ["unknown user", "Basic " + b64("nobody:clear")],
      ["other user's password", "Basic " + b64("uc:pw5")],
      ["no colon", "Basic " + b64("uc")],
      ["scheme case", "bAsIc " + b64("uc:clear")],
      ["bad base64", "Basic !!!"],
      ["bearer", "Bearer abc"],
    ];
    let accepted = 0;
    for (const [name, auth] of cases) {
      const want = await ask(hport, auth);
      const got = await ask(sluice.port("fe"), auth);
      assert.deepEqual(got, want, name);
      if (want.status === 200) accepted++;
      // The second time comes from the cache: same answer.
      assert.deepEqual(await ask(sluice.port("fe"), auth), want, `${name} (again)`);
    }
    assert.equal(accepted, 5, "right passwords of each kind (and the scheme case) accepted");
  } finally {
    await sluice.stop();
    await haproxy.stop();
  }
});

Deno.test("userlist and auth errors are refused at their line", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/a.yaml`;
  await Deno.writeTextFile(
    file,
    HTTP_DEFAULTS + `
userlists:
  L:
    user:
      - 'a password $1$abc$def'
      - 'b insecure-password x groups nosuch'
      - 'c'
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-request:
      - 'auth if !{ http_auth(M) }'
      - 'auth realm'
`,
  );
  try {
    const r = await runCli(["-c", "-f", file]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /a\.yaml:11:\d+: .*unsupported password hash '\$1\$abc\$def'/);
    assert.match(r.stderr, /a\.yaml:12:\d+: .*group 'nosuch' is not declared in userlist 'L'/);
    assert.match(r.stderr, /a\.yaml:13:\d+: .*user .c' has no password/);
    assert.match(r.stderr, /a\.yaml:18:\d+: .*userlist 'M' not found.*did you mean "L"/);
    assert.match(r.stderr, /a\.yaml:19:\d+: .*'auth' expects \[realm REALM\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a slow hash check does not hold other requests: they are answered meanwhile", async () => {
  // bcrypt cost 12: thousands of times the work of a request.
  const hb = await cmd("python3", [
    "-c",
    "import crypt; print(crypt.crypt('slow', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1<<12)))",
  ]);
  const sluice = await startProxy(
    HTTP_DEFAULTS + `
userlists:
  L: { user: ['s password ${hb}'] }
frontends:
  fe:
    bind: "127.0.0.1:0"
    http-request:
      - 'return status 200 content-type text/plain string free if { path /free }'
      - 'set-header X-Before yes'
      - 'auth realm R if !{ http_auth(L) }'
      - 'return status 200 content-type text/plain lf-string "in %[req.hdr_cnt(x-before)]"'
`,
  );
  try {
    const order: string[] = [];
    const slow = (async () => {
      const r = await ask(sluice.port("fe"), "Basic " + b64("s:slow"));
      order.push(`slow ${r.status} ${r.body}`);
    })();
    // Give the slow request time to reach its check (its own connection).
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 3; i++) {
      const c = await connectHttp(sluice.port("fe"));
      try {
        await c.send("GET /free HTTP/1.1\r\nHost: x\r\n\r\n");
        const r = await c.readResponse();
        order.push(`free ${r.status}`);
      } finally {
        c.close();
      }
    }
    await slow;
    // The rules resumed at the auth rule: the header set before it is there once.
    assert.deepEqual(order, ["free 200", "free 200", "free 200", "slow 200 in 1"]);
    // A wrong password for the same user is refused after its own check.
    assert.equal((await ask(sluice.port("fe"), "Basic " + b64("s:nope"))).status, 401);
  } finally {
    await sluice.stop();
  }
});
