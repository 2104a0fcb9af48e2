import { deepStrictEqual, match, strictEqual, throws } from "node:assert/strict";
import { Metrics } from "../../../lib/metrics/metrics.ts";
import { MetricsRegistry } from "../../../lib/metrics/registry.ts";

/** Sample lines (not comments) of an exposition, as `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

Deno.test("MetricsRegistry.render() writes HELP, TYPE and one line per labelled series", () => {
  const registry = new MetricsRegistry();
  const counter = registry.counter({
    name: "t_requests_total",
    help: "Requests",
    labelNames: ["status", "outcome"],
  });
  counter.inc({ status: "200", outcome: "replied" });
  counter.inc({ outcome: "replied", status: "200" });
  counter.inc({ status: "504", outcome: "timeout" }, 3);
  strictEqual(
    registry.render(),
    [
      "# HELP t_requests_total Requests",
      "# TYPE t_requests_total counter",
      't_requests_total{status="200",outcome="replied"} 2',
      't_requests_total{status="504",outcome="timeout"} 3',
      "",
    ].join("\n"),
  );
});

Deno.test("MetricsRegistry.render() escapes label values and help text", () => {
  const registry = new MetricsRegistry();
  registry.counter({ name: "t_total", help: "a\\b\nc", labelNames: ["v"] })
    .inc({ v: 'say "hi"\\\n' });
  const text = registry.render();
  match(text, /^# HELP t_total a\\\\b\\nc$/m);
  match(text, /^t_total\{v="say \\"hi\\"\\\\\\n"\} 1$/m);
});

Deno.test("Histogram buckets are cumulative, with +Inf, _sum and _count", () => {
  const registry = new MetricsRegistry();
  const histogram = registry.histogram({
    name: "t_seconds",
    help: "Durations",
    labelNames: ["op"],
    buckets: [0.1, 1, 10],
  });
  for (const value of [0.05, 0.1, 0.5, 5, 50]) histogram.observe({ op: "a" }, value);
  deepStrictEqual(
    [...samples(registry.render())],
    [
      ['t_seconds_bucket{op="a",le="0.1"}', 2],
      ['t_seconds_bucket{op="a",le="1"}', 3],
      ['t_seconds_bucket{op="a",le="10"}', 4],
      ['t_seconds_bucket{op="a",le="+Inf"}', 5],
      ['t_seconds_sum{op="a"}', 55.65],
      ['t_seconds_count{op="a"}', 5],
    ],
  );
});

Deno.test("A gauge or counter with collect is read at render time", () => {
  const registry = new MetricsRegistry();
  let live = 2;
  registry.gauge({ name: "t_live", help: "Live", collect: () => live });
  registry.counter({ name: "t_dropped_total", help: "Dropped", collect: () => live * 10 });
  deepStrictEqual([...samples(registry.render())], [["t_live", 2], ["t_dropped_total", 20]]);
  live = 0;
  deepStrictEqual([...samples(registry.render())], [["t_live", 0], ["t_dropped_total", 0]]);
});

Deno.test("MetricsRegistry refuses bad names, duplicates, a missing label and a decreasing counter", () => {
  const registry = new MetricsRegistry();
  throws(() => registry.counter({ name: "bad-name", help: "" }), /Invalid metric name/);
  throws(() => registry.counter({ name: "t", help: "", labelNames: ["le"] }), /Invalid label/);
  const counter = registry.counter({ name: "t_total", help: "", labelNames: ["a"] });
  throws(() => registry.gauge({ name: "t_total", help: "" }), /already registered/);
  throws(() => counter.inc({}), /needs label "a"/);
  throws(() => counter.inc({ a: "x" }, -1), /cannot decrease/);
  throws(
    () => registry.histogram({ name: "t_h", help: "", buckets: [1, 1] }),
    /ascending buckets/,
  );
});

function newMetrics() {
  const state = { groups: 0, pending: 0, dropped: 0, droppedAll: 0 };
  const metrics = new Metrics("9.9.9", {
    processGroups: () => state.groups,
    pending: () => state.pending,
    logLinesDropped: () => state.dropped,
    logDropped: () => state.droppedAll,
  });
  return { metrics, state, read: () => samples(metrics.render()) };
}

Deno.test("Metrics names every metric with the urocket_ prefix and Prometheus suffixes", () => {
  const { metrics } = newMetrics();
  const types = [...metrics.render().matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
  deepStrictEqual(types, [
    ["urocket_build_info", "gauge"],
    ["urocket_requests_total", "counter"],
    ["urocket_time_to_answer_seconds", "histogram"],
    ["urocket_process_lifetime_seconds", "histogram"],
    ["urocket_process_cpu_seconds", "histogram"],
    ["urocket_process_peak_memory_bytes", "histogram"],
    ["urocket_process_groups_alive", "gauge"],
    ["urocket_requests_pending", "gauge"],
    ["urocket_spawn_failures_total", "counter"],
    ["urocket_timeouts_total", "counter"],
    ["urocket_replies_rejected_total", "counter"],
    ["urocket_config_reloads_total", "counter"],
    ["urocket_log_lines_dropped_total", "counter"],
    ["urocket_log_dropped_total", "counter"],
  ]);
});

Deno.test("Metrics counts requests, answers, spawn failures, timeouts and rejected replies", () => {
  const { metrics, state, read } = newMetrics();
  metrics.requestEnded({ operation: "run", status: 200, outcome: "replied" });
  metrics.requestEnded({ operation: "run", status: 200, outcome: "replied" });
  metrics.requestEnded({ operation: "", status: 404, outcome: "rejected" });
  metrics.answered("run", 0.02);
  metrics.spawnFailed("run");
  metrics.timedOut("slow");
  metrics.replyRejected(409, "already_answered");
  state.groups = 3;
  state.pending = 2;
  state.dropped = 7;
  state.droppedAll = 9;
  const s = read();
  strictEqual(s.get('urocket_build_info{version="9.9.9"}'), 1);
  strictEqual(s.get('urocket_requests_total{operation="run",status="200",outcome="replied"}'), 2);
  strictEqual(s.get('urocket_requests_total{operation="",status="404",outcome="rejected"}'), 1);
  strictEqual(s.get('urocket_time_to_answer_seconds_bucket{operation="run",le="0.025"}'), 1);
  strictEqual(s.get('urocket_time_to_answer_seconds_bucket{operation="run",le="0.01"}'), 0);
  strictEqual(s.get('urocket_spawn_failures_total{operation="run"}'), 1);
  strictEqual(s.get('urocket_timeouts_total{operation="slow"}'), 1);
  strictEqual(s.get('urocket_replies_rejected_total{status="409",reason="already_answered"}'), 1);
  strictEqual(s.get("urocket_process_groups_alive"), 3);
  strictEqual(s.get("urocket_requests_pending"), 2);
  strictEqual(s.get("urocket_log_lines_dropped_total"), 7);
  strictEqual(s.get("urocket_log_dropped_total"), 9);
});

Deno.test("Metrics.processEnded() fills the CPU and memory histograms only when stats are given", () => {
  const { metrics, read } = newMetrics();
  metrics.processEnded({ operation: "run", lifetimeMs: 1500 });
  let s = read();
  strictEqual(s.get('urocket_process_lifetime_seconds_count{operation="run"}'), 1);
  strictEqual(s.get('urocket_process_lifetime_seconds_sum{operation="run"}'), 1.5);
  strictEqual(s.get('urocket_process_cpu_seconds_count{operation="run"}'), undefined);
  strictEqual(s.get('urocket_process_peak_memory_bytes_count{operation="run"}'), undefined);
  metrics.processEnded({
    operation: "run",
    lifetimeMs: 10,
    cpuSeconds: 0.25,
    peakMemoryBytes: 3 * 1024 * 1024,
  });
  s = read();
  strictEqual(s.get('urocket_process_cpu_seconds_count{operation="run"}'), 1);
  strictEqual(s.get('urocket_process_cpu_seconds_sum{operation="run"}'), 0.25);
  strictEqual(s.get(`urocket_process_peak_memory_bytes_bucket{operation="run",le="4194304"}`), 1);
  strictEqual(s.get(`urocket_process_peak_memory_bytes_bucket{operation="run",le="1048576"}`), 0);
});
