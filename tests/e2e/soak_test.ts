import assert from "node:assert/strict";
import { E2E } from "./_harness.ts";

const REPO = new URL("../../", import.meta.url).pathname;

Deno.test({
  name: "a short soak (1,000 requests of the whole mix, after two warm-ups, then 1,000 beside " +
    "hostile clients, then 1,000 alongside attackers) leaks nothing",
  ...E2E,
  // Five phases of 1,000 requests take about a minute; leave room for a busy machine.
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
        "the hostile phase: every request got its expected status: 1000/1000",
        "the hostile phase: open file descriptors back to their level once its clients left",
        "the hostile phase: resident memory within its bound",
        "attack: the mix got its expected answers alongside the attackers: 1000/1000",
        "attack: tiny chunks got only the answers they may",
        "attack: stalled uploads got only the answers they may",
        "attack: peak resident memory within twice max-body-memory above the warm-ups",
        "attack: open file descriptors back to their level once the attackers left",
      ]
    ) {
      assert.ok(report.includes(`ok   ${check}`), `${check}\n${report}`);
    }
  },
});
