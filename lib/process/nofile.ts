/**
 * urocket's limit on open descriptors (RLIMIT_NOFILE): raised to the hard
 * limit at start, and known, so that the start line can say it. Deno has no
 * setrlimit and refuses /proc/self/limits to a program run without
 * `--allow-all`, but the spawn helper (a process of the same user) can do
 * both with prlimit(2).
 *
 * @module
 */

/** The limits on open descriptors after the raise. */
export interface NofileLimits {
  soft: number;
  hard: number;
}

/**
 * Asks the spawn helper to raise the soft limit on open descriptors of
 * process `pid` to its hard limit, and returns the limits as they are then;
 * or, when that fails, a sentence saying why. Never throws.
 *
 * @example
 * ```ts
 * const limits = await raiseNofile("/usr/libexec/urocket-spawn", Deno.pid);
 * // { soft: 1048576, hard: 1048576 }, or "the spawn helper answered …"
 * ```
 */
export async function raiseNofile(helper: string, pid: number): Promise<NofileLimits | string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(helper, {
      args: ["--nofile", String(pid)],
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (error) {
    return `cannot run the spawn helper: ${(error as Error).message}`;
  }
  return parseNofileLine(new TextDecoder().decode(output.stdout).trim());
}

/** Reads the helper's one line: `nofile SOFT HARD`, or `no MESSAGE`. */
export function parseNofileLine(line: string): NofileLimits | string {
  const limits = /^nofile (\d+) (\d+)$/.exec(line);
  if (limits) return { soft: Number(limits[1]), hard: Number(limits[2]) };
  const no = /^no (.+)$/.exec(line);
  if (no) return no[1];
  return line === ""
    ? 'the spawn helper does not know --nofile: rebuild it with "deno task build-helper"'
    : `the spawn helper answered ${JSON.stringify(line.slice(0, 200))}`;
}
