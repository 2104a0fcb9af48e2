/**
 * One handler's life, from spawn until the last process of its group is
 * gone: payload on stdin, output as lines, the kill deadline, SIGTERM to the
 * whole group, SIGKILL after the grace period.
 *
 * @module
 */

import { LineSplitter, OutputBudget, readLines } from "./output.ts";
import { isGroupAlive, signalGroup } from "./signals.ts";
import type {
  ExitStatus,
  GroupUsage,
  OutputRelay,
  OutputStream,
  OutputStreams,
  Spawned,
  Spawner,
  SpawnSpec,
} from "./spawn.ts";

/** Why urocket killed a process group. */
export type KillReason = "timeout" | "client_gone" | "shutdown" | "stream_timeout";

/**
 * What a process group used: `cgroup` (the group's cgroup: everything that
 * ran in it, orphans included; memory is its peak charge) or `wait4` (the
 * direct child and the descendants it waited for; memory is the largest
 * single resident set).
 */
export interface ProcessStats {
  source: "cgroup" | "wait4";
  cpuUserMs: number;
  cpuSysMs: number;
  maxRssKb: number;
}

/** How a process group ended, for the `process_exit` log line. */
export interface ProcessEnd {
  pid: number;
  /** Exit code of the direct child, when it exited normally. */
  exitCode: number | null;
  /** Signal that ended the direct child, when one did. */
  signal: string | null;
  /** Whether urocket signalled the group. */
  killed: boolean;
  killReason?: KillReason;
  /** Milliseconds from spawn until the whole group was gone. */
  lifetimeMs: number;
  /** Whether processes of the group were still alive after SIGKILL (e.g. unreaped zombies). */
  lingering?: boolean;
  /** CPU and memory used; absent when the spawner cannot tell (the detached fallback). */
  stats?: ProcessStats;
  /** Whether the kernel killed a process of its cgroup for exceeding memory. */
  oomKilled?: boolean;
  /** Bytes of output read and discarded past `logLimit`, when it was passed. */
  discardedBytes?: number;
  /** Output lines `onOutput` dropped (a full log queue), when it dropped any. */
  droppedLines?: number;
}

/** Options of {@link ProcessGroup.start}. */
export interface ProcessGroupOptions {
  spawner: Spawner;
  /** Bytes written to stdin (when `spec.stdin`), then stdin is closed. */
  payload?: Uint8Array;
  /** Time from spawn until the group is killed, whatever has happened meanwhile. */
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /**
   * Called for each output line; stdout only when `spec.stdout`. Returns
   * false when it dropped the line (the log queue was full): the group counts
   * it ({@link ProcessGroup.droppedLines}).
   */
  onOutput: (stream: OutputStream, line: string, truncated: boolean) => unknown;
  /**
   * Bytes of output lines passed to `onOutput`, both streams together
   * (`log-limit`); the rest is read and discarded. Default: no limit.
   */
  logLimit?: number;
  /** Called once, with the stream and the bytes logged, when the output passes `logLimit`. */
  onTruncated?: (stream: OutputStream, loggedBytes: number) => void;
}

/** Gives the line callback of one output stream. */
type LineSink = (stream: OutputStream) => (line: string, truncated: boolean) => void;

/** Polling backoff while a group outlives its leader, in ms. */
const POLL_STEPS = [5, 10, 25, 50, 100, 250, 500];
/** How long output may still arrive after the group is gone before reading stops. */
const OUTPUT_DRAIN_MS = 100;
/** How long to wait for a SIGKILLed group to disappear before giving up on it. */
const KILL_WAIT_MS = 5_000;

/**
 * A handler process and its descendants, supervised until all are gone.
 *
 * @example
 * ```ts
 * import { detachedSpawner, type SpawnSpec } from "./spawn.ts";
 *
 * declare const spec: SpawnSpec;
 * const group = await ProcessGroup.start(spec, {
 *   spawner: detachedSpawner,
 *   timeoutMs: 30_000,
 *   killGraceMs: 2_000,
 *   onOutput: (stream, line) => console.log(stream, line),
 * });
 * const end = await group.ended; // { exitCode: 0, killed: false, … }
 * ```
 */
export class ProcessGroup {
  /** pid of the direct child, also the process group id. */
  readonly pid: number;
  /** Resolves when the direct child has exited. */
  readonly exited: Promise<ExitStatus>;
  /** Resolves when no process of the group is left. */
  readonly ended: Promise<ProcessEnd>;
  #startedAt = performance.now();
  #killGraceMs: number;
  /** When the group is killed, in performance.now() time; movable while a reply streams. */
  #deadline: number;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stops reading output a process that escaped the group still holds. */
  #stopReading: () => void;
  #killReason: KillReason | undefined;
  /** Timers other than the deadline (the SIGKILL after the grace, polling); most groups need none. */
  #timers: Set<ReturnType<typeof setTimeout>> | undefined;
  #done = false;
  /** Output streams still being read. */
  #openReaders = 0;
  /** Called when the last output stream has ended, once `#drain` waits for it. */
  #onReadersEnded: (() => void) | undefined;
  #budget: OutputBudget;
  #droppedLines = 0;

