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
}

/** A started process: the leader of its own process group. */
export interface Spawned {
  /** The pid, which is also the process group id. */
  pid: number;
  /** Resolves when the direct child has exited (and been reaped). */
  status: Promise<Deno.CommandStatus>;
  stdin: WritableStream<Uint8Array> | null;
  stdout: ReadableStream<Uint8Array> | null;
  stderr: ReadableStream<Uint8Array>;
  /**
   * Whether the process was started through the exec helper, whose exec
   * failure arrives later as a report line on stderr (see
   * {@link parseHelperReport}) instead of as a thrown {@link SpawnError}.
   */
  viaHelper?: boolean;
}

/** Starts processes; the strategy is swappable so that faster spawns can replace it. */
export type Spawner = (spec: SpawnSpec) => Spawned;

/**
 * The process could not be started. `code` is the errno name when known
 * (`ENOENT`, `EACCES`, `E2BIG`, …).
 */
export class SpawnError extends Error {
  /** errno name, e.g. `E2BIG`. */
  readonly code: string | undefined;

  constructor(program: string, cause: Error) {
    const code = (cause as { code?: string }).code;
    // Deno names the program it ran; through the helper that is the helper, so it is cut.
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

/**
 * Spawns through the exec helper (`native/urocket_exec.c`): a plain
 * `Deno.Command` of the helper — Deno's fast posix_spawn path, no fork of
 * urocket — which calls `setsid()` and execs the handler in place, so the
 * handler still leads its own session and process group (pid = pgid = sid).
 * The helper's path comes from {@link chooseSpawner}.
 *
 * An exec that fails inside the helper (the program lost its execute bit,
 * say) cannot throw here: the helper reports it on stderr and exits
 * {@link HELPER_EXEC_FAILED}; {@link ProcessGroup} turns that into a
 * {@link SpawnError}.
 *
 * @throws {SpawnError} when the helper itself cannot be started (bad `cwd`, E2BIG, …).
 */
export function helperSpawner(helper: string): Spawner {
  return (spec) => {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(helper, {
        args: ["--", spec.program, ...spec.args],
        cwd: spec.cwd,
        env: spec.env,
        clearEnv: true,
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
      viaHelper: true,
    };
  };
}

/** Exit code of the exec helper when it could not exec the handler. */
export const HELPER_EXEC_FAILED = 127;
/** How every report line of the exec helper starts: a NUL byte, then its name. */
export const HELPER_REPORT_PREFIX = "\0urocket-exec ";

/** Messages for the errno values an exec can fail with (Linux numbering). */
const ERRNO: Record<number, [string, string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  7: ["E2BIG", "Argument list too long"],
  8: ["ENOEXEC", "Exec format error"],
  12: ["ENOMEM", "Cannot allocate memory"],
  13: ["EACCES", "Permission denied"],
  20: ["ENOTDIR", "Not a directory"],
  21: ["EISDIR", "Is a directory"],
  22: ["EINVAL", "Invalid argument"],
  23: ["ENFILE", "Too many open files in system"],
  24: ["EMFILE", "Too many open files"],
  26: ["ETXTBSY", "Text file busy"],
  36: ["ENAMETOOLONG", "File name too long"],
  40: ["ELOOP", "Too many levels of symbolic links"],
};

/**
 * Reads one stderr line of a process started through the exec helper: the
 * {@link SpawnError} it reports for `program`, or `undefined` when the line
 * is not a helper report (ordinary output).
 *
 * @example
 * ```ts
 * parseHelperReport("\0urocket-exec exec-failed 13", "/srv/h.sh")?.code; // "EACCES"
 * ```
 */
export function parseHelperReport(line: string, program: string): SpawnError | undefined {
  if (!line.startsWith(HELPER_REPORT_PREFIX)) return undefined;
  const [event, number] = line.slice(HELPER_REPORT_PREFIX.length).split(" ");
  const errno = Number(number);
  if (!event?.endsWith("-failed") && event !== "usage") return undefined;
  const [code, message] = ERRNO[errno] ?? ["EIO", `Error ${number}`];
  const what = event === "exec-failed" ? message : `${event}: ${message}`;
  return new SpawnError(program, Object.assign(new Error(`${what} (os error ${errno})`), { code }));
}
