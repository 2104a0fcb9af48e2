/**
 * `urocket check`: loads and validates everything the server would at start
 * — config, OpenAPI document, commands, working directories, the socket path
 * — without listening or spawning, like `nginx -t`. Prints every problem on
 * one line each, or a summary of the operations wired.
 *
 * @module
 */

import {
  absolutePath,
  ConfigError,
  formatListen,
  formatProblem,
  inspectConfig,
  type Problem,
} from "../config/mod.ts";
import {
  type Generation,
  loadGeneration,
  unwiredCount,
  unwiredSummary,
} from "../generation/mod.ts";
import { isObject } from "../openapi/mod.ts";
import { inspectSocketPath } from "../reply/mod.ts";
import type { CliOutput } from "./output.ts";

/** Options of {@link check}. */
export interface CheckOptions {
  /** Path of `urocket-service.yaml`. */
  configFile: string;
  /** The environment the server would run with (bare `env` names, `PATH` lookups). */
  env: Record<string, string>;
  output: CliOutput;
  /** List every document operation without config, one per line, instead of their number. */
  verbose?: boolean;
}

/**
 * Checks the configuration and returns the exit code: 0 when urocket would
 * start with it, 2 when not.
 */
export async function check(options: CheckOptions): Promise<number> {
  const { output } = options;
  let generation: Generation;
  try {
    generation = await loadGeneration(options.configFile, { env: options.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return refuse([...error.problems, ...await socketProblems(options)], options);
  }
  const config = generation.config;
  const socketProblem = await inspectSocketPath(config.socket);
  if (socketProblem) {
    return refuse([{ file: config.file, key: "socket", message: socketProblem }], options);
  }
  for (const warning of generation.warnings) output.err(`warning: ${formatProblem(warning)}`);
  output.out(`${config.file}: ok, urocket would start with it`);
  const rows = [
    ["openapi", generation.document.file],
    ["base path", describeBasePath(generation)],
    ["listen", formatListen(config.listen)],
    ["admin", config.admin ? formatListen(config.admin) : "off"],
    ["socket", config.socket],
  ];
  for (const [key, value] of rows) output.out(`  ${key.padEnd(9)}  ${value}`);
  const count = generation.operations.length;
  output.out(`${count} operation${count === 1 ? "" : "s"} wired:`);
  const table = [
    // The command last: it is the long one.
    ["METHOD", "PATH", "CHANNEL", "TIMEOUT", "SECURITY", "CMD"],
    ...generation.operations.map((op) => [
      op.config.method.toUpperCase(),
      op.config.path,
      op.config.channel,
      formatDuration(op.config.timeoutMs),
      // Schemes of one alternative joined by +, alternatives by |; "open" or "none".
      generation.security.summaries.get(op.key) ?? "none",
      [op.config.program, ...op.config.args].map(quoteWord).join(" "),
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) {
    output.out("  " + row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  }
  const { unwired } = generation;
  if (unwired.length > 0 && options.verbose) {
    output.out(`${unwiredCount(unwired.length)}:`);
    for (const key of unwired) output.out(`  ${key}`);
  } else if (unwired.length > 0) {
    output.out(unwiredSummary(unwired));
  }
  return 0;
}

/** The prefix of every route, where it comes from, and how many routes there are. */
function describeBasePath({ basePath, config, document }: Generation): string {
  const servers = document.raw.servers;
  const from = config.basePath !== undefined
    ? " (from base-path)"
    : Array.isArray(servers) && isObject(servers[0]) && typeof servers[0].url === "string"
    ? " (from servers[0].url)"
    : "";
  const n = document.operations.length;
  return `${basePath || "/"}${from}, ${n} route${n === 1 ? "" : "s"}`;
}

/**
 * The socket path's problem when the rest of the config failed: the server
 * would find it at the next start, so it is reported in the same round.
 */
async function socketProblems({ configFile, env }: CheckOptions): Promise<Problem[]> {
  const file = absolutePath(configFile, Deno.cwd());
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    return [];
  }
  const { config, problems } = await inspectConfig(text, { env, file });
  if (problems.some((p) => p.key === "socket")) return [];
  const message = await inspectSocketPath(config.socket);
  return message ? [{ file, key: "socket", message }] : [];
}

function refuse(problems: readonly Problem[], { output, configFile }: CheckOptions): number {
  for (const problem of problems) output.err(formatProblem(problem));
  const n = problems.length;
  output.err(
    `urocket check: ${n} problem${n === 1 ? "" : "s"} in ${configFile}: urocket would not start`,
  );
  return 2;
}

/** A word as a POSIX shell would need it quoted, for display. */
function quoteWord(word: string): string {
  return /^[A-Za-z0-9_\-.,:/=@%+]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Milliseconds in the largest unit that divides them: `30s`, `2m`, `1500ms`. */
function formatDuration(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
