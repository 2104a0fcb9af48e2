import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createLocalJWKSet, exportJWK, generateKeyPair } from "jose";
import { parseDocumentText } from "../../../lib/openapi/document.ts";
import { hashSync } from "bcryptjs";
import { BcryptPool } from "../../../lib/security/_bcrypt_pool.ts";
import {
  readKeySetFile,
  readSecretFile,
  type SecretFileSystem,
} from "../../../lib/security/_secret_file.ts";
import { checkAlgorithms } from "../../../lib/security/_schemes.ts";
import { parseKeysFile } from "../../../lib/security/api_key.ts";
import {
  basicVerifier,
  CACHE_TTL_MS,
  parseHtpasswd,
  PasswordChecks,
} from "../../../lib/security/basic.ts";
import { jwtVerifier, scopesOf, TOKEN_CACHE_TTL_MS } from "../../../lib/security/jwt.ts";
import {
  checkGuard,
  type CredentialSource,
  type Guard,
  prepareSecurity,
  type Verdict,
  type Verifier,
  withoutCredentials,
} from "../../../lib/security/mod.ts";
import { RemoteKeySet } from "../../../lib/security/remote_jwks.ts";

const source = (headers: Record<string, string> = {}, query = ""): CredentialSource => ({
  headers: new Headers(headers),
  query,
  body: () => Promise.resolve(new Uint8Array()),
});

/** A verifier answering `verdict`, counting its calls. */
function fake(scheme: string, verdict: Verdict, queryParams: string[] = []) {
  const verifier = {
    scheme,
    scoped: true,
    queryParams,
    calls: 0,
    challenge: (error?: string) => `${scheme}${error ? ` ${error}` : ""}`,
    verify() {
      verifier.calls++;
      return Promise.resolve(verdict);
    },
  };
  return verifier;
}

const valid = (subject: string, scopes: string[] = []): Verdict => ({
  kind: "valid",
  subject,
  scopes,
});
const guardOf = (alternatives: [Verifier, string[]?][][], optional = false): Guard => ({
  alternatives: alternatives.map((alt) =>
    alt.map(([verifier, scopes = []]) => ({ verifier, scopes }))
  ),
  optional,
});

Deno.test("checkGuard() tries alternatives in order and lets the first that passes through", async () => {
  const a = fake("a", { kind: "absent" });
  const b = fake("b", valid("bob"));
  const decision = await checkGuard(guardOf([[[a]], [[b]]]), source());
  assert.deepEqual(decision, {
    kind: "allowed",
    identity: { scheme: "b", subject: "bob", scopes: [] },
  });
});

Deno.test("checkGuard() needs every scheme of one alternative, and verifies each scheme once", async () => {
  const key = fake("key", valid("ci"));
  const token = fake("token", valid("user", ["read"]));
  const both = await checkGuard(guardOf([[[key], [token, ["read"]]]]), source());
  assert.deepEqual(both, {
    kind: "allowed",
    identity: { scheme: "key token", subject: "ci", scopes: ["read"] },
  });
  const absent = fake("absent", { kind: "absent" });
  const costly = fake("costly", valid("x"));
  const refused = await checkGuard(guardOf([[[absent], [costly]], [[absent]]]), source());
  assert.equal(refused.kind, "unauthorized");
  assert.equal(absent.calls, 1, "a scheme named twice is verified once");
  assert.equal(costly.calls, 0, "an alternative stops at its first failing scheme");
});

Deno.test("checkGuard() says missing when nothing was sent and invalid when something was wrong", async () => {
  const none = await checkGuard(guardOf([[[fake("a", { kind: "absent" })]]]), source());
  assert.deepEqual(none, {
    kind: "unauthorized",
    reason: "missing",
    challenges: ["a"],
    errors: [],
  });
  const wrong = await checkGuard(
    guardOf([[[fake("a", { kind: "invalid", reason: "bad" })]], [[fake("b", { kind: "absent" })]]]),
    source(),
  );
  assert.deepEqual(wrong, {
    kind: "unauthorized",
    reason: "invalid",
    challenges: ["a invalid_token", "b"],
    errors: ["a: bad"],
  });
});

