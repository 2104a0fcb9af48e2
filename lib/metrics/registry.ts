/**
 * A small metrics registry: counters, gauges and histograms with labels, and
 * their Prometheus text exposition (format 0.0.4). Written here rather than
 * taken from npm because the Node clients pull in process and cluster code
 * urocket does not need; this is the part of them it does.
 *
 * @module
 */

/** Label name → value. Every metric has a fixed set of label names. */
export type Labels = Record<string, string>;

/** Options every metric takes. */
export interface MetricOptions {
  /** Full name, e.g. `urocket_requests_total`. */
  name: string;
  /** One-line description for `# HELP`. */
  help: string;
  /** Names of the labels, in the order they are written. Default none. */
  labelNames?: readonly string[];
}

/** Options of {@link MetricsRegistry.histogram}. */
export interface HistogramOptions extends MetricOptions {
  /** Upper bounds of the buckets, ascending; `+Inf` is added. */
  buckets: readonly number[];
}

/** Options of {@link MetricsRegistry.gauge} and {@link MetricsRegistry.counter} read at scrape time. */
export interface CollectedOptions extends MetricOptions {
  /** Reads the current value when the registry is rendered (unlabelled metrics only). */
  collect: () => number;
}

/** The content type of {@link MetricsRegistry.render}'s output. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Shared by every metric: name, help, label names, and one series per label set. */
abstract class Metric<Series> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: "counter" | "gauge" | "histogram";
  protected series = new Map<string, { labels: Labels; value: Series }>();

  constructor(options: MetricOptions) {
    if (!NAME.test(options.name)) throw new TypeError(`Invalid metric name "${options.name}"`);
    for (const label of options.labelNames ?? []) {
      if (!LABEL.test(label) || label === "le") {
        throw new TypeError(`Invalid label name "${label}" on ${options.name}`);
      }
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
  }

  /** The series for `labels`, created with `initial()` on first use. */
  protected at(labels: Labels, initial: () => Series): Series {
    // Runs a few times per request: a loop, not map() and join() with a closure per call.
    const names = this.labelNames;
    let key = "";
    for (let i = 0; i < names.length; i++) {
      const value = labels[names[i]];
      if (value === undefined) throw new TypeError(`${this.name} needs label "${names[i]}"`);
      key = i === 0 ? value : `${key}\u0000${value}`;
    }
    let entry = this.series.get(key);
    if (!entry) {
      const own: Labels = {};
      for (const name of this.labelNames) own[name] = labels[name];
      entry = { labels: own, value: initial() };
      this.series.set(key, entry);
    }
    return entry.value;
  }

  /** The exposition lines of this metric's samples, without HELP and TYPE. */
  abstract samples(): string[];
}

/**
 * A metric with one number per series, or one number read at scrape time
 * (`collect`) for a metric without labels whose value lives elsewhere.
 */
abstract class SingleValueMetric extends Metric<{ value: number }> {
  #collect: (() => number) | undefined;

  constructor(options: MetricOptions & { collect?: () => number }) {
    super(options);
    this.#collect = options.collect;
  }

  /** The current value for `labels` (0 when never set). */
  get(labels: Labels = {}): number {
    if (this.#collect) return this.#collect();
    return this.at(labels, () => ({ value: 0 })).value;
  }

  samples(): string[] {
    if (this.#collect) return [sample(this.name, {}, this.#collect())];
    return [...this.series.values()].map((s) => sample(this.name, s.labels, s.value.value));
  }
}

/** A value that only goes up: requests served, failures seen. */
export class Counter extends SingleValueMetric {
  readonly type = "counter";

  /** Adds `by` (default 1, never negative) to the series for `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new RangeError(`${this.name} cannot decrease`);
    this.at(labels, () => ({ value: 0 })).value += by;
  }
}

/** A value that goes up and down, read at scrape time: processes alive. */
export class Gauge extends SingleValueMetric {
  readonly type = "gauge";

  /** Sets the series for `labels` to `value`. */
  set(labels: Labels, value: number): void {
    this.at(labels, () => ({ value: 0 })).value = value;
  }
}

interface HistogramSeries {
  /** Count per bucket (not cumulative); the last entry is `+Inf`. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into buckets: durations, sizes. */
export class Histogram extends Metric<HistogramSeries> {
  readonly type = "histogram";
  readonly buckets: readonly number[];

  constructor(options: HistogramOptions) {
    super(options);
    const sorted = options.buckets.every((b, i) => i === 0 || b > options.buckets[i - 1]);
    if (!sorted || options.buckets.length === 0) {
      throw new TypeError(`${options.name} needs ascending buckets`);
    }
    this.buckets = options.buckets;
  }

  /** Counts `value` into the series for `labels`. */
  observe(labels: Labels, value: number): void {
    const series = this.at(labels, () => this.#empty());
    let i = this.buckets.findIndex((bound) => value <= bound);
    if (i < 0) i = this.buckets.length;
    series.counts[i]++;
    series.sum += value;
    series.count++;
  }

  /** Number of observations and their sum for `labels`. */
  get(labels: Labels = {}): { count: number; sum: number } {
    const series = this.at(labels, () => this.#empty());
    return { count: series.count, sum: series.sum };
  }

  samples(): string[] {
    const out: string[] = [];
    for (const { labels, value } of this.series.values()) {
      let cumulative = 0;
      value.counts.forEach((count, i) => {
        cumulative += count;
        const le = i < this.buckets.length ? formatNumber(this.buckets[i]) : "+Inf";
        out.push(sample(`${this.name}_bucket`, { ...labels, le }, cumulative));
      });
      out.push(sample(`${this.name}_sum`, labels, value.sum));
      out.push(sample(`${this.name}_count`, labels, value.count));
    }
    return out;
  }

  #empty(): HistogramSeries {
    return { counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
}

/**
 * Owns a set of metrics and renders them in the Prometheus text format.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const served = registry.counter({ name: "app_requests_total", help: "Requests", labelNames: ["status"] });
 * served.inc({ status: "200" });
 * registry.render(); // "# HELP app_requests_total Requests\n# TYPE app_requests_total counter\n…"
 * ```
 */
export class MetricsRegistry {
  #metrics = new Map<string, Metric<unknown>>();

  /** Registers a counter. */
  counter(options: MetricOptions | CollectedOptions): Counter {
    return this.#add(new Counter(options));
  }

  /** Registers a gauge. */
  gauge(options: MetricOptions | CollectedOptions): Gauge {
    return this.#add(new Gauge(options));
  }

  /** Registers a histogram. */
  histogram(options: HistogramOptions): Histogram {
    return this.#add(new Histogram(options));
  }

  /** Every metric in registration order, as Prometheus text (format 0.0.4). */
  render(): string {
    let out = "";
    for (const metric of this.#metrics.values()) {
      out += `# HELP ${metric.name} ${escapeHelp(metric.help)}\n`;
      out += `# TYPE ${metric.name} ${metric.type}\n`;
      for (const line of metric.samples()) out += line + "\n";
    }
    return out;
  }

  #add<T extends Metric<unknown>>(metric: T): T {
    if (this.#metrics.has(metric.name)) {
      throw new TypeError(`Metric "${metric.name}" is already registered`);
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatNumber(value)}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}
