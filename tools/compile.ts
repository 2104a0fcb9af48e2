/**
 * Builds urocket as one self-contained executable with `deno compile`, with
 * exactly the permission set of `deno.json` (`-P`), so that the binary asks
 * for no more than `deno task start` does.
 *
 *   deno task compile        dist/urocket, for this machine
 *   deno task compile:all    dist/urocket-x86_64-unknown-linux-gnu and
 *                            dist/urocket-aarch64-unknown-linux-gnu
 *
 * Options: `--target T` (repeatable), `--all`, `--output PATH` (one target
 * only; relative to where `deno task` was run). A binary for this machine is run once with `--version` and must
 * answer `urocket <version>`: with `DENORT_BIN` pointing at the deno CLI,
 * `deno compile` "succeeds" but the result is plain Deno (a REPL with every
 * permission), and such a file is deleted rather than shipped.
 *
 * Exit codes: 0 built, 1 the build failed or its result is not urocket,
 * 2 bad arguments, 3 Deno's runtime for the target (denort) could not be had
 * — `deno compile` downloads it, so a machine without internet access cannot
 * build (the tests skip on 3 and fail on anything else).
 *
 * @module
 */

import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { SWAGGER_UI_FILES, SWAGGER_UI_KEPT, swaggerUiDir } from "../lib/docs/mod.ts";
import { VERSION } from "../lib/common/version.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** The targets of `--all`: the Linux machines urocket is released for. */
export const RELEASE_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
] as const;

/**
 * Files embedded in the binary beside the code, relative to the repository.
 * The spawn helper (`deno task build-helper`) is built for this machine, so
 * it is embedded only in a binary for this machine's target: a binary for
 * another target falls back to `detached: true` (said at its start) unless
 * it is built on a machine of its own architecture, as the release workflow
 * does. Embedded files cannot be executed in place: urocket copies the
 * helper into its private directory at start.
 */
export const INCLUDES: readonly string[] = ["build/urocket-spawn"];

/**
 * Files embedded in every binary: the console's page, script and style,
 * which urocket reads beside its code (lib/console/console_app.ts), and the modules
 * it runs as Workers, which `deno compile` leaves out since no module
 * imports them (lib/security/_bcrypt_pool.ts). Swagger UI's files come with
 * the `swagger-ui-dist` package, which the binary embeds because lib/docs
 * imports it; {@link docsExcludes} leaves out what the reference page does
 * not load.
 */
export const ASSETS: readonly string[] = ["lib/console/static", "lib/security/_bcrypt_worker.ts"];

/**
 * The files of the `swagger-ui-dist` package the binary leaves out: every
 * one but those the reference page loads and the licence (source maps and
 * other builds, about 10 MB).
 */
export async function docsExcludes(): Promise<string[]> {
  const dir = await swaggerUiDir();
  const kept = new Set([...Object.keys(SWAGGER_UI_FILES), ...SWAGGER_UI_KEPT]);
  const excluded: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!kept.has(entry.name)) excluded.push(`${dir}/${entry.name}`);
  }
  return excluded.sort();
}

/** V8 flags of the binary, as `deno task start` runs urocket (see docs/operations.md, Memory). */
export const V8_FLAGS = "--max-semi-space-size=16,--expose-gc";

/** The exit code for "Deno's runtime for the target could not be had". */
export const NO_RUNTIME = 3;

/** What {@link compileArgs} builds. */
export interface CompileSpec {
  target: string;
  /** Absolute path of the executable to write. */
  output: string;
  /** Absolute paths of files the binary leaves out (see {@link docsExcludes}). */
  exclude?: string[];
}

/** The `deno` arguments that build `spec`, with the permission set and the includes. */
export function compileArgs(spec: CompileSpec): string[] {
  return [
    "compile",
    // Quiet: Deno's warning that permission sets in deno.json are experimental is not for users.
    "-q",
    "-P",
    `--v8-flags=${V8_FLAGS}`,
    "--config",
    `${REPO}/deno.json`,
    ...[...ASSETS, ...(spec.target === Deno.build.target ? INCLUDES : [])].flatMap((path) => [
      "--include",
      `${REPO}/${path}`,
    ]),
    ...(spec.exclude ?? []).flatMap((path) => ["--exclude", path]),
    "--target",
    spec.target,
    "--output",
    spec.output,
    `${REPO}/main.ts`,
  ];
}

