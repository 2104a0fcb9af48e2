import assert from "node:assert/strict";
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import { type Answer, E2E, startUrocket, withUrocket } from "./_harness.ts";

const ISSUER = "https://login.example.com/";
const AUDIENCE = "orders-api";

const JWT_OPENAPI = `openapi: 3.1.0
info: { title: orders, version: "1" }
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
    oauth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://login.example.com/token
          scopes: { "orders:read": read, "orders:write": write }
paths:
  /orders:
    get:
      operationId: listOrders
      security: [{ bearerAuth: [] }]
      responses: { "200": { description: ok } }
    post:
      operationId: createOrder
      security: [{ oauth: ["orders:write"] }]
      responses: { "200": { description: ok } }
`;

const handler = `inject: { cmd: "{{fixtures}}/env.sh", encoding: raw }`;

function jwtConfig(jwks: string): string {
  return `security:
  bearerAuth: { jwks: "${jwks}", issuer: "${ISSUER}", audience: ${AUDIENCE}, leeway: 10s }
  oauth: { jwks: "${jwks}", issuer: "${ISSUER}", audience: ${AUDIENCE} }
paths:
  /orders:
    get: { ${handler} }
    post: { ${handler} }
`;
}

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;

/** A key pair and its public JWK under `kid`. */
async function keyPair(alg: string, kid: string): Promise<{ keys: Keys; jwk: JWK; kid: string }> {
  const keys = await generateKeyPair(alg, { extractable: true });
  return { keys, jwk: { ...await exportJWK(keys.publicKey), kid, alg, use: "sig" }, kid };
}

const now = () => Math.floor(Date.now() / 1000);

/** A token signed with `key`, valid for an hour unless `claims` says otherwise. */
function token(
  key: { keys: Keys; kid: string },
  claims: JWTPayload = {},
  alg = "RS256",
): Promise<string> {
  return new SignJWT({ sub: "user-1", scope: "orders:read", ...claims })
    .setProtectedHeader({ alg, kid: key.kid })
    .setIssuer(String(claims.iss ?? ISSUER))
    .setAudience(claims.aud as string ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? now() + 3600)
    .sign(key.keys.privateKey);
}

/** The environment the env.sh fixture replied with. */
function envOf(answer: Answer): Record<string, string> {
  assert.equal(answer.status, 200, answer.text);
  const lines = answer.text.slice(0, answer.text.indexOf("\n--\n")).split("\n");
  return Object.fromEntries(lines.map((line) => {
    const eq = line.indexOf("=");
    return [line.slice(0, eq), line.slice(eq + 1)];
  }));
}

/** Why each bad token is refused, as the access line says (`auth_error`). */
const REASONS: Record<string, string> = {
  malformed: "malformed_token",
  expired: "ERR_JWT_EXPIRED exp",
  "not yet valid": "ERR_JWT_CLAIM_VALIDATION_FAILED nbf",
  "wrong issuer": "ERR_JWT_CLAIM_VALIDATION_FAILED iss",
  "wrong audience": "ERR_JWT_CLAIM_VALIDATION_FAILED aud",
  "tampered signature": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "tampered payload": "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "unknown kid": "ERR_JWKS_NO_MATCHING_KEY",
  // jose would refuse it too; urocket refuses an empty signature before decoding anything.
  "alg none": "malformed_token",
  "HS256 signed with the RS public key": "ERR_JOSE_ALG_NOT_ALLOWED",
  "no expiry": "ERR_JWT_CLAIM_VALIDATION_FAILED exp",
};

const bearer = (jwt: string) => ({ headers: { authorization: `Bearer ${jwt}` } });

