import { skipWhen } from "../../_skip.ts";
import assert from "node:assert/strict";
import { Logger } from "../../../lib/log/logger.ts";
import { detachedSpawner, type Spawned, type Spawner } from "../../../lib/process/spawn.ts";
import { startService } from "../../../lib/service/start.ts";

const STUBBORN = new URL("../../e2e/fixtures/stubborn.sh", import.meta.url).pathname;
const decoder = new TextDecoder();

/** A service on one operation, POST /run, whose handler ignores SIGTERM and never replies. */
async function setUp(config: string, spawner: Spawner) {
  const dir = await Deno.makeTempDir({ prefix: "urocket-service-" });
  await Deno.writeTextFile(
    `${dir}/openapi.yaml`,
    "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /run:\n    post:\n" +
      "      responses: { '200': { description: ok } }\n",
  );
  const write = (text: string) =>
    Deno.writeTextFile(
      `${dir}/urocket-service.yaml`,
      `listen: 127.0.0.1:0\nsocket: ${dir}/u.sock\nshutdown-delay: 0s\n${text}` +
        `paths:\n  /run:\n    post:\n      inject: { cmd: "${STUBBORN}" }\n`,
    );
  await write(config);
  const lines: string[] = [];
  const watchers: [string, () => void][] = [];
  const logger = new Logger({
    write: (chunk) => {
      for (const line of decoder.decode(chunk).split("\n").filter(Boolean)) {
        lines.push(line);
        for (const [msg, then] of watchers) if (JSON.parse(line).msg === msg) then();
      }
      return Promise.resolve();
    },
  });
  const service = await startService({
    configFile: `${dir}/urocket-service.yaml`,
    env: { PATH: "/usr/bin:/bin" },
    logger,
    spawner,
  });
  return {
    service,
    url: `http://127.0.0.1:${service.front.port}/run`,
    /** Rewrites the config (the same operation). */
    write,
    /** Resolves when a line with `msg` is logged. */
    logged: (msg: string) => new Promise<void>((resolve) => watchers.push([msg, resolve])),
    exits: () => lines.filter((line) => JSON.parse(line).msg === "process_exit"),
    cleanUp: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Resolves once `pid` ignores SIGTERM (the handler's first line), so that a kill meets it ready. */
async function ignoringSigterm(pid: number): Promise<void> {
  const sigterm = 1n << 14n;
  for (;;) {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const ignored = BigInt("0x" + /SigIgn:\s*([0-9a-f]+)/.exec(status)![1]);
    if (ignored & sigterm) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function groupAlive(pid: number): boolean {
  try {
    Deno.kill(-pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("startService(): a shutdown while a spawn is under way leaves that process running neither", async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  let requested!: () => void;
  const spawning = new Promise<void>((resolve) => requested = resolve);
  let spawned: Spawned | undefined;
  // A spawn that is answered only once the shutdown has signalled every group it knew of.
  const spawner: Spawner = async (spec) => {
    requested();
    await gate;
    spawned = await detachedSpawner(spec);
    await ignoringSigterm(spawned.pid);
    return spawned;
  };
  const uro = await setUp("shutdown-timeout: 100ms\nkill-grace: 1s\n", spawner);
  uro.logged("shutdown_timeout").then(open);
  const answer = fetch(uro.url, { method: "POST" });
  await spawning;
  await uro.service.shutdown("SIGTERM");
  assert.equal((await answer).status, 503);
  await (await answer).body?.cancel();
  assert.ok(spawned);
  assert.equal(groupAlive(spawned.pid), false, "the process outlived urocket's stop");
  assert.equal(uro.exits().length, 1);
  await uro.cleanUp();
});

Deno.test("startService(): a shutdown kills what outlives its wait, as after a reload that shortened kill-grace", async () => {
  let spawned: Spawned | undefined;
  let started!: () => void;
  const running = new Promise<void>((resolve) => started = resolve);
  const spawner: Spawner = async (spec) => {
    spawned = await detachedSpawner(spec);
    await ignoringSigterm(spawned.pid);
    started();
    return spawned;
  };
  const uro = await setUp("shutdown-timeout: 100ms\nkill-grace: 60s\n", spawner);
  const answer = fetch(uro.url, { method: "POST" });
  await running;
  // The group's own SIGKILL is 60 s away; the shutdown waits as the new config says.
  await uro.write("shutdown-timeout: 100ms\nkill-grace: 1s\n");
  await uro.service.reload();
  await uro.service.shutdown("SIGTERM");
  assert.equal((await answer).status, 503);
  await (await answer).body?.cancel();
  assert.ok(spawned);
  assert.equal(groupAlive(spawned.pid), false, "the process outlived urocket's stop");
  await uro.cleanUp();
});

Deno.test({
  // Root may chown a file to any gid, listed in /etc/group or not.
  ...skipWhen(
    Deno.uid() === 0 ? undefined : "giving the socket a gid of no group of urocket's needs root",
    "startService(): a reload that removes socket-group gives the socket back the group it was made with",
  ),
  async fn() {
    const spawner: Spawner = () => Promise.reject(new Error("no request is sent"));
    const uro = await setUp('socket-mode: "0660"\nsocket-group: 4242\n', spawner);
    const socket = uro.service.socket;
    try {
      const started = await Deno.stat(socket);
      assert.deepEqual([started.gid, started.mode! & 0o777], [4242, 0o660]);
      await uro.write('socket-mode: "0660"\n');
      await uro.service.reload();
      const after = await Deno.stat(socket);
      // The directory is not set-group-ID: the socket was made with urocket's own group.
      assert.deepEqual([after.gid, after.mode! & 0o777], [Deno.gid(), 0o660]);
    } finally {
      await uro.service.shutdown("test");
      await uro.cleanUp();
    }
  },
});

Deno.test("startService() undoes what it started when a later step fails: a taken admin port leaves no socket file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "urocket-service-" });
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await Deno.writeTextFile(
      `${dir}/openapi.yaml`,
      "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /run:\n    post:\n" +
        "      responses: { '200': { description: ok } }\n",
    );
    await Deno.writeTextFile(
      `${dir}/urocket-service.yaml`,
      `listen: 127.0.0.1:0\nadmin: 127.0.0.1:${taken.addr.port}\nsocket: ${dir}/u.sock\n` +
        `paths:\n  /run:\n    post:\n      inject: { cmd: "${STUBBORN}" }\n`,
    );
    const lines: string[] = [];
    const logger = new Logger({
      write: (chunk) => {
        lines.push(...decoder.decode(chunk).split("\n").filter(Boolean));
        return Promise.resolve();
      },
    });
    await assert.rejects(
      startService({
        configFile: `${dir}/urocket-service.yaml`,
        env: { PATH: "/usr/bin:/bin" },
        logger,
        spawner: detachedSpawner,
      }),
      (error: Error) => /admin: Cannot listen on 127\.0\.0\.1:\d+/.test(error.message),
    );
    await assert.rejects(Deno.lstat(`${dir}/u.sock`), Deno.errors.NotFound);
    await logger.flush();
    assert.deepEqual(lines.filter((line) => JSON.parse(line).msg === "start"), []);
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
});
