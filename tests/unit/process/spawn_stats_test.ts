/**
 * The spawn server's stats request: the live CPU time and RSS of the
 * processes it started, read from /proc by the real helper, and only theirs.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Logger } from "../../../lib/log/logger.ts";
import type { Spawned } from "../../../lib/process/spawn.ts";
import { SpawnServer } from "../../../lib/process/spawn_server.ts";
import { chooseSpawnStrategy } from "../../../lib/process/spawn_strategy.ts";
import { STATS_WAIT_MS } from "../../../lib/process/_spawn_stats.ts";
import { skipWhen } from "../../_skip.ts";

const BUILT = new URL("../../../build/urocket-spawn", import.meta.url).pathname;
/** `deno task test` builds the helper first; without a C compiler there is none. */
const built = await Deno.stat(BUILT).then(() => true, () => false);
const NOT_BUILT = built ? undefined : `the spawn helper is not built (no C compiler): ${BUILT}`;

/**
 * Burns CPU in children it waits for (counted in its cutime and, with dd's
 * system calls, its cstime) and in
 * itself (utime/stime), holds 8 MB, says "ready" on stderr, then waits for
 * a sleep: its figures stay still while the test reads them.
 */
const BURNER = `sh -c 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'
dd if=/dev/zero of=/dev/null bs=1 count=300000 2>/dev/null
i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done
big=$(head -c 8000000 /dev/zero | tr '\\0' x)
echo ready >&2
sleep 30`;

async function withServer(test: (server: SpawnServer) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const server = SpawnServer.start({ helper: BUILT, dir });
  try {
    await test(server);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Starts the burner and resolves once it said "ready" (stderr), with its output drained. */
async function startBurner(server: SpawnServer): Promise<Spawned> {
  const spawned = await server.spawn({
    program: "/bin/sh",
    args: ["-c", BURNER],
    cwd: "/",
    env: { PATH: "/usr/bin:/bin" },
    stdin: false,
    stdout: false,
  });
  if (spawned.output.kind !== "relay") throw new Error("the spawn server relays output");
  let said = "";
  await new Promise<void>((resolve) => {
    (spawned.output as Extract<Spawned["output"], { kind: "relay" }>).attach({
      data: (_stream, bytes) => {
        said += new TextDecoder().decode(bytes);
        if (said.includes("ready")) resolve();
      },
      end: () => resolve(),
    });
  });
  ok(said.includes("ready"), `the burner said ${JSON.stringify(said)}`);
  return spawned;
}

/** What /proc says of `pid`, read here (tests run with --allow-all): the four CPU fields and VmRSS. */
async function procFigures(pid: number): Promise<{ cpuMs: number; rssKb: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14–17 of proc(5), counted from the state (field 3).
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  // Each field must count for the comparison to tell them apart.
  ok(utime > 0 && cutime > 0 && cstime > 0, `utime ${utime} cutime ${cutime} cstime ${cstime}`);
  const ticks = utime + stime + cutime + cstime;
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]);
  return { cpuMs: ticks * 10, rssKb }; // USER_HZ is 100 on Linux
}

async function end(spawned: Spawned): Promise<void> {
  Deno.kill(-spawned.pid, "SIGKILL");
  await spawned.status;
}

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer.liveStats() answers the CPU time (its waited-for children included) and RSS of a process it started, as /proc shows them",
  ),
  async fn() {
    await withServer(async (server) => {
      const spawned = await startBurner(server);
      try {
        const stats = await server.liveStats([spawned.pid]);
        const live = stats.get(spawned.pid);
        ok(live, "the process is answered");
        ok(live.cpuMs > 0, `CPU ${live.cpuMs} ms`);
        ok(live.rssKb > 8000, `RSS ${live.rssKb} kB, holding 8 MB`);
        const proc = await procFigures(spawned.pid);
        strictEqual(live.cpuMs, proc.cpuMs, "utime + stime + cutime + cstime");
        // The sleeping process's RSS does not move between the two reads.
        strictEqual(live.rssKb, proc.rssKb);
      } finally {
        await end(spawned);
      }
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer.liveStats() leaves out every pid the server did not start, and its processes once they are reaped",
  ),
  async fn() {
    await withServer(async (server) => {
      const spawned = await startBurner(server);
      const stranger = new Deno.Command("sleep", { args: ["30"], stdout: "null" }).spawn();
      try {
        const stats = await server.liveStats([
          Deno.pid,
          1,
          server.pid,
          stranger.pid,
          spawned.pid,
          -spawned.pid,
          spawned.pid + 2 ** 32, // would wrap around to the child's pid in a 32-bit pid_t
        ]);
        deepStrictEqual([...stats.keys()], [spawned.pid]);
      } finally {
        stranger.kill("SIGKILL");
        await stranger.status;
      }
      await end(spawned);
      // Its X line came: the server reaped it, and its pid may be another process's by now.
      deepStrictEqual(await server.liveStats([spawned.pid]), new Map());
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "SpawnServer.liveStats() answers an empty map when the server does not answer in time, or is gone",
  ),
  async fn() {
    await withServer(async (server) => {
      const spawned = await startBurner(server);
      try {
        Deno.kill(server.pid, "SIGSTOP");
        const asked = performance.now();
        try {
          deepStrictEqual(await server.liveStats([spawned.pid]), new Map());
        } finally {
          Deno.kill(server.pid, "SIGCONT");
        }
        ok(performance.now() - asked >= STATS_WAIT_MS * 0.9, "it waited for the answer first");
        // The late answer is dropped; the next request is answered.
        ok((await server.liveStats([spawned.pid])).has(spawned.pid));
      } finally {
        await end(spawned);
      }
      await server.close();
      deepStrictEqual(await server.liveStats([spawned.pid]), new Map());
    });
  },
});

Deno.test({
  ...skipWhen(
    NOT_BUILT,
    "chooseSpawnStrategy() offers the spawn server's live figures, and none with the fallback",
  ),
  async fn() {
    const logger = new Logger({ write: () => Promise.resolve() });
    const tmp = await Deno.makeTempDir();
    try {
      const fallback = await chooseSpawnStrategy({
        env: { UROCKET_SPAWN_HELPER: "off" },
        logger,
      });
      strictEqual(fallback.liveStats, undefined);
      const strategy = await chooseSpawnStrategy({ env: { TMPDIR: tmp }, logger });
      try {
        strictEqual(strategy.mode, "spawn_server");
        const spawned = await strategy.spawner({
          program: "/bin/sleep",
          args: ["30"],
          cwd: "/",
          env: {},
          stdin: false,
          stdout: false,
        });
        try {
          const stats = await strategy.liveStats!([spawned.pid, Deno.pid]);
          deepStrictEqual([...stats.keys()], [spawned.pid]);
          ok(stats.get(spawned.pid)!.rssKb > 0);
        } finally {
          await end(spawned);
        }
      } finally {
        await strategy.dispose();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
