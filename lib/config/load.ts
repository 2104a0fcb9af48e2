/**
 * Reads `urocket-service.yaml` into a {@link ServiceConfig}: YAML syntax,
 * schema, then meaning (files, commands, names), reporting every problem at
 * once with file, line and key path.
 *
 * @module
 */

import { type Accounts, readAccounts } from "./accounts.ts";
import { ConfigError, type Problem } from "./errors.ts";
import { isMissing, missingKeyMessage, unknownKeyMessage } from "./_key_hints.ts";
import { checkFiles } from "./_files.ts";
import { namesAccounts, resolve } from "./_resolve.ts";
import { formatKeyPath, parseYaml } from "./_yaml.ts";
import { ConfigSchema } from "./schema.ts";
import type { ServiceConfig } from "./service_config.ts";

/** What a path on disk is, as far as the loader cares. */
export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  /** Permission bits, when the platform has them. */
  mode: number | null;
}

/** The outside world the loader needs; injected so tests run in memory. */
export interface LoadOptions {
  /** urocket's own environment: bare `env` names and `PATH` lookup read it. */
  env: Record<string, string>;
  /** Describes a path, or returns undefined when nothing is there. */
  stat?: (path: string) => Promise<FileInfo | undefined>;
  /** The user and group databases, read only when a config names a user or group. */
  accounts?: () => Promise<Accounts>;
}

/**
 * Reads the config file at `file`; a file that cannot be read is a
 * configuration problem like any other.
 *
 * @throws {ConfigError} naming the file and why it cannot be read.
 */
export async function readConfigFile(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    throw new ConfigError([{
      file,
      key: "",
      message: `Cannot read the config file: ${(error as Error).message}`,
    }]);
  }
}

/**
 * Checks config `text` as if read from `file` (an absolute path, used to
 * resolve relative paths and to name the file in problems).
 *
 * @throws {ConfigError} listing every problem found.
 */
export async function parseConfig(
  text: string,
  options: LoadOptions & { file: string },
): Promise<ServiceConfig> {
  const { config, problems } = await inspectConfig(text, options);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Like {@link parseConfig}, but returns the problems beside the part of the
 * config that could be read, so that a caller can add problems of its own
 * (the OpenAPI document's) and report them all at once.
 */
export async function inspectConfig(
  text: string,
  options: LoadOptions & { file: string },
): Promise<{ config: ServiceConfig; problems: Problem[] }> {
  const file = options.file;
  const { data, problems, locate } = parseYaml(text, file);
  const problem = (path: PropertyKey[], message: string, keyOnly = false): Problem => ({
    file,
    line: locate(path, keyOnly),
    key: formatKeyPath(path),
    message,
  });
  const report = (path: PropertyKey[], message: string, keyOnly = false) =>
    problems.push(problem(path, message, keyOnly));
  const warnings: Problem[] = [];
  const warn = (path: PropertyKey[], message: string) => warnings.push(problem(path, message));
  schemaProblems(data, report);
  const record = typeof data === "object" && data !== null && !Array.isArray(data)
    ? data as Record<string, unknown>
    : {};
  const accounts = namesAccounts(record) ? await (options.accounts ?? readAccounts)() : undefined;
  const config = resolve(record, options, { report, warn, locate }, accounts);
  config.warnings = warnings;
  await checkFiles(config, options, report);
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { config, problems };
}

/**
 * What the schema refuses in `data`: an unknown key (with where it belongs,
 * or the key it is likely a typo of), a missing one, a wrong value.
 */
function schemaProblems(
  data: unknown,
  report: (path: PropertyKey[], message: string, keyOnly?: boolean) => void,
): void {
  const parsed = ConfigSchema.safeParse(data);
  if (parsed.success) return;
  for (const issue of parsed.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        report([...issue.path, key], unknownKeyMessage(key, issue.path), true);
      }
    } else if (issue.path.length > 0 && isMissing(data, issue.path)) {
      report(issue.path, missingKeyMessage(issue.path));
    } else if (issue.code === "invalid_key") {
      report(issue.path, issue.issues[0]?.message ?? issue.message, true);
    } else {
      report(issue.path, issue.message);
    }
  }
}
