/**
 * The console's live CPU time and RSS where there is no `cat` (a distroless
 * image): urocket runs in a mount namespace of its own whose `cat` is an
 * empty file that cannot be executed. Through the spawn server the figures
 * are there; with the fallback spawner, which reads them with `cat`, they
 * are not — which shows that `cat` is really gone.
 */

import assert from "node:assert/strict";
import { skipWhen } from "../_skip.ts";
import { E2E, type LogLine, makeFolder, startUrocket, type Urocket } from "./_harness.ts";

const BUILT = new URL("../../build/urocket-spawn", import.meta.url).pathname;
/** `deno task test` builds the helper first; without a C compiler there is none. */
const built = await Deno.stat(BUILT).then(() => true, () => false);
const NOT_BUILT = built ? undefined : `the spawn helper is not built (no C compiler): ${BUILT}`;

/** A mount namespace (needs root) in which every `cat` is the file `$0`; urocket follows. */
const WITHOUT_CAT = `for cat in /usr/bin/cat /bin/cat; do
  [ -L "$cat" ] || [ ! -e "$cat" ] || mount --bind "$0" "$cat" || exit 1
done
exec "$@"`;

async function noMountNamespace(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("unshare", {
      args: ["--mount", "--propagation", "private", "true"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    return `unshare --mount fails (root is needed): ${new TextDecoder().decode(out.stderr).trim()}`;
  } catch (error) {
    return `unshare cannot run: ${(error as Error).message}`;
  }
}
const NO_NAMESPACE = await noMountNamespace();

const CONFIG = `admin: 127.0.0.1:0
paths:
  /run:
    post:
      inject: { cmd: "{{dir}}/burn.sh" }
`;

/** Burns some CPU, then says it is ready and waits for the test (as the hold.sh fixture). */
const BURN = `#!/bin/sh
i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done
echo "ready $$" >&2
exec sleep 1000
`;

/** urocket without `cat`, spawning as `env` says; `test` gets it and its admin address. */
async function withoutCat(
  env: Record<string, string>,
  test: (uro: Urocket, admin: string) => Promise<void>,
): Promise<void> {
  const folder = await makeFolder("urocket-nocat-", { cat: { text: "", mode: 0o644 } });
  try {
    const uro = await startUrocket({
      config: CONFIG,
      files: { "burn.sh": { text: BURN, mode: 0o755 } },
      env,
      wrap: [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        WITHOUT_CAT,
        `${folder}/cat`,
      ],
    });
    try {
      const start = await uro.waitForLog((l: LogLine) => l.msg === "start");
      await test(uro, `http://${start.admin}`);
    } finally {
      await uro.stop();
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/** The in-flight row of a held request, as `/api/inflight` shows it. */
async function heldRow(uro: Urocket, admin: string) {
  const held = await uro.hold("/run", { method: "POST", body: "{}" });
  const response = await fetch(`${admin}/api/inflight`);
  assert.equal(response.status, 200);
  const rows: { reqId: string; pid: number; cpuMs: number | null; rssKb: number | null }[] =
    await response.json();
  const row = rows.find((r) => r.reqId === held.reqId);
  assert.ok(row, `the request ${held.reqId} is in flight`);
  assert.equal(row.pid, held.pid);
  await held.reply({ body: "{}" });
  assert.equal((await held.answer).status, 200);
  await held.release();
  return row;
}

Deno.test({
  ...skipWhen(
    NOT_BUILT ?? NO_NAMESPACE,
    "the console's /api/inflight shows live CPU and RSS read by the spawn server where there is no cat",
  ),
  ...E2E,
  async fn() {
    await withoutCat({}, async (uro, admin) => {
      const status = await (await fetch(`${admin}/api/status`)).json();
      assert.equal(status.spawnMode, "spawn_server");
      const row = await heldRow(uro, admin);
      assert.ok(row.cpuMs !== null && row.cpuMs > 0, `live CPU: ${row.cpuMs}`);
      assert.ok(row.rssKb !== null && row.rssKb > 0, `live RSS: ${row.rssKb}`);
    });
  },
});

Deno.test({
  ...skipWhen(
    NO_NAMESPACE,
    "the console's /api/inflight has no live figures with the fallback spawner where there is no cat",
  ),
  ...E2E,
  async fn() {
    await withoutCat({ UROCKET_SPAWN_HELPER: "off" }, async (uro, admin) => {
      const status = await (await fetch(`${admin}/api/status`)).json();
      assert.equal(status.spawnMode, "detached");
      const row = await heldRow(uro, admin);
      assert.equal(row.cpuMs, null);
      assert.equal(row.rssKb, null);
    });
  },
});
