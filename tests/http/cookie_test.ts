import assert from "node:assert/strict";
import {
  findPersistCookie,
  insertSetCookie,
  parseCookieConfig,
  requestCookieForServer,
  rewriteSetCookie,
} from "../../src/http/cookie.ts";

function cfg(text: string) {
  const c = parseCookieConfig(text);
  assert.ok(!("error" in c), text);
  return c;
}

Deno.test("parseCookieConfig() reads HAProxy's cookie line and refuses bad words", () => {
  const c = cfg("SERVERID insert indirect nocache httponly");
  assert.equal(c.name, "SERVERID");
  assert.equal(c.mode, "insert");
  assert.ok(c.indirect && c.nocache && c.httponly && !c.secure);
  assert.deepEqual(parseCookieConfig("SRV insert bogus"), {
    error: 'cookie: unknown option "bogus"',
  });
  assert.deepEqual(parseCookieConfig("SRV"), {
    error: 'cookie: one of "insert", "rewrite" or "prefix" is required',
  });
  assert.ok("error" in parseCookieConfig("SRV insert rewrite"));
});

Deno.test("findPersistCookie() finds the server value, prefix mode before the ~", () => {
  assert.equal(findPersistCookie(["a=1; SRV=s2; b=2"], cfg("SRV insert")), "s2");
  assert.equal(findPersistCookie(["a=1", "SRV=s3"], cfg("SRV insert")), "s3");
  assert.equal(findPersistCookie(["a=1"], cfg("SRV insert")), null);
  assert.equal(findPersistCookie(["JSESSIONID=s1~abc"], cfg("JSESSIONID prefix")), "s1");
});

Deno.test("requestCookieForServer() hides the cookie with indirect and unprefixes in prefix mode", () => {
  assert.equal(requestCookieForServer("a=1; SRV=s2; b=2", cfg("SRV insert indirect")), "a=1; b=2");
  assert.equal(requestCookieForServer("SRV=s2", cfg("SRV insert indirect")), null);
  assert.equal(requestCookieForServer("a=1; SRV=s2", cfg("SRV insert")), "a=1; SRV=s2");
  assert.equal(
    requestCookieForServer("JSESSIONID=s1~abc", cfg("JSESSIONID prefix")),
    "JSESSIONID=abc",
  );
});

Deno.test("Set-Cookie values: insert builds one, rewrite and prefix edit the server's", () => {
  assert.equal(
    insertSetCookie(cfg("SRV insert secure httponly"), "s1"),
    "SRV=s1; path=/; HttpOnly; Secure",
  );
  assert.equal(rewriteSetCookie("SRV=xyz; Path=/", cfg("SRV rewrite"), "s1"), "SRV=s1; Path=/");
  assert.equal(rewriteSetCookie("OTHER=1", cfg("SRV rewrite"), "s1"), null);
  assert.equal(
    rewriteSetCookie("JSESSIONID=abc; Path=/app", cfg("JSESSIONID prefix"), "s1"),
    "JSESSIONID=s1~abc; Path=/app",
  );
});
