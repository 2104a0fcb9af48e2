import {
  deepStrictEqual,
  match,
  notStrictEqual,
  ok,
  rejects,
  strictEqual,
} from "node:assert/strict";
import { Logger } from "../../lib/log/logger.ts";
import { SpawnError } from "../../lib/process/spawn.ts";
import { commandStatus, SpawnServer } from "../../lib/process/spawn_server.ts";
import { chooseSpawner } from "../../lib/process/spawn_strategy.ts";

const BUILT = new URL("../../build/urocket-spawn", import.meta.url).pathname;
/** `deno task test` builds the helper first; without a C compiler there is none. */
const built = await Deno.stat(BUILT).then(() => true, () => false);
const logger = new Logger({ write: () => Promise.resolve() });

Deno.test("commandStatus() reads an exit code and a signal from a raw wait status", () => {
  deepStrictEqual(commandStatus(0), { success: true, code: 0, signal: null });
  deepStrictEqual(commandStatus(3 << 8), { success: false, code: 3, signal: null });
  deepStrictEqual(commandStatus(9), { success: false, code: 137, signal: "SIGKILL" });
  deepStrictEqual(commandStatus(15), { success: false, code: 143, signal: "SIGTERM" });
});

Deno.test("chooseSpawner() falls back to detached: true when no helper was built", async () => {
  const strategy = await chooseSpawner({
    env: {},
    logger,
    builtHelper: "/nonexistent/urocket-spawn",
  });
  strictEqual(strategy.mode, "detached");
  match(strategy.reason, /deno task build-helper/);
  await strategy.dispose();
});

Deno.test("chooseSpawner() falls back when the built helper speaks another protocol", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/old`, "#!/bin/sh\necho 'urocket-spawn 0'\n", { mode: 0o755 });
    const strategy = await chooseSpawner({ env: {}, logger, builtHelper: `${dir}/old` });
    strictEqual(strategy.mode, "detached");
    match(strategy.reason, /protocol 0, this urocket needs 2: rebuild it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "chooseSpawner() copies a helper it cannot execute in place (as in a compiled urocket) into its private directory",
  ignore: !built,
  async fn() {
    const dir = await Deno.makeTempDir();
    const tmp = await Deno.makeTempDir();
    try {
      // Readable but not executable, like a file embedded with deno compile --include.
      await Deno.writeFile(`${dir}/urocket-spawn`, await Deno.readFile(BUILT), { mode: 0o644 });
      const strategy = await chooseSpawner({
        env: { TMPDIR: tmp },
        logger,
        builtHelper: `${dir}/urocket-spawn`,
      });
      try {
        strictEqual(strategy.mode, "spawn_server");
        match(strategy.reason, /^copied from /);
        ok(strategy.helper?.startsWith(`${tmp}/urocket-`), strategy.helper);
        strictEqual((await Deno.stat(strategy.helper!)).mode! & 0o777, 0o700);
        const spawned = await strategy.spawner({
          program: "/bin/sh",
          args: ["-c", "exit 7"],
          cwd: "/",
          env: {},
          stdin: false,
          stdout: false,
        });
        for await (const _ of spawned.stderr) {
          // Drained.
        }
        strictEqual((await spawned.status).code, 7);
      } finally {
        await strategy.dispose();
      }
      deepStrictEqual([...Deno.readDirSync(tmp)], [], "the private directory is removed");
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "SpawnServer.spawn() rejects with the errno of a program or folder that cannot be used",
  ignore: !built,
  async fn() {
    const dir = await Deno.makeTempDir();
    const server = SpawnServer.start({ helper: BUILT, dir });
    try {
      await Deno.writeTextFile(`${dir}/script`, "#!/bin/sh\n", { mode: 0o644 });
      const spec = { args: [], env: {}, stdin: true, stdout: true, payload: new Uint8Array(3) };
      await rejects(server.spawn({ ...spec, program: `${dir}/script`, cwd: dir }), (error) => {
        ok(error instanceof SpawnError);
        strictEqual(error.code, "EACCES");
        match(error.message, /Permission denied/);
        return true;
      });
      await rejects(
        server.spawn({ ...spec, program: "/bin/true", cwd: `${dir}/none` }),
        (error) => {
          ok(error instanceof SpawnError);
          strictEqual(error.code, "ENOENT");
          return true;
        },
      );
      const spawned = await server.spawn({ ...spec, program: "/bin/true", cwd: dir });
      notStrictEqual(spawned.pid, server.pid);
      for await (const _ of spawned.stdout!) {
        // Drained.
      }
      for await (const _ of spawned.stderr) {
        // Drained.
      }
      const { usage, ...status } = await spawned.status;
      deepStrictEqual(status, { success: true, code: 0, signal: null, groupAlive: false });
      ok(usage && usage.maxRssKb > 0 && usage.userUs >= 0 && usage.sysUs >= 0, String(usage));
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
