import assert from "node:assert/strict";
import {
  ConsoleState,
  createConsoleApp,
  OperationWindows,
  parseProcOutput,
  STDERR_LINE_MAX,
} from "../../../lib/console/mod.ts";

const finished = (reqId: string, extra: Record<string, unknown> = {}) => ({
  reqId,
  operation: "run",
  method: "POST",
  path: "/run",
  status: 200,
  outcome: "replied",
  durationMs: 12,
  ...extra,
});

const ended = (pid: number) => ({
  pid,
  exitCode: 0,
  signal: null,
  lifetimeMs: 20,
  cpuMs: 3,
  maxRssKb: 1500,
  statsSource: "wait4",
});

Deno.test("ConsoleState keeps a request in flight until both its answer and its process are done", () => {
  const state = new ConsoleState({ now: () => 1_000 });
  state.admitted({ reqId: "a", operation: "run", method: "POST", path: "/run" });
  assert.equal(state.inflight()[0].state, "starting");
  state.spawned("a", 42);
  assert.deepEqual(state.inflight().map((r) => [r.state, r.pid]), [["spawned", 42]]);
  state.streaming("a");
  assert.equal(state.inflight()[0].state, "replied-streaming");
  state.finished(finished("a"));
  assert.equal(state.inflight()[0].state, "draining");
  assert.deepEqual(state.recent(), []);
  state.processEnded("a", ended(42));
  assert.deepEqual(state.inflight(), []);
  const [row] = state.recent();
  assert.equal(row.pid, 42);
  assert.equal(row.exitCode, 0);
  assert.equal(row.cpuMs, 3);
  assert.equal(row.outcome, "replied");

  // The process may end first (it exited without replying): "exited" until the answer.
  state.admitted({ reqId: "b", operation: "run", method: "POST", path: "/run" });
  state.spawned("b", 43);
  state.processEnded("b", { ...ended(43), exitCode: 3 });
  assert.equal(state.inflight()[0].state, "exited");
  state.finished(finished("b", { status: 502, outcome: "no_reply" }));
  assert.deepEqual(state.recent(1).map((r) => [r.reqId, r.exitCode, r.status]), [["b", 3, 502]]);
});

Deno.test("ConsoleState keeps the first and last stderr lines of a request, cut, and drops stdout", () => {
  const state = new ConsoleState();
  state.admitted({ reqId: "a", operation: "run", method: "GET", path: "/run" });
  for (let i = 0; i < 10; i++) state.output("a", "stderr", `line ${i} ${"x".repeat(1000)}`);
  state.output("a", "stdout", "not kept");
  state.finished(finished("a", { status: 404, outcome: "rejected" }));
  const { stderr } = state.recent()[0];
  assert.equal(stderr.lines, 10);
  assert.deepEqual(stderr.first.map((l) => l.slice(0, 6)), ["line 0", "line 1", "line 2"]);
  assert.deepEqual(stderr.last.map((l) => l.slice(0, 6)), ["line 7", "line 8", "line 9"]);
  assert.ok([...stderr.first, ...stderr.last].every((l) => l.length === STDERR_LINE_MAX));
});

Deno.test("ConsoleState keeps a fixed number of finished requests, numbered in order", () => {
  const state = new ConsoleState({ recentSize: 5 });
  for (let i = 1; i <= 12; i++) state.finished(finished(`r${i}`, { operation: undefined }));
  assert.deepEqual(state.recent().map((r) => r.seq), [8, 9, 10, 11, 12]);
  assert.deepEqual(state.recent(10).map((r) => r.reqId), ["r11", "r12"]);
  assert.equal(state.recent()[0].operation, null);
  state.reloaded("refused", ["bad"]);
  assert.equal(state.generation, 1);
  state.reloaded("applied");
  assert.equal(state.generation, 2);
  assert.equal(state.lastReload?.outcome, "applied");
});

Deno.test("OperationWindows reports rate, percentiles and errors over the window, and forgets idle operations", () => {
  const windows = new OperationWindows();
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 99; i++) windows.record("list", t0, 10, false);
  windows.record("list", t0, 2_000, true);
  const [list] = windows.summaries(t0);
  assert.equal(list.requests, 100);
  assert.equal(list.p50, 10);
  assert.equal(list.p99, 10);
  assert.equal(list.errorShare, 0.01);
  assert.equal(list.series.rps.length, 30);
  assert.equal(list.series.rps.at(-1), 10);
  windows.record("list", t0, 2_000, true);
  assert.equal(windows.summaries(t0)[0].p99, 2_000);
  // Five minutes later nothing is left of it.
  assert.deepEqual(windows.summaries(t0 + 5 * 60_000 + 10_000), []);
});

Deno.test("parseProcOutput() reads CPU from /proc/<pid>/stat and RSS from /proc/<pid>/status", () => {
  const stat = "4242 (sh (odd) name) S 1 4242 4242 0 -1 4194560 120 0 0 0 7 3 2 1 20 0 1 0 " +
    "100 2400000 300 18446744073709551615";
  const status = "Name:\tsh\nPid:\t4242\nVmRSS:\t    1532 kB\n";
  assert.deepEqual(parseProcOutput(`${stat}\n${status}`).get(4242), { cpuMs: 130, rssKb: 1532 });
  assert.equal(parseProcOutput(`${stat}\n`).size, 0, "without its status, no figures");
});

Deno.test("createConsoleApp() serves the page under a strict CSP and one JSON endpoint per panel", async () => {
  const state = new ConsoleState();
  state.admitted({ reqId: "a", operation: "run", method: "POST", path: "/run" });
  state.spawned("a", 7);
  const app = createConsoleApp({
    state,
    startedAt: Date.now() - 5_000,
    liveStats: () => Promise.resolve(new Map([[7, { cpuMs: 40, rssKb: 2048 }]])),
    facts: () => ({
      version: "0.0.0",
      pid: 1,
      spawnMode: "spawn_server",
      statsSource: "wait4",
      config: "/c.yaml",
      openapi: "/o.yaml",
      listen: "127.0.0.1:8080",
      operations: 1,
      maxInflight: 64,
      processes: 1,
      logLinesDropped: 0,
    }),
  });
  const page = await app.request("/");
  assert.match(
    page.headers.get("content-security-policy")!,
    /default-src 'none'; script-src 'self'/,
  );
  assert.match(await page.text(), /<script src="\/console\.js" defer><\/script>/);
  const [row] = await (await app.request("/api/inflight")).json();
  assert.deepEqual([row.reqId, row.pid, row.cpuMs, row.rssKb], ["a", 7, 40, 2048]);
  const status = await (await app.request("/api/status")).json();
  assert.equal(status.uptimeS, 5);
  assert.equal(status.inflight, 1);
  assert.deepEqual(await (await app.request("/api/recent")).json(), []);
  assert.deepEqual(await (await app.request("/api/operations")).json(), []);
  assert.match(await (await app.request("/console.js")).text(), /EventSource\("\/api\/events"\)/);
});