  private constructor(spawned: Spawned, options: ProcessGroupOptions) {
    this.pid = spawned.pid;
    this.exited = spawned.status;
    if (spawned.feedStdin) spawned.feedStdin(options.payload ?? new Uint8Array());
    else if (spawned.stdin) writePayload(spawned.stdin, options.payload ?? new Uint8Array());
    this.#budget = new OutputBudget(options.logLimit ?? Infinity);
    const onLine = (stream: OutputStream) => (line: string, truncated: boolean) => {
      const taken = this.#budget.take(line);
      if (taken === "logged") {
        if (options.onOutput(stream, line, truncated) === false) this.#droppedLines++;
      } else if (taken === "cut") options.onTruncated?.(stream, this.#budget.logged);
    };
    this.#stopReading = spawned.output.kind === "relay"
      ? this.#receive(spawned.output, onLine)
      : this.#read(spawned.output, onLine);
    this.#killGraceMs = options.killGraceMs;
    this.#deadline = performance.now() + options.timeoutMs;
    this.#armDeadline("timeout");
    this.ended = this.#supervise(spawned);
  }

  // The per-process state below lives as long as the process: counters and arrays, not a promise
  // per stream, because 1,000 processes in flight hold 1,000 of each (see BENCHMARKS.md).

  /** Splits relayed output into lines as it is pushed. Returns what stops it. */
  #receive(relay: OutputRelay, onLine: LineSink): () => void {
    const { streams } = relay;
    const budget = this.#budget;
    // Per stream, in the order of `streams`; undefined once it has ended.
    const lines: (LineSplitter | undefined)[] = streams.map((stream) =>
      new LineSplitter(onLine(stream))
    );
    this.#openReaders = streams.length;
    relay.attach({
      data: (stream, bytes) => {
        // Past log-limit the chunk is only counted: no decoding, no splitting.
        if (budget.cut) budget.discard(bytes.length);
        else lines[streams.indexOf(stream)]?.push(bytes);
      },
      end: (stream) => {
        const at = streams.indexOf(stream);
        const ending = lines[at];
        if (!ending) return;
        lines[at] = undefined;
        if (!budget.cut) ending.end();
        this.#readerEnded();
      },
    });
    return () => relay.drop();
  }

