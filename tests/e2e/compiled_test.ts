import assert from "node:assert/strict";
import { VERSION } from "../../lib/version.ts";
import { DENO, E2E, runUrocket, startUrocket } from "./_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** tools/compile.ts's exit code for "no Deno runtime for the target could be had". */
const NO_RUNTIME = 3;

/**
 * The binary under test: `UROCKET_BINARY` when set (the release workflow
 * tests what it ships), else one built now with `deno task compile`'s own
 * script into `dir`. A build that fails for want of Deno's runtime (no
 * internet here) is a skip with its reason; any other failure fails the test.
 */
async function obtainBinary(dir: string): Promise<{ path: string } | { skip: string }> {
  const given = Deno.env.get("UROCKET_BINARY");
  if (given) return { path: given };
  const output = `${dir}/urocket`;
  const built = await new Deno.Command(DENO, {
    args: [
      "run",
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
  const said = stderr.split("\n").filter((line) => line.startsWith("compile: ")).join("; ");
  if (built.code === NO_RUNTIME) return { skip: said.replace(/^compile: /, "") };
  assert.equal(built.code, 0, `tools/compile.ts failed (exit ${built.code}):\n${stderr}`);
  return { path: output };
}

Deno.test({
  name: "the compiled binary says urocket's version, checks a config and answers a request",
  ...E2E,
  // Building downloads Deno's runtime where the machine can.
  timeout: 300_000,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "urocket-compiled-" });
    try {
      const binary = await obtainBinary(dir);
      if ("skip" in binary) {
        await t.step({
          name: `skipped: no urocket binary can be built here: ${binary.skip}`,
          ignore: true,
          fn() {},
        });
        return;
      }
      const path = binary.path;

      // Plain Deno (a DENORT_BIN pointed at the deno CLI) answers "deno 2.9.6 …" here.
      const version = await runUrocket(["--version"], { binary: path });
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout.trim(), `urocket ${VERSION}`);

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
