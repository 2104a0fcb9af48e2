/**
 * Starts a handler process in a process group of its own, never through a
 * shell.
 *
 * @module
 */

/** What to start. */
export interface SpawnSpec {
  /** Absolute path of the program. */
  program: string;
  args: string[];
  cwd: string;
  /** The complete environment: nothing of urocket's is inherited beyond it. */
  env: Record<string, string>;
  /** Whether the payload goes to stdin; otherwise stdin is /dev/null. */
  stdin: boolean;
  /** Whether stdout is read (for logging); otherwise it goes to /dev/null. */
  stdout: boolean;
  /**
   * The stdin payload, for a spawner that can hand it over at start (the
   * spawn server puts up to 64 KiB in a pipe itself). A spawner that takes
   * it returns neither `stdin` nor `feedStdin`.
   */
  payload?: Uint8Array;
  /** What the process may use; enforced by the spawner when it can (see `spawn_strategy.ts`). */
  limits?: ResourceLimits;
  /**
   * A cgroup v2 group to create for the process and join before it runs
   * (spawn server only; set by the strategy from {@link limits}).
   */
  cgroup?: CgroupSpec;
  /** Credentials to switch to before exec (spawn server only, urocket as root). */
  user?: Credentials;
}

/** An operation's `limits`, as numbers. */
export interface ResourceLimits {
  /** memory.max, in bytes. */
  memoryBytes?: number;
  /** A fraction of one CPU (0.5 = half a CPU): cpu.max. */
  cpu?: number;
  /** pids.max. */
  pids?: number;
}

/** One cgroup per process: created under `parent`, values written before the process joins. */
export interface CgroupSpec {
  /** A directory prepared by `urocket-spawn --cgroup-setup`. */
  parent: string;
  /** memory.max, cpu.max and pids.max as written; an absent one is left alone. */
  memoryMax?: string;
  cpuMax?: string;
  pidsMax?: string;
}

/** Who a process runs as. */
export interface Credentials {
  uid: number;
  gid: number;
  /** Supplementary groups (setgroups). */
  groups: number[];
}

/**
 * CPU and memory the direct child used, from `wait4()`: the child plus the
 * descendants it waited for (orphaned grandchildren are not counted).
 */
export interface ProcessUsage {
  userUs: number;
  sysUs: number;
  /** The largest resident set of the child or of one waited-for descendant (not a sum). */
  maxRssKb: number;
}

/** What a process's cgroup says once it is released; a value is absent when it cannot be read. */
export interface GroupUsage {
  /** cpu.stat: everything that ran in the group, orphans included. */
  userUs?: number;
  sysUs?: number;
  /** memory.peak: the group's peak charged memory (resident and page cache, all processes). */
  peakBytes?: number;
  /** memory.events oom_kill. */
  oomKills?: number;
  /** Whether the group's directory is gone (else processes were left and are being killed). */
  removed: boolean;
}

/** How the direct child ended, plus what the spawner knows about its group. */
export interface ExitStatus extends Deno.CommandStatus {
  /**
   * `false` when the spawner found the process group empty right after the
   * exit (so no one needs to check again); unknown otherwise.
   */
  groupAlive?: boolean;
  /** `wait4()`'s usage, when the spawner has it (the spawn server). */
  usage?: ProcessUsage;
  /** OOM kills in the process's cgroup when the direct child exited; absent without a cgroup. */
  oomKills?: number;
  /**
   * `true` when the spawner lost the process (the spawn server died): it may
   * still run, and its group's end is the only exit there is to know of.
   */
  lost?: boolean;
}

/** A process's output as streams to read (`Deno.Command`: the `detached` fallback). */
export interface OutputStreams {
  kind: "streams";
  stdout: ReadableStream<Uint8Array> | null;
  stderr: ReadableStream<Uint8Array>;
}

/** Which output of a process. */
export type OutputStream = "stdout" | "stderr";

/** Where a spawner that relays output ({@link OutputRelay}) delivers it. */
export interface OutputSink {
  /** A chunk of `stream`, the spawner's to give away. */
  data(stream: OutputStream, bytes: Uint8Array): void;
  /** `stream` ended: every process holding it closed it, or the relay was dropped. */
  end(stream: OutputStream): void;
}

/**
 * A process's output pushed by the spawner as it relays it (the spawn
 * server): no stream, reader or promise per chunk, and the end of output
 * known in the same turn as the chunks before it.
 */
export interface OutputRelay {
  kind: "relay";
  /** The streams relayed: stderr, and stdout when the spec asked for it. */
  streams: readonly OutputStream[];
  /** Delivers to `sink` from now on, starting with what arrived before. Once. */
  attach(sink: OutputSink): void;
  /**
   * Stops relaying: what a process that escaped its group still writes is
   * dropped. `end` is called at once for every stream not ended yet.
   */
  drop(): void;
}

/** A started process: the leader of its own process group. */
export interface Spawned {
  /** The pid, which is also the process group id. */
  pid: number;
  /** Resolves when the direct child has exited (and been reaped). */
  status: Promise<ExitStatus>;
  stdin: WritableStream<Uint8Array> | null;
  /**
   * When present, used instead of `stdin`: writes the whole payload, then
   * ends stdin, without the web-stream machinery (the spawn server's socket).
   * Never rejects: a process that exits without reading is not an error.
   */
  feedStdin?: (payload: Uint8Array) => Promise<void>;
  /** stderr, and stdout when the spec asked for it. */
  output: OutputStreams | OutputRelay;
  /**
   * With a cgroup: once the process group is gone, reads the cgroup's usage,
   * kills anything left in it and removes it. Never rejects; undefined when
   * the spawner is gone.
   */
  release?: () => Promise<GroupUsage | undefined>;
}

/**
 * Starts processes; the strategy is swappable (see `spawn_strategy.ts`). It
 * may answer asynchronously: the spawn server reports the pid, or the
 * failure, a moment later.
 */
export type Spawner = (spec: SpawnSpec) => Spawned | Promise<Spawned>;

/**
 * The process could not be started. `code` is the errno name when known
 * (`ENOENT`, `EACCES`, `E2BIG`, …).
 */
export class SpawnError extends Error {
  /** errno name, e.g. `E2BIG`. */
  readonly code: string | undefined;

  constructor(program: string, cause: Error) {
    const code = (cause as { code?: string }).code;
    const reason = cause.message.replace(/^Failed to spawn '[^']*': /, "");
    super(`Cannot spawn ${JSON.stringify(program)}: ${reason}`, { cause });
    this.name = "SpawnError";
    this.code = code;
  }
}

/**
 * Spawns with `Deno.Command` and `detached: true`, which makes the child a
 * session and process group leader (pid = pgid = sid) so that the whole tree
 * can be signalled. Correct everywhere Deno runs; its cost is that Deno
 * forks its whole process for it.
 *
 * @throws {SpawnError} when the program cannot be started.
 */
export const detachedSpawner: Spawner = (spec) => {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(spec.program, {
      args: spec.args,
      cwd: spec.cwd,
      env: spec.env,
      clearEnv: true,
      detached: true,
      stdin: spec.stdin ? "piped" : "null",
      stdout: spec.stdout ? "piped" : "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new SpawnError(spec.program, error as Error);
  }
  return {
    pid: child.pid,
    status: child.status,
    stdin: spec.stdin ? child.stdin : null,
    output: { kind: "streams", stdout: spec.stdout ? child.stdout : null, stderr: child.stderr },
  };
};
