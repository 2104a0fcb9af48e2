/**
 * What the console knows: the requests in flight, a ring of the last ones
 * that finished, per-operation windows and the last reload — fed by the
 * exchange through {@link ExchangeObserver}, bounded in size whatever the
 * traffic.
 *
 * @module
 */

import type { Admitted, ExchangeObserver, Finished, ProcessEnded } from "./observer.ts";
import { type OperationSummary, OperationWindows } from "./windows.ts";

/** Finished requests the ring keeps. */
export const RECENT_SIZE = 100;
/** stderr lines kept per request: the first ones and the last ones. */
export const STDERR_LINES = 3;
/** Longest stderr line kept, in characters (the log keeps up to 8 KiB). */
export const STDERR_LINE_MAX = 500;
/** Longest request path kept, in characters. */
const PATH_MAX = 512;

/** Where a request in flight is. */
export type InflightState =
  /** Routed; the process is not spawned yet. */
  | "starting"
  /** The process runs; no reply yet. */
  | "spawned"
  /** The reply is streaming to the client. */
  | "replied-streaming"
  /** The client has its answer; processes of the group still run. */
  | "draining"
  /** The process group is gone; the answer is still being decided. */
  | "exited";

/** The first and last lines of a request's stderr. */
export interface StderrExcerpt {
  first: string[];
  last: string[];
  /** Lines written in all. */
  lines: number;
}

/** A request in flight, as `/api/inflight` shows it. */
export interface InflightRow {
  reqId: string;
  operation: string;
  method: string;
  path: string;
  state: InflightState;
  /** Epoch ms when it was routed. */
  startedAt: number;
  pid?: number;
  /** The answer's status, once the client has it. */
  status?: number;
}

/** A finished request, as `/api/recent` shows it. */
export interface RecentRow {
  /** Increases by one per finished request: what a client has seen. */
  seq: number;
  reqId: string;
  operation: string | null;
  method: string;
  path: string;
  status: number;
  outcome: string;
  durationMs: number;
  /** Epoch ms when the client's answer was complete. */
  finishedAt: number;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  killReason: string | null;
  lifetimeMs: number | null;
  cpuMs: number | null;
  maxRssKb: number | null;
  statsSource: string | null;
  stderr: StderrExcerpt;
}

/** Internal state of a request in flight. */
interface Tracked extends InflightRow {
  stderr: StderrExcerpt;
  finished?: Finished & { at: number };
  end?: ProcessEnded;
}

/** The result of the last reload, as `/api/status` shows it. */
export interface ReloadResult {
  outcome: "applied" | "refused";
  /** Epoch ms. */
  at: number;
  /** Why it was refused, as the reload log line says. */
  problems: string[];
}

/** Options of {@link ConsoleState}. */
export interface ConsoleStateOptions {
  /** Clock (epoch ms), injectable for tests. */
  now?: () => number;
  /** Size of the ring of finished requests; default {@link RECENT_SIZE}. */
  recentSize?: number;
}

/**
 * The console's memory: in flight (as many as urocket lets run), the last
 * {@link RECENT_SIZE} finished, and 5 minutes of per-operation buckets.
 *
 * @example
 * ```ts
 * const state = new ConsoleState();
 * // The front tells it each step of every request: createFrontApp({ …, observer: state }).
 * state.admitted({ reqId: "4b0d…", operation: "listPets", method: "GET", path: "/pets" });
 * state.inflight(); // rows of the requests in flight
 * ```
 */
export class ConsoleState implements ExchangeObserver {
  #now: () => number;
  #inflight = new Map<string, Tracked>();
  #recent: RecentRow[] = [];
  #recentSize: number;
  #seq = 0;
  #windows = new OperationWindows();
  #listeners = new Set<() => void>();
  #generation = 1;
  #reload: ReloadResult | undefined;

  constructor(options: ConsoleStateOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#recentSize = options.recentSize ?? RECENT_SIZE;
  }

