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
 * on (left by a crash) is removed; anything else is refused and left alone.
 *
 * @throws {SocketError} when the path is a live socket or not a socket at all.
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
  } catch {
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
 * that cannot be examined. A socket already there is not reported: at start
 * urocket takes a stale one over and refuses a live one.
 */
export async function inspectSocketPath(path: string): Promise<string | undefined> {
  try {
    const info = await Deno.lstat(path);
    if (info.isSocket) return undefined;
    return "A file that is not a socket is there; urocket never deletes it: choose another " +
      "socket path or remove the file";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    return `Cannot examine the socket path: ${(error as Error).message}`;
  }
}

/** Removes the socket file if it is still there. */
export async function removeSocket(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
