import assert from "node:assert/strict";
import { compileArgs, INCLUDES, missingRuntime, notUrocket } from "../../tools/compile.ts";
import { VERSION } from "../../lib/version.ts";

/** What `deno compile` 2.9.6 printed on a machine without internet access. */
const NO_INTERNET = `Check main.ts
Compile main.ts to dist/urocket
Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
error: Writing deno compile executable to temporary file 'dist/urocket.tmp-9b2b80bdacdc1ccc'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
`;

Deno.test({
  name: "missingRuntime() names why deno compile could not get denort",
  fn() {
    assert.equal(
      missingRuntime(NO_INTERNET),
      "error sending request for url (https://dl.deno.land/release/v2.9.6/" +
        "denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to " +
        "lookup address information: Name or service not known",
    );
  },
});

Deno.test({
  name: "missingRuntime() leaves other build failures alone, so that they fail the build",
  fn() {
    assert.equal(
      missingRuntime("error: TS2322 [ERROR]: Type 'string' is not assignable to type 'number'."),
      undefined,
    );
    assert.equal(missingRuntime(""), undefined);
  },
});

/** A stand-in executable printing `line` for `--version`. */
async function fakeBinary(line: string): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "urocket-fake-" });
  const path = `${dir}/urocket`;
  await Deno.writeTextFile(path, `#!/bin/sh\necho '${line}'\n`);
  await Deno.chmod(path, 0o755);
  return { path, dir };
}

Deno.test({
  name: "notUrocket() accepts a binary answering urocket's own version",
  async fn() {
    const { path, dir } = await fakeBinary(`urocket ${VERSION}`);
    try {
      assert.equal(await notUrocket(path), undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "notUrocket() refuses plain Deno, as DENORT_BIN pointed at the deno CLI makes",
  async fn() {
    const { path, dir } = await fakeBinary(
      "deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)",
    );
    try {
      const problem = await notUrocket(path);
      assert.match(problem ?? "", /printed "deno 2\.9\.6 .*expected "urocket .*plain Deno/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "notUrocket() refuses a binary that cannot run",
  async fn() {
    assert.match(await notUrocket("/nonexistent/urocket") ?? "", /cannot run/);
  },
});

Deno.test({
  name: "compileArgs() builds main.ts for the target with the permission set and V8 flags",
  fn() {
    const args = compileArgs({ target: "aarch64-unknown-linux-gnu", output: "/out/urocket" });
    assert.deepEqual(args.slice(0, 2), ["compile", "-P"]);
    assert.equal(args[args.indexOf("--target") + 1], "aarch64-unknown-linux-gnu");
    assert.equal(args[args.indexOf("--output") + 1], "/out/urocket");
    assert.ok(args.includes("--v8-flags=--max-semi-space-size=16"));
    assert.match(args.at(-1)!, /\/main\.ts$/);
  },
});

Deno.test({
  name: "compileArgs() embeds the spawn helper only in a binary for this machine's target",
  fn() {
    const here = compileArgs({ target: Deno.build.target, output: "/out/urocket" });
    const includes = here.flatMap((a, i) => a === "--include" ? [here[i + 1]] : []);
    assert.deepEqual(includes.map((path) => path.replace(/^.*\/build\//, "build/")), INCLUDES);
    assert.ok(INCLUDES.includes("build/urocket-spawn"));
    const other = Deno.build.target.startsWith("x86_64")
      ? "aarch64-unknown-linux-gnu"
      : "x86_64-unknown-linux-gnu";
    assert.ok(!compileArgs({ target: other, output: "/out/u" }).includes("--include"));
  },
});
