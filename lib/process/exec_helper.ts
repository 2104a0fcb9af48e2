/**
 * Chooses how urocket spawns: through the exec helper when one is usable
 * (fast), else with `detached: true` (correct, slower), and says which once
 * at start. Finds the helper, copies it to a private directory when it
 * cannot be executed where it lies (inside a `deno compile` binary, on a
 * noexec mount), and checks it speaks the protocol this urocket expects.
 *
 * @module
 */

import { ConfigError } from "../config/mod.ts";
import { detachedSpawner, helperSpawner, type Spawner } from "./spawn.ts";

/** The protocol `urocket-exec --version` must answer; see `native/urocket_exec.c`. */
export const HELPER_PROTOCOL = "1";
/** urocket's environment variable naming the helper, or `off` for the fallback. */
export const HELPER_ENV = "UROCKET_EXEC_HELPER";
/**
 * Where `deno task build-helper` writes the helper. `deno task compile`
 * embeds the same path, so a compiled urocket finds it here too.
 */
export const BUILT_HELPER = new URL("../../build/urocket-exec", import.meta.url);

/** How processes are spawned, and what to say about it at start. */
export interface SpawnStrategy {
  spawner: Spawner;
  /** `exec_helper` (fast), `detached` (the fallback) or `injected` (tests). */
  mode: "exec_helper" | "detached" | "injected";
  /** The helper that runs, when there is one. */
  helper?: string;
  /** Why the fallback is used, or where the helper came from. */
  reason: string;
  /** Removes the private copy of the helper, if one was made. */
  dispose(): Promise<void>;
}

/** Options of {@link chooseSpawner}. */
export interface ChooseSpawnerOptions {
  /** urocket's own environment (for {@link HELPER_ENV} and `TMPDIR`). */
  env: Record<string, string>;
  /** Where to look for a built helper; default {@link BUILT_HELPER}. */
  builtHelper?: string | URL;
}

/**
 * Picks the spawn strategy: the helper named by `UROCKET_EXEC_HELPER`
 * (refusing to start when it does not work), else the built or embedded
 * helper (copied to a private directory when it cannot run in place), else
 * `detached: true`.
 *
 * @throws {ConfigError} when `UROCKET_EXEC_HELPER` names a helper that does not work.
 */
export async function chooseSpawner(options: ChooseSpawnerOptions): Promise<SpawnStrategy> {
  const named = options.env[HELPER_ENV];
  if (named === "off") return fallback(`${HELPER_ENV}=off`);
  if (named) {
    const problem = await probe(named);
    if (problem) {
      throw new ConfigError([{
        file: "environment",
        key: HELPER_ENV,
        message: `Cannot use the exec helper ${JSON.stringify(named)}: ${problem}` +
          ` (build one with "deno task build-helper", or set ${HELPER_ENV}=off)`,
      }]);
    }
    return helper(named, `named by ${HELPER_ENV}`);
  }

  const built = pathOf(options.builtHelper ?? BUILT_HELPER);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(built);
  } catch {
    return fallback(
      `no exec helper at ${built}: build it with "deno task build-helper" (needs a C compiler)`,
    );
  }
  const problem = await probe(built);
  if (!problem) return helper(built, "built");
  if (problem.startsWith("it speaks")) {
    return fallback(`${built}: ${problem}: rebuild it with "deno task build-helper"`);
  }
  // Not executable where it lies (embedded in a compiled urocket, noexec mount): copy it out.
  const copy = await install(bytes, options.env);
  if (typeof copy === "string") return fallback(`${built} ${problem}; ${copy}`);
  return helper(copy.path, `copied from ${built}`, copy.dispose);
}

function helper(path: string, reason: string, dispose = () => Promise.resolve()): SpawnStrategy {
  return { spawner: helperSpawner(path), mode: "exec_helper", helper: path, reason, dispose };
}

function fallback(reason: string): SpawnStrategy {
  return { spawner: detachedSpawner, mode: "detached", reason, dispose: () => Promise.resolve() };
}

function pathOf(location: string | URL): string {
  return typeof location === "string" ? location : decodeURIComponent(location.pathname);
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
  const protocol = /^urocket-exec (\S+)$/.exec(answer)?.[1];
  if (!output.success || protocol === undefined) {
    return `does not answer --version like urocket-exec (${JSON.stringify(answer.slice(0, 80))})`;
  }
  if (protocol !== HELPER_PROTOCOL) {
    return `it speaks protocol ${protocol}, this urocket needs ${HELPER_PROTOCOL}`;
  }
  return undefined;
}

/**
 * Writes the helper into a new private (0700) directory under `TMPDIR` (or
 * /tmp) and checks that it runs there; a noexec /tmp needs `TMPDIR` set to a
 * directory that allows exec.
 */
async function install(
  bytes: Uint8Array,
  env: Record<string, string>,
): Promise<{ path: string; dispose: () => Promise<void> } | string> {
  const parent = env.TMPDIR || "/tmp";
  let dir: string;
  try {
    dir = await Deno.makeTempDir({ dir: parent, prefix: "urocket-exec-" });
    await Deno.writeFile(`${dir}/urocket-exec`, bytes, { mode: 0o700 });
    await Deno.chmod(`${dir}/urocket-exec`, 0o700);
  } catch (error) {
    return `cannot copy it to ${parent}: ${(error as Error).message}`;
  }
  const dispose = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const problem = await probe(`${dir}/urocket-exec`);
  if (!problem) return { path: `${dir}/urocket-exec`, dispose };
  await dispose();
  return `a copy in ${parent} ${problem} (set TMPDIR to a directory that allows exec)`;
}
