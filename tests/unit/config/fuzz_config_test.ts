import { ok } from "node:assert/strict";
import fc from "fast-check";
import { stringify } from "yaml";
import {
  ConfigError,
  ENV_NAME,
  type FileInfo,
  inspectConfig,
  isReservedEnvName,
  parseConfig,
  type ServiceConfig,
} from "../../../lib/config/mod.ts";
import { DocumentError, parseDocumentText } from "../../../lib/openapi/document.ts";
import { check } from "../_fuzz.ts";

const FILE = "/srv/app/urocket-service.yaml";

/** The in-memory file system: a few folders, executables and a plain file. */
const TREE: Record<string, "dir" | "exe" | "file"> = {
  "/": "dir",
  "/srv": "dir",
  "/srv/app": "dir",
  "/srv/app/handlers": "dir",
  "/srv/app/handlers/run.sh": "exe",
  "/srv/app/handlers/data.txt": "file",
  "/usr/bin": "dir",
  "/usr/bin/env": "exe",
  "/bin/sh": "exe",
};

const stat = (path: string): Promise<FileInfo | undefined> => {
  const kind = TREE[path];
  return Promise.resolve(
    kind === undefined ? undefined : {
      isFile: kind !== "dir",
      isDirectory: kind === "dir",
      mode: kind === "file" ? 0o644 : 0o755,
    },
  );
};

const OPTIONS = { file: FILE, env: { PATH: "/usr/bin:/bin", HOME: "/root", SECRET: "s" }, stat };

/** Known keys at every level, plus names that have tripped parsers elsewhere. */
const KEYS = [
  "openapi",
  "base-path",
  "listen",
  "socket",
  "socket-mode",
  "timeout",
  "body-timeout",
  "max-body-memory",
  "kill-grace",
  "max-body",
  "max-reply",
  "log-limit",
  "stream-timeout",
  "after-exit",
  "max-inflight",
  "paths",
  "validate-in",
  "validatein",
  "validate-out",
  "inject",
  "wd",
  "env",
  "cmd",
  "channel",
  "encoding",
  "pass-headers",
  "logstdout",
  "outtake",
  "get",
  "post",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "<<",
  "/pets",
  "/pets/{id}",
  "",
];

/** Plausible and implausible scalar values. */
const SCALARS = [
  "30s",
  "0",
  "-1",
  "1e3",
  "10000000000",
  "1MiB",
  "1.5GiB",
  "512KiB ",
  "9007199254740993",
  "0600",
  "0777",
  "600",
  "fail",
  "wait",
  "stdin",
  "cmdline",
  "json",
  "raw",
  "usocket://uri/{req_id}",
  "usocket://{req_id}/{req_id}",
  "usocket://a/../{req_id}",
  "http://x/{req_id}",
  "127.0.0.1:0",
  "[::1]:99999",
  ":8080",
  "handlers/run.sh",
  "handlers/data.txt",
  "sh -c 'echo $HOME; rm -rf /' | cat",
  "'unterminated",
  '"also unterminated',
  "trailing\\",
  "run.sh",
  "/bin/sh",
  "",
  " ",
  "a\0b",
  "A=1",
  "=x",
  "=",
  "REQUEST_ID=evil",
  "HTTP_PROXY=http://evil",
  "UROCKET_X=1",
  "PATH_PARAM_ID=1",
  "SECRET",
  "UNSET_NAME",
  "Proxy",
  "X-Api-Key",
  "X_Api_Key",
  "bad header",
  "/".repeat(200),
  "x".repeat(5000),
];

const scalar = fc.oneof(
  fc.constantFrom(...SCALARS),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

/** Any value a YAML document can hold, biased towards urocket's own keys. */
const value = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** Mostly `valid`, sometimes anything: so that many configs pass and their deeper checks run. */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 20, arbitrary: valid }, { weight: 1, arbitrary: scalar });

const duration = fc.constantFrom("30s", "1", "500ms", 2, "1.5s", "2m", "1h");
const size = fc.constantFrom("1MiB", 1024, "10MB", "512KiB", "1Gi", 0);

