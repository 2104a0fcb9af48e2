/**
 * JSON-lines logger, the only code that writes to the console.
 *
 * Lines are queued and written asynchronously: a synchronous `console.log`
 * into a slow pipe would block the whole server. The queue is bounded in
 * size: past {@link LoggerOptions.maxQueueBytes}, process output
 * ({@link Logger.offerOutput}) is dropped and counted; urocket's own lines
 * (start, access, process exit) are kept up to the larger
 * {@link LoggerOptions.maxOwnQueueBytes}, and dropped and counted past it
 * too, so that a log reader that stopped reading costs a bounded amount of
 * memory and never blocks urocket.
 *
 * @module
 */

/** Severity of a line. */
export type Level = "debug" | "info" | "warn" | "error";

/** Fields of a line; `undefined` values are left out. */
export type Fields = Record<string, unknown>;

/** Options of {@link Logger}. */
export interface LoggerOptions {
  /** Writes a chunk, resolving when all of it is written. */
  write: (chunk: Uint8Array) => Promise<void>;
  /**
   * Queue size (in UTF-16 code units, about bytes for log text) above which
   * droppable lines are dropped. Default 1 Mi.
   */
  maxQueueBytes?: number;
  /**
   * Queue size (same unit) above which urocket's own lines are dropped too:
   * what a log reader that stopped reading may cost. The text queued, the
   * batch being written included, never exceeds it by more than one line.
   * Default {@link MAX_OWN_QUEUE_BYTES}.
   */
  maxOwnQueueBytes?: number;
  /** Clock, injectable for tests. */
  now?: () => Date;
  /**
   * How long the first queued line of each write waits for others to
   * leave with it, in ms. Default 0: written as soon as the current task ends.
   * urocket's own log uses {@link LOG_LINGER_MS}. {@link Logger.flush}
   * writes at once.
   */
  lingerMs?: number;
}

/**
 * The linger of urocket's own log: with it, the two or three lines of each
 * request leave in one write every few milliseconds instead of a write (and
 * a wake-up of the log reader) each — measured on the bench, see
 * BENCHMARKS.md. A line is at most this much later on stdout, plus the
 * time the write before it takes (a line logged during a write waits for
 * the next batch).
 */
export const LOG_LINGER_MS = 5;

/**
 * How long urocket waits on its way out for stdout to take its last lines.
 * A log collector that stopped reading must not keep urocket from exiting.
 */
export const LOG_EXIT_WAIT_MS = 5_000;

/**
 * Queued text (UTF-16 code units) that ends a linger at once: the linger is
 * for batching a few lines; a chatty process must not fill the queue (and
 * see its lines dropped) while the writer sits idle.
 */
const LINGER_MAX_BATCH = 64 * 1024;

/**
 * The default bound of the whole log queue, urocket's own lines included:
 * 4 Mi UTF-16 code units of JSON text (4 MiB for ASCII; 8 MiB of memory at
 * worst, plus its UTF-8 copy while a batch is being written).
 */
export const MAX_OWN_QUEUE_BYTES = 4 * 1024 * 1024;

/** `000` to `999`: the milliseconds of a log line's time. */
const MILLIS = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, "0"));

/**
 * Writes one JSON object per line: `time`, `level`, `msg`, then the fields.
 *
 * @example
 * ```ts
 * const logger = new Logger({ write: writeAllTo(Deno.stdout) });
 * logger.info("access", { req_id: crypto.randomUUID(), status: 200 });
 * await logger.flush();
 * ```
 */
export class Logger {
  #write: (chunk: Uint8Array) => Promise<void>;
  #maxQueueBytes: number;
  #maxOwnQueueBytes: number;
  /** Milliseconds since the epoch: Date.now, or the injected clock. */
  #clock: () => number;
  #queue: string[] = [];
  #queuedBytes = 0;
  #draining: Promise<void> | undefined;
  #dropped = 0;
  #droppedOutput = 0;
  #encoder = new TextEncoder();
  #lastMs = NaN;
  #lastTime = "";
  /** The start of the ISO time up to the milliseconds (`2025-01-02T03:04:05.`), and its second. */
  #secondPrefix = "";
  #second = NaN;
  /** The start of the last output line written, up to `"line":`, and what it was built for. */
  #outputPrefix = "";
  #outputFor = { time: "", stream: "", reqId: "" };
  #lingerMs: number;
  /** Queued text that ends a linger early. */
  #lingerMaxBatch: number;
  /** Ends the current linger early (flush, or a batch big enough). */
  #wake: (() => void) | undefined;
  /** Flushes in progress: while there is one, nothing lingers. */
  #hurry = 0;

