/**
 * A copy of the repository as a fresh clone has it, for tests that follow
 * the docs' steps: those write into the folder they run in (a walk-through's
 * own files, the spawn helper's build), which must be a temporary one.
 *
 * @module
 */

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** What a clone does not have (see .gitignore), and what no step reads. */
const LEFT_OUT = new Set([".git", "dist", ".bench", "build"]);

/**
 * Copies the repository's files into `dir`. The spawn helper already built
 * (build/) is copied last, so that it is newer than its copied source and
 * `deno task` need not build it again.
 */
export async function copyCheckout(dir: string): Promise<void> {
  await copyTree(REPO, dir, true);
  try {
    await Deno.mkdir(`${dir}/build`);
    await Deno.copyFile(`${REPO}/build/urocket-spawn`, `${dir}/build/urocket-spawn`);
  } catch (error) {
    // Without a built helper, the steps build it (or run without it), as in a fresh clone.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function copyTree(from: string, to: string, top: boolean): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (top && LEFT_OUT.has(entry.name)) continue;
    if (entry.name.endsWith(".log")) continue;
    const [source, target] = [`${from}/${entry.name}`, `${to}/${entry.name}`];
    if (entry.isDirectory) {
      await copyTree(source, target, false);
    } else if (entry.isFile) {
      await Deno.copyFile(source, target); // with its mode: handlers stay executable
    }
  }
}
