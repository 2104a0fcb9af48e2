/**
 * Chooses how urocket spawns: through the spawn server when its helper
 * binary is usable (fast), else with `detached: true` (correct, slower), and
 * says which once at start. Finds the helper, copies it into urocket's
 * private directory when it cannot be executed where it lies (inside a
 * `deno compile` binary, on a noexec mount), checks it speaks the protocol
 * this urocket expects, and restarts the server if it ever dies.
 *
 * @module
 */

import { ConfigError } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  CGROUP_ROOT_ENV,
  type CgroupSetup,
  cgroupSpec,
  type Controller,
  setupCgroup,
} from "./cgroup.ts";
import { detachedSpawner, type ResourceLimits, type Spawner } from "./spawn.ts";
import { SPAWN_PROTOCOL } from "./_spawn_protocol.ts";
import type { LiveStats } from "../console/mod.ts";
import { SpawnServer } from "./spawn_server.ts";

/** urocket's environment variable naming the helper, or `off` for the fallback. */
export const HELPER_ENV = "UROCKET_SPAWN_HELPER";
/**
 * Where `deno task build-helper` writes the helper. `deno task compile`
 * embeds the same path, so a compiled urocket finds it there too.
 */
export const BUILT_HELPER = new URL("../../build/urocket-spawn", import.meta.url);

/** How processes are spawned, and what to say about it at start. */
export interface SpawnStrategy {
  spawner: Spawner;
  /** `spawn_server` (fast), `detached` (the fallback) or `injected` (tests). */
  mode: "spawn_server" | "detached" | "injected";
  /** The helper that runs, when there is one. */
  helper?: string;
  /** Why the fallback is used, or where the helper came from. */
  reason: string;
  /** The running spawn server's pid, if there is one. */
  serverPid?: () => number;
  /**
   * The live CPU time and RSS of processes the spawn server started (others
   * are left out), read by the server: there is one only with the server.
   */
  liveStats?: (pids: number[]) => Promise<Map<number, LiveStats>>;
  /**
   * Prepares urocket's cgroup for one group per process, so that the
   * spawner enforces each spec's `limits` from then on. Runs the helper's
   * setup once: later calls answer as the first did (a failure before
   * anything was changed — missing controllers — is tried again).
   */
  prepareCgroups(needed: Controller[]): Promise<CgroupSetup>;
  /** Stops the spawn server and removes urocket's private directory. */
  dispose(): Promise<void>;
}

/** Options of {@link chooseSpawnStrategy}. */
export interface ChooseSpawnStrategyOptions {
  /** urocket's own environment (for {@link HELPER_ENV} and `TMPDIR`). */
  env: Record<string, string>;
  /** Told when the spawn server dies and is restarted, or given up. */
  logger: Logger;
  /** Where to look for a built helper; default {@link BUILT_HELPER}. */
  builtHelper?: string | URL;
}

/**
 * Picks the spawn strategy: the helper named by `UROCKET_SPAWN_HELPER`
 * (refusing to start when it does not work), else the built or embedded
 * helper, else `detached: true`.
 *
 * @throws {ConfigError} when `UROCKET_SPAWN_HELPER` names a helper that does not work.
 */
export async function chooseSpawnStrategy(
  options: ChooseSpawnStrategyOptions,
): Promise<SpawnStrategy> {
  const named = options.env[HELPER_ENV];
  if (named === "off") return fallback(`${HELPER_ENV}=off`);
  const parent = options.env.TMPDIR || "/tmp";
  let dir: string;
  try {
    dir = await Deno.makeTempDir({ dir: parent, prefix: "urocket-" });
  } catch (error) {
    return fallback(`cannot make a private directory in ${parent}: ${(error as Error).message}`);
  }
  const removeDir = () => Deno.remove(dir, { recursive: true }).catch(() => {});

  let picked: { path: string; source: string } | string;
  try {
    picked = await pickHelper(named, options.builtHelper, dir);
  } catch (error) {
    await removeDir();
    throw error;
  }
  if (typeof picked === "string") {
    await removeDir();
    return fallback(picked);
  }
  const { path: helper, source } = picked;

  let server: SpawnServer;
  try {
    server = startServer(helper, dir, options.logger);
  } catch (error) {
    await removeDir();
    return fallback(`cannot start the spawn server: ${(error as Error).message}`);
  }
  let degraded = false;
  let cgroups: CgroupSetup | undefined;
  const spawner: Spawner = (spec) => {
    if (spec.limits && cgroups?.ok) {
      spec = { ...spec, cgroup: cgroupSpec(cgroups.dir, enforceable(spec.limits, cgroups)) };
    }
    if (degraded) return detachedSpawner(spec);
    if (!server.alive) {
      try {
        server = startServer(helper, dir, options.logger);
        options.logger.warn("spawner", { mode: "spawn_server", message: "spawn server restarted" });
      } catch (error) {
        degraded = true;
        options.logger.error("spawner", {
          mode: "detached",
          message: `cannot restart the spawn server, spawning with detached: true from now on: ${
            (error as Error).message
          }`,
        });
        return detachedSpawner(spec);
      }
    }
    return server.spawn(spec);
  };
  return {
    spawner,
    mode: "spawn_server",
    helper,
    reason: source,
    serverPid: () => server.pid,
    // After a restart, the processes of the server that died are no longer its children: left out.
    liveStats: (pids) => server.liveStats(pids),
    async prepareCgroups(needed) {
      if (cgroups?.ok || (cgroups && cgroups.stage !== "controllers")) return cgroups;
      cgroups = await setupCgroup({
        helper,
        needed,
        dir: options.env[CGROUP_ROOT_ENV] || undefined,
      });
      return cgroups;
    },
    async dispose() {
      await server.close();
      await removeDir();
    },
  };
}

