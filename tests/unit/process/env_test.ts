import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  buildChildEnv,
  checkExecSize,
  inheritedEnv,
  MAX_ARG_BYTES,
  type RequestFacts,
} from "../../../lib/process/env.ts";

function facts(overrides: Partial<RequestFacts> = {}): RequestFacts {
  return {
    requestId: "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01",
    uriPath: "/v1/pets/42",
    method: "GET",
    queryString: "limit=5",
    contentType: "application/json",
    contentLength: 2,
    pathParams: {},
    headers: {},
    socket: "/tmp/urocket.sock",
    replyUrl: "http://localhost/uri/0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01",
    deadlineMs: 1_700_000_030_000,
    ...overrides,
  };
}

Deno.test("buildChildEnv() tells the process about its request", () => {
  const env = buildChildEnv(facts(), {}, {});
  deepStrictEqual(env, {
    REQUEST_ID: "0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01",
    URIPATH: "/v1/pets/42",
    REQUEST_METHOD: "GET",
    QUERY_STRING: "limit=5",
    CONTENT_TYPE: "application/json",
    CONTENT_LENGTH: "2",
    UROCKET_SOCKET: "/tmp/urocket.sock",
    UROCKET_REPLY_URL: "http://localhost/uri/0b7f6a34-3c1e-4c8e-9a57-2f1d2a9b8c01",
    UROCKET_DEADLINE_MS: "1700000030000",
  });
});

Deno.test("buildChildEnv() names passed headers HTTP_<NAME>", () => {
  const env = buildChildEnv(facts({ headers: { "X-Api-Key": "k1", "accept": "*/*" } }), {}, {});
  strictEqual(env.HTTP_X_API_KEY, "k1");
  strictEqual(env.HTTP_ACCEPT, "*/*");
});

Deno.test("buildChildEnv() names path parameters PATH_PARAM_<NAME>", () => {
  const env = buildChildEnv(facts({ pathParams: { petId: "42", "file.ext": "a b" } }), {}, {});
  strictEqual(env.PATH_PARAM_PETID, "42");
  strictEqual(env.PATH_PARAM_FILE_EXT, "a b");
});

Deno.test("buildChildEnv() lets configured variables override inherited ones", () => {
  const env = buildChildEnv(
    facts(),
    { HOME: "/srv/app", MODE: "test" },
    { PATH: "/usr/bin", HOME: "/root" },
  );
  strictEqual(env.PATH, "/usr/bin");
  strictEqual(env.HOME, "/srv/app");
  strictEqual(env.MODE, "test");
});

Deno.test("buildChildEnv() never lets configured or inherited variables override urocket's own", () => {
  const own = {
    REQUEST_ID: "forged",
    URIPATH: "forged",
    REQUEST_METHOD: "forged",
    QUERY_STRING: "forged",
    CONTENT_TYPE: "forged",
    CONTENT_LENGTH: "forged",
    UROCKET_SOCKET: "forged",
    UROCKET_REPLY_URL: "forged",
    UROCKET_DEADLINE_MS: "forged",
    PATH_PARAM_PETID: "forged",
    HTTP_X_API_KEY: "forged",
  };
  const env = buildChildEnv(
    facts({ pathParams: { petId: "42" }, headers: { "X-Api-Key": "real" } }),
    own,
    own,
  );
  for (const name of Object.keys(own)) {
    strictEqual(env[name] === "forged", false, `${name} was overridden`);
  }
  strictEqual(env.PATH_PARAM_PETID, "42");
  strictEqual(env.HTTP_X_API_KEY, "real");
});

Deno.test("buildChildEnv() leaves out headers the client did not send", () => {
  const env = buildChildEnv(facts({ headers: {} }), { HTTP_PROXY: "http://proxy:3128" }, {});
  strictEqual("HTTP_X_API_KEY" in env, false);
  strictEqual(env.HTTP_PROXY, "http://proxy:3128");
});

Deno.test("inheritedEnv() keeps only PATH, HOME, LANG and TZ", () => {
  deepStrictEqual(
    inheritedEnv({
      PATH: "/usr/bin",
      HOME: "/root",
      LANG: "C.UTF-8",
      TZ: "UTC",
      AWS_SECRET_ACCESS_KEY: "s3cret",
      USER: "root",
    }),
    { PATH: "/usr/bin", HOME: "/root", LANG: "C.UTF-8", TZ: "UTC" },
  );
  deepStrictEqual(inheritedEnv({ PATH: "/bin" }), { PATH: "/bin" });
});

Deno.test("checkExecSize() accepts an ordinary request", () => {
  const env = buildChildEnv(facts(), {}, { PATH: "/usr/bin" });
  strictEqual(checkExecSize(["/srv/app/handlers/show.sh", "{}"], env), undefined);
});

Deno.test("checkExecSize() accepts a variable of exactly the kernel's per-string limit", () => {
  // NAME=value plus its NUL may take MAX_ARG_BYTES bytes.
  const value = "a".repeat(MAX_ARG_BYTES - "URIPATH".length - 2);
  strictEqual(checkExecSize([], { URIPATH: value }), undefined);
  strictEqual(checkExecSize([], { URIPATH: value + "a" })?.status, 414);
});

Deno.test("checkExecSize() answers 414 for an oversized URI-derived variable", () => {
  const big = "x".repeat(MAX_ARG_BYTES);
  for (const name of ["URIPATH", "QUERY_STRING", "PATH_PARAM_PETID"]) {
    const result = checkExecSize([], { ...buildChildEnv(facts(), {}, {}), [name]: big });
    strictEqual(result?.status, 414, name);
    strictEqual(result?.detail, `The URI is too long to hand to the process as ${name}`);
  }
});

Deno.test("checkExecSize() answers 431 for an oversized header variable", () => {
  const env = buildChildEnv(facts({ headers: { "X-Api-Key": "k".repeat(MAX_ARG_BYTES) } }), {}, {});
  deepStrictEqual(checkExecSize([], env), {
    status: 431,
    detail: "A header is too large to hand to the process as HTTP_X_API_KEY",
  });
});

Deno.test("checkExecSize() counts bytes, not characters", () => {
  const value = "é".repeat(MAX_ARG_BYTES / 2); // two bytes each in UTF-8
  strictEqual(checkExecSize([], { QUERY_STRING: value })?.status, 414);
});

Deno.test("checkExecSize() answers 431 when many headers together pass the exec limit", () => {
  const headers: Record<string, string> = {};
  for (let i = 0; i < 20; i++) headers[`X-Header-${i}`] = "h".repeat(120_000);
  const result = checkExecSize([], buildChildEnv(facts({ headers }), {}, {}));
  strictEqual(result?.status, 431);
});

Deno.test("checkExecSize() answers 414 when URI variables together pass the exec limit", () => {
  const pathParams: Record<string, string> = {};
  for (let i = 0; i < 20; i++) pathParams[`p${i}`] = "p".repeat(120_000);
  const result = checkExecSize([], buildChildEnv(facts({ pathParams }), {}, {}));
  strictEqual(result?.status, 414);
});
