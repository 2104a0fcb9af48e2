/**
 * urocket's own metrics: what is counted, under which names and labels, and
 * the few methods the front and the reply edge call to move them. It is
 * injected (ExchangeDeps, FrontDeps, ReplyDeps), never reached as a global.
 *
 * Labels stay bounded: `operation` is an operation's `operationId`, else
 * `METHOD /template` of the document — never a raw path or a request id —
 * and `""` for a request that matched no operation.
 *
 * @module
 */

import { EXPOSITION_CONTENT_TYPE, MetricsRegistry } from "./registry.ts";

export { EXPOSITION_CONTENT_TYPE };

/** Seconds: from 5 ms to 5 min, covering timeouts up to the usual ones. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** CPU seconds: from 1 ms to 5 min. */
const CPU_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
/** Bytes: from 1 MiB to 4 GiB, by fours. */
const BYTES = [1, 4, 16, 64, 256, 1024, 4096].map((mib) => mib * 1024 * 1024);

/** What the metrics read from the rest of urocket when scraped. */
export interface MetricsSources {
  /** Live process groups. */
  processGroups: () => number;
  /** Requests waiting for a reply. */
  pending: () => number;
  /** Process output lines dropped so far because the log queue was full. */
  logLinesDropped: () => number;
  /** Every log line dropped so far because the log queue was full, urocket's own included. */
  logDropped: () => number;
}

/** How a request ended, for {@link Metrics.requestEnded}. */
export interface RequestEnd {
  /** The operation label (see the module doc). */
  operation: string;
  status: number;
  /** The access line's outcome. */
  outcome: string;
}

/** How a process group ended, for {@link Metrics.processEnded}. */
export interface GroupEnd {
  operation: string;
  /** From spawn until the whole group was gone. */
  lifetimeMs: number;
  /** User + system CPU time of the group, when the process stats know it. */
  cpuSeconds?: number;
  /** Peak resident memory, when the process stats know it. */
  peakMemoryBytes?: number;
}

/**
 * The metrics of one urocket instance.
 *
 * @example
 * ```ts
 * const metrics = new Metrics("0.1.0", {
 *   processGroups: () => 0,
 *   pending: () => 0,
 *   logLinesDropped: () => 0,
 *   logDropped: () => 0,
 * });
 * metrics.requestEnded({ operation: "listPets", status: 200, outcome: "replied" });
 * metrics.render(); // Prometheus text
 * ```
 */
export class Metrics {
  #registry = new MetricsRegistry();
  #requests;
  #timeToAnswer;
  #lifetime;
  #cpu;
  #memory;
  #spawnFailures;
  #timeouts;
  #rejected;
  #reloads;

  constructor(version: string, sources: MetricsSources) {
    const r = this.#registry;
    r.gauge({
      name: "urocket_build_info",
      help: "Always 1; the version label says which urocket runs",
      labelNames: ["version"],
    }).set({ version }, 1);
    this.#requests = r.counter({
      name: "urocket_requests_total",
      help: "Requests answered, by operation, status and outcome (as on the access line)",
      labelNames: ["operation", "status", "outcome"],
    });
    this.#timeToAnswer = r.histogram({
      name: "urocket_time_to_answer_seconds",
      help: "Time from a request's arrival until its status and headers were sent",
      labelNames: ["operation"],
      buckets: SECONDS,
    });
    this.#lifetime = r.histogram({
      name: "urocket_process_lifetime_seconds",
      help: "Time from spawn until the last process of the group was gone",
      labelNames: ["operation"],
      buckets: SECONDS,
    });
    this.#cpu = r.histogram({
      name: "urocket_process_cpu_seconds",
      help: "User and system CPU time of a process group (absent with the detached fallback)",
      labelNames: ["operation"],
      buckets: CPU_SECONDS,
    });
    this.#memory = r.histogram({
      name: "urocket_process_peak_memory_bytes",
      help: "Peak memory of a process group (absent with the detached fallback)",
      labelNames: ["operation"],
      buckets: BYTES,
    });
    r.gauge({
      name: "urocket_process_groups_alive",
      help: "Process groups spawned and not yet gone",
      collect: sources.processGroups,
    });
    r.gauge({
      name: "urocket_requests_pending",
      help: "Requests waiting for a reply",
      collect: sources.pending,
    });
    this.#spawnFailures = r.counter({
      name: "urocket_spawn_failures_total",
      help: "Commands that could not be started",
      labelNames: ["operation"],
    });
    this.#timeouts = r.counter({
      name: "urocket_timeouts_total",
      help: "Requests that got no reply within the operation's timeout",
      labelNames: ["operation"],
    });
    this.#rejected = r.counter({
      name: "urocket_replies_rejected_total",
      help: "Replies refused on the socket, by the status the replier got and why",
      labelNames: ["status", "reason"],
    });
    this.#reloads = r.counter({
      name: "urocket_config_reloads_total",
      help: "SIGHUP reloads of the config, by result: applied, or refused (the old config stays)",
      labelNames: ["result"],
    });
    r.counter({
      name: "urocket_log_lines_dropped_total",
      help: "Process output lines dropped because the log queue was full",
      collect: sources.logLinesDropped,
    });
    r.counter({
      name: "urocket_log_dropped_total",
      help: "Log lines dropped because the log queue was full (its reader is slow or gone): " +
        "process output and urocket's own lines",
      collect: sources.logDropped,
    });
  }

  /** A request was answered (or its client left): one per access line. */
  requestEnded(end: RequestEnd): void {
    this.#requests.inc({
      operation: end.operation,
      status: String(end.status),
      outcome: end.outcome,
    });
  }

  /** The client got status and headers `seconds` after the request arrived. */
  answered(operation: string, seconds: number): void {
    this.#timeToAnswer.observe({ operation }, seconds);
  }

  /** A process group is gone. */
  processEnded(stats: GroupEnd): void {
    const labels = { operation: stats.operation };
    this.#lifetime.observe(labels, stats.lifetimeMs / 1000);
    if (stats.cpuSeconds !== undefined) this.#cpu.observe(labels, stats.cpuSeconds);
    if (stats.peakMemoryBytes !== undefined) this.#memory.observe(labels, stats.peakMemoryBytes);
  }

  /** A command could not be started. */
  spawnFailed(operation: string): void {
    this.#spawnFailures.inc({ operation });
  }

  /** A request got no reply within its timeout. */
  timedOut(operation: string): void {
    this.#timeouts.inc({ operation });
  }

  /** A reply was refused with `status` for `reason` (the `reply_rejected` line's). */
  replyRejected(status: number, reason: string): void {
    this.#rejected.inc({ status: String(status), reason });
  }

  /** A reload was applied, or refused. */
  reloaded(result: "applied" | "refused"): void {
    this.#reloads.inc({ result });
  }

  /** Every metric as Prometheus text; serve it with {@link EXPOSITION_CONTENT_TYPE}. */
  render(): string {
    return this.#registry.render();
  }
}
