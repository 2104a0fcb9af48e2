/**
 * The error urocket raises when its configuration cannot be used.
 *
 * @module
 */

/** One thing wrong with a configuration file, located as precisely as known. */
export interface Problem {
  /** The file the problem is in (the config file or the OpenAPI document). */
  file: string;
  /** 1-based line, when the problem can be tied to one. */
  line?: number;
  /** Key path such as `paths./pets.post.inject.channel`, or a JSON pointer. */
  key: string;
  /** What is wrong, and what to do when that is not obvious. */
  message: string;
}

/** Formats a problem as the one line urocket prints for it. */
export function formatProblem(problem: Problem): string {
  const where = problem.line ? `${problem.file}:${problem.line}` : problem.file;
  return problem.key
    ? `${where}: ${problem.key}: ${problem.message}`
    : `${where}: ${problem.message}`;
}

/**
 * Every problem found in a configuration, collected so that a user fixes them
 * all in one round instead of one per restart.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./mod.ts";
 *
 * const file = "/etc/urocket/urocket-service.yaml";
 * try {
 *   await parseConfig(await Deno.readTextFile(file), { file, env: Deno.env.toObject() });
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.message);
 * }
 * ```
 */
export class ConfigError extends Error {
  /** The problems, in file order as far as known. */
  readonly problems: readonly Problem[];

  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}
