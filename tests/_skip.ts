/**
 * Skipping a test the way Deno counts it: `ignore`, so that the summary says
 * "N ignored" and `.ci/run` reports it as skipped, with the reason in the
 * test's name, so that the run's output says why.
 *
 * @module
 */

/** The `name` and `ignore` options of a test that is skipped when `reason` is set. */
export function skipWhen(
  reason: string | undefined,
  name: string,
): { name: string; ignore: boolean } {
  return reason === undefined
    ? { name, ignore: false }
    : { name: `${name} (skipped: ${reason})`, ignore: true };
}

/** Why `program --version` cannot run here, or undefined when it can. */
export async function missing(program: string, hint = ""): Promise<string | undefined> {
  try {
    const { success } = await new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : `${program} --version fails${hint}`;
  } catch {
    return `${program} is not installed${hint}`;
  }
}
