/**
 * Keeps the reply socket where handlers look for it. A tmp cleaner or an
 * operator may remove the socket file or its folder, or put something else
 * there; then every handler's reply would fail. The path is checked every
 * second (one lstat): when the file urocket bound is gone, or its listener
 * stopped accepting, urocket says so, recreates the folders it had, binds
 * the socket again with the configured mode and group, and serves on.
 *
 * @module
 */

import { type DescriptorReserve, KeptServer } from "../listener/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  applySocketAccess,
  claimSocketPath,
  type FileAccess,
  removeSocket,
  type SocketAccess,
  socketAccessChain,
  socketAccessOf,
  SocketError,
} from "./socket.ts";

/** How often the socket path is checked, in ms. */
export const SOCKET_CHECK_MS = 1_000;
/** While the socket cannot be recreated, at most one line per this many ms. */
const REPEAT_REPORT_MS = 30_000;

/** Options of {@link ReplySocket.open}. */
export interface ReplySocketOptions {
  path: string;
  /** Serves the replies. */
  fetch: Deno.ServeHandler<Deno.UnixAddr>;
  /**
   * The mode and group the socket must have now (the config may change on
   * reload), given the group it was created with.
   */
  access: (createdGid: number) => SocketAccess;
  logger: Logger;
  reserve: DescriptorReserve;
  /** Default {@link SOCKET_CHECK_MS}. */
  checkMs?: number;
}

/**
 * The reply socket: bound at {@link open}, checked and healed while urocket
 * runs, removed at {@link close}.
 *
 * @example
 * ```ts
 * import { DescriptorReserve } from "../listener/mod.ts";
 * import { Logger } from "../log/mod.ts";
 *
 * const socket = await ReplySocket.open({
 *   path: "/run/urocket/urocket.sock",
 *   fetch: () => new Response("ok"),
 *   access: () => ({ mode: 0o600, gid: Deno.gid() ?? 0 }),
 *   logger: new Logger({ write: () => Promise.resolve() }),
 *   reserve: new DescriptorReserve(32),
 * });
 * socket.present; // false while the file is missing
 * await socket.close();
 * ```
 */
export class ReplySocket {
  #options: ReplySocketOptions;
  #server!: KeptServer<Deno.UnixAddr>;
  /** The file urocket bound: `dev:ino`. */
  #bound = "";
  /** The group of the file as created, before socket-group. */
  #createdGid = 0;
  /** The socket's folders as they were at start, `/` last: what a heal recreates. */
  #folders: FileAccess[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Checks, heals and reloads, one at a time. */
  #lock: Promise<unknown> = Promise.resolve();
  #missingSince: number | undefined;
  #reportedAt = -Infinity;
  #closed = false;

  private constructor(options: ReplySocketOptions) {
    this.#options = options;
  }

