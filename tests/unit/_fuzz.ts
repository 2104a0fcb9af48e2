/**
 * Settings shared by the property-based (fuzz) tests.
 *
 * Every run picks a fresh seed, so the suite explores new inputs each time;
 * a failure prints that seed (and fast-check's shrink path) in its message.
 * To replay one: `FUZZ_SEED=<seed> FUZZ_PATH=<path> deno test -A tests/unit/<file>`.
 * `FUZZ_RUNS=<n>` runs every property n times instead of its modest default,
 * for a long fuzzing session.
 *
 * @module
 */

import fc from "fast-check";

/**
 * fast-check parameters for a property run `numRuns` times by default, with
 * the seed in every failure message.
 */
export function fuzz<T>(numRuns: number): fc.Parameters<T> {
  const fromEnv = (name: string) => {
    const value = Deno.env.get(name);
    return value === undefined || value === "" ? undefined : value;
  };
  const seed = fromEnv("FUZZ_SEED") !== undefined
    ? Number(fromEnv("FUZZ_SEED"))
    : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
  const runs = fromEnv("FUZZ_RUNS") !== undefined ? Number(fromEnv("FUZZ_RUNS")) : numRuns;
  return {
    seed,
    numRuns: runs,
    ...(fromEnv("FUZZ_PATH") !== undefined ? { path: fromEnv("FUZZ_PATH") } : {}),
    // Asynchronous properties must not run forever on a pathological input.
    interruptAfterTimeLimit: 60_000,
    markInterruptAsFailure: true,
  };
}

/**
 * Runs `property` with {@link fuzz} settings; on failure the error names the
 * seed and the replay command.
 */
export async function check<T>(
  property: fc.IProperty<T> | fc.IAsyncProperty<T>,
  numRuns: number,
): Promise<void> {
  const params = fuzz<T>(numRuns);
  try {
    await fc.assert(property as fc.IAsyncProperty<T>, params);
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(
      `${message}\nReplay with FUZZ_SEED=${params.seed}` +
        (/path: "([^"]*)"/.exec(message)
          ? ` FUZZ_PATH=${/path: "([^"]*)"/.exec(message)![1]}`
          : ""),
      { cause: error },
    );
  }
}