Deno.test("checkGuard() lets an anonymous request through an optional requirement, not a wrong one", async () => {
  assert.deepEqual(await checkGuard(guardOf([[[fake("a", { kind: "absent" })]]], true), source()), {
    kind: "allowed",
  });
  const wrong = await checkGuard(
    guardOf([[[fake("a", { kind: "invalid", reason: "bad" })]]], true),
    source(),
  );
  assert.equal(wrong.kind, "unauthorized");
  // { a, b } and {}: b's wrong credential is refused even though a, missing, ends the alternative.
  const behind = await checkGuard(
    guardOf(
      [[[fake("a", { kind: "absent" })], [fake("b", { kind: "invalid", reason: "bad" })]]],
      true,
    ),
    source(),
  );
  assert.deepEqual(behind, {
    kind: "unauthorized",
    reason: "invalid",
    challenges: ["a", "b invalid_token"],
    errors: ["b: bad"],
  });
});

Deno.test("checkGuard() prefers 403 for a missing scope, then 429, then 503, to 401", async () => {
  const reader = fake("token", valid("user", ["read"]));
  const busy = fake("basic", { kind: "busy" });
  const later = fake("remote", { kind: "unavailable" });
  const wrong = fake("key", { kind: "invalid", reason: "bad" });
  const forbidden = await checkGuard(
    guardOf([[[wrong]], [[busy]], [[reader, ["write"]]]]),
    source(),
  );
  assert.equal(forbidden.kind, "forbidden");
  assert.deepEqual((forbidden as { challenges: string[] }).challenges, [
    "token insufficient_scope",
  ]);
  assert.equal(
    (await checkGuard(guardOf([[[wrong]], [[later]], [[busy]]]), source())).kind,
    "busy",
  );
  assert.equal((await checkGuard(guardOf([[[wrong]], [[later]]]), source())).kind, "unavailable");
});

Deno.test("withoutCredentials() drops the query parameters that carry a guard's keys", () => {
  const guard = guardOf([[[fake("q", valid("x"), ["api_key"])]]]);
  assert.equal(withoutCredentials(guard, "a=1&api_key=s3cret&b=2&api%5Fkey=again"), "a=1&b=2");
  assert.equal(withoutCredentials(guard, "api_key"), "");
  assert.equal(withoutCredentials(guardOf([[[fake("h", valid("x"))]]]), "api_key=1"), "api_key=1");
});

Deno.test("parseKeysFile() reads plain and SHA-256 keys and refuses ambiguous files", () => {
  const digest = createHash("sha256").update("second-secret").digest("hex");
  const parsed = parseKeysFile(`# deploy keys\nci:first-secret\n\nops:sha256:${digest}\n`);
  assert.ok("keys" in parsed);
  assert.deepEqual(parsed.keys.map((k) => k.name), ["ci", "ops"]);
  assert.deepEqual(
    parseKeysFile("ci:one\nci:two\nx:one\nno-colon\n"),
    {
      errors: [
        'line 2: the key name "ci" is listed twice',
        'line 3: "x" has the same secret as "ci": a caller could not be told apart',
        'line 4: expected "NAME:SECRET" or "NAME:sha256:<64 hex digits>"',
      ],
    },
  );
  assert.deepEqual(parseKeysFile("\n# nothing\n"), { errors: ["the file lists no key"] });
});

Deno.test("parseHtpasswd() takes bcrypt entries only, with a bounded cost", () => {
  const hash = (cost: string) => `$2y$${cost}$${"a".repeat(53)}`;
  const parsed = parseHtpasswd(`alice:${hash("10")}\nbob:${hash("05").replace("2y", "2a")}\n`);
  assert.ok("users" in parsed);
  assert.deepEqual([...parsed.users.keys()], ["alice", "bob"]);
  const refused = parseHtpasswd(
    `a:$apr1$x$y\nb:{SHA}abc=\nc:${hash("13")}\nd:${hash("10")}\nd:${hash("10")}`,
  );
  assert.ok("errors" in refused);
  assert.match(refused.errors[0], /^line 1: "a" is not a bcrypt entry .*htpasswd -B/);
  assert.match(refused.errors[1], /^line 2: "b" is not a bcrypt entry/);
  assert.match(refused.errors[2], /^line 3: "c" has bcrypt cost 13: use 4 to 12/);
  assert.equal(refused.errors[3], 'line 5: the user "d" is listed twice');
});