  /**
   * Binds the socket (taking over a stale one) with the configured mode
   * and group, and starts checking it.
   *
   * @throws {SocketError} when the path is taken or cannot be bound.
   */
  static async open(options: ReplySocketOptions): Promise<ReplySocket> {
    const socket = new ReplySocket(options);
    await claimSocketPath(options.path);
    try {
      socket.#server = await KeptServer.start({
        name: "socket",
        bind: () => socket.#bind(),
        logger: options.logger,
        reserve: options.reserve,
      });
    } catch (error) {
      throw new SocketError(
        `Cannot listen on socket ${JSON.stringify(options.path)}: ${(error as Error).message}`,
      );
    }
    try {
      socket.#folders = (await socketAccessChain(options.path)).slice(1);
    } catch (error) {
      await socket.close();
      await socket.remove();
      throw new SocketError(
        `Cannot set up socket ${JSON.stringify(options.path)}: ${(error as Error).message}`,
      );
    }
    socket.#timer = setInterval(() => socket.check(), options.checkMs ?? SOCKET_CHECK_MS);
    return socket;
  }

  /** The group the socket file was created with (urocket's, or its set-group-ID folder's). */
  get createdGid(): number {
    return this.#createdGid;
  }

  /** Whether the socket's listener accepts (it stops at the descriptor limit). */
  get accepting(): boolean {
    return this.#server.accepting;
  }

  /** Whether the file urocket bound is at the path and accepting; looked at now (one lstat). */
  get present(): boolean {
    return this.#server.accepting && this.#isOurs();
  }

  /** Runs `fn` with no check or heal in between (a reload changing the socket's mode). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Heals the socket now if it is missing; resolves when it is back, or failed to come back. */
  check(): Promise<void> {
    return this.exclusive(() => this.#check());
  }

  /** Stops checking and accepting; resolves when the replies in flight are read. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#lock;
    await this.#server?.shutdown();
  }

  /**
   * Removes the socket file, when it is still the one urocket bound:
   * whatever replaced it is not urocket's to remove.
   *
   * @throws {SocketError} when something else is at the path (it is left alone).
   */
  async remove(): Promise<void> {
    const { path } = this.#options;
    if (this.#isOurs()) return await removeSocket(path);
    try {
      await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    throw new SocketError(
      `Something urocket did not create is at ${JSON.stringify(path)}: it is left alone`,
    );
  }

  async #check(): Promise<void> {
    if (this.#closed || this.present) return;
    // A listener that stopped accepting is bound again by its KeptServer (waiting for room).
    if (this.#isOurs()) return;
    const { logger, path } = this.#options;
    const now = performance.now();
    if (this.#missingSince === undefined) {
      this.#missingSince = now;
      this.#reportedAt = now;
      logger.error("socket_missing", {
        socket: path,
        message: "the reply socket was removed or replaced: recreating it; until then " +
          "handlers cannot reply",
      });
    }
    let problem: string | undefined;
    try {
      await this.#recreateFolders();
      if (!await this.#server.replace()) problem = this.#server.lastError;
    } catch (error) {
      problem = (error as Error).message;
    }
    if (problem === undefined) {
      logger.info("socket_recreated", {
        socket: path,
        mode: this.#options.access(this.#createdGid).mode.toString(8).padStart(4, "0"),
        down_ms: Math.round(performance.now() - this.#missingSince),
      });
      this.#missingSince = undefined;
      return;
    }
    if (now - this.#reportedAt < REPEAT_REPORT_MS && now !== this.#missingSince) return;
    this.#reportedAt = now;
    logger.error("socket_missing", {
      socket: path,
      error: problem,
      message: "cannot recreate the reply socket yet: handlers cannot reply; trying again " +
        "every second",
    });
  }

  /** Whether the file urocket bound is still at the path (its listener may have stopped). */
  #isOurs(): boolean {
    try {
      return identity(Deno.lstatSync(this.#options.path)) === this.#bound;
    } catch {
      return false;
    }
  }

  /** The folders of the socket that are gone, made again with the owner and mode they had. */
  async #recreateFolders(): Promise<void> {
    for (const folder of [...this.#folders].reverse()) {
      try {
        await Deno.lstat(folder.path);
        continue;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      await Deno.mkdir(folder.path, { mode: folder.mode & 0o7777 });
      await Deno.chown(folder.path, folder.uid, folder.gid);
      // After chown, which clears the set-ID bits; and mkdir's mode went through the umask.
      await Deno.chmod(folder.path, folder.mode & 0o7777);
    }
  }

  /**
   * Binds the socket at its path: claimed (a stale one removed), then bound
   * at a staging path beside it, given its mode and group, and renamed into
   * place — so that it never shows with another mode, and so that closing
   * a server (Deno then unlinks the path it was bound at, whatever is there
   * by then) never removes the file at the socket path.
   */
  async #bind(): Promise<Deno.HttpServer<Deno.UnixAddr>> {
    const { path, fetch, access } = this.#options;
    await claimSocketPath(path);
    const staging = stagingPath(path);
    await claimSocketPath(staging);
    const server = Deno.serve({ path: staging, onListen() {} }, fetch);
    try {
      const created = await socketAccessOf(staging);
      this.#createdGid = created.gid;
      await applySocketAccess(staging, access(created.gid), { from: created });
      await Deno.rename(staging, path);
      this.#bound = identity(await Deno.lstat(path));
    } catch (error) {
      await server.shutdown();
      throw error;
    }
    return server;
  }
}

/**
 * Where urocket binds the socket before renaming it to `path`: in the same
 * folder (a rename stays within a file system), named after urocket's pid:
 * at most 7 bytes, which the config leaves room for (`SOCKET_STAGING_BYTES`).
 */
export function stagingPath(path: string): string {
  return `${path.slice(0, path.lastIndexOf("/") + 1)}.u${Deno.pid.toString(36)}`;
}

function identity(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}`;
}