Deno.test({
  name: "a JWT scheme checks signature, exp and nbf with leeway, iss, aud, kid and the algorithm " +
    "allow-list, and refuses every bad token with 401 and invalid_token",
  ...E2E,
  async fn() {
    const rs = await keyPair("RS256", "rs-1");
    const es = await keyPair("ES256", "es-1");
    const stranger = await keyPair("RS256", "rs-9");
    await withUrocket({
      config: jwtConfig("jwks.json"),
      openapi: JWT_OPENAPI,
      files: { "jwks.json": JSON.stringify({ keys: [rs.jwk, es.jwk] }) },
    }, async (uro) => {
      const good = await token(rs, { team: "blue" });
      const env = envOf(await uro.call("/orders", bearer(good)));
      assert.equal(env.AUTH_SCHEME, "bearerAuth");
      assert.equal(env.AUTH_SUBJECT, "user-1");
      assert.equal(env.AUTH_SCOPES, "orders:read");
      const claims = JSON.parse(env.AUTH_CLAIMS);
      assert.equal(claims.team, "blue");
      assert.equal(claims.iss, ISSUER);
      assert.equal(
        envOf(await uro.call("/orders", bearer(await token(es, {}, "ES256")))).AUTH_SUBJECT,
        "user-1",
      );
      // Within the 10 s leeway.
      assert.equal(
        (await uro.call("/orders", bearer(await token(rs, { exp: now() - 3 })))).status,
        200,
      );

      const missing = await uro.call("/orders");
      assert.equal(missing.status, 401);
      assert.equal(missing.json().detail, "Credentials are missing");
      assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="orders"');

      const [header, payload, signature] = good.split(".");
      const forged = btoa(JSON.stringify({ ...JSON.parse(atob(payload)), sub: "admin" }))
        .replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
      const publicPem = await exportSPKI(rs.keys.publicKey);
      const bad: Record<string, string> = {
        malformed: "not-a-jwt",
        expired: await token(rs, { exp: now() - 60 }),
        "not yet valid": await token(rs, { nbf: now() + 60 }),
        "wrong issuer": await token(rs, { iss: "https://evil.example.com/" }),
        "wrong audience": await token(rs, { aud: "billing-api" }),
        "tampered signature": `${header}.${payload}.${signature.slice(0, -4)}AAAA`,
        "tampered payload": `${header}.${forged}.${signature}`,
        "unknown kid": await token(stranger),
        "alg none": new UnsecuredJWT({ sub: "user-1", iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })
          .encode(),
        "HS256 signed with the RS public key": await new SignJWT({ sub: "user-1" })
          .setProtectedHeader({ alg: "HS256", kid: rs.kid })
          .setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(now() + 60)
          .sign(new TextEncoder().encode(publicPem)),
        "no expiry": await new SignJWT({ sub: "user-1" }).setProtectedHeader({
          alg: "RS256",
          kid: rs.kid,
        })
          .setIssuer(ISSUER).setAudience(AUDIENCE).sign(rs.keys.privateKey),
      };
      for (const [what, jwt] of Object.entries(bad)) {
        const answer = await uro.call("/orders", bearer(jwt));
        assert.equal(answer.status, 401, what);
        assert.equal(answer.json().detail, "Credentials are invalid", what);
        assert.equal(
          answer.headers.get("www-authenticate"),
          'Bearer realm="orders", error="invalid_token"',
          what,
        );
        const id = answer.headers.get("x-request-id");
        const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
        assert.equal(access.outcome, "unauthorized", what);
        assert.equal(access.auth_error, `bearerAuth: ${REASONS[what]}`, what);
      }
      const log = JSON.stringify(uro.logs);
      assert.ok(!log.includes(signature), "a token reached the log");
    });
  },
});

Deno.test({
  name: "a valid token without the scope a requirement lists gets 403 with insufficient_scope; " +
    "claims over 8 KiB are left out of AUTH_CLAIMS with a warning",
  ...E2E,
  async fn() {
    const rs = await keyPair("RS256", "rs-1");
    await withUrocket({
      config: jwtConfig("jwks.json"),
      openapi: JWT_OPENAPI,
      files: { "jwks.json": JSON.stringify({ keys: [rs.jwk] }) },
    }, async (uro) => {
      const reader = await uro.call("/orders", { method: "POST", ...bearer(await token(rs)) });
      assert.equal(reader.status, 403, reader.text);
      assert.equal(reader.json().detail, "The credentials lack a scope this operation requires");
      assert.equal(
        reader.headers.get("www-authenticate"),
        'Bearer realm="orders", error="insufficient_scope", scope="orders:write"',
      );
      const id = reader.headers.get("x-request-id");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "forbidden");
      assert.equal(access.auth_subject, "user-1");
      assert.equal(access.pid, undefined);

      // scp as a list, as some issuers write it.
      const writer = await token(rs, { scope: undefined, scp: ["orders:read", "orders:write"] });
      const env = envOf(await uro.call("/orders", { method: "POST", ...bearer(writer) }));
      assert.equal(env.AUTH_SCHEME, "oauth");
      assert.equal(env.AUTH_SCOPES, "orders:read orders:write");

      const big = await token(rs, { profile: "x".repeat(9000) });
      const answer = await uro.call("/orders", bearer(big));
      const bigEnv = envOf(answer);
      assert.equal(bigEnv.AUTH_CLAIMS, undefined);
      assert.equal(bigEnv.AUTH_SUBJECT, "user-1");
      const warning = await uro.waitForLog((l) => l.msg === "auth_claims_omitted");
      assert.equal(warning.req_id, answer.headers.get("x-request-id"));
    });
  },
});