Deno.test("basicVerifier() remembers a successful check for a short while, and never a failed one", async () => {
  let compares = 0;
  let clock = 0;
  const verifier = basicVerifier("basic", new Map([["alice", "hash-of-alice"]]), {
    compare: (password, hash) => {
      compares++;
      return Promise.resolve(password === "right" && hash === "hash-of-alice");
    },
    checks: new PasswordChecks(),
    realm: "r",
    now: () => clock,
  });
  const as = (user: string, password: string) =>
    verifier.verify(source({ authorization: `Basic ${btoa(`${user}:${password}`)}` }));
  assert.equal((await as("alice", "right")).kind, "valid");
  assert.equal((await as("alice", "right")).kind, "valid");
  assert.equal(compares, 1);
  assert.equal((await as("alice", "wrong")).kind, "invalid");
  assert.equal((await as("alice", "wrong")).kind, "invalid");
  assert.equal(compares, 3);
  // An unknown user is compared too (with another user's hash), so timing does not tell.
  assert.equal((await as("mallory", "right")).kind, "invalid");
  assert.equal(compares, 4);
  clock += CACHE_TTL_MS + 1;
  assert.equal((await as("alice", "right")).kind, "valid");
  assert.equal(compares, 5);
  assert.deepEqual(await verifier.verify(source()), { kind: "absent" });
  assert.deepEqual(await verifier.verify(source({ authorization: "Bearer x" })), {
    kind: "absent",
  });
});

Deno.test("basicVerifier() remembers a check under the credential as sent: another user and password with the same bytes miss", async () => {
  const verifier = basicVerifier("basic", new Map([["a", "hash-of-a"]]), {
    compare: (password, hash) => Promise.resolve(password === "b\0c" && hash === "hash-of-a"),
    checks: new PasswordChecks(),
    realm: "r",
  });
  const as = (user: string, password: string) =>
    verifier.verify(source({ authorization: `Basic ${btoa(`${user}:${password}`)}` }));
  assert.deepEqual(await as("a", "b\0c"), { kind: "valid", subject: "a", scopes: [] });
  assert.deepEqual(await as("a\0b", "c"), { kind: "invalid", reason: "wrong_password" });
});

Deno.test("PasswordChecks.run() refuses a check past its bound while the others run", async () => {
  const checks = new PasswordChecks(2);
  let release!: () => void;
  const held = new Promise<boolean>((resolve) => release = () => resolve(true));
  const first = checks.run(() => held);
  const second = checks.run(() => held);
  assert.equal(await checks.run(() => Promise.resolve(true)), undefined);
  release();
  assert.deepEqual(await Promise.all([first, second]), [true, true]);
  assert.equal(await checks.run(() => Promise.resolve(true)), true);
});

Deno.test("BcryptPool.compare() checks passwords on at most its worker threads, and close() ends them", async () => {
  const pool = new BcryptPool({ workers: 2 });
  const hash = hashSync("right", 4);
  try {
    const answers = Promise.all(
      ["right", "wrong", "right", ""].map((password) => pool.compare(password, hash)),
    );
    assert.equal(pool.workers, 2);
    assert.deepEqual(await answers, [true, false, true, false]);
    const pending = pool.compare("right", hash);
    pool.close();
    assert.equal(pool.workers, 0);
    await assert.rejects(pending, /The bcrypt pool was closed/);
  } finally {
    pool.close();
  }
});

Deno.test("checkAlgorithms() refuses none, HS* with a key set, and asymmetric ones with a secret", () => {
  assert.match(checkAlgorithms(["RS256", "none"], false)!, /"none" is never accepted/);
  assert.match(checkAlgorithms(["HS256"], false)!, /HS256 needs "secret-file"/);
  assert.match(checkAlgorithms(["RS256"], true)!, /not an HMAC algorithm/);
  assert.match(checkAlgorithms(["RS257"], false)!, /Unknown algorithm "RS257"/);
  assert.equal(checkAlgorithms(["RS256", "ES256", "EdDSA"], false), undefined);
  assert.equal(checkAlgorithms(["HS512"], true), undefined);
});

