/**
 * What needs the file system: each `wd` is a directory, each program exists
 * and is executable (found in PATH when it names no folder).
 *
 * @module
 */

import type { FileInfo, LoadOptions } from "./load.ts";
import { absolutePath } from "./paths.ts";
import type { Report } from "./_yaml.ts";
import type { ServiceConfig } from "./service_config.ts";

/**
 * Checks what needs the file system: each `wd` is a directory, each program
 * exists and is executable. Programs are made absolute here.
 */
export async function checkFiles(
  config: ServiceConfig,
  options: LoadOptions,
  report: Report,
): Promise<void> {
  const searchPath = (options.env.PATH ?? "").split(":").filter((dir) => dir !== "");
  for (const op of config.operations) {
    // An empty program, or a NUL in wd, was already reported.
    if (op.program === "" || op.wd.includes("\0")) continue;
    const key = (...rest: string[]) => ["paths", op.path, op.method, "inject", ...rest];
    // A path the system refuses to look at (too long, no permission) is a problem of its own.
    let unreadable: string | undefined;
    const stat = async (path: string) => {
      try {
        return await (options.stat ?? statFile)(path);
      } catch (error) {
        unreadable ??= `Cannot inspect ${JSON.stringify(path)}: ${(error as Error).message}`;
        return undefined;
      }
    };
    const wd = await stat(op.wd);
    if (unreadable) {
      report(key("wd"), unreadable);
      continue;
    }
    if (!wd?.isDirectory) {
      report(key("wd"), `${JSON.stringify(op.wd)} ${wd ? "is not a directory" : "does not exist"}`);
      continue;
    }
    const candidates = op.program.includes("/")
      ? [absolutePath(op.program, op.wd)]
      : searchPath.map((dir) => absolutePath(`${dir}/${op.program}`, op.wd));
    let found: string | undefined;
    let notExecutable: string | undefined;
    for (const candidate of candidates) {
      const info = await stat(candidate);
      if (!info?.isFile) continue;
      if (info.mode !== null && (info.mode & 0o111) === 0) {
        notExecutable ??= candidate;
        continue;
      }
      found = candidate;
      break;
    }
    if (found) {
      op.program = found;
    } else if (unreadable) {
      report(key("cmd"), unreadable);
    } else if (notExecutable) {
      report(
        key("cmd"),
        `Cannot run ${JSON.stringify(notExecutable)}: file is not executable ` +
          `(chmod +x it, or name its interpreter first, e.g. "sh ${op.program}")`,
      );
    } else if (op.program.includes("/")) {
      report(
        key("cmd"),
        `Cannot run ${JSON.stringify(candidates[0])}: no such file (relative programs ` +
          `resolve against wd)`,
      );
    } else {
      const inWd = await stat(absolutePath(op.program, op.wd));
      report(
        key("cmd"),
        `Cannot run ${JSON.stringify(op.program)}: not found in PATH` +
          (inWd?.isFile ? ` (to run the file in wd, write "./${op.program}")` : ""),
      );
    }
  }
}

async function statFile(path: string): Promise<FileInfo | undefined> {
  try {
    const info = await Deno.stat(path);
    return { isFile: info.isFile, isDirectory: info.isDirectory, mode: info.mode };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}