Deno.test({
  name: "a valid token whose sub or scope holds a NUL is refused with 401 invalid_token, as no " +
    "environment variable can carry it, rather than failing the spawn",
  ...E2E,
  async fn() {
    const rs = await keyPair("RS256", "rs-1");
    const uro = await startUrocket({
      config: jwtConfig("jwks.json"),
      openapi: JWT_OPENAPI,
      files: { "jwks.json": JSON.stringify({ keys: [rs.jwk] }) },
    });
    try {
      for (const claims of [{ sub: "user-1\0LD_PRELOAD=/tmp/x.so" }, { scope: "orders:read\0x" }]) {
        const answer = await uro.call("/orders", bearer(await token(rs, claims)));
        assert.equal(answer.status, 401, answer.text);
        assert.equal(
          answer.headers.get("www-authenticate"),
          'Bearer realm="orders", error="invalid_token"',
        );
        const id = answer.headers.get("x-request-id");
        const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
        assert.equal(access.auth_error, "bearerAuth: nul_in_claims");
        assert.equal(access.pid, undefined, "no process was started");
      }
      assert.deepEqual(uro.find((l) => l.msg === "spawn_failed"), []);
    } finally {
      await uro.stop();
    }
  },
});

/** A test certificate authority and a certificate for 127.0.0.1 it signed, made with openssl in `dir`. */
async function testCertificates(
  dir: string,
): Promise<{ cert: string; key: string; caFile: string }> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  for (
    const args of [
      [
        "req",
        "-x509",
        ...ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=test CA",
      ],
      ["req", ...ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"],
      [
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
      ],
    ]
  ) {
    const made = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
  }
  return {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
    caFile: `${dir}/ca.pem`,
  };
}

Deno.test({
  name: "a JWKS URL is fetched at start over https (readiness and tokens wait for it), and again " +
    "when a token names an unknown kid, at most once per cool-down",
  ...E2E,
  async fn() {
    const tls = await Deno.makeTempDir({ prefix: "urocket-tls-" });
    const { cert, key, caFile } = await testCertificates(tls);
    const first = await keyPair("RS256", "rs-1");
    const rotated = await keyPair("ES256", "es-2");
    const later = await keyPair("RS256", "rs-3");
    const issuer = { failing: true, keys: [first.jwk], fetches: 0 };
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, cert, key, onListen() {} }, () => {
      issuer.fetches++;
      return issuer.failing
        ? new Response("down", { status: 500 })
        : Response.json({ keys: issuer.keys });
    });
    const url = `https://127.0.0.1:${server.addr.port}/jwks.json`;
    const uro = await startUrocket({
      config: `admin: 127.0.0.1:0\n${jwtConfig(url)}`,
      openapi: JWT_OPENAPI,
      // How urocket (Deno) trusts a certificate authority of its own.
      env: { DENO_CERT: caFile },
    });
    try {
      const admin = String(uro.logs.find((l) => l.msg === "start")!.admin);
      const failed = await uro.waitForLog((l) => l.msg === "jwks_fetch_failed");
      assert.equal(failed.url, url);
      assert.match(String(failed.error), /HTTP 500/);
      const notReady = await fetch(`http://${admin}/readyz`);
      assert.equal(notReady.status, 503);
      assert.equal(await notReady.text(), "starting\n");
      const early = await uro.call("/orders", bearer(await token(first)));
      assert.equal(early.status, 503, early.text);
      assert.equal(early.headers.get("retry-after"), "1");

      issuer.failing = false;
      await uro.waitForLog((l) => l.msg === "jwks_loaded" && l.reason === "start");
      const ready = await fetch(`http://${admin}/readyz`);
      assert.equal(ready.status, 200);
      await ready.body?.cancel();
      assert.equal((await uro.call("/orders", bearer(await token(first)))).status, 200);

      // The issuer rotates a key in: the first token naming it makes urocket fetch the set again.
      issuer.keys = [first.jwk, rotated.jwk];
      const fetched = issuer.fetches;
      const env = envOf(await uro.call("/orders", bearer(await token(rotated, {}, "ES256"))));
      assert.equal(env.AUTH_SUBJECT, "user-1");
      assert.equal(issuer.fetches, fetched + 1);
      await uro.waitForLog((l) => l.msg === "jwks_loaded" && l.reason === "unknown_kid");
      // Another unknown kid within the cool-down fetches nothing: made-up kids cannot flood the issuer.
      issuer.keys = [first.jwk, rotated.jwk, later.jwk];
      assert.equal((await uro.call("/orders", bearer(await token(later)))).status, 401);
      assert.equal(issuer.fetches, fetched + 1);
    } finally {
      await uro.stop();
      await server.shutdown();
      await Deno.remove(tls, { recursive: true });
    }
  },
});