/**
 * The helper `UROCKET_SPAWN_HELPER` names, which must work; else the built
 * one (copied into `dir` when it cannot run in place), or why there is none.
 *
 * @throws {ConfigError} when the named helper does not work.
 */
async function pickHelper(
  named: string | undefined,
  builtHelper: string | URL | undefined,
  dir: string,
): Promise<{ path: string; source: string } | string> {
  if (!named) return await findBuilt(pathOf(builtHelper ?? BUILT_HELPER), dir);
  const problem = await probe(named);
  if (problem) {
    throw new ConfigError([{
      file: "environment",
      key: HELPER_ENV,
      message: `Cannot use the spawn helper ${JSON.stringify(named)}: ${problem}` +
        ` (build one with "deno task build-helper", or set ${HELPER_ENV}=off)`,
    }]);
  }
  return { path: named, source: `named by ${HELPER_ENV}` };
}

function startServer(helper: string, dir: string, logger: Logger): SpawnServer {
  return SpawnServer.start({
    helper,
    dir,
    onExit(status) {
      // Its running handlers are orphaned to init; their groups are still tracked by kill(-pgid, 0).
      logger.error("spawner", {
        mode: "spawn_server",
        message: "the spawn server exited; it is restarted for the next request",
        exit_code: status.code,
        signal: status.signal ?? undefined,
      });
    },
  });
}

/** The limits a prepared cgroup can hold: those of the controllers it enabled. */
function enforceable(limits: ResourceLimits, setup: Extract<CgroupSetup, { ok: true }>) {
  const has = (controller: Controller) => setup.controllers.includes(controller);
  return {
    ...(has("memory") ? { memoryBytes: limits.memoryBytes } : {}),
    ...(has("cpu") ? { cpu: limits.cpu } : {}),
    ...(has("pids") ? { pids: limits.pids } : {}),
  };
}

function fallback(reason: string): SpawnStrategy {
  return {
    spawner: detachedSpawner,
    mode: "detached",
    reason,
    prepareCgroups: () =>
      Promise.resolve({
        ok: false,
        stage: "spawner",
        message: `they need the spawn server, and urocket spawns with detached: true (${reason})`,
      }),
    dispose: () => Promise.resolve(),
  };
}

function pathOf(location: string | URL): string {
  return typeof location === "string" ? location : decodeURIComponent(location.pathname);
}

/**
 * The built helper, run in place when it can be, else copied into `dir`
 * (a compiled urocket's embedded files cannot be exec'ed; /tmp may be
 * noexec). Returns why there is none usable otherwise.
 */
async function findBuilt(
  built: string,
  dir: string,
): Promise<{ path: string; source: string } | string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(built);
  } catch {
    return `no spawn helper at ${built}: build it with "deno task build-helper" (needs a C compiler)`;
  }
  const problem = await probe(built);
  if (!problem) return { path: built, source: "built" };
  if (problem.startsWith("it speaks")) {
    return `${built}: ${problem}: rebuild it with "deno task build-helper"`;
  }
  const copy = `${dir}/urocket-spawn`;
  try {
    await Deno.writeFile(copy, bytes, { mode: 0o700 });
    await Deno.chmod(copy, 0o700);
  } catch (error) {
    return `${built} ${problem}, and cannot be copied to ${dir}: ${(error as Error).message}`;
  }
  const again = await probe(copy);
  if (again) {
    return `${built} ${problem}, and a copy in ${dir} ${again} ` +
      "(set TMPDIR to a directory that allows exec)";
  }
  return { path: copy, source: `copied from ${built}` };
}

/** Runs `helper --version`; returns what is wrong, or `undefined` when it answers our protocol. */
async function probe(path: string): Promise<string | undefined> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(path, {
      args: ["--version"],
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (error) {
    return `cannot be executed: ${(error as Error).message}`;
  }
  const answer = new TextDecoder().decode(output.stdout).trim();
  const protocol = /^urocket-spawn (\S+)$/.exec(answer)?.[1];
  if (!output.success || protocol === undefined) {
    return `does not answer --version like urocket-spawn (${JSON.stringify(answer.slice(0, 80))})`;
  }
  if (protocol !== SPAWN_PROTOCOL) {
    return `it speaks protocol ${protocol}, this urocket needs ${SPAWN_PROTOCOL}`;
  }
  return undefined;
}