  constructor(options: LoggerOptions) {
    this.#write = options.write;
    this.#maxQueueBytes = options.maxQueueBytes ?? 1024 * 1024;
    this.#maxOwnQueueBytes = Math.max(
      this.#maxQueueBytes,
      options.maxOwnQueueBytes ?? MAX_OWN_QUEUE_BYTES,
    );
    const now = options.now;
    this.#clock = now ? () => now().getTime() : Date.now;
    this.#lingerMs = options.lingerMs ?? 0;
    this.#lingerMaxBatch = Math.min(LINGER_MAX_BATCH, this.#maxQueueBytes / 2);
  }

  /** Lines dropped so far because the queue was full: process output and urocket's own. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Process output lines dropped so far because the queue was over `maxQueueBytes`. */
  get droppedOutput(): number {
    return this.#droppedOutput;
  }

  /**
   * Queues one of urocket's own lines, unless the queue is over
   * `maxOwnQueueBytes` (the log's reader stopped reading): then it is
   * dropped and counted.
   */
  log(level: Level, msg: string, fields: Fields = {}): void {
    if (this.#queuedBytes >= this.#maxOwnQueueBytes) {
      this.#dropped++;
      return;
    }
    this.#enqueue(this.#format(level, msg, fields));
  }

  /**
   * Queues one line of a process's output — the line urocket writes most —
   * unless the queue is full: then it is dropped and counted, and false
   * returned so that the caller can count it on the request's lines too.
   * Written as `{"time","level","msg":stream,"req_id","line"[,"truncated"]}`,
   * formatted without building an object (a process may print thousands of
   * lines a second); `stream` and `reqId` are urocket's own values and need
   * no escapes, the line is escaped.
   */
  offerOutput(
    stream: "stdout" | "stderr",
    reqId: string,
    line: string,
    truncated: boolean,
  ): boolean {
    if (this.#queuedBytes >= this.#maxQueueBytes) {
      this.#dropped++;
      this.#droppedOutput++;
      return false;
    }
    // A process's lines come in runs (a chunk of its output, the same millisecond): they share
    // everything up to "line", built once.
    const time = this.#time();
    const last = this.#outputFor;
    if (time !== last.time || stream !== last.stream || reqId !== last.reqId) {
      const level = stream === "stderr" ? "warn" : "info";
      this.#outputPrefix =
        `{"time":"${time}","level":"${level}","msg":"${stream}","req_id":"${reqId}","line":`;
      this.#outputFor = { time, stream, reqId };
    }
    this.#enqueue(
      this.#outputPrefix + JSON.stringify(line) + (truncated ? ',"truncated":true}\n' : "}\n"),
    );
    return true;
  }

  /** {@link log} at level info. */
  info(msg: string, fields?: Fields): void {
    this.log("info", msg, fields);
  }

  /** {@link log} at level warn. */
  warn(msg: string, fields?: Fields): void {
    this.log("warn", msg, fields);
  }

  /** {@link log} at level error. */
  error(msg: string, fields?: Fields): void {
    this.log("error", msg, fields);
  }

  /**
   * Resolves true when every queued line has been written — or false once
   * `timeoutMs` has passed first (stdout does not drain: say, the log
   * collector stopped reading), when one is given.
   */
  async flush(timeoutMs?: number): Promise<boolean> {
    const written = this.#flush().then(() => true);
    if (timeoutMs === undefined) return await written;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        written,
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), timeoutMs)),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #flush(): Promise<void> {
    this.#hurry++;
    try {
      while (this.#draining) {
        this.#wake?.();
        await this.#draining;
      }
    } finally {
      this.#hurry--;
    }
  }

  #format(level: Level, msg: string, fields: Fields): string {
    const time = this.#time();
    // Fields come after urocket's own keys and can never replace them.
    if ("time" in fields || "level" in fields || "msg" in fields) {
      const own = { time, level, msg };
      return JSON.stringify(Object.assign({ ...own }, fields, own)) + "\n";
    }
    // The common case, built without copying `fields` (a process may print thousands of lines).
    const rest = JSON.stringify(fields);
    return `{"time":"${time}","level":"${level}","msg":${JSON.stringify(msg)}${
      rest.length > 2 ? "," + rest.slice(1) : "}"
    }\n`;
  }

  /** The ISO time, formatted once per millisecond (no Date is built in between). */
  #time(): string {
    const ms = this.#clock();
    if (ms !== this.#lastMs) {
      this.#lastMs = ms;
      // toISOString() costs about a µs: the date and time are built once per second, and the
      // milliseconds appended (a line or two per request, most of them in a millisecond of their own).
      const second = Math.floor(ms / 1000);
      if (second !== this.#second) {
        this.#second = second;
        this.#secondPrefix = new Date(second * 1000).toISOString().slice(0, -4);
      }
      const millis = ms - second * 1000;
      this.#lastTime = `${this.#secondPrefix}${MILLIS[millis]}Z`;
    }
    return this.#lastTime;
  }

  #linger(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(wake, this.#lingerMs);
      function wake() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = wake;
    }).finally(() => this.#wake = undefined);
  }

  #enqueue(line: string): void {
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    this.#draining ??= this.#drain();
    if (this.#queuedBytes >= this.#lingerMaxBatch) this.#wake?.();
  }

  async #drain(): Promise<void> {
    // Yield first, so that #draining is set before this can finish, even if write throws synchronously.
    await Promise.resolve();
    try {
      while (this.#queue.length > 0) {
        // Before every write, not only the first: lines that arrive while a write is in flight
        // (a write to a pipe takes tens of µs of urocket's CPU, more under load) wait for the
        // next batch instead of leaving at once, a write or two per request.
        if (this.#lingerMs > 0 && this.#hurry === 0 && this.#queuedBytes < this.#lingerMaxBatch) {
          await this.#linger();
        }
        const batch = this.#queue.join("");
        this.#queue = [];
        try {
          await this.#write(this.#encoder.encode(batch));
        } catch {
          // A closed stdout must not take the server down; there is nowhere left to say so.
        }
        this.#queuedBytes -= batch.length;
      }
    } finally {
      this.#draining = undefined;
    }
  }
}

/**
 * Adapts a Deno writer (such as `Deno.stdout`) to the logger's `write`,
 * looping until every byte is written.
 */
export function writeAllTo(writer: { write(p: Uint8Array): Promise<number> }) {
  return async (chunk: Uint8Array): Promise<void> => {
    let offset = 0;
    while (offset < chunk.length) offset += await writer.write(chunk.subarray(offset));
  };
}