  admitted(event: Admitted): void {
    this.#inflight.set(event.reqId, {
      reqId: event.reqId,
      operation: event.operation,
      method: event.method,
      path: kept(event.path, PATH_MAX),
      state: "starting",
      startedAt: this.#now(),
      stderr: { first: [], last: [], lines: 0 },
    });
    this.#changed();
  }

  spawned(reqId: string, pid: number): void {
    const row = this.#inflight.get(reqId);
    if (!row) return;
    row.pid = pid;
    if (row.state === "starting") row.state = "spawned";
    this.#changed();
  }

  output(reqId: string, stream: "stdout" | "stderr", line: string): void {
    if (stream !== "stderr") return;
    const row = this.#inflight.get(reqId);
    if (!row) return;
    const { stderr } = row;
    stderr.lines++;
    const text = kept(line, STDERR_LINE_MAX);
    if (stderr.first.length < STDERR_LINES) stderr.first.push(text);
    else {
      stderr.last.push(text);
      if (stderr.last.length > STDERR_LINES) stderr.last.shift();
    }
  }

  streaming(reqId: string): void {
    const row = this.#inflight.get(reqId);
    if (!row) return;
    row.state = "replied-streaming";
    this.#changed();
  }

  finished(event: Finished): void {
    const at = this.#now();
    this.#windows.record(
      event.operation ?? "(no operation)",
      at,
      event.durationMs,
      event.status >= 500,
    );
    const row = this.#inflight.get(event.reqId);
    if (!row) {
      // Never routed to an operation (404, 405, 501) or refused before its exchange began.
      this.#push(recentRow({ ...event, at }, undefined, undefined));
      return;
    }
    row.finished = { ...event, at };
    row.status = event.status;
    if (row.pid !== undefined && !row.end) {
      row.state = "draining";
      this.#changed();
    } else {
      this.#retire(row);
    }
  }

  processEnded(reqId: string, end: ProcessEnded): void {
    const row = this.#inflight.get(reqId);
    if (!row) return;
    row.end = end;
    if (row.finished) this.#retire(row);
    else {
      row.state = "exited";
      this.#changed();
    }
  }

  /** A reload was applied (a new config generation) or refused. */
  reloaded(outcome: "applied" | "refused", problems: string[] = []): void {
    if (outcome === "applied") this.#generation++;
    this.#reload = { outcome, at: this.#now(), problems: problems.slice(0, 20) };
    this.#changed();
  }

  /** The config generation: 1 at start, one more per applied reload. */
  get generation(): number {
    return this.#generation;
  }

  /** The last reload's result; undefined before the first. */
  get lastReload(): ReloadResult | undefined {
    return this.#reload;
  }

  /** Requests in flight, oldest first. */
  inflight(): InflightRow[] {
    return [...this.#inflight.values()].map(({ stderr: _s, finished: _f, end: _e, ...row }) => row);
  }

  /** Finished requests with a `seq` above `after`, oldest first. */
  recent(after = 0): RecentRow[] {
    return after === 0 ? [...this.#recent] : this.#recent.filter((row) => row.seq > after);
  }

  /** The `seq` of the last finished request. */
  get lastSeq(): number {
    return this.#seq;
  }

  /** Per-operation figures over the last minutes. */
  operations(): OperationSummary[] {
    return this.#windows.summaries(this.#now());
  }

  /** Calls `listener` after each change of the rows; returns what stops it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #retire(row: Tracked): void {
    this.#inflight.delete(row.reqId);
    this.#push(recentRow(row.finished!, row, row.end));
  }

  #push(row: Omit<RecentRow, "seq">): void {
    this.#recent.push({ seq: ++this.#seq, ...row });
    if (this.#recent.length > this.#recentSize) this.#recent.shift();
    this.#changed();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

function recentRow(
  finished: Finished & { at: number },
  row: Tracked | undefined,
  end: ProcessEnded | undefined,
): Omit<RecentRow, "seq"> {
  return {
    reqId: finished.reqId,
    operation: finished.operation ?? null,
    method: finished.method,
    path: row?.path ?? kept(finished.path, PATH_MAX),
    status: finished.status,
    outcome: finished.outcome,
    durationMs: finished.durationMs,
    finishedAt: finished.at,
    pid: row?.pid ?? null,
    exitCode: end?.exitCode ?? null,
    signal: end?.signal ?? null,
    killReason: end?.killReason ?? null,
    lifetimeMs: end?.lifetimeMs ?? null,
    cpuMs: end?.cpuMs ?? null,
    maxRssKb: end?.maxRssKb ?? null,
    statsSource: end?.statsSource ?? null,
    stderr: row?.stderr ?? { first: [], last: [], lines: 0 },
  };
}

/**
 * `text` cut to `max` characters (marked with an ellipsis when cut), as a
 * string of its own: a path is a slice of its request's URL and a line a
 * slice of the chunk it was read from, and V8 keeps the whole of that alive
 * for as long as a slice of it (or a string made of one) lives.
 */
function kept(text: string, max: number): string {
  return copy(text.length <= max ? text : text.slice(0, max - 1) + "…");
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A flat copy of `text` that shares nothing with it. */
function copy(text: string): string {
  return decoder.decode(encoder.encode(text));
}