  /** Reads output streams line by line. Returns what stops it. */
  #read(streams: OutputStreams, onLine: LineSink): () => void {
    const stop = new AbortController();
    this.#openReaders = streams.stdout ? 2 : 1;
    const read = (stream: OutputStream, from: ReadableStream<Uint8Array>) =>
      readLines(from, { onLine: onLine(stream), signal: stop.signal, budget: this.#budget })
        .then(() => this.#readerEnded());
    read("stderr", streams.stderr);
    if (streams.stdout) read("stdout", streams.stdout);
    return () => stop.abort();
  }

  #readerEnded(): void {
    if (--this.#openReaders === 0) this.#onReadersEnded?.();
  }

  /**
   * Spawns `spec` and starts supervising it.
   *
   * @throws {SpawnError} when the program cannot be started.
   */
  static async start(spec: SpawnSpec, options: ProcessGroupOptions): Promise<ProcessGroup> {
    const withPayload = spec.stdin && options.payload
      ? { ...spec, payload: options.payload }
      : spec;
    return new ProcessGroup(await options.spawner(withPayload), options);
  }

  /** Output lines dropped so far because `onOutput` could not take them. */
  get droppedLines(): number {
    return this.#droppedLines;
  }

  /** Why the group was killed, if it was. */
  get killReason(): KillReason | undefined {
    return this.#killReason;
  }

  /**
   * SIGTERM to the whole group now, SIGKILL after the grace period. Only the
   * first call counts.
   */
  kill(reason: KillReason): void {
    if (this.#done || this.#killReason) return;
    this.#killReason = reason;
    if (!signalGroup(this.pid, "SIGTERM")) return;
    this.#after(this.#killGraceMs, () => signalGroup(this.pid, "SIGKILL"));
  }

  /**
   * Moves the kill deadline to `ms` from now, killing for `reason` when it
   * passes — while a reply streams, `stream-timeout` replaces `timeout`.
   * Returns the deadline it replaced, to restore with {@link restoreDeadline}.
   */
  moveDeadline(ms: number, reason: KillReason): number {
    const previous = this.#deadline;
    this.#deadline = performance.now() + ms;
    this.#armDeadline(reason);
    return previous;
  }

  /** Puts back a deadline saved by {@link moveDeadline}; kills at once if it has passed. */
  restoreDeadline(deadline: number): void {
    this.#deadline = deadline;
    this.#armDeadline("timeout");
  }

  #armDeadline(reason: KillReason): void {
    if (this.#done) return;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(() => {
      this.#deadlineTimer = undefined;
      this.kill(reason);
    }, Math.max(0, this.#deadline - performance.now()));
  }

  /** SIGKILL to the whole group at once, for a second shutdown signal. */
  killNow(reason: KillReason): void {
    if (this.#done) return;
    this.#killReason ??= reason;
    signalGroup(this.pid, "SIGKILL");
  }

  async #supervise(spawned: Spawned): Promise<ProcessEnd> {
    const status = await spawned.status;
    let lingering = false;
    let killedAt: number | undefined;
    // The spawn server checks the group as it reaps the child; usually it is already empty.
    for (let step = 0; status.groupAlive !== false && isGroupAlive(this.pid); step++) {
      if (this.#killReason) {
        killedAt ??= performance.now();
        if (performance.now() - killedAt > this.#killGraceMs + KILL_WAIT_MS) {
          lingering = true;
          break;
        }
      }
      await this.#sleep(POLL_STEPS[Math.min(step, POLL_STEPS.length - 1)]);
    }
    this.#done = true;
    this.#clearTimers();
    // The cgroup (when there is one) is read and removed once nothing of the group is left.
    const [group] = await Promise.all([spawned.release?.(), this.#drain()]);
    const oomKills = group?.oomKills ?? status.oomKills;
    return {
      pid: this.pid,
      exitCode: status.signal ? null : status.code,
      signal: status.signal ?? null,
      killed: this.#killReason !== undefined,
      killReason: this.#killReason,
      lifetimeMs: Math.round(performance.now() - this.#startedAt),
      ...(lingering ? { lingering } : {}),
      ...statsOf(status, group),
      ...(oomKills ? { oomKilled: true } : {}),
      ...(this.#budget.cut ? { discardedBytes: this.#budget.discarded } : {}),
      ...(this.#droppedLines ? { droppedLines: this.#droppedLines } : {}),
    };
  }

  /**
   * Lets output that is still in the pipes be logged, then stops reading: a
   * process that escaped the group may hold the pipe open forever.
   */
  async #drain(): Promise<void> {
    // Usually the pipes closed with the group: then no timer and no abort (which builds an Error).
    if (this.#openReaders === 0) return;
    const ended = new Promise<void>((resolve) => this.#onReadersEnded = resolve);
    await Promise.race([ended, this.#sleep(OUTPUT_DRAIN_MS)]);
    if (this.#openReaders > 0) this.#stopReading();
    this.#clearTimers();
    await ended;
  }

  #clearTimers(): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    for (const timer of this.#timers ?? []) clearTimeout(timer);
    this.#timers = undefined;
  }

  #after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers?.delete(timer);
      fn();
    }, ms);
    (this.#timers ??= new Set()).add(timer);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#after(ms, resolve));
  }
}

/**
 * The group's usage: its cgroup's when both CPU and memory could be read
 * there (it counts every process, orphans too), else wait4()'s, else none.
 */
function statsOf(status: ExitStatus, group: GroupUsage | undefined): { stats?: ProcessStats } {
  if (
    group?.userUs !== undefined && group.sysUs !== undefined && group.peakBytes !== undefined
  ) {
    return {
      stats: {
        source: "cgroup",
        cpuUserMs: group.userUs / 1000,
        cpuSysMs: group.sysUs / 1000,
        maxRssKb: Math.round(group.peakBytes / 1024),
      },
    };
  }
  if (!status.usage) return {};
  return {
    stats: {
      source: "wait4",
      cpuUserMs: status.usage.userUs / 1000,
      cpuSysMs: status.usage.sysUs / 1000,
      maxRssKb: status.usage.maxRssKb,
    },
  };
}

/** Writes the payload and closes stdin; a process that exits or never reads is not an error. */
async function writePayload(stdin: WritableStream<Uint8Array>, payload: Uint8Array) {
  const writer = stdin.getWriter();
  try {
    if (payload.length > 0) await writer.write(payload);
    await writer.close();
  } catch {
    // BrokenPipe: the process exited or closed stdin without reading it all.
    try {
      await writer.abort();
    } catch {
      // Already errored; nothing left to release.
    }
  }
}
