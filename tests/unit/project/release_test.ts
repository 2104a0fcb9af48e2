/**
 * The release workflow stays in step with the rest of the repository: the
 * Deno version CI pins, the compile task's targets, the checksums.
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { RELEASE_TARGETS } from "../../../tools/compile.ts";

const REPO = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");

// deno-lint-ignore no-explicit-any
type Workflow = Record<string, any>;

async function workflow(): Promise<Workflow> {
  return parse(await Deno.readTextFile(`${REPO}/.github/workflows/release.yml`));
}

/** Every `run:` script of a job, joined. */
function scripts(job: Workflow): string {
  return job.steps.map((step: Workflow) => step.run ?? "").join("\n");
}

Deno.test({
  name: "the release workflow installs the Deno version .ci/run pins, on version tags",
  async fn() {
    const flow = await workflow();
    const pinned = (await Deno.readTextFile(`${REPO}/.ci/run`)).match(/^DENO_VERSION=(.+)$/m)?.[1];
    assert.ok(pinned, ".ci/run pins no Deno version");
    assert.equal(flow.env.DENO_VERSION, pinned);
    assert.deepEqual(flow.on.push.tags, ["v*"]);
    for (const [name, job] of Object.entries<Workflow>(flow.jobs)) {
      const setup = job.steps.find((s: Workflow) =>
        String(s.uses).startsWith("denoland/setup-deno")
      );
      if (setup) assert.equal(setup.with["deno-version"], "${{ env.DENO_VERSION }}", name);
    }
  },
});

Deno.test({
  name: "the release workflow tests, then builds and tests each target on its own architecture",
  async fn() {
    const flow = await workflow();
    assert.match(scripts(flow.jobs.test), /\.ci\/run/);
    const build = flow.jobs.build;
    assert.equal(build.needs, "test");
    const targets = build.strategy.matrix.include.map((m: Workflow) => m.target);
    assert.deepEqual([...targets].sort(), [...RELEASE_TARGETS].sort());
    const arm = build.strategy.matrix.include.find((m: Workflow) => m.target.startsWith("aarch64"));
    assert.match(arm.runner, /arm/, "the aarch64 binary is built on an arm64 runner");
    assert.match(
      scripts(build),
      /deno task compile --output "dist\/urocket-\$\{\{ matrix\.target \}\}"/,
    );
    assert.match(scripts(build), /UROCKET_BINARY=.*compiled_test\.ts/s);
  },
});

Deno.test({
  name: "the release workflow attaches the binaries with their SHA-256 checksums",
  async fn() {
    const flow = await workflow();
    const release = flow.jobs.release;
    assert.equal(release.needs, "build");
    assert.equal(release.permissions.contents, "write");
    const script = scripts(release);
    assert.match(script, /sha256sum urocket-\* \| tee SHA256SUMS/);
    assert.match(script, /gh release create[^\n]*\n?[^\n]*dist\/urocket-\* dist\/SHA256SUMS/);
    assert.match(script, /gh release upload[^\n]*\n?[^\n]*dist\/urocket-\* dist\/SHA256SUMS/);
  },
});