Deno.test("scopesOf() reads scope as a space-separated string and scp as a list or a string", () => {
  assert.deepEqual(scopesOf({ scope: "a  b" }), ["a", "b"]);
  assert.deepEqual(scopesOf({ scp: ["a", 7, "b"] }), ["a", "b"]);
  assert.deepEqual(scopesOf({ scp: "a b" }), ["a", "b"]);
  assert.deepEqual(scopesOf({}), []);
});

Deno.test("readSecretFile() refuses a file every user can read, and says how to fix it", async () => {
  const files = (mode: number): SecretFileSystem => ({
    mode: () => Promise.resolve(mode),
    readTextFile: () => Promise.resolve("s3cret\n"),
  });
  assert.deepEqual(await readSecretFile("/etc/k", files(0o100640)), { text: "s3cret\n" });
  const refused = await readSecretFile("/etc/k", files(0o100644));
  assert.ok("error" in refused);
  assert.equal(
    refused.error,
    '"/etc/k" is readable by every user (mode 0644): chmod o-r it (in Kubernetes, mount the ' +
      "secret with defaultMode: 0440)",
  );
});

Deno.test("readSecretFile() and readKeySetFile() refuse a file every user can write: anyone could add a credential or a key", async () => {
  const files = (mode: number): SecretFileSystem => ({
    mode: () => Promise.resolve(mode),
    readTextFile: () => Promise.resolve('{"keys":[]}'),
  });
  const writable = '"/etc/k" is writable by every user (mode 0602): chmod o-w it (anyone on the ' +
    "host could add a credential)";
  assert.deepEqual(await readSecretFile("/etc/k", files(0o100602)), { error: writable });
  assert.deepEqual(await readKeySetFile("/etc/k", files(0o100602)), { error: writable });
  // A key set holds public keys: readable by all is fine.
  assert.deepEqual(await readKeySetFile("/etc/k", files(0o100644)), { text: '{"keys":[]}' });
});

Deno.test("RemoteKeySet keeps the last set it fetched when a later fetch fails", async () => {
  const { publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...await exportJWK(publicKey), kid: "k1", alg: "ES256" };
  let failing = false;
  const logged: [string, Record<string, unknown>][] = [];
  const set = new RemoteKeySet("https://issuer.test/jwks", {
    createLocalJWKSet,
    fetch: () =>
      Promise.resolve(
        failing ? new Response("no", { status: 502 }) : Response.json({ keys: [jwk] }),
      ),
  });
  set.start({
    info: (msg, fields) => logged.push([msg, fields]),
    error: (msg, fields) => logged.push([msg, fields]),
  });
  try {
    assert.equal(await set.refresh("test"), true);
    const keys = set.keys;
    assert.ok(keys);
    failing = true;
    assert.equal(await set.refresh("test"), false);
    assert.equal(set.keys, keys, "the set fetched before is kept");
    const failure = logged.find(([msg]) => msg === "jwks_fetch_failed");
    assert.equal(failure?.[1].keeping, "the last set fetched");
    assert.match(String(failure?.[1].error), /HTTP 502/);
  } finally {
    set.stop();
  }
});

const SCHEMES_DOC = `openapi: 3.0.3
info: { title: t, version: "1" }
components:
  securitySchemes:
    key: { type: apiKey, in: header, name: X-Key }
    digest: { type: http, scheme: digest }
security: [{ key: [] }]
paths:
  /a: { get: { responses: { "200": { description: ok } } } }
  /b: { get: { security: [{ key: [admin] }], responses: { "200": { description: ok } } } }
  /c: { get: { security: [{ digest: [] }], responses: { "200": { description: ok } } } }
  /d: { get: { security: [], responses: { "200": { description: ok } } } }
`;

