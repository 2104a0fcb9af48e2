import assert from "node:assert/strict";
import { E2E } from "./_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname;

Deno.test({
  name:
    "a short soak (1,000 requests of the whole mix, after two warm-ups, then alongside attackers) leaks nothing",
  ...E2E,
  // Four phases of 1,000 requests take about a minute here; leave room for a busy machine.
  timeout: 240_000,
  async fn() {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO}bench/soak.ts`, "--requests", "1000", "--concurrency", "32"],
      cwd: REPO,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const report = new TextDecoder().decode(stdout);
    assert.equal(code, 0, `soak failed:\n${report}\n${new TextDecoder().decode(stderr)}`);
    for (
      const check of [
        "every request got its expected status: 3000/3000, warm-ups included",
        "no process spawned by urocket is alive: none",
        "open file descriptors back to their level after the second warm-up",
        "nothing pending: in_flight 0, processes 0 at shutdown",
        "resident memory growth within its bound",
        "hostile: the mix got its expected answers alongside the attackers: 1000/1000",
        "hostile: tiny chunks got only the answers they may",
        "hostile: stalled uploads got only the answers they may",
        "hostile: peak resident memory within max-body-memory above the warm-ups",
        "hostile: open file descriptors back to their level once the attackers left",
      ]
    ) {
      assert.ok(report.includes(`ok   ${check}`), `${check}\n${report}`);
    }
  },
});
