import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { hashSync } from "bcryptjs";
import {
  type Answer,
  E2E,
  makeFolder,
  runUrocket,
  scrapeMetrics,
  startUrocket,
  type TestFiles,
} from "./_harness.ts";

const SECURED_OPENAPI = `openapi: 3.0.3
info: { title: secured tests, version: "1" }
components:
  securitySchemes:
    api_key: { type: apiKey, in: header, name: X-API-Key }
    query_key: { type: apiKey, in: query, name: api_key }
    cookie_key: { type: apiKey, in: cookie, name: session }
    basicAuth: { type: http, scheme: basic }
    github: { type: apiKey, in: header, name: X-Hub-Signature-256 }
security:
  - api_key: []
paths:
  /key: { post: { operationId: key, responses: { "200": { description: ok } } } }
  /either:
    get:
      operationId: either
      security: [{ query_key: [] }, { cookie_key: [] }]
      responses: { "200": { description: ok } }
  /both:
    get:
      operationId: both
      security: [{ api_key: [], basicAuth: [] }]
      responses: { "200": { description: ok } }
  /public:
    get: { operationId: public, security: [], responses: { "200": { description: ok } } }
  /optional:
    get:
      operationId: optional
      security: [{ api_key: [] }, {}]
      responses: { "200": { description: ok } }
  /basic:
    get:
      operationId: basic
      security: [{ basicAuth: [] }]
      responses: { "200": { description: ok } }
  /hook:
    post:
      operationId: hook
      security: [{ github: [] }]
      responses: { "200": { description: ok } }
  /open: { get: { operationId: open, responses: { "200": { description: ok } } } }
`;

const CI_KEY = "key-ci-4f1d2a9e7b";
const OPS_KEY = "key-ops-77c0e3d1aa";
const HOOK_SECRET = "It's a Secret to Everybody";
const PASSWORD = "correct horse battery staple";
const SLOW_PASSWORD = "slow but sure";

const handler = `inject: { cmd: "{{fixtures}}/env.sh", encoding: raw }`;
const SECURED_CONFIG = `admin: 127.0.0.1:0
security:
  api_key: { keys-file: keys }
  query_key: { keys-file: keys }
  cookie_key: { keys-file: keys }
  basicAuth: { htpasswd: htpasswd }
  github:
    hmac: { secret-file: hook-secret }
paths:
  /key: { post: { ${handler} } }
  /either: { get: { ${handler} } }
  /both: { get: { ${handler} } }
  /public: { get: { ${handler} } }
  /optional: { get: { ${handler} } }
  /basic: { get: { ${handler} } }
  /hook: { post: { ${handler}, max-body: 4KiB } }
  /open: { get: { ${handler}, security: open } }
`;

/** The secrets files of the tests: mode 0600, as urocket wants them. */
function secretFiles(keys = `ci:${CI_KEY}\nops:sha256:${sha256(OPS_KEY)}\n`): TestFiles {
  return {
    keys: { text: keys, mode: 0o600 },
    htpasswd: {
      text: `alice:${hashSync(PASSWORD, 4)}\nslow:${hashSync(SLOW_PASSWORD, 12)}\n`,
      mode: 0o600,
    },
    "hook-secret": { text: `${HOOK_SECRET}\n`, mode: 0o600 },
  };
}

function start(files: TestFiles = secretFiles()) {
  return startUrocket({ config: SECURED_CONFIG, openapi: SECURED_OPENAPI, files });
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
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

/** The stdin the env.sh fixture replied with. */
function stdinOf(answer: Answer): string {
  return answer.text.slice(answer.text.indexOf("\n--\n") + 4);
}

/** Checks a refusal: status, problem+json with the request id, and the detail. */
function assertRefused(answer: Answer, status: number, detail: string): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers.get("content-type"), "application/problem+json");
  const problem = answer.json();
  assert.equal(problem.detail, detail);
  assert.equal(problem.request_id, answer.headers.get("x-request-id"));
}

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

