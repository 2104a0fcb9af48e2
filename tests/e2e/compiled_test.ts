import assert from "node:assert/strict";
import { VERSION } from "../../lib/common/version.ts";
import { skipWhen } from "../_skip.ts";
import { DENO, E2E, runUrocket, startUrocket } from "./_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Why no binary can be had, or undefined when one can: `UROCKET_BINARY`
 * names one (the release workflow tests what it ships), or `deno compile`
 * can get Deno's runtime for this machine (denort) — from `DENORT_BIN`, from
 * its cache (`DENO_DIR/dl`), or by downloading it.
 */
async function noBinary(): Promise<string | undefined> {
  if (Deno.env.get("UROCKET_BINARY") || Deno.env.get("DENORT_BIN")) return undefined;
  const path = `release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  const info = await new Deno.Command(DENO, { args: ["info", "--json"], stderr: "null" }).output();
  const denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir;
  try {
    if ((await Deno.stat(`${denoDir}/dl/${path}`)).isFile) return undefined;
  } catch {
    // Not cached: deno compile would download it.
  }
  const url = `https://dl.deno.land/${path}`;
  try {
    const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(10_000) });
    await response.body?.cancel();
    return response.ok
      ? undefined
      : `deno compile cannot download its runtime: ${url} answers ${response.status}`;
  } catch (error) {
    return `deno compile cannot download its runtime from ${url}: ${(error as Error).message}`;
  }
}

/**
 * The binary under test: `UROCKET_BINARY` when set, else one built now with
 * `deno task compile`'s own script into `dir`.
 */
async function obtainBinary(dir: string): Promise<string> {
  const given = Deno.env.get("UROCKET_BINARY");
  if (given) return given;
  const output = `${dir}/urocket`;
  const built = await new Deno.Command(DENO, {
    args: [
      "run",
      "-q",
      "-P",
      "--config",
      `${REPO}/deno.json`,
      `${REPO}/tools/compile.ts`,
      "--output",
      output,
    ],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(built.stderr);
  assert.equal(built.code, 0, `tools/compile.ts failed (exit ${built.code}):\n${stderr}`);
  return output;
}

Deno.test({
  ...skipWhen(
    await noBinary(),
    "the compiled binary says urocket's version, checks a config and answers a request",
  ),
  ...E2E,
  // Building downloads Deno's runtime.
  timeout: 300_000,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "urocket-compiled-" });
    try {
      const path = await obtainBinary(dir);

      // Plain Deno (a DENORT_BIN pointed at the deno CLI) answers "deno 2.9.6 …" here.
      const version = await runUrocket(["--version"], { binary: path });
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout.trim(), `urocket ${VERSION}`);
      // Nothing of Deno's own, such as its warning about permission sets, reaches the user.
      assert.equal(version.stderr, "");

      // The handler is the binary itself: `urocket reply` sends its stdin (the payload) back.
      const config = `admin: 127.0.0.1:0
paths:
  /run:
    post:
      inject:
        cmd: [${JSON.stringify(path)}, reply, --status, "201", --content-type, application/json]
`;
      const uro = await startUrocket({ binary: path, config });
      let stopped = false;
      try {
        const answer = await uro.call("/run", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ compiled: true, version: VERSION }),
        });
        assert.equal(answer.status, 201, answer.text);
        assert.deepEqual(answer.json(), { compiled: true, version: VERSION });

        const start = await uro.waitForLog((l) => l.msg === "start");
        assert.equal(start.version, VERSION);
        // A binary built with its helper spawns through the embedded spawn server.
        if (await hasBuiltHelper()) {
          const spawner = await uro.waitForLog((l) => l.msg === "spawner");
          assert.equal(spawner.mode, "spawn_server", JSON.stringify(spawner));
        }
        const health = await runUrocket(["health", "--admin", String(start.admin)], {
          binary: path,
        });
        assert.equal(health.code, 0, health.stderr);

        const checked = await runUrocket(["check", "-c", `${uro.dir}/urocket-service.yaml`], {
          binary: path,
        });
        assert.equal(checked.code, 0, checked.stderr);
        assert.match(checked.stdout, /1 operation wired/);

        stopped = true;
        const { code } = await uro.stop();
        assert.equal(code, 0);
      } finally {
        if (!stopped) await uro.stop({ check: false });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Whether this checkout has a built spawn helper, which the compile task embeds. */
async function hasBuiltHelper(): Promise<boolean> {
  try {
    return (await Deno.stat(new URL("../../build/urocket-spawn", import.meta.url))).isFile;
  } catch {
    return false;
  }
}
