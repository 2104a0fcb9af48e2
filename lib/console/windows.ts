/**
 * Per-operation figures over the last minutes — requests per second,
 * latency percentiles, error share — kept in fixed-size rings of time
 * buckets, so that memory does not grow with the number of requests.
 *
 * @module
 */

/** Width of one time bucket. */
export const BUCKET_MS = 10_000;
/** Buckets in the window: 30 × 10 s = the last 5 minutes. */
export const BUCKETS = 30;

/**
 * Upper bounds of the latency histogram, in ms: 1, 1.5, 2, 3, 5, 7, 10, …
 * up to 7,000,000 (about two hours); a last bucket holds anything longer.
 * A percentile is reported as the upper bound of its bucket.
 */
export const LATENCY_BOUNDS: readonly number[] = Array.from(
  { length: 7 },
  (_, decade) => [1, 1.5, 2, 3, 5, 7].map((step) => step * 10 ** decade),
).flat();

const SLOTS = LATENCY_BOUNDS.length + 1;

/** An operation's figures over the window, oldest bucket first in each series. */
export interface OperationSummary {
  operation: string;
  /** Requests answered in the window. */
  requests: number;
  /** Requests per second over the window. */
  rps: number;
  /** Latency percentiles in ms (upper bound of the histogram bucket); null without requests. */
  p50: number | null;
  p99: number | null;
  /** Share of answers with a status of 500 or more, 0 to 1. */
  errorShare: number;
  /** Per bucket of {@link BUCKET_MS}: requests per second, p99 (null when empty), errors. */
  series: { rps: number[]; p99: (number | null)[]; errors: number[] };
}

/** One operation's ring of buckets. */
class Window {
  /** Which bucket (time / BUCKET_MS) each slot holds; -1 when none. */
  ids = new Float64Array(BUCKETS).fill(-1);
  counts = new Uint32Array(BUCKETS);
  errors = new Uint32Array(BUCKETS);
  latencies = new Uint32Array(BUCKETS * SLOTS);

  record(id: number, durationMs: number, error: boolean): void {
    const slot = id % BUCKETS;
    if (this.ids[slot] !== id) {
      this.ids[slot] = id;
      this.counts[slot] = 0;
      this.errors[slot] = 0;
      this.latencies.fill(0, slot * SLOTS, (slot + 1) * SLOTS);
    }
    this.counts[slot]++;
    if (error) this.errors[slot]++;
    this.latencies[slot * SLOTS + latencySlot(durationMs)]++;
  }
}

/**
 * The windows of every operation that answered in the last
 * {@link BUCKETS} × {@link BUCKET_MS}; an operation idle that long is
 * forgotten.
 *
 * @example
 * ```ts
 * const windows = new OperationWindows();
 * windows.record("listPets", Date.now(), 12, false);
 * windows.summaries(Date.now())[0].p50; // 15
 * ```
 */
export class OperationWindows {
  #windows = new Map<string, Window>();

  /** Counts one answer of `operation` at `nowMs`, which took `durationMs`. */
  record(operation: string, nowMs: number, durationMs: number, error: boolean): void {
    let window = this.#windows.get(operation);
    if (!window) this.#windows.set(operation, window = new Window());
    window.record(Math.floor(nowMs / BUCKET_MS), durationMs, error);
  }

  /** Every operation's figures at `nowMs`, by name. */
  summaries(nowMs: number): OperationSummary[] {
    const current = Math.floor(nowMs / BUCKET_MS);
    const out: OperationSummary[] = [];
    for (const [operation, window] of this.#windows) {
      const summary = summarize(operation, window, current);
      if (summary.requests === 0) this.#windows.delete(operation);
      else out.push(summary);
    }
    return out.sort((a, b) => a.operation.localeCompare(b.operation));
  }
}

function summarize(operation: string, window: Window, current: number): OperationSummary {
  const total = new Uint32Array(SLOTS);
  const series: OperationSummary["series"] = { rps: [], p99: [], errors: [] };
  let requests = 0;
  let errors = 0;
  for (let id = current - BUCKETS + 1; id <= current; id++) {
    const slot = id % BUCKETS;
    if (window.ids[slot] !== id) {
      series.rps.push(0);
      series.p99.push(null);
      series.errors.push(0);
      continue;
    }
    const histogram = window.latencies.subarray(slot * SLOTS, (slot + 1) * SLOTS);
    for (let i = 0; i < SLOTS; i++) total[i] += histogram[i];
    requests += window.counts[slot];
    errors += window.errors[slot];
    series.rps.push(window.counts[slot] / (BUCKET_MS / 1000));
    series.p99.push(percentile(histogram, window.counts[slot], 0.99));
    series.errors.push(window.errors[slot]);
  }
  return {
    operation,
    requests,
    rps: requests / (BUCKETS * BUCKET_MS / 1000),
    p50: percentile(total, requests, 0.5),
    p99: percentile(total, requests, 0.99),
    errorShare: requests === 0 ? 0 : errors / requests,
    series,
  };
}

/** The histogram slot of a latency. */
function latencySlot(ms: number): number {
  let low = 0;
  let high = LATENCY_BOUNDS.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (ms <= LATENCY_BOUNDS[mid]) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The upper bound of the bucket holding quantile `q` of `count` values; null when none. */
function percentile(histogram: Uint32Array, count: number, q: number): number | null {
  if (count === 0) return null;
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= rank) return LATENCY_BOUNDS[Math.min(i, LATENCY_BOUNDS.length - 1)];
  }
  return null;
}
