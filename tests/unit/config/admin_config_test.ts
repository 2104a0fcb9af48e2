import { deepStrictEqual, fail, match, strictEqual } from "node:assert/strict";
import {
  ConfigError,
  parseConfig,
  type Problem,
  type ServiceConfig,
} from "../../../lib/config/mod.ts";

const FILE = "/srv/app/urocket-service.yaml";

function load(text: string): Promise<ServiceConfig> {
  return parseConfig(text, {
    file: FILE,
    env: { PATH: "/usr/bin" },
    stat: (path) =>
      Promise.resolve(
        path === "/srv/app"
          ? { isFile: false, isDirectory: true, mode: 0o755 }
          : path === "/srv/app/run.sh"
          ? { isFile: true, isDirectory: false, mode: 0o755 }
          : undefined,
      ),
  });
}

async function problemsOf(text: string): Promise<Problem[]> {
  try {
    await load(text);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  fail("expected parseConfig() to throw a ConfigError");
}

Deno.test("parseConfig() leaves the admin listener off when admin is absent", async () => {
  strictEqual((await load("")).admin, undefined);
});

Deno.test("parseConfig() reads admin as a host:port address like listen", async () => {
  deepStrictEqual((await load("admin: 127.0.0.1:9090\n")).admin, {
    hostname: "127.0.0.1",
    port: 9090,
  });
  deepStrictEqual((await load("admin: '[::]:9090'\n")).admin, { hostname: "::", port: 9090 });
  deepStrictEqual((await load("admin: :0\n")).admin, { hostname: "0.0.0.0", port: 0 });
});

Deno.test("parseConfig() refuses an invalid admin address at the admin key, with its line", async () => {
  const problems = await problemsOf("listen: 127.0.0.1:8080\nadmin: localhost\n");
  strictEqual(problems.length, 1);
  strictEqual(problems[0].key, "admin");
  strictEqual(problems[0].line, 2);
  match(problems[0].message, /Invalid admin address "localhost": use host:port/);
});

Deno.test("parseConfig() refuses an admin address of the wrong type", async () => {
  const problems = await problemsOf("admin: 9090\n");
  strictEqual(problems.length, 1);
  strictEqual(problems[0].key, "admin");
});

Deno.test("parseConfig() refuses an admin listener on the front's port", async () => {
  for (
    const [listen, admin] of [
      ["0.0.0.0:8080", "127.0.0.1:8080"],
      ["127.0.0.1:8080", "127.0.0.1:8080"],
      ["127.0.0.1:8080", "0.0.0.0:8080"],
    ]
  ) {
    const problems = await problemsOf(`listen: ${listen}\nadmin: ${admin}\n`);
    strictEqual(problems.length, 1, `${listen} ${admin}`);
    strictEqual(problems[0].key, "admin");
    match(problems[0].message, /cannot share the front's port 8080/);
  }
});

Deno.test("parseConfig() lets admin and listen share a port on different hosts, or both pick port 0", async () => {
  strictEqual((await load("listen: 127.0.0.1:8080\nadmin: 127.0.0.2:8080\n")).admin?.port, 8080);
  strictEqual((await load("listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\n")).admin?.port, 0);
});

Deno.test("parseConfig() refuses TRACEPARENT and TRACESTATE in env: urocket sets them", async () => {
  const problems = await problemsOf(`paths:
  /run:
    post:
      inject:
        cmd: ./run.sh
        env: [TRACEPARENT=00-x, TRACESTATE]
`);
  deepStrictEqual(problems.map((p) => [p.key, p.message]), [
    [
      "paths./run.post.inject.env[0]",
      "TRACEPARENT is set by urocket for every request and cannot be overridden",
    ],
    [
      "paths./run.post.inject.env[1]",
      "TRACESTATE is set by urocket for every request and cannot be overridden",
    ],
  ]);
});
