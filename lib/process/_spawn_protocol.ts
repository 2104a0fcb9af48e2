/**
 * The spawn server's wire protocol, as urocket speaks it: its number, the
 * request flags, the sizes both sides agree on, and the Linux signal and
 * errno numbers the server answers with. It mirrors `native/urocket_spawn.c`
 * (whose header comment describes the protocol) and changes with it.
 *
 * @module
 */

import { type ExitStatus, SpawnError } from "./spawn.ts";

/** The protocol `urocket-spawn --version` must answer. */
export const SPAWN_PROTOCOL = "5";

/** Request flags (see the C file). */
export const FLAG = {
  stdinSocket: 1,
  stdout: 2,
  stdinPipe: 4,
  cgroup: 8,
  user: 16,
  release: 32,
  drop: 64,
  stats: 128,
} as const;

/** Largest payload the server puts in a pipe itself (a pipe buffer: it never blocks the server). */
export const MAX_PIPED_PAYLOAD = 65536;
/** Length of a request token: 16 hex digits. */
export const TOKEN_LEN = 16;
/** Token plus the connection's kind (`C`: control, `I`: a handler's stdin). */
export const HEADER_LEN = TOKEN_LEN + 1;

/** errno values urocket itself answers with. */
export const ERRNO_EAGAIN = 11;
/** A NUL byte in a field, which the frame cannot carry. */
export const ERRNO_EINVAL = 22;

/** A started process's exit status, when the server is gone and it can no longer be known. */
export const LOST_STATUS: ExitStatus = { success: false, code: -1, signal: null, lost: true };

/** Linux signal numbers, for exit statuses. */
const SIGNALS: Record<number, Deno.Signal> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  16: "SIGSTKFLT",
  17: "SIGCHLD",
  18: "SIGCONT",
  19: "SIGSTOP",
  20: "SIGTSTP",
  21: "SIGTTIN",
  22: "SIGTTOU",
  23: "SIGURG",
  24: "SIGXCPU",
  25: "SIGXFSZ",
  26: "SIGVTALRM",
  27: "SIGPROF",
  28: "SIGWINCH",
  29: "SIGIO",
  30: "SIGPWR",
  31: "SIGSYS",
};

/** Messages for the errno values a spawn can fail with (Linux numbering). */
const ERRNO: Record<number, [string, string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  3: ["ESRCH", "No such process"],
  7: ["E2BIG", "Argument list too long"],
  8: ["ENOEXEC", "Exec format error"],
  11: ["EAGAIN", "Resource temporarily unavailable"],
  12: ["ENOMEM", "Cannot allocate memory"],
  13: ["EACCES", "Permission denied"],
  16: ["EBUSY", "Device or resource busy"],
  17: ["EEXIST", "File exists"],
  20: ["ENOTDIR", "Not a directory"],
  21: ["EISDIR", "Is a directory"],
  22: ["EINVAL", "Invalid argument"],
  23: ["ENFILE", "Too many open files in system"],
  24: ["EMFILE", "Too many open files"],
  26: ["ETXTBSY", "Text file busy"],
  28: ["ENOSPC", "No space left on device"],
  30: ["EROFS", "Read-only file system"],
  36: ["ENAMETOOLONG", "File name too long"],
  40: ["ELOOP", "Too many levels of symbolic links"],
  111: ["ECONNREFUSED", "Connection refused"],
};

/** Turns a raw wait status into Deno's shape (`code` 128 + n for signal n, as Deno does). */
export function commandStatus(wait: number): ExitStatus {
  const signo = wait & 0x7f;
  if (signo === 0) {
    const code = (wait >> 8) & 0xff;
    return { success: code === 0, code, signal: null };
  }
  return { success: false, code: 128 + signo, signal: SIGNALS[signo] ?? null };
}

/** The error for errno `errno` while starting `program`. */
export function spawnErrorFor(program: string, errno: number): SpawnError {
  const [code, message] = ERRNO[errno] ?? ["EIO", `Error ${errno}`];
  return new SpawnError(
    program,
    Object.assign(new Error(`${message} (os error ${errno})`), { code }),
  );
}

/** 16 hex digits from the CSPRNG: a handler cannot guess another request's streams. */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let token = "";
  for (const byte of bytes) token += (byte < 16 ? "0" : "") + byte.toString(16);
  return token;
}
