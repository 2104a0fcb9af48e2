/**
 * The Docker build contexts as a builder sees them: the files `.dockerignore`
 * lets through (computed with @balena/dockerignore, a port of Docker's own
 * matcher), every `COPY`/`ADD` source of both Dockerfiles among them, and
 * the spawn helper built from a copy of that context alone. The image build
 * itself needs a Docker engine; everything before it is checked here.
 */

import assert from "node:assert/strict";
import dockerignore from "@balena/dockerignore";
import denoJson from "../../../deno.json" with { type: "json" };
import { missing, skipWhen } from "../../_skip.ts";

// A CommonJS package whose types declare an ES default export: the default import is the factory.
const ignore = dockerignore as unknown as typeof dockerignore.default;

const REPO = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");

/** A Dockerfile and the folder its documented `docker build` sends as the context. */
const IMAGES = [
  { dockerfile: `${REPO}/Dockerfile`, context: REPO },
  { dockerfile: `${REPO}/examples/container/Dockerfile`, context: `${REPO}/examples/container` },
] as const;

/** Every file under `root`, as paths relative to it (`a/b.ts`). */
async function walk(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${prefix}`)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) out.push(...await walk(root, `${path}/`));
    else out.push(path);
  }
  return out;
}

/** The files of `root` a builder sends: those its `.dockerignore` (if any) lets through. */
async function buildContext(root: string): Promise<string[]> {
  const files = await walk(root);
  let rules = "";
  try {
    rules = await Deno.readTextFile(`${root}/.dockerignore`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return ignore().add(rules).filter(files).sort();
}

/** Each `COPY`/`ADD` source of a Dockerfile, except copies from another stage or image. */
function copySources(dockerfile: string): string[] {
  const instructions = dockerfile.replace(/\\\n/g, " ").split("\n").map((line) => line.trim());
  const sources: string[] = [];
  for (const line of instructions) {
    const match = /^(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!match) continue;
    let rest = match[2];
    if (/--from=/.test(rest)) continue;
    rest = rest.replace(/--[a-z-]+=\S+\s+/g, "");
    const words: string[] = rest.startsWith("[") ? JSON.parse(rest) : rest.split(/\s+/);
    sources.push(...words.slice(0, -1));
  }
  return sources;
}

/** Whether `source` (a file or a folder, `./` and trailing `/` allowed) is in `context`. */
function inContext(source: string, context: string[]): boolean {
  const path = source.replace(/^\.\//, "").replace(/\/$/, "");
  return context.includes(path) || context.some((file) => file.startsWith(`${path}/`));
}

Deno.test({
  name: "@balena/dockerignore matches the examples of Docker's .dockerignore reference",
  fn() {
    // The examples of https://docs.docker.com/build/concepts/context/#dockerignore-files.
    const cases: [string[], string, boolean][] = [
      [["*/temp*"], "somedir/temporary.txt", true],
      [["*/temp*"], "somedir/temp", true],
      [["*/temp*"], "temporary.txt", false],
      [["*/*/temp*"], "somedir/subdir/temporary.txt", true],
      [["temp?"], "tempa", true],
      [["temp?"], "temp", false],
      [["**/*.go"], "a/b/c.go", true],
      [["*.md", "!README.md"], "README.md", false],
      [["*.md", "!README.md"], "CHANGES.md", true],
      [["*.md", "!README*.md", "README-secret.md"], "README-secret.md", true],
      [["*.md", "!README*.md", "README-secret.md"], "README-public.md", false],
      [["*.md", "README-secret.md", "!README*.md"], "README-secret.md", false],
      // `*` matches names at the root only; a folder it matches takes its files with it, and a
      // later exception brings a folder's files back.
      [["*"], "lib/config/load.ts", true],
      [["*", "!lib/"], "lib/config/load.ts", false],
      [["# a comment", "*", "!lib/"], "# a comment", true],
    ];
    for (const [rules, path, ignored] of cases) {
      assert.equal(ignore().add(rules).ignores(path), ignored, `${rules.join(" ")} on ${path}`);
    }
  },
});

for (const { dockerfile, context } of IMAGES) {
  const name = dockerfile.slice(REPO.length + 1);
  Deno.test({
    name: `the build context of ${name} holds every COPY and ADD source`,
    async fn() {
      const files = await buildContext(context);
      const sources = copySources(await Deno.readTextFile(dockerfile));
      assert.ok(sources.length > 0, `${name} copies nothing from its context`);
      for (const source of sources) {
        assert.ok(inContext(source, files), `${name} copies ${source}, not in its build context`);
      }
    },
  });
}

Deno.test({
  name: "the root build context holds each source file the image build reads, and no build output",
  async fn() {
    const files = await buildContext(REPO);
    for (const needed of ["deno.json", "deno.lock", "main.ts", "native/urocket_spawn.c"]) {
      assert.ok(files.includes(needed), `${needed} is not in the build context`);
    }
    for (const folder of ["lib", "tools"]) {
      const all = (await walk(REPO, `${folder}/`)).sort();
      assert.deepEqual(files.filter((f) => f.startsWith(`${folder}/`)), all, folder);
    }
    // The host's helper and binaries are built for the host: the image builds its own.
    for (const file of files) {
      assert.doesNotMatch(file, /^(build|dist|\.git|tests|examples)(\/|$)/, `${file} is sent`);
    }
  },
});

Deno.test({
  ...skipWhen(
    await missing(Deno.env.get("CC") || "cc", " (the image's build stage installs gcc)"),
    "the spawn helper builds, and urocket runs, from a copy of the root build context alone",
  ),
  async fn() {
    const files = await buildContext(REPO);
    const copy = await Deno.makeTempDir({ prefix: "urocket-context-" });
    try {
      for (const file of files) {
        const target = `${copy}/${file}`;
        await Deno.mkdir(target.replace(/\/[^/]*$/, ""), { recursive: true });
        await Deno.copyFile(`${REPO}/${file}`, target);
      }
      // What the Dockerfile's `RUN deno task compile` does first: build the helper.
      const build = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "build-helper"],
        cwd: copy,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(build.success, new TextDecoder().decode(build.stderr));
      const helper = await new Deno.Command(`${copy}/build/urocket-spawn`, { args: ["--version"] })
        .output();
      assert.match(new TextDecoder().decode(helper.stdout), /^urocket-spawn \d+\n$/);
      // Then compile, which loads main.ts's whole module graph against the lockfile.
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--frozen", "-P", "main.ts", "--version"],
        cwd: copy,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      assert.equal(new TextDecoder().decode(run.stdout), `urocket ${denoJson.version}\n`);
    } finally {
      await Deno.remove(copy, { recursive: true });
    }
  },
});

Deno.test({
  name: "examples/container builds on the image the root Dockerfile's documented command tags",
  async fn() {
    const root = await Deno.readTextFile(`${REPO}/Dockerfile`);
    const example = await Deno.readTextFile(`${REPO}/examples/container/Dockerfile`);
    const tag = /docker build -t (\S+) \.$/m.exec(root)?.[1];
    assert.equal(tag, `urocket:${denoJson.version}`, "the root Dockerfile documents no tag");
    // The example's base is a build argument whose default is that tag.
    const arg = /^ARG UROCKET_IMAGE=(\S+)$/m.exec(example)?.[1];
    assert.equal(arg, tag);
    assert.match(example, /^FROM \$\{UROCKET_IMAGE\} AS urocket$/m);
    assert.match(example, /docker build -t urocket:\S+ \.\.\/\.\.\s/);
    assert.match(example, /--build-arg UROCKET_IMAGE=/);
  },
});
