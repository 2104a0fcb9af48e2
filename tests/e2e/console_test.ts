/**
 * The console's JSON endpoints and event stream on the admin listener, as a
 * script reads them, and its memory: bounded whatever the traffic.
 */

import assert from "node:assert/strict";
import { E2E, fill, type LogLine, startUrocket, type Urocket } from "./_harness.ts";

const CONFIG = `admin: 127.0.0.1:0
paths:
  /run:
    post:
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      inject: { cmd: ["{{fixtures}}/noisy.sh", "8"] }
`;

async function admin(uro: Urocket): Promise<string> {
  const start = await uro.waitForLog((l: LogLine) => l.msg === "start");
  return `http://${start.admin}`;
}

async function getJson(url: string) {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  assert.match(response.headers.get("content-type")!, /^application\/json/);
  return await response.json();
}

Deno.test({
  name:
    "the console's /api endpoints show a request in flight with its live usage, then finished with its stderr",
  ...E2E,
  async fn() {
    const uro = await startUrocket({ config: CONFIG });
    try {
      const base = await admin(uro);
      const status = await getJson(`${base}/api/status`);
      assert.equal(status.generation, 1);
      assert.equal(status.lastReload, null);
      assert.equal(status.operations, 2);
      assert.equal(typeof status.version, "string");
      assert.ok(["spawn_server", "detached"].includes(status.spawnMode), status.spawnMode);

      const slow = uro.call("/run", { method: "POST", body: "{}" });
      const [{ reqId, pid }] = await uro.held(1);
      const inflight = await getJson(`${base}/api/inflight`);
      const row = inflight.find((r: { reqId: string }) => r.reqId === reqId);
      assert.equal(row.pid, pid);
      assert.equal(row.operation, "run");
      assert.equal(row.state, "spawned");
      assert.ok(row.ageMs >= 0);
      assert.ok(row.rssKb > 0, `live RSS of ${pid}: ${row.rssKb}`);
      await uro.reply(`/uri/${reqId}`, { body: "{}" });
      await slow;
      await uro.release(pid);

      const failed = await uro.call("/other", { method: "POST", body: "{}" });
      const failedId = failed.headers.get("x-request-id");
      await uro.waitForLog((l) => l.msg === "process_exit" && l.req_id === failedId);
      let recent: Record<string, unknown>[] = [];
      // The row moves once both the answer and the exit are known; the log line may come first.
      for (let i = 0; i < 50 && !recent.some((r) => r.reqId === failedId); i++) {
        recent = await getJson(`${base}/api/recent`);
        if (!recent.some((r) => r.reqId === failedId)) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      const done = recent.find((r) => r.reqId === failedId) as Record<string, unknown> & {
        stderr: { first: string[]; last: string[]; lines: number };
      };
      assert.equal(done.status, 502);
      assert.equal(done.outcome, "no_reply");
      assert.equal(done.exitCode, 1);
      assert.equal(done.stderr.lines, 8);
      assert.deepEqual(done.stderr.first.map((l) => l.slice(0, 12)), [
        "noisy line 0",
        "noisy line 1",
        "noisy line 2",
      ]);
      assert.deepEqual(done.stderr.last.map((l) => l.slice(0, 12)), [
        "noisy line 5",
        "noisy line 6",
        "noisy line 7",
      ]);
      assert.ok(done.stderr.first.every((l) => l.length <= 500), "lines are cut to 500 characters");
      const since = recent.find((r) => r.reqId === reqId)!.seq as number;
      assert.deepEqual(
        (await getJson(`${base}/api/recent?after=${since}`)).map((r: { reqId: string }) => r.reqId),
        [failedId],
      );
      const operations = await getJson(`${base}/api/operations`);
      const other = operations.find((o: { operation: string }) => o.operation === "other");
      assert.equal(other.requests, 1);
      assert.equal(other.errorShare, 1);
      assert.equal(other.series.rps.length, 30);

      const page = await fetch(`${base}/`);
      assert.match(page.headers.get("content-security-policy")!, /script-src 'self'/);
      assert.match(await page.text(), /<title>urocket console<\/title>/);
    } finally {
      await uro.stop();
    }
  },
});

Deno.test({
  name:
    "the console's event stream sends the state at once, and the last reload's result after SIGHUP",
  ...E2E,
  async fn() {
    const uro = await startUrocket({ config: CONFIG });
    try {
      const base = await admin(uro);
      const events = await fetch(`${base}/api/events`);
      assert.equal(events.headers.get("content-type"), "text/event-stream");
      const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      const next = async () => {
        while (!buffer.includes("\n\n")) {
          const { value, done } = await reader.read();
          if (done) throw new Error("the event stream ended");
          buffer += value;
        }
        const end = buffer.indexOf("\n\n");
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        assert.match(event, /^event: state\ndata: /);
        return JSON.parse(event.slice(event.indexOf("data: ") + 6));
      };
      const first = await next();
      assert.equal(first.status.generation, 1);
      assert.deepEqual(first.inflight, []);

      await Deno.writeTextFile(
        `${uro.dir}/urocket-service.yaml`,
        fill(`socket: ${uro.socket}\nlisten: 127.0.0.1:0\nshutdown-delay: 0s\n${CONFIG}`, uro.dir) +
          '  /unwired:\n    get:\n      inject: { cmd: "{{fixtures}}/reply.sh" }\n'
            .replace("{{fixtures}}", fill("{{fixtures}}", uro.dir)),
      );
      Deno.kill(uro.pid, "SIGHUP");
      let state = first;
      while (state.status.lastReload === null) state = await next();
      assert.equal(state.status.lastReload.outcome, "applied");
      assert.equal(state.status.generation, 2);

      await Deno.writeTextFile(`${uro.dir}/urocket-service.yaml`, "paths: [\n");
      Deno.kill(uro.pid, "SIGHUP");
      while (state.status.lastReload.outcome !== "refused") state = await next();
      assert.equal(state.status.generation, 2);
      assert.match(state.status.lastReload.problems[0], /Invalid YAML/);
      await reader.cancel();
    } finally {
      await uro.stop();
    }
  },
});

/**
 * urocket's resident memory, read from outside through /proc: the lowest
 * of 2 s of samples once the traffic stopped, when V8 has had the time to
 * collect the last requests' garbage (a single sample varies by several
 * MiB on a busy machine).
 */
async function rssKb(pid: number): Promise<number> {
  let lowest = Infinity;
  for (let i = 0; i < 20; i++) {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    lowest = Math.min(lowest, Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return lowest;
}

/**
 * Sends requests to `uro` until `until` were sent in all, 16 at a time:
 * every tenth spawns a handler with long stderr lines, the others are not
 * routed and carry a long path of their own — rows the console would keep
 * without its bounds.
 */
async function load(uro: Urocket, counter: { sent: number }, until: number): Promise<void> {
  const long = "p".repeat(2000);
  const worker = async () => {
    while (counter.sent < until) {
      const n = ++counter.sent;
      const answer = n % 10 === 0
        ? await uro.call("/other", { method: "POST", body: "{}" })
        : await uro.call(`/nothing/${n}/${long}`);
      assert.equal(answer.status, n % 10 === 0 ? 502 : 404);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  // Every process gone, so that every row has moved to the ring.
  while (uro.find((l) => l.msg === "process_exit").length < Math.floor(until / 10)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test({
  name:
    "the console's memory is bounded: 10,000 requests later urocket's RSS is where it was after 1,000",
  ...E2E,
  timeout: 180_000,
  async fn() {
    // urocket's own resident memory settles over its first thousands of requests, console or not
    // (measured: +20 to +25 MiB from 1,000 to 10,000 of these): the same traffic goes to a twin
    // without an admin listener, and the console may add little to what the twin grew.
    const [watched, twin] = await Promise.all([
      startUrocket({ config: CONFIG }),
      startUrocket({ config: CONFIG.replace(/^admin: .*\n/, "") }),
    ]);
    try {
      const base = await admin(watched);
      const counters = [{ sent: 0 }, { sent: 0 }];
      await Promise.all([load(watched, counters[0], 1_000), load(twin, counters[1], 1_000)]);
      const before = await Promise.all([rssKb(watched.pid), rssKb(twin.pid)]);
      await Promise.all([load(watched, counters[0], 10_000), load(twin, counters[1], 10_000)]);
      const after = await Promise.all([rssKb(watched.pid), rssKb(twin.pid)]);
      const grew = [after[0] - before[0], after[1] - before[1]];
      console.log(
        `RSS from 1,000 to 10,000 requests: with the console ${before[0]} → ${after[0]} KiB ` +
          `(${grew[0]}), without ${before[1]} → ${after[1]} KiB (${grew[1]})`,
      );
      assert.ok(
        grew[0] - grew[1] < 8 * 1024,
        `with the console, RSS grew ${grew[0] - grew[1]} KiB more than without`,
      );
      const recent = await getJson(`${base}/api/recent`);
      assert.equal(recent.length, 100);
      assert.equal(recent.at(-1).seq, 10_000);
    } finally {
      await Promise.all([watched.stop({ check: false }), twin.stop({ check: false })]);
    }
  },
});
