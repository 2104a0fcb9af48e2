import assert from "node:assert/strict";
import { ConfigError, type FileInfo, parseConfig, type Problem } from "../../../lib/config/mod.ts";

const FILE = "/srv/app/urocket-service.yaml";

/** A disk with the config's folder and one executable handler. */
function stat(path: string): Promise<FileInfo | undefined> {
  const kinds: Record<string, FileInfo> = {
    "/srv/app": { isFile: false, isDirectory: true, mode: 0o755 },
    "/srv/app/list.sh": { isFile: true, isDirectory: false, mode: 0o755 },
  };
  return Promise.resolve(kinds[path]);
}

/** The problems parseConfig() finds in `text`, as `key: message`. */
async function problems(text: string): Promise<string[]> {
  try {
    await parseConfig(text, { file: FILE, env: { PATH: "/usr/bin" }, stat });
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems.map((p: Problem) => `${p.key}: ${p.message}`);
    }
    throw error;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("parseConfig() says a per-operation key at the top level belongs to each operation", async () => {
  assert.deepEqual(await problems("validate-in: true\n"), [
    'validate-in: Key "validate-in" does not belong at the top level: it is set per operation, ' +
    "as paths.<path>.<method>.validate-in",
  ]);
  assert.deepEqual(await problems("cmd: ./list.sh\n"), [
    'cmd: Key "cmd" does not belong at the top level: it is set per operation, ' +
    "as paths.<path>.<method>.inject.cmd",
  ]);
});

Deno.test("parseConfig() says where a key written at the wrong depth of an operation goes", async () => {
  const text = [
    "paths:",
    "  /pets:",
    "    get:",
    "      cmd: ./list.sh",
    "      inject:",
    "        cmd: ./list.sh",
    "        timeout: 5s",
    "        listen: 0.0.0.0:8080",
    "",
  ].join("\n");
  assert.deepEqual(await problems(text), [
    'paths./pets.get.cmd: Key "cmd" does not belong in an operation: it goes under inject, ' +
    "as paths./pets.get.inject.cmd",
    'paths./pets.get.inject.timeout: Key "timeout" does not belong under inject: it goes beside ' +
    "inject, as paths./pets.get.timeout",
    'paths./pets.get.inject.listen: Key "listen" does not belong under inject: it is set at the ' +
    "top level only",
  ]);
});

Deno.test("parseConfig() says an operation goes under a method, and a path under paths", async () => {
  assert.deepEqual(await problems("paths:\n  /pets:\n    inject: { cmd: ./list.sh }\n"), [
    'paths./pets.inject: Key "inject" does not belong directly under a path: it is set per ' +
    "method, as paths./pets.<method>.inject",
  ]);
  assert.deepEqual(await problems("/pets:\n  get: {}\n"), [
    '/pets: Key "/pets" does not belong at the top level: paths go under "paths", as paths./pets',
  ]);
});

Deno.test("parseConfig() says a missing cmd or inject is required", async () => {
  assert.deepEqual(await problems("paths:\n  /pets:\n    get:\n      inject: { wd: . }\n"), [
    'paths./pets.get.inject.cmd: Required key "cmd" is missing: the program to run, a string ' +
    "such as ./handler.sh or a list of argv words",
  ]);
  assert.deepEqual(await problems("paths:\n  /pets:\n    get: { logstdout: true }\n"), [
    'paths./pets.get.inject: Required key "inject" is missing: what to run, e.g. ' +
    "inject: { cmd: ./handler.sh }",
  ]);
});

Deno.test("parseConfig() still says what a cmd of the wrong type should be", async () => {
  const [problem] = await problems("paths:\n  /pets:\n    get:\n      inject: { cmd: 7 }\n");
  assert.match(problem, /^paths\.\/pets\.get\.inject\.cmd: Expected a command string/);
});

Deno.test("parseConfig() suggests the limits key a typo is close to", async () => {
  assert.deepEqual(await problems("limits: { memroy: 1Gi }\n"), [
    'limits.memroy: Unknown key "memroy": did you mean "memory"?',
  ]);
});
