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
}

/** How the direct child ended, plus what the spawner knows about its group. */
export interface ExitStatus extends Deno.CommandStatus {
  /**
   * `false` when the spawner found the process group empty right after the
   * exit (so no one needs to check again); unknown otherwise.
   */
  groupAlive?: boolean;
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
  stdout: ReadableStream<Uint8Array> | null;
  stderr: ReadableStream<Uint8Array>;
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
    stdout: spec.stdout ? child.stdout : null,
    stderr: child.stderr,
  };
};