/** An operation block that is often valid, so the loader's deeper checks run too. */
const operationBlock = fc.record({
  inject: mostly(fc.record({
    cmd: fc.oneof(
      {
        weight: 10,
        arbitrary: fc.constantFrom(
          "/srv/app/handlers/run.sh",
          "/srv/app/handlers/run.sh --name 'a b' \"$HOME\" '*' ';' '|'",
          "/bin/sh -c 'echo $HOME'",
          ["/bin/sh", "-c", "echo $1", "--"],
          "env",
        ),
      },
      { weight: 1, arbitrary: fc.constantFrom("''", [""], ["/bin/sh", "a\0b"], "handlers/run.sh") },
      { weight: 1, arbitrary: scalar },
    ),
    wd: mostly(fc.constantFrom("handlers", ".", "/srv/app", "/")),
    env: mostly(fc.array(
      mostly(fc.constantFrom("A=1", "SECRET", "B=$(rm -rf /)", "C='q' \"d\"\nnext", "D=")),
      { maxLength: 4 },
    )),
    channel: mostly(fc.constantFrom("stdin", "cmdline")),
    encoding: mostly(fc.constantFrom("json", "raw")),
    "pass-headers": mostly(fc.array(
      mostly(fc.constantFrom("X-Api-Key", "Authorization", "x-api-key", "Accept")),
      { maxLength: 3 },
    )),
  }, { requiredKeys: ["cmd"] })),
  outtake: mostly(fc.constantFrom("usocket://uri/{req_id}", "usocket://r/{req_id}/done")),
  timeout: mostly(duration),
  "body-timeout": mostly(duration),
  "kill-grace": mostly(duration),
  "max-body": mostly(size),
  "max-reply": mostly(size),
  "log-limit": mostly(size),
  "stream-timeout": mostly(duration),
  "after-exit": mostly(fc.constantFrom("fail", "wait")),
  "max-inflight": mostly(fc.integer({ min: 1, max: 100 })),
  "validate-in": mostly(fc.boolean()),
  validatein: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, scalar),
  logstdout: mostly(fc.boolean()),
}, { requiredKeys: ["inject"] });

const config = fc.record({
  listen: mostly(fc.constantFrom("127.0.0.1:0", "[::1]:8080", ":0")),
  socket: mostly(fc.constantFrom("/tmp/u.sock", "run/u.sock")),
  "socket-mode": mostly(fc.constantFrom("0600", "0660", "600")),
  timeout: mostly(duration),
  "body-timeout": mostly(duration),
  "max-body": mostly(size),
  "max-body-memory": mostly(size),
  "max-inflight": mostly(fc.integer({ min: 1, max: 1000 })),
  openapi: mostly(fc.constantFrom("openapi.yaml", "/srv/app/openapi.json")),
  "base-path": mostly(fc.oneof(fc.constantFrom("/", "/api/v3", "/v1/"), fc.string())),
  paths: mostly(fc.dictionary(
    fc.oneof({ weight: 8, arbitrary: fc.constantFrom("/pets", "/pets/{id}") }, {
      weight: 1,
      arbitrary: fc.constantFrom("pets", "/", ""),
    }),
    fc.dictionary(
      fc.oneof({ weight: 20, arbitrary: fc.constantFrom("get", "post") }, {
        weight: 1,
        arbitrary: fc.constantFrom("fetch", "__proto__"),
      }),
      operationBlock,
      { minKeys: 1, maxKeys: 3 },
    ),
    { minKeys: 1, maxKeys: 3 },
  )),
  other: value,
}, { requiredKeys: ["paths"] }).map((data) => {
  // A stray key refuses the whole file; keep it rare.
  const { other, ...rest } = data;
  return typeof other === "number" && other > 0.9 ? { ...rest, other } : rest;
});

/** YAML-ish text: lines of indentation, keys, indicators and values. */
const yamlish = fc.array(
  fc.tuple(
    fc.constantFrom("", "  ", "    ", "      ", "\t", "- ", "? "),
    fc.constantFrom(...KEYS, "&a ", "*a", "&b", "*b", "!!binary", "!!set", "!!omap", "!tag", "---"),
    fc.constantFrom(": ", ":", " ", ": |", ": >", ": [", ": {", ": '", ': "', ": &a", ": *a", ""),
    fc.oneof(fc.constantFrom(...SCALARS.map(String)), fc.string({ maxLength: 12 })),
  ).map((parts) => parts.join("")),
  { maxLength: 14 },
).map((lines) => lines.join("\n"));

