/**
 * Builds the spawn helper `build/urocket-spawn` from the C files of `native/`
 * (`urocket_spawn.c` and the files beside it) with the system C compiler
 * (`$CC`, else `cc`), into one binary, static when the system has a static
 * libc. Skips the build when the binary is newer than every source file.
 * Never commit the result.
 *
 *   deno task build-helper              fails when there is no C compiler
 *   deno task build-helper --optional   says so on stderr and succeeds (for start and test)
 *
 * @module
 */

const REPO = new URL("../", import.meta.url).pathname;
const NATIVE = `${REPO}native`;
const TARGET = `${REPO}build/urocket-spawn`;

/** Compiler flag sets: static first (one file to ship), then dynamic. */
const ATTEMPTS = [
  ["-O2", "-static", "-s", "-Wall"],
  ["-O2", "-s", "-Wall"],
];

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).mtime?.getTime();
  } catch {
    return undefined;
  }
}

/** The helper's C files and headers, sorted (the files a build reads). */
async function sources(): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(NATIVE)) {
    if (entry.isFile && /\.[ch]$/.test(entry.name)) files.push(`${NATIVE}/${entry.name}`);
  }
  return files.sort();
}

async function main(optional: boolean): Promise<number> {
  const files = await sources();
  const built = await mtime(TARGET);
  const newest = Math.max(...await Promise.all(files.map(async (f) => await mtime(f) ?? Infinity)));
  if (built !== undefined && built >= newest) return 0;
  const units = files.filter((file) => file.endsWith(".c"));
  const cc = Deno.env.get("CC") || "cc";
  await Deno.mkdir(`${REPO}build`, { recursive: true });
  const errors: string[] = [];
  for (const flags of ATTEMPTS) {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command(cc, {
        args: [...flags, "-o", `${TARGET}.tmp`, ...units],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      const message = `build-helper: no C compiler (${cc}: ${(error as Error).message}); ` +
        "urocket will spawn with detached: true (slower)";
      console.error(message);
      return optional ? 0 : 1;
    }
    if (output.success) {
      // rename() replaces the file atomically, so a running urocket never execs half a helper.
      await Deno.rename(`${TARGET}.tmp`, TARGET);
      console.error(`build-helper: built ${TARGET} (${cc} ${flags.join(" ")})`);
      return 0;
    }
    errors.push(new TextDecoder().decode(output.stderr));
  }
  console.error(`build-helper: ${cc} could not build ${NATIVE}:\n${errors.join("\n")}`);
  return optional ? 0 : 1;
}

Deno.exit(await main(Deno.args.includes("--optional")));