Deno.test("prepareSecurity() guards each operation as its document says, or says what is missing", async () => {
  const document = parseDocumentText(SCHEMES_DOC, "/srv/openapi.yaml");
  const operations = ["a", "b", "c", "d"].map((name, i) => ({
    key: `GET /${name}`,
    config: { path: `/${name}`, method: "get", securityOpen: false, line: 10 + i },
    document: document.operations[i],
  }));
  const files: SecretFileSystem = {
    mode: () => Promise.resolve(0o600),
    readTextFile: () => Promise.resolve("ci:s3cret-key\n"),
  };
  const prepared = await prepareSecurity(document, operations, {
    file: "/srv/urocket-service.yaml",
    security: { key: { "keys-file": "keys" } },
    securityLines: { key: 3 },
  }, { files });
  assert.deepEqual(prepared.problems.map((p) => `${p.key}: ${p.message}`), [
    'paths./b.get: GET /b requires the roles admin of "key": urocket checks scopes of JWTs ' +
    "only, not of apiKey schemes",
    'paths./c.get: GET /c requires "digest" (http digest), which urocket cannot verify: set ' +
    '"security: open" on the operation if the proxy in front enforces it',
  ]);
  assert.deepEqual([...prepared.summaries], [
    ["GET /a", "key"],
    ["GET /b", "none"],
    ["GET /c", "none"],
    ["GET /d", "none"],
  ]);
  assert.ok(prepared.guards.has("GET /a"));
  assert.ok(!prepared.guards.has("GET /d"), "security: [] is public");

  operations[0].config.securityOpen = true;
  const open = await prepareSecurity(document, operations.slice(0, 1), {
    file: "/srv/urocket-service.yaml",
    security: {},
    securityLines: {},
  });
  assert.deepEqual(open.problems, []);
  assert.equal(open.summaries.get("GET /a"), "open");
  assert.match(
    open.warnings[0].message,
    /GET \/a is served to anyone: "security: open" skips .*\(key\)/,
  );
});

Deno.test("prepareSecurity() refuses a key set file every user can write", async () => {
  const document = parseDocumentText(
    `openapi: 3.0.3
info: { title: t, version: "1" }
components: { securitySchemes: { bearer: { type: http, scheme: bearer } } }
paths: {}
`,
    "/srv/openapi.yaml",
  );
  const files = (mode: number): SecretFileSystem => ({
    mode: () => Promise.resolve(mode),
    readTextFile: () => Promise.resolve('{"keys":[]}'),
  });
  const config = {
    file: "/srv/urocket-service.yaml",
    security: { bearer: { jwks: "jwks.json", issuer: "i", audience: "a" } },
    securityLines: { bearer: 3 },
  };
  const writable = await prepareSecurity(document, [], config, { files: files(0o100666) });
  assert.deepEqual(writable.problems.map((p) => `${p.key}: ${p.message}`), [
    'security.bearer.jwks: "/srv/jwks.json" is writable by every user (mode 0666): chmod o-w it ' +
    "(anyone on the host could add a credential)",
  ]);
  const readable = await prepareSecurity(document, [], config, { files: files(0o100644) });
  assert.deepEqual(readable.problems, []);
});

Deno.test("jwtVerifier() checks a token's signature once, then remembers it until 60 s pass or it expires", async () => {
  let verified = 0;
  let clock = 1_000_000_000;
  const exp = clock / 1000 + 3600;
  const verifier = jwtVerifier("bearer", {
    jose: {
      jwtVerify: (() => {
        verified++;
        return Promise.resolve({ payload: { sub: "u", exp }, protectedHeader: { alg: "RS256" } });
      }) as unknown as typeof import("jose").jwtVerify,
    },
    keys: { kind: "secret", secret: new Uint8Array(32) },
    issuer: ["i"],
    audience: ["a"],
    algorithms: ["HS256"],
    leewaySeconds: 0,
    realm: "r",
    now: () => clock,
  });
  const call = (token: string) => verifier.verify(source({ authorization: `Bearer ${token}` }));
  assert.equal((await call("a.b.c")).kind, "valid");
  assert.equal((await call("a.b.c")).kind, "valid");
  assert.equal(verified, 1);
  assert.equal((await call("a.b.d")).kind, "valid", "another token is verified on its own");
  assert.equal(verified, 2);
  clock += TOKEN_CACHE_TTL_MS + 1;
  await call("a.b.c");
  assert.equal(verified, 3);
});
