/**
 * Resource stats: every process_exit line says what the process group used
 * (user and system CPU, peak memory) and where the figures come from, and
 * the metrics' CPU and memory histograms are filled from the same figures.
 */

import assert from "node:assert/strict";
import { E2E, type LogLine, scrapeMetrics, withUrocket } from "./_harness.ts";

const CONFIG = `admin: 127.0.0.1:0
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/burn.sh" }
  /other:
    post:
      inject: { cmd: ["{{deno}}", "run", "-A", "{{fixtures}}/allocate.ts", "64"] }
`;

/** The process_exit line of the request answered with `answer`. */
function exitOf(logs: LogLine[], id: string | null): LogLine {
  const line = logs.find((l) => l.msg === "process_exit" && l.req_id === id);
  assert.ok(line, `no process_exit line for ${id}`);
  return line;
}

Deno.test({
  name:
    "process_exit reports wait4's CPU and peak memory for a process that burns CPU and one that allocates",
  ...E2E,
  async fn() {
    await withUrocket({ config: CONFIG }, async (uro) => {
      const spawner = await uro.waitForLog((l) => l.msg === "spawner");
      assert.equal(spawner.mode, "spawn_server");
      assert.equal(spawner.stats_source, "wait4", "the source is said once at start");

      const burned = await uro.call("/run", { method: "POST" });
      assert.equal(burned.status, 200, burned.text);
      const allocated = await uro.call("/other", { method: "POST" });
      assert.equal(allocated.status, 200, allocated.text);
      for (const answer of [burned, allocated]) {
        const id = answer.headers.get("x-request-id");
        await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      }

      // awk is the shell's child: wait4 counts it because the shell waited for it.
      const burn = exitOf(uro.logs, burned.headers.get("x-request-id"));
      assert.equal(burn.stats_source, "wait4");
      const cpu = Number(burn.cpu_user_ms) + Number(burn.cpu_sys_ms);
      assert.ok(
        Number(burn.cpu_user_ms) >= 50,
        `cpu_user_ms ${burn.cpu_user_ms} is not well above 0`,
      );
      assert.ok(Number(burn.cpu_sys_ms) >= 0);
      // Two cores at most: the CPU time cannot exceed twice the lifetime (plus rounding).
      assert.ok(
        cpu <= 2 * Number(burn.lifetime_ms) + 5,
        `${cpu} ms of CPU in ${burn.lifetime_ms} ms`,
      );
      assert.ok(Number(burn.max_rss_kb) > 0);

      const alloc = exitOf(uro.logs, allocated.headers.get("x-request-id"));
      assert.equal(alloc.stats_source, "wait4");
      assert.ok(
        Number(alloc.max_rss_kb) > 64 * 1024,
        `max_rss_kb ${alloc.max_rss_kb} is not above the 64 MiB the process filled`,
      );
      assert.ok(Number(alloc.max_rss_kb) < 1024 * 1024, "and not absurdly large");
      assert.ok(Number(burn.max_rss_kb) < Number(alloc.max_rss_kb));

      const metrics = await scrapeMetrics(String(uro.logs.find((l) => l.msg === "start")!.admin));
      assert.equal(metrics.get('urocket_process_cpu_seconds_count{operation="run"}'), 1);
      assert.equal(
        metrics.get('urocket_process_cpu_seconds_sum{operation="run"}'),
        cpu / 1000,
        "the histogram holds the logged figure",
      );
      assert.equal(metrics.get('urocket_process_peak_memory_bytes_count{operation="other"}'), 1);
      assert.equal(
        metrics.get('urocket_process_peak_memory_bytes_sum{operation="other"}'),
        Number(alloc.max_rss_kb) * 1024,
      );
    });
  },
});

Deno.test({
  name:
    "with the detached fallback, process_exit says stats_source none and the histograms stay empty",
  ...E2E,
  async fn() {
    await withUrocket({ config: CONFIG, env: { UROCKET_SPAWN_HELPER: "off" } }, async (uro) => {
      const spawner = await uro.waitForLog((l) => l.msg === "spawner");
      assert.equal(spawner.mode, "detached");
      assert.equal(spawner.stats_source, "none");
      const answer = await uro.call("/run", { method: "POST" });
      assert.equal(answer.status, 200);
      const id = answer.headers.get("x-request-id");
      const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
      assert.equal(exit.stats_source, "none");
      assert.equal(exit.cpu_user_ms, undefined);
      assert.equal(exit.max_rss_kb, undefined);
      const metrics = await scrapeMetrics(String(uro.logs.find((l) => l.msg === "start")!.admin));
      assert.equal(metrics.get('urocket_process_cpu_seconds_count{operation="run"}'), undefined);
      assert.equal(metrics.get('urocket_process_lifetime_seconds_count{operation="run"}'), 1);
    });
  },
});
