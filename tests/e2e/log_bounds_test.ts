/**
 * The log's bounds: a log reader that stops reading costs urocket a bounded
 * amount of memory (lines are dropped and counted, urocket never blocks),
 * and one process cannot flood the log (`log-limit`).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  call,
  E2E,
  launchUrocket,
  makeFolder,
  scrapeMetrics,
  startUrocket,
  TEST_OPENAPI,
} from "./_harness.ts";
import { freePort, Inspector, inspectorWrap, type Memory } from "./_inspector.ts";

/** Sends `count` requests, `concurrency` at a time, each with an access line of about 4 KiB. */
async function requestsWithLongLines(url: string, count: number, concurrency = 8) {
  const path = `/${"x".repeat(4000)}`;
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < count) assert.equal((await call(`${url}${path}`)).status, 404);
  }));
}

Deno.test({
  name:
    "urocket drops and counts log lines, with bounded memory, when its log reader stops reading",
  ...E2E,
  // 11,000 requests: about 10 s, several times that on a machine whose CPU is taken.
  timeout: 180_000,
  async fn() {
    const dir = await makeFolder("urocket-e2e-", {
      "openapi.yaml": TEST_OPENAPI,
      "urocket-service.yaml": "listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\n" +
        "socket: {{dir}}/u.sock\nshutdown-delay: 0s\n" +
        'paths:\n  /run:\n    post:\n      inject: { cmd: "{{fixtures}}/reply.sh" }\n',
    });
    const port = freePort();
    const child = launchUrocket({ dir, wrap: inspectorWrap(port), log: "piped" });
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.getReader();
    let inspector: Inspector | undefined;
    try {
      const decoder = new TextDecoder();
      let text = "";
      while (!text.includes('"msg":"start"')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`urocket did not start: ${await stderr}`);
        text += decoder.decode(value, { stream: true });
      }
      const start = JSON.parse(text.split("\n").find((line) => line.includes('"msg":"start"'))!);
      const url = `http://${start.listen}`;
      inspector = await Inspector.connect(port);
      // Warmed up while the log is read, so that what follows measures the log alone.
      let reading = true;
      (async () => {
        while (reading && !(await reader.read()).done);
      })();
      await requestsWithLongLines(url, 1_000);
      // The log's reader stops here: nothing more is read from urocket's stdout.
      reading = false;
      // Collected every 1,000 requests, so that garbage never piles up: what grows is what is kept
      // (see _inspector.ts).
      const samples: Memory[] = [await inspector.collected(child.pid)];
      for (let round = 0; round < 10; round++) {
        await requestsWithLongLines(url, 1_000);
        samples.push(await inspector.collected(child.pid));
      }
      const metrics = await scrapeMetrics(start.admin);
      const [first, last] = [samples[0], samples.at(-1)!];
      const grew = last.rssKb - first.rssKb;
      console.log(
        `after a full collection every 1,000 requests: RSS ${
          samples.map((sample) => sample.rssKb).join(" → ")
        } KiB (${grew}), live heap ${first.heapKb} → ${last.heapKb} KiB; ` +
          `${metrics.get("urocket_log_dropped_total")} lines dropped`,
      );
      // About 40 MiB of access lines went nowhere: what the queue holds is bounded (4 MiB by
      // default), the rest was dropped, and counted.
      assert.ok(grew < 16 * 1024, `resident memory grew by ${(grew / 1024).toFixed(1)} MiB`);
      assert.ok(metrics.get("urocket_log_dropped_total")! > 8000, JSON.stringify([...metrics]));
      // urocket still serves: nothing waits on the log.
      assert.equal((await call(`${url}/run`, { method: "POST", body: "{}" })).status, 200);
    } finally {
      await inspector?.close();
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0, await stderr);
      await reader.cancel();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "log-limit cuts a flooding process's log with one output_truncated line " +
    "while the process runs on to its reply",
  ...E2E,
  async fn() {
    const uro = await startUrocket({
      config: `
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/flood_stderr.sh" }
  /other:
    post:
      log-limit: 1KiB
      inject: { cmd: ["{{fixtures}}/flood_stderr.sh", "100000"] }
  /run/{name}:
    get:
      inject: { cmd: "{{fixtures}}/reply.sh" }
`,
    });
    try {
      // 20 MB on stderr with the default log-limit (1 MiB), 100 kB with 1 KiB, and a quiet one.
      const [flood, other, quiet] = await Promise.all([
        uro.call("/run", { method: "POST", body: "{}" }),
        uro.call("/other", { method: "POST", body: "{}" }),
        uro.call("/run/quiet"),
      ]);
      assert.deepEqual([flood.status, other.status, quiet.status], [200, 200, 200]);
      for (
        const [answer, limit, written] of [
          [flood, 1024 * 1024, 20_000_000],
          [other, 1024, 100_000],
        ] as const
      ) {
        const id = answer.headers.get("x-request-id");
        const exit = await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === id);
        // Every line is 80 bytes with its newline; some may have been dropped from a full log
        // queue (the test reads the log slower than 20 MB a second): they count as logged.
        const lines = uro.find((l) => l.msg === "stderr" && l.req_id === id).length;
        const logged = (lines + Number(exit.dropped_lines ?? 0)) * 80;
        assert.ok(logged <= limit && logged > limit - 80, `${logged} bytes logged`);
        const cuts = uro.find((l) => l.msg === "output_truncated" && l.req_id === id);
        assert.equal(cuts.length, 1);
        assert.equal(cuts[0].level, "warn");
        assert.equal(cuts[0].stream, "stderr");
        assert.equal(cuts[0].bytes, logged);
        assert.equal(cuts[0].log_limit, limit);
        // Everything else was read (the process never blocked) and discarded; a partial line at
        // the cut is neither.
        const seen = logged + Number(exit.discarded_bytes);
        assert.ok(seen <= written && seen > written - 80, `${seen} bytes seen`);
      }
    } finally {
      await uro.stop();
    }
  },
});
