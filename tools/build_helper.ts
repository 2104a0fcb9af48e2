/**
 * Builds the spawn helper `build/urocket-spawn` from `native/urocket_spawn.c`
 * with the system C compiler (`$CC`, else `cc`), static when the system has
 * a static libc. Skips the build when the binary is newer than its source.
 * Never commit the result.
 *
 *   deno task build-helper              fails when there is no C compiler
 *   deno task build-helper --optional   says so on stderr and succeeds (for start and test)
 *
 * @module
 */

const REPO = new URL("../", import.meta.url).pathname;
const SOURCE = `${REPO}native/urocket_spawn.c`;
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

async function main(optional: boolean): Promise<number> {
  const built = await mtime(TARGET);
  const source = await mtime(SOURCE);
  if (built !== undefined && source !== undefined && built >= source) return 0;
  const cc = Deno.env.get("CC") || "cc";
  await Deno.mkdir(`${REPO}build`, { recursive: true });
  const errors: string[] = [];
  for (const flags of ATTEMPTS) {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command(cc, {
        args: [...flags, "-o", `${TARGET}.tmp`, SOURCE],
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
  console.error(`build-helper: ${cc} could not build ${SOURCE}:\n${errors.join("\n")}`);
  return optional ? 0 : 1;
}

Deno.exit(await main(Deno.args.includes("--optional")));
