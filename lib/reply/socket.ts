/**
 * The life of the reply socket file: refuse a path that is not ours, take
 * over a stale socket, set its mode, remove it on exit.
 *
 * @module
 */

/** The socket path cannot be used; the message says why and what to do. */
export class SocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SocketError";
  }
}

/**
 * Makes `path` ready to bind: nothing there is fine; a socket nobody answers
 * on (left by a crash: connecting is refused) is removed; anything else is
 * refused and left alone.
 *
 * @throws {SocketError} when the path is a live socket (or may be one), or not a socket at all.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new SocketError(`Cannot use socket ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  if (!info.isSocket) {
    throw new SocketError(
      `Cannot use socket ${JSON.stringify(path)}: a file that is not a socket is there; ` +
        "urocket never deletes it: choose another socket path or remove the file",
    );
  }
  let connection: Deno.UnixConn | undefined;
  try {
    connection = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    if (!(error instanceof Deno.errors.ConnectionRefused)) {
      // A live listener may fail a connection too (its backlog full, the socket another user's):
      // only a refusal says that nobody listens.
      throw new SocketError(
        `Cannot use socket ${JSON.stringify(path)}: cannot tell whether another process ` +
          `answers on it: ${(error as Error).message}`,
      );
    }
    // Nobody listens: a stale socket left by a process that died.
    await Deno.remove(path);
    return;
  } finally {
    connection?.close();
  }
  throw new SocketError(
    `Cannot use socket ${JSON.stringify(path)}: socket in use by another process ` +
      "(another urocket?); stop it or choose another socket path",
  );
}

/**
 * What would stop urocket from binding `path`, found without changing
 * anything (for `urocket check`): a file that is not a socket, or a path
 * that cannot be examined, or a folder that is not there (binding would fail
 * with ENOENT). A socket already there is not reported: at start urocket
 * takes a stale one over and refuses a live one.
 */
export async function inspectSocketPath(path: string): Promise<string | undefined> {
  try {
    const info = await Deno.lstat(path);
    if (info.isSocket) return undefined;
    return "A file that is not a socket is there; urocket never deletes it: choose another " +
      "socket path or remove the file";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return await inspectSocketFolder(path);
    return `Cannot examine the socket path: ${(error as Error).message}`;
  }
}

/** Why the folder of the (absent) socket `path` cannot hold it, when it is missing. */
async function inspectSocketFolder(path: string): Promise<string | undefined> {
  const folder = parent(path);
  try {
    await Deno.stat(folder);
    return undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return `The socket's folder ${JSON.stringify(folder)} does not exist: create it, or ` +
        "choose another socket path";
    }
    return `Cannot examine the socket's folder ${JSON.stringify(folder)}: ${
      (error as Error).message
    }`;
  }
}

/** The socket file's permission bits and group. */
export interface SocketAccess {
  mode: number;
  gid: number;
}

/** The file operations {@link applySocketAccess} makes; injected so that tests see their order. */
export interface SocketFiles {
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number | null, gid: number | null): Promise<void>;
}

/** Options of {@link applySocketAccess}. */
export interface ApplySocketAccessOptions {
  /** The mode and group the file has now. */
  from: SocketAccess;
  /** Default: Deno's own. */
  files?: SocketFiles;
}

/**
 * Gives the socket file at `path` the mode and group of `to`, group first.
 * When the group changes, the mode is first narrowed to what both modes
 * allow: at no step does the old group get the new mode's access, nor the
 * new group the old mode's, so nobody can connect meanwhile who could not
 * before or after.
 *
 * @example
 * ```ts
 * // 0600 urocket → 0660 www-data: chown, then chmod (0660 never applies to the old group).
 * await applySocketAccess("/run/urocket/urocket.sock", { mode: 0o660, gid: 33 }, { from: { mode: 0o600, gid: 0 } });
 * ```
 */
export async function applySocketAccess(
  path: string,
  to: SocketAccess,
  options: ApplySocketAccessOptions,
): Promise<void> {
  const files = options.files ?? Deno;
  let mode = options.from.mode;
  if (options.from.gid !== to.gid) {
    if ((mode & to.mode) !== mode) {
      mode &= to.mode;
      await files.chmod(path, mode);
    }
    try {
      await files.chown(path, null, to.gid);
    } catch (error) {
      // The reload is refused and the config stays as it was: so does the socket, whose narrowed
      // mode would otherwise shut out the handlers of the old group.
      if (mode !== options.from.mode) await files.chmod(path, options.from.mode);
      throw error;
    }
  }
  if (mode !== to.mode) await files.chmod(path, to.mode);
}

/** The mode and group the file at `path` has now. */
export async function socketAccessOf(path: string): Promise<SocketAccess> {
  const info = await Deno.stat(path);
  return { mode: (info.mode ?? 0) & 0o777, gid: info.gid ?? 0 };
}

/** Removes the socket file if it is still there. */
export async function removeSocket(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Who must reach the socket: a handler's user. */
export interface SocketClient {
  uid: number;
  gid: number;
  /** Supplementary groups, the primary one included. */
  groups: number[];
}

/** Owner, group and mode of a file, as the kernel checks access. */
export interface FileAccess {
  path: string;
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Why `client` could not connect to the socket, or undefined when it can:
 * connecting needs write permission on the socket file and search (x)
 * permission on every directory above it. `chain` is the socket file, then
 * its directories up to `/` (as {@link socketAccessChain} reads them).
 * Checked by owner, group, then others, as the kernel does; root passes.
 */
export function socketAccessProblem(
  client: SocketClient,
  chain: FileAccess[],
): string | undefined {
  if (client.uid === 0) return undefined;
  const allowed = (file: FileAccess, bit: number) => {
    const shift = client.uid === file.uid ? 6 : client.groups.includes(file.gid) ? 3 : 0;
    return (file.mode >> shift & bit) !== 0;
  };
  const [socket, ...dirs] = chain;
  for (const dir of dirs) {
    if (!allowed(dir, 0o1)) {
      return `cannot reach ${dir.path}: it is mode ${octal(dir.mode)}, owner ${dir.uid}, ` +
        `group ${dir.gid}, and the user may not search it`;
    }
  }
  if (!allowed(socket, 0o2)) {
    return `cannot connect to ${socket.path}: it is mode ${octal(socket.mode)}, owner ` +
      `${socket.uid}, group ${socket.gid}: set socket-mode "0660" with a socket-group the ` +
      `user is in, or "0666"`;
  }
  return undefined;
}

/**
 * The socket file and each directory above it, as {@link socketAccessProblem}
 * needs them; `socket` overrides the socket file's group and mode with the
 * values about to be applied (a reload checks before it changes anything).
 */
export async function socketAccessChain(
  path: string,
  socket?: { gid?: number; mode?: number },
): Promise<FileAccess[]> {
  const chain: FileAccess[] = [];
  const info = await Deno.stat(path);
  chain.push({
    path,
    uid: info.uid ?? 0,
    gid: socket?.gid ?? info.gid ?? 0,
    mode: socket?.mode ?? (info.mode ?? 0) & 0o777,
  });
  for (let dir = parent(path);; dir = parent(dir)) {
    const dirInfo = await Deno.stat(dir);
    chain.push({
      path: dir,
      uid: dirInfo.uid ?? 0,
      gid: dirInfo.gid ?? 0,
      mode: dirInfo.mode ?? 0,
    });
    if (dir === "/") break;
  }
  return chain;
}

function parent(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}