/** Where a build's binary goes when no `--output` is given. */
function defaultOutput(target: string, several: boolean): string {
  return several ? `${REPO}/dist/urocket-${target}` : `${REPO}/dist/urocket`;
}

async function build(spec: CompileSpec): Promise<number> {
  await Deno.mkdir(dirname(spec.output), { recursive: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: compileArgs(spec),
    cwd: REPO,
    // Plain text, so that its error can be read below.
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  // deno compile's own progress and errors still reach the terminal; the text is kept to tell
  // a missing runtime from a broken build.
  let stderr = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    stderr += chunk;
    await Deno.stderr.write(new TextEncoder().encode(chunk));
  }
  const { success } = await child.status;
  if (!success) {
    const cause = missingRuntime(stderr);
    if (cause !== undefined) {
      console.error(
        `compile: no Deno runtime (denort) for ${spec.target}: ${cause}. deno compile downloads ` +
          "it; on a machine without internet access, set DENORT_BIN to a denort binary of " +
          `Deno ${Deno.version.deno} for that target (not the deno CLI)`,
      );
      return NO_RUNTIME;
    }
    console.error(`compile: deno compile failed for ${spec.target}`);
    return 1;
  }
  if (spec.target === Deno.build.target) {
    const problem = await notUrocket(spec.output);
    if (problem) {
      await Deno.remove(spec.output).catch(() => {});
      console.error(`compile: ${spec.output} is not urocket, deleted: ${problem}`);
      return 1;
    }
  }
  console.error(`compile: built ${spec.output} (${spec.target})`);
  return 0;
}

/**
 * Why `deno compile` could not get its runtime, from its error text
 * ("Caused by: 0: Setting up base binary. 1: <why> …"); undefined when the
 * build failed for another reason.
 */
export function missingRuntime(stderr: string): string | undefined {
  if (!stderr.includes("Setting up base binary")) return undefined;
  const causes = stderr.split("\n").map((line) => line.trim()).filter((line) =>
    /^\d+: /.test(line)
  );
  const why = causes.find((line) => !line.includes("Setting up base binary"));
  return why?.replace(/^\d+: /, "") ?? "unknown cause";
}

/** Why the binary at `path` is not urocket, or undefined when `--version` says it is. */
export async function notUrocket(path: string): Promise<string | undefined> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(path, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
  } catch (error) {
    return `it cannot run: ${(error as Error).message}`;
  }
  const first = new TextDecoder().decode(output.stdout).split("\n")[0].trim();
  if (output.success && first === `urocket ${VERSION}`) return undefined;
  const hint = /^deno /.test(first) ? " (plain Deno: was DENORT_BIN the deno CLI?)" : "";
  return `--version printed ${JSON.stringify(first)}, expected "urocket ${VERSION}"${hint}`;
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        all: { type: "boolean" },
        target: { type: "string", multiple: true },
        output: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`compile: ${(error as Error).message}`);
    return 2;
  }
  const targets = [
    ...(values.all ? RELEASE_TARGETS : []),
    ...(values.target ?? []),
  ];
  if (targets.length === 0) targets.push(Deno.build.target);
  const unique = [...new Set(targets)];
  if (values.output !== undefined && unique.length > 1) {
    console.error("compile: --output names one file, but several targets are built");
    return 2;
  }
  for (const target of unique) {
    const output = values.output === undefined
      ? defaultOutput(target, values.all === true || unique.length > 1)
      : values.output.startsWith("/")
      ? values.output
      : `${Deno.env.get("INIT_CWD") ?? Deno.cwd()}/${values.output}`;
    const code = await build({ target, output, exclude: await docsExcludes() });
    if (code !== 0) return code;
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
