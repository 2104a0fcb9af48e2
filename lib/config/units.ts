/**
 * Parsers for the two unit-bearing value kinds of the config file: sizes and
 * durations. One parser each, used for every key, so `max-body: 1MiB` and
 * `max-reply: 1MiB` can never disagree.
 *
 * @module
 */

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1e3,
  k: 1e3,
  KB: 1e3,
  kB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  T: 1e12,
  TB: 1e12,
  Ki: 1024,
  KiB: 1024,
  Mi: 1024 ** 2,
  MiB: 1024 ** 2,
  Gi: 1024 ** 3,
  GiB: 1024 ** 3,
  Ti: 1024 ** 4,
  TiB: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = {
  "": 1000,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Longest delay a timer can wait (2^31 − 1 ms); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const NUMBER_WITH_UNIT = /^([0-9]+(?:\.[0-9]+)?) ?([A-Za-z]*)$/;

/**
 * Parses a size such as `512KiB`, `1MiB`, `1Gi` (powers of 1024), `10MB`,
 * `10M` (powers of 1000) or a bare number of bytes. Fractions are rounded
 * down to whole bytes.
 *
 * @example
 * ```ts
 * parseSize("1MiB"); // 1048576
 * parseSize(512); // 512
 * ```
 * @throws {RangeError} with a message that lists the accepted units.
 */
export function parseSize(value: string | number): number {
  const bytes = parseWithUnits(value, SIZE_UNITS);
  if (bytes === undefined) {
    throw new RangeError(
      `Invalid size ${JSON.stringify(value)}: use a number of bytes or a number with ` +
        `KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000), e.g. "1MiB"`,
    );
  }
  return Math.floor(bytes);
}

/** Options of {@link parseDuration}. */
export interface DurationOptions {
  /**
   * What urocket adds to this duration before it arms a timer for the sum
   * (a backstop, a wait beyond it): the duration leaves room for it below
   * {@link MAX_TIMER_MS}.
   */
  addedMs?: number;
}

/**
 * Parses a duration such as `500ms`, `10s`, `5m`, `1h`; a bare number is
 * seconds. Returns milliseconds.
 *
 * @example
 * ```ts
 * parseDuration("10s"); // 10000
 * parseDuration(2); // 2000
 * ```
 * @throws {RangeError} with a message that lists the accepted units, or
 * that gives the longest duration a timer can hold (less `addedMs`).
 */
export function parseDuration(value: string | number, options: DurationOptions = {}): number {
  const addedMs = options.addedMs ?? 0;
  const maxMs = MAX_TIMER_MS - addedMs;
  const ms = parseWithUnits(value, DURATION_UNITS);
  if (ms !== undefined && ms > maxMs) {
    throw new RangeError(
      `Duration ${JSON.stringify(value)} is too long: the longest urocket can wait ` +
        (addedMs > 0
          ? `here is ${maxMs} ms (about 24 days), since it waits ${addedMs} ms beyond it and a ` +
            `timer holds at most ${MAX_TIMER_MS} ms`
          : `is ${MAX_TIMER_MS} ms (about 24 days)`),
    );
  }
  if (ms === undefined) {
    throw new RangeError(
      `Invalid duration ${JSON.stringify(value)}: use a number with ms, s, m or h, ` +
        `e.g. "500ms" or "30s"; a bare number is seconds`,
    );
  }
  return Math.round(ms);
}

function parseWithUnits(
  value: string | number,
  units: Record<string, number>,
): number | undefined {
  let result: number;
  if (typeof value === "number") {
    if (!(value >= 0)) return undefined;
    result = value * units[""];
  } else {
    const match = NUMBER_WITH_UNIT.exec(value.trim());
    if (!match) return undefined;
    const factor = Object.hasOwn(units, match[2]) ? units[match[2]] : undefined;
    if (factor === undefined) return undefined;
    result = Number(match[1]) * factor;
  }
  return Number.isSafeInteger(Math.floor(result)) ? result : undefined;
}

/** The smallest CPU share cpu.max can express: 1 ms of quota per 100 ms period. */
const MIN_CPU = 0.01;
/**
 * The largest CPU share cpu.max takes, in whole CPUs: the kernel refuses a
 * quota over 2^44 − 1 µs (its max_bw_runtime, about 203 days), and urocket
 * writes the quota per 100 ms period (lib/process/cgroup.ts).
 */
export const MAX_CPU = Math.floor((2 ** 44 - 1) / 100_000);

/**
 * Parses a CPU limit: a fraction of one CPU (`0.5`, `2`) or Kubernetes-style
 * millicores (`"500m"`). Returns the fraction.
 *
 * @example
 * ```ts
 * parseCpu(0.5); // 0.5
 * parseCpu("250m"); // 0.25
 * ```
 * @throws {RangeError} when it is not a positive number of at least 0.01,
 * or is more than {@link MAX_CPU}.
 */
export function parseCpu(value: string | number): number {
  const text = typeof value === "number" ? String(value) : value.trim();
  const match = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(text);
  const cpu = match ? Number(match[1]) / (match[2] ? 1000 : 1) : NaN;
  if (!(cpu >= MIN_CPU) || !Number.isFinite(cpu)) {
    throw new RangeError(
      `Invalid CPU limit ${JSON.stringify(value)}: use a fraction of one CPU of at least ` +
        `${MIN_CPU}, e.g. 0.5, or millicores, e.g. "500m"`,
    );
  }
  // Beyond it the write to cpu.max fails as each process starts, instead of here.
  if (cpu > MAX_CPU) {
    throw new RangeError(
      `CPU limit ${JSON.stringify(value)} is more than cpu.max takes: at most ${MAX_CPU} ` +
        "(a quota of 2^44 - 1 µs per 100 ms period); to leave CPU unlimited, leave cpu out",
    );
  }
  return cpu;
}