/** Runs the loader; anything but a ConfigError fails the property. */
async function load(text: string): Promise<ServiceConfig | undefined> {
  const inspected = await inspectConfig(text, OPTIONS);
  ok(Array.isArray(inspected.problems), "inspectConfig() returns its problems");
  try {
    return await parseConfig(text, OPTIONS);
  } catch (error) {
    if (error instanceof ConfigError) {
      ok(error.problems.length > 0, "a ConfigError names at least one problem");
      return undefined;
    }
    throw error;
  }
}

/** What every accepted configuration must satisfy before urocket serves with it. */
function assertUsable(config: ServiceConfig): void {
  if (config.basePath !== undefined) {
    ok(
      config.basePath === "" || /^(\/[^/?#{}%\s]+)+$/.test(config.basePath),
      `base-path ${JSON.stringify(config.basePath)} is a plain path without a trailing slash`,
    );
  }
  for (const op of config.operations) {
    const where = `${op.method} ${op.path}`;
    ok(TREE[op.program] === "exe", `${where}: program ${JSON.stringify(op.program)} is runnable`);
    ok(TREE[op.wd] === "dir", `${where}: wd ${JSON.stringify(op.wd)} is a folder`);
    ok(!op.args.some((arg) => arg.includes("\0")), `${where}: no NUL in argv`);
    for (const [name, value] of Object.entries(op.env)) {
      ok(ENV_NAME.test(name), `${where}: env name ${JSON.stringify(name)} is well formed`);
      ok(!isReservedEnvName(name, op.passHeaders), `${where}: env name ${name} is not reserved`);
      ok(!value.includes("\0"), `${where}: env ${name} has no NUL`);
    }
    ok(!op.passHeaders.some((h) => h.toLowerCase() === "proxy"), `${where}: Proxy never passed`);
    ok(op.timeoutMs > 0, `${where}: timeout is positive`);
    ok(op.bodyTimeoutMs > 0, `${where}: body-timeout is positive`);
    ok(op.maxBody <= config.maxBodyMemory, `${where}: its largest body fits in max-body-memory`);
    const limits = [op.timeoutMs, op.bodyTimeoutMs, op.killGraceMs, op.maxBody, op.maxReply];
    for (const n of [...limits, op.streamTimeoutMs]) {
      ok(Number.isSafeInteger(n) && n >= 0, `${where}: limits are whole, non-negative numbers`);
    }
    ok(
      op.outtake.startsWith("/") &&
        op.outtake.split("/").filter((s) => s === "{req_id}").length === 1,
      `${where}: outtake ${JSON.stringify(op.outtake)} has one {req_id} segment`,
    );
  }
}

Deno.test("parseConfig() fails only with ConfigError on random YAML-ish text", async () => {
  await check(
    fc.asyncProperty(yamlish, async (text) => {
      const config = await load(text);
      if (config) assertUsable(config);
    }),
    300,
  );
});

Deno.test("parseConfig() fails only with ConfigError on random text of any characters", async () => {
  await check(
    fc.asyncProperty(fc.string({ unit: "binary", maxLength: 200 }), async (text) => {
      const config = await load(text);
      if (config) assertUsable(config);
    }),
    100,
  );
});

Deno.test("parseConfig() fails only with ConfigError on random structured configs, and every accepted one is usable", async () => {
  await check(
    fc.asyncProperty(config, fc.boolean(), async (data, asJson) => {
      const text = asJson ? JSON.stringify(data) : stringify(data);
      const accepted = await load(text);
      if (accepted) assertUsable(accepted);
    }),
    300,
  );
});

Deno.test("parseConfig() fails only with ConfigError when the real file system is asked about odd paths", async () => {
  const odd = fc.oneof(
    fc.constantFrom("a\0b", "/".repeat(5000), "x".repeat(5000), "/etc/passwd/x", "/proc/self/fd/0"),
    fc.string({ maxLength: 40 }),
  );
  await check(
    fc.asyncProperty(odd, odd, async (wd, program) => {
      const text = stringify({ paths: { "/pets": { get: { inject: { wd, cmd: [program] } } } } });
      try {
        await parseConfig(text, { file: "/tmp/urocket-fuzz/urocket-service.yaml", env: {} });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
      }
    }),
    100,
  );
});

Deno.test("parseDocumentText() fails only with DocumentError on random YAML-ish text", async () => {
  await check(
    fc.property(yamlish, (text) => {
      try {
        parseDocumentText(text, "/srv/app/openapi.yaml");
      } catch (error) {
        if (!(error instanceof DocumentError)) throw error;
      }
    }),
    300,
  );
});
