/**
 * The console's JSON endpoints and event stream on the admin listener, as a
 * script reads them, and its memory: bounded whatever the traffic.
 */

import assert from "node:assert/strict";
import { E2E, fill, type LogLine, startUrocket, type Urocket } from "./_harness.ts";
import { freePort, Inspector, inspectorWrap, type Memory } from "./_inspector.ts";

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

/**
 * The console's event stream at `base`: `next()` reads its next `state`
 * event (the state at once, then one after each change), `close()` ends it.
 */
async function stateEvents(base: string) {
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
  return { next, close: () => reader.cancel() };
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

      const events = await stateEvents(base);
      const failed = await uro.call("/other", { method: "POST", body: "{}" });
      const failedId = failed.headers.get("x-request-id");
      // The row moves once both the answer and the exit are known: the event stream says when.
      const moved = (state: { recent: { reqId: string }[] }) =>
        state.recent.some((r) => r.reqId === failedId);
      while (!moved(await events.next()));
      await events.close();
      const recent: Record<string, unknown>[] = await getJson(`${base}/api/recent`);
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
      const { next, close } = await stateEvents(base);
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
      await close();
    } finally {
      await uro.stop();
    }
  },
});

/** A path of 4,000 characters: a row kept too long (or forever) costs kilobytes, not bytes. */
const LONG = "p".repeat(4000);

/**
 * The traffic of the memory test: every tenth request spawns a handler with
 * long stderr lines (a row in flight, then in the ring, with its stderr);
 * the others carry a long path of their own, half of them to no operation
 * (404: a row of the ring only), half to an operation whose one slot a held
 * process takes (503: a row in flight, then in the ring, nothing spawned).
 */
const MEMORY_CONFIG = `admin: 127.0.0.1:0
paths:
  /run/{name}:
    get:
      max-inflight: 1
      timeout: 10m
      inject: { cmd: "{{fixtures}}/hold.sh" }
  /other:
    post:
      inject: { cmd: ["{{fixtures}}/noisy.sh", "8"] }
`;

/** Sends requests to `uro` until `until` were sent in all, 16 at a time (see MEMORY_CONFIG). */
async function load(uro: Urocket, counter: { sent: number }, until: number): Promise<void> {
  const worker = async () => {
    while (counter.sent < until) {
      const n = ++counter.sent;
      const [answer, status] = n % 10 === 0
        ? [await uro.call("/other", { method: "POST", body: "{}" }), 502]
        : n % 2 === 0
        ? [await uro.call(`/run/${n}-${LONG}`), 503]
        : [await uro.call(`/nothing/${n}/${LONG}`), 404];
      assert.equal(answer.status, status);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  // Every process gone, so that every row has moved to the ring.
  const exits = Math.floor(until / 10);
  await uro.waitForLog(
    () => uro.find((l) => l.msg === "process_exit").length >= exits,
    `${exits} process_exit lines`,
  );
}

Deno.test({
  name:
    "the console's memory is bounded: 10,000 requests later urocket's RSS is where it was after 1,000",
  ...E2E,
  timeout: 180_000,
  async fn() {
    const port = freePort();
    const uro = await startUrocket({
      config: MEMORY_CONFIG,
      // urocket's own command line, with V8's inspector on a port of its own.
      wrap: inspectorWrap(port),
    });
    let inspector: Inspector | undefined;
    try {
      inspector = await Inspector.connect(port);
      const base = await admin(uro);
      const held = uro.call(`/run/held`);
      held.catch(() => {}); // Answered at the end, or cut by the stop if the test fails before.
      const [{ pid }] = await uro.held(1);
      const counter = { sent: 0 };
      // Collected every 1,000 requests, so that garbage never piles up: what grows is what is kept
      // (see _inspector.ts).
      const samples: Memory[] = [];
      for (let until = 1_000; until <= 10_000; until += 1_000) {
        await load(uro, counter, until);
        samples.push(await inspector.collected(uro.pid));
      }
      // The last: the lowest of the last three samples, as one may catch a collection's leftovers.
      const first = samples[0];
      const last = samples.slice(-3).reduce((low, sample) =>
        sample.rssKb < low.rssKb ? sample : low
      );
      const grew = last.rssKb - first.rssKb;
      console.log(
        `after a full collection every 1,000 requests: RSS ${
          samples.map((sample) => sample.rssKb).join(" → ")
        } KiB (${grew}), live heap ${first.heapKb} → ${last.heapKb} KiB`,
      );
      assert.ok(grew < 8 * 1024, `RSS grew ${grew} KiB from 1,000 to 10,000 requests`);
      const recent = await getJson(`${base}/api/recent`);
      assert.equal(recent.length, 100);
      assert.equal(recent.at(-1).seq, 10_000);
      assert.deepEqual((await getJson(`${base}/api/inflight`)).map((r: { pid: number }) => r.pid), [
        pid,
      ]);
      await uro.release(pid);
      assert.equal((await held).status, 502);
    } finally {
      await inspector?.close();
      await uro.stop({ check: false });
    }
  },
});

Deno.test({
  name:
    "the console's ring keeps 512 characters of each request's path, not the URL it was cut from",
  ...E2E,
  async fn() {
    const port = freePort();
    const uro = await startUrocket({ config: CONFIG, wrap: inspectorWrap(port) });
    let inspector: Inspector | undefined;
    try {
      inspector = await Inspector.connect(port);
      const base = await admin(uro);
      // The code the requests run is compiled before the first reading.
      for (let i = 0; i < 100; i++) assert.equal((await uro.call(`/nothing/${i}`)).status, 404);
      const before = await inspector.collected(uro.pid);
      // 100 paths of 60,000 characters: the ring holds 100 rows.
      const long = "p".repeat(60_000);
      for (let i = 0; i < 100; i++) {
        assert.equal((await uro.call(`/nothing/${i}/${long}`)).status, 404);
      }
      const after = await inspector.collected(uro.pid);
      const recent = await getJson(`${base}/api/recent`);
      assert.equal(recent.length, 100);
      for (const row of recent) assert.match(row.path, /^\/nothing\/\d+\/p+…$/);
      assert.ok(recent.every((row: { path: string }) => row.path.length === 512));
      // A row that kept a slice of its path would keep the whole path: 100 × 60,000 bytes.
      const grew = after.heapKb - before.heapKb;
      console.log(`live heap ${before.heapKb} → ${after.heapKb} KiB (${grew})`);
      assert.ok(grew < 2048, `the live heap grew ${grew} KiB for 100 rows of the ring`);
    } finally {
      await inspector?.close();
      await uro.stop();
    }
  },
});