Deno.test({
  name: "apiKey schemes take a key from a header, a query parameter or a cookie, and refuse " +
    "a missing or wrong one with 401 before anything is spawned",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const ci = envOf(
        await uro.call("/key", { method: "POST", headers: { "x-api-key": CI_KEY } }),
      );
      assert.equal(ci.AUTH_SCHEME, "api_key");
      assert.equal(ci.AUTH_SUBJECT, "ci");
      assert.equal(ci.AUTH_SCOPES, "");
      assert.equal(ci.AUTH_CLAIMS, undefined);
      // A key stored as its SHA-256 in the keys file.
      const ops = envOf(
        await uro.call("/key", { method: "POST", headers: { "x-api-key": OPS_KEY } }),
      );
      assert.equal(ops.AUTH_SUBJECT, "ops");

      const missing = await uro.call("/key", { method: "POST" });
      assertRefused(missing, 401, "Credentials are missing");
      assert.equal(
        missing.headers.get("www-authenticate"),
        'ApiKey realm="secured tests", in="header", name="X-API-Key"',
      );
      const wrong = await uro.call("/key", {
        method: "POST",
        headers: { "x-api-key": CI_KEY + "x" },
      });
      assertRefused(wrong, 401, "Credentials are invalid");

      const query = envOf(await uro.call(`/either?a=1&api_key=${CI_KEY}&b=2`));
      assert.equal(query.AUTH_SCHEME, "query_key");
      assert.equal(query.QUERY_STRING, "a=1&b=2", "the key is kept out of QUERY_STRING");
      const cookie = envOf(
        await uro.call("/either", { headers: { cookie: `x=y; session=${OPS_KEY}` } }),
      );
      assert.equal(cookie.AUTH_SCHEME, "cookie_key");
      assert.equal(cookie.AUTH_SUBJECT, "ops");
      const wrongCookie = await uro.call("/either", { headers: { cookie: "session=nope" } });
      assertRefused(wrongCookie, 401, "Credentials are invalid");
      assert.equal(
        wrongCookie.headers.get("www-authenticate"),
        'ApiKey realm="secured tests", in="query", name="api_key", ' +
          'ApiKey realm="secured tests", in="cookie", name="session"',
      );

      const refused = [missing, wrong, wrongCookie].map((a) => a.headers.get("x-request-id"));
      for (const id of refused) {
        const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
        assert.equal(access.outcome, "unauthorized");
        assert.equal(access.pid, undefined, "no process was spawned for a refused caller");
      }
      const metrics = await scrapeMetrics(String(uro.logs.find((l) => l.msg === "start")!.admin));
      assert.equal(
        metrics.get('urocket_requests_total{operation="key",status="401",outcome="unauthorized"}'),
        2,
      );
      assert.equal(
        metrics.get(
          'urocket_requests_total{operation="either",status="401",outcome="unauthorized"}',
        ),
        1,
      );
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "checkGuard() as served: a list is OR, one item's schemes are AND, [] is public and {} " +
    "makes credentials optional",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const key = { "x-api-key": CI_KEY };
      const both = envOf(
        await uro.call("/both", { headers: { ...key, authorization: basic("alice", PASSWORD) } }),
      );
      assert.equal(both.AUTH_SCHEME, "api_key basicAuth");
      assert.equal(both.AUTH_SUBJECT, "ci");
      assertRefused(await uro.call("/both", { headers: key }), 401, "Credentials are missing");
      const half = await uro.call("/both", {
        headers: { authorization: basic("alice", PASSWORD) },
      });
      assertRefused(half, 401, "Credentials are missing");
      assert.match(
        half.headers.get("www-authenticate")!,
        /^ApiKey .*, Basic realm="secured tests"/,
      );

      const open = envOf(await uro.call("/public"));
      assert.equal(open.AUTH_SCHEME, undefined);

      const anonymous = envOf(await uro.call("/optional"));
      assert.equal(anonymous.AUTH_SCHEME, undefined);
      assert.equal(envOf(await uro.call("/optional", { headers: key })).AUTH_SUBJECT, "ci");
      // Optional is not "anything goes": a wrong key is refused rather than ignored.
      assertRefused(
        await uro.call("/optional", { headers: { "x-api-key": "wrong" } }),
        401,
        "Credentials are invalid",
      );
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "http basic checks bcrypt entries, refuses a wrong password with a Basic challenge, " +
    "and answers 429 past the bound of concurrent password checks",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const alice = envOf(
        await uro.call("/basic", { headers: { authorization: basic("alice", PASSWORD) } }),
      );
      assert.equal(alice.AUTH_SCHEME, "basicAuth");
      assert.equal(alice.AUTH_SUBJECT, "alice");
      for (
        const authorization of [basic("alice", "wrong"), basic("nobody", PASSWORD), "Basic !!"]
      ) {
        const answer = await uro.call("/basic", { headers: { authorization } });
        assertRefused(answer, 401, "Credentials are invalid");
        assert.equal(
          answer.headers.get("www-authenticate"),
          'Basic realm="secured tests", charset="UTF-8"',
        );
      }
      // Cost-12 checks take a quarter second each: twelve at once pass the bound of four.
      const flood = await Promise.all(
        Array.from(
          { length: 12 },
          () => uro.call("/basic", { headers: { authorization: basic("slow", "not it") } }),
        ),
      );
      const statuses = flood.map((a) => a.status);
      assert.ok(statuses.every((s) => s === 401 || s === 429), String(statuses));
      const busy = flood.filter((a) => a.status === 429);
      assert.ok(busy.length > 0, `no 429 among ${statuses}`);
      assertRefused(busy[0], 429, "Too many password checks under way: retry");
      assert.equal(busy[0].headers.get("retry-after"), "1");
      const id = busy[0].headers.get("x-request-id");
      const access = await uro.waitForLog((l) => l.msg === "access" && l.req_id === id);
      assert.equal(access.outcome, "auth_busy");
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "http basic checks passwords off the event loop: an open operation answers while four " +
    "wrong-password checks are under way",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      assert.equal((await uro.call("/open")).status, 200);
      // Cost-12 checks take a quarter second of CPU each, at least half a second for the four.
      let refused = 0;
      const flood = Array.from({ length: 4 }, async () => {
        const answer = await uro.call("/basic", {
          headers: { authorization: basic("slow", "not it") },
        });
        refused++;
        return answer.status;
      });
      let answeredMeanwhile = 0;
      while (refused < flood.length) {
        assert.equal((await uro.call("/open")).status, 200);
        if (refused < flood.length) answeredMeanwhile++;
      }
      assert.deepEqual(await Promise.all(flood), [401, 401, 401, 401]);
      // On the event loop, bcrypt held the open operation until the checks were over.
      assert.ok(answeredMeanwhile >= 3, `${answeredMeanwhile} answers while the checks ran`);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "an HMAC scheme verifies X-Hub-Signature-256 over the raw body as GitHub sends it, " +
    "and refuses the body changed by one byte",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const body = JSON.stringify({ zen: "Design for failure.", hook_id: 42 }) + "\n";
      const signature = "sha256=" + createHmac("sha256", HOOK_SECRET).update(body).digest("hex");
      const headers = {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-hub-signature-256": signature,
      };
      const delivered = await uro.call("/hook", { method: "POST", headers, body });
      const env = envOf(delivered);
      assert.equal(env.AUTH_SCHEME, "github");
      assert.equal(env.AUTH_SUBJECT, undefined);
      assert.equal(stdinOf(delivered), body, "the process gets the body that was signed");

      const changed = body.replace("42", "43");
      assertRefused(
        await uro.call("/hook", { method: "POST", headers, body: changed }),
        401,
        "Credentials are invalid",
      );
      const unsigned = await uro.call("/hook", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      assertRefused(unsigned, 401, "Credentials are missing");
      assert.equal(
        unsigned.headers.get("www-authenticate"),
        'HMAC realm="secured tests", algorithm="sha256", header="X-Hub-Signature-256"',
      );
      // The body is read within max-body before the signature can be checked.
      const large = await uro.call("/hook", { method: "POST", headers, body: "x".repeat(5000) });
      assert.equal(large.status, 413);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "the process gets the identity and never the credential, and the log names the " +
    "caller without a secret",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const answers = [
        await uro.call("/key", { method: "POST", headers: { "x-api-key": CI_KEY } }),
        await uro.call("/basic", { headers: { authorization: basic("alice", PASSWORD) } }),
        await uro.call("/either", { headers: { cookie: `session=${CI_KEY}` } }),
      ];
      for (const answer of answers) {
        const env = envOf(answer);
        for (const [name, value] of Object.entries(env)) {
          for (const secret of [CI_KEY, PASSWORD, btoa(`alice:${PASSWORD}`)]) {
            assert.ok(!value.includes(secret), `${name} holds a credential`);
          }
        }
        assert.equal(env.HTTP_AUTHORIZATION, undefined);
        assert.equal(env.HTTP_X_API_KEY, undefined);
        assert.equal(env.HTTP_COOKIE, undefined);
      }
      const ids = answers.map((a) => a.headers.get("x-request-id"));
      const access = await Promise.all(
        ids.map((id) => uro.waitForLog((l) => l.msg === "access" && l.req_id === id)),
      );
      assert.deepEqual(
        access.map((l) => [l.auth_scheme, l.auth_subject]),
        [["api_key", "ci"], ["basicAuth", "alice"], ["cookie_key", "ci"]],
      );
      await uro.call("/key", { method: "POST", headers: { "x-api-key": "guess-" + CI_KEY } });
      const log = JSON.stringify(uro.logs);
      for (const secret of [CI_KEY, PASSWORD, OPS_KEY, HOOK_SECRET]) {
        assert.ok(!log.includes(secret), "a secret reached the log");
      }
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: 'an operation with "security: open" is served without credentials, and said so at start',
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      // Warnings follow the start line.
      const warning = await uro.waitForLog((l) =>
        l.msg === "config_warning" && l.key === "paths./open.get.security"
      );
      assert.match(String(warning.message), /GET \/open is served to anyone.*\(api_key\)/);
      assert.equal(envOf(await uro.call("/open")).AUTH_SCHEME, undefined);
      const check = await runUrocket(["check", "-c", `${uro.dir}/urocket-service.yaml`]);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /\n {2}GET +\/open +stdin +30s +open +\//);
      assert.match(check.stdout, /\n {2}POST +\/key +stdin +30s +api_key +\//);
      assert.match(check.stdout, /\n {2}GET +\/either +stdin +30s +query_key \| cookie_key +\//);
      assert.match(check.stdout, /\n {2}GET +\/optional +stdin +30s +api_key \| anonymous +\//);
      assert.match(check.stdout, /\n {2}GET +\/public +stdin +30s +none +\//);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name: "urocket refuses to start when a required scheme is not configured, cannot be verified, " +
    "or its secrets file is readable by every user",
  ...E2E,
  async fn() {
    const cases: {
      what: string;
      config: string;
      files?: TestFiles;
      openapi?: string;
      says: RegExp;
    }[] = [
      {
        what: "a scheme without an entry",
        config: SECURED_CONFIG.replace("  basicAuth: { htpasswd: htpasswd }\n", ""),
        says:
          /paths\.\/both\.get: GET \/both requires "basicAuth" \(http basic\), which the top-level security does not configure: add "security: \{ basicAuth: \{ htpasswd: .* or set "security: open"/,
      },
      {
        what: "a world-readable keys file",
        config: SECURED_CONFIG,
        files: { ...secretFiles(), keys: { text: `ci:${CI_KEY}\n`, mode: 0o644 } },
        says:
          /security\.api_key\.keys-file: ".*\/keys" is readable by every user \(mode 0644\): chmod o-r it/,
      },
      {
        what: "a keys file every user can write",
        config: SECURED_CONFIG,
        files: { ...secretFiles(), keys: { text: `ci:${CI_KEY}\n`, mode: 0o602 } },
        says:
          /security\.api_key\.keys-file: ".*\/keys" is writable by every user \(mode 0602\): chmod o-w it/,
      },
      {
        what: "an htpasswd entry that is not bcrypt",
        config: SECURED_CONFIG,
        files: { ...secretFiles(), htpasswd: { text: "alice:$apr1$abc$def\n", mode: 0o600 } },
        says: /security\.basicAuth\.htpasswd: line 1: "alice" is not a bcrypt entry/,
      },
      {
        what: "mutualTLS",
        config: SECURED_CONFIG.replace("security:\n", "security:\n  tls: { keys-file: keys }\n"),
        openapi: SECURED_OPENAPI.replace(
          "  securitySchemes:\n",
          "  securitySchemes:\n    tls: { type: mutualTLS }\n",
        ),
        says: /security\.tls: urocket cannot verify mutualTLS/,
      },
      {
        what: "an entry for a scheme the document lacks",
        config: SECURED_CONFIG.replace("security:\n", "security:\n  bearer: { keys-file: keys }\n"),
        says: /security\.bearer: "bearer" is not a scheme of components\.securitySchemes/,
      },
    ];
    for (const c of cases) {
      const dir = await makeFolder("urocket-security-", {
        "urocket-service.yaml": `socket: {{dir}}/u.sock\nlisten: 127.0.0.1:0\n${c.config}`,
        "openapi.yaml": c.openapi ?? SECURED_OPENAPI,
        ...(c.files ?? secretFiles()),
      });
      try {
        const result = await runUrocket(["-c", `${dir}/urocket-service.yaml`]);
        assert.equal(result.code, 2, `${c.what}: ${result.stderr}`);
        assert.match(result.stderr, c.says, c.what);
        const check = await runUrocket(["check", "-c", `${dir}/urocket-service.yaml`]);
        assert.equal(check.code, 2, c.what);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});

Deno.test({
  name: "SIGHUP re-reads a keys file: a removed key is refused and an added one let in",
  ...E2E,
  async fn() {
    const uro = await start();
    try {
      const call = (key: string) =>
        uro.call("/key", { method: "POST", headers: { "x-api-key": key } });
      assert.equal((await call(CI_KEY)).status, 200);
      const NEW_KEY = "key-new-0b5e21c4d9";
      await Deno.writeTextFile(`${uro.dir}/keys`, `new:${NEW_KEY}\n`);
      Deno.kill(uro.pid, "SIGHUP");
      await uro.waitForLog((l) => l.msg === "reload" && l.outcome === "applied");
      assertRefused(await call(CI_KEY), 401, "Credentials are invalid");
      assert.equal(envOf(await call(NEW_KEY)).AUTH_SUBJECT, "new");
      // A keys file made world-readable is refused at the reload; the keys read before stay.
      await Deno.chmod(`${uro.dir}/keys`, 0o644);
      Deno.kill(uro.pid, "SIGHUP");
      const refused = await uro.waitForLog((l) => l.msg === "reload" && l.outcome === "refused");
      assert.match(String(refused.problems), /readable by every user/);
      assert.equal((await call(NEW_KEY)).status, 200);
    } finally {
      await uro.stop();
    }
  },
});
