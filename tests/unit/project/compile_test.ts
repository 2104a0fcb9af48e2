import assert from "node:assert/strict";
import {
  ASSETS,
  compileArgs,
  docsExcludes,
  INCLUDES,
  missingRuntime,
  notUrocket,
} from "../../../tools/compile.ts";
import { VERSION } from "../../../lib/common/version.ts";

const REPO = new URL("../../../", import.meta.url).pathname;

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
    assert.deepEqual(args.slice(0, 3), ["compile", "-q", "-P"]);
    assert.equal(args[args.indexOf("--target") + 1], "aarch64-unknown-linux-gnu");
    assert.equal(args[args.indexOf("--output") + 1], "/out/urocket");
    assert.ok(args.includes("--v8-flags=--max-semi-space-size=16,--expose-gc"));
    assert.match(args.at(-1)!, /\/main\.ts$/);
  },
});

Deno.test({
  name: "compileArgs() embeds the spawn helper only in a binary for this machine's target",
  fn() {
    const here = compileArgs({ target: Deno.build.target, output: "/out/urocket" });
    const includes = (args: string[]) =>
      args.flatMap((a, i) => a === "--include" ? [args[i + 1].slice(REPO.length)] : []);
    assert.deepEqual(includes(here), [...ASSETS, ...INCLUDES]);
    assert.ok(INCLUDES.includes("build/urocket-spawn"));
    const other = Deno.build.target.startsWith("x86_64")
      ? "aarch64-unknown-linux-gnu"
      : "x86_64-unknown-linux-gnu";
    assert.deepEqual(includes(compileArgs({ target: other, output: "/out/u" })), ASSETS);
  },
});

Deno.test({
  name: "compileArgs() embeds every module urocket runs as a Worker in every binary",
  async fn() {
    const workers: string[] = [];
    const walk = async (dir: string) => {
      for await (const entry of Deno.readDir(`${REPO}${dir}`)) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory) await walk(path);
        else if (path.endsWith(".ts")) {
          const text = await Deno.readTextFile(`${REPO}${path}`);
          for (const [, module] of text.matchAll(/new Worker\(new URL\("\.\/([^"]+)"/g)) {
            workers.push(`${dir}/${module}`);
          }
        }
      }
    };
    await walk("lib");
    assert.ok(workers.length > 0, "no Worker found under lib/");
    for (const module of workers) assert.ok(ASSETS.includes(module), `${module} is not embedded`);
  },
});

Deno.test({
  name: "compileArgs() embeds the console's files in every binary, and they are the ones it serves",
  async fn() {
    assert.ok(ASSETS.includes("lib/console/static"));
    for (const name of ["index.html", "console.js", "console.css"]) {
      assert.ok((await Deno.stat(`${REPO}lib/console/static/${name}`)).isFile, name);
    }
  },
});

Deno.test({
  name: "docsExcludes() leaves out swagger-ui-dist's unused files but keeps what the page loads",
  async fn() {
    const excluded = await docsExcludes();
    const names = excluded.map((path) => path.slice(path.lastIndexOf("/") + 1));
    for (const kept of ["swagger-ui-bundle.js", "swagger-ui.css", "absolute-path.js", "LICENSE"]) {
      assert.ok(!names.includes(kept), `${kept} is embedded`);
    }
    assert.ok(names.includes("swagger-ui-bundle.js.map"), names.join(", "));
    const args = compileArgs({ target: Deno.build.target, output: "/out/u", exclude: excluded });
    assert.equal(args.filter((a) => a === "--exclude").length, excluded.length);
  },
});
