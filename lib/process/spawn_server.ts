/**
 * urocket's side of the spawn server (`native/urocket_spawn.c`): a small C
 * process, started once, that forks every handler into a session of its
 * own, so that urocket's event loop never blocks on a fork or an exec.
 * Requests go out and starts, exits and the handlers' output (stderr, and
 * stdout when it is logged) come back on one connection the server opens to
 * a private unix socket at start: plain reads and writes, no web streams.
 * Only a payload too large for a pipe buffer comes with a connection of its
 * own. The wire protocol is in `_spawn_protocol.ts` and `_spawn_frames.ts`;
 * the C file describes it.
 *
 * @module
 */

import {
  dropFrame,
  FrameWriter,
  readHeader,
  releaseFrame,
  type ReplyHandler,
  ReplyReader,
  startFrame,
} from "./_spawn_frames.ts";
import { ERRNO_EAGAIN, LOST_STATUS, newToken, spawnErrorFor } from "./_spawn_protocol.ts";
import type { LiveStats } from "../console/mod.ts";
import { StatsRequests } from "./_spawn_stats.ts";
import { feed, Relay, type Starting } from "./_spawn_stdio.ts";
import type { ExitStatus, GroupUsage, Spawned, SpawnSpec } from "./spawn.ts";

/** How long close() waits for the server to exit before killing it. */
const CLOSE_WAIT_MS = 5_000;

/** Options of {@link SpawnServer.start}. */
export interface SpawnServerOptions {
  /** The `urocket-spawn` binary. */
  helper: string;
  /** A private (0700) directory for the socket the server connects to (control, large payloads). */
  dir: string;
  /** Called once if the server exits while urocket still needs it. */
  onExit?: (status: Deno.CommandStatus) => void;
}

/**
 * A running spawn server.
 *
 * @example
 * ```ts
 * import type { SpawnSpec } from "./spawn.ts";
 *
 * declare const spec: SpawnSpec;
 * const dir = await Deno.makeTempDir();
 * const server = SpawnServer.start({ helper: "build/urocket-spawn", dir });
 * const spawned = await server.spawn(spec); // { pid, status, feedStdin, output: relay, … }
 * await server.close();
 * ```
 */
export class SpawnServer {
  #child: Deno.ChildProcess;
  /** Proves the control connection is the server's: given on its stdin, a private pipe. */
  #controlToken = newToken();
  /** Requests out, lines in; undefined until the server has connected. */
  #control: Deno.UnixConn | undefined;
  /** Frames out, once the control connection is there. */
  #writer = new FrameWriter();
  /** Settles when the control connection's lines end. */
  #reading: Promise<void> = Promise.resolve();
  #listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>;
  #socket: string;
  /** Requests not yet started, by token. */
  #starting = new Map<string, Starting>();
  /** Started processes whose exit is still to come, by token. */
  #running = new Map<string, (status: ExitStatus) => void>();
  /** Cgroup releases waiting for their `R` line, by token. */
  #releasing = new Map<string, (usage: GroupUsage | undefined) => void>();
  /** Output still relayed, by token. */
  #outputs = new Map<string, Relay>();
  #stats = new StatsRequests();
  #closing = false;
  #alive = true;
  #loops: Promise<unknown>;
  #encoder = new TextEncoder();

  private constructor(
    child: Deno.ChildProcess,
    listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr>,
    socket: string,
    onExit?: (status: Deno.CommandStatus) => void,
  ) {
    this.#child = child;
    const stdin = child.stdin.getWriter();
    stdin.write(this.#encoder.encode(`${this.#controlToken}\n`))
      .then(() => stdin.close())
      .catch(() => {
        // The server is gone before it read its token; its exit is handled below.
      });
    this.#listener = listener;
    this.#socket = socket;
    this.#loops = Promise.all([
      this.#acceptLoop(),
      child.status.then((status) => {
        this.#alive = false;
        this.#failAll();
        if (this.#closing) return;
        // A dead server's socket goes with it, at once: the next request starts a new server on
        // the same path.
        this.#closeListener();
        try {
          Deno.removeSync(this.#socket);
        } catch {
          // Already gone.
        }
        onExit?.(status);
      }),
    ]);
  }

  /**
   * Starts `helper --serve` on a new socket in `dir`.
   *
   * @throws {Error} when the socket cannot be bound or the helper not started.
   */
  static start(options: SpawnServerOptions): SpawnServer {
    const socket = `${options.dir}/spawn.sock`;
    const listener = Deno.listen({ transport: "unix", path: socket });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(options.helper, {
        args: ["--serve", socket],
        clearEnv: true,
        stdin: "piped",
        stdout: "null",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      listener.close();
      throw error;
    }
    return new SpawnServer(child, listener, socket, options.onExit);
  }

  /** The server's pid. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the server still runs. */
  get alive(): boolean {
    return this.#alive;
  }

  /**
   * Starts `spec` through the server.
   *
   * @throws {SpawnError} when it cannot be started (errno from the server), or the server is gone.
   */
  spawn(spec: SpawnSpec): Promise<Spawned> {
    if (!this.#alive) {
      return Promise.reject(spawnErrorFor(spec.program, ERRNO_EAGAIN /* server gone */));
    }
    const token = newToken();
    const encoded = startFrame(token, spec);
    if (!("frame" in encoded)) return Promise.reject(encoded);
    const output = this.#relayed(token, spec.stdout);
    return new Promise<Spawned>((resolve, reject) => {
      let exit!: (status: ExitStatus) => void;
      const status = new Promise<ExitStatus>((settle) => exit = settle);
      this.#starting.set(token, {
        spec,
        resolve,
        reject,
        exit,
        status,
        piped: encoded.piped,
        output,
      });
      this.#writer.send(encoded.frame);
    });
  }

  /** The relay of a process's output; dropping it stops the server relaying it. */
  #relayed(token: string, stdout: boolean): Relay {
    const relay = new Relay(stdout, () => {
      this.#outputs.delete(token);
      // A process that escaped its group may hold the pipe forever: the server lets it go.
      if (this.#alive) this.#writer.send(dropFrame(token));
    });
    this.#outputs.set(token, relay);
    return relay;
  }

  /** Reads the usage of a released process's cgroup and removes it (the `R` line). */
  #release(token: string, parent: string): Promise<GroupUsage | undefined> {
    if (!this.#alive) return Promise.resolve(undefined);
    const frame = releaseFrame(token, parent);
    return new Promise((resolve) => {
      this.#releasing.set(token, resolve);
      this.#writer.send(frame);
    });
  }

  /**
   * The live CPU time and RSS of those of `pids` this server started and
   * has not seen exit; any other pid is left out. An empty map when the
   * server is gone or does not answer within a bound. Never rejects.
   */
  liveStats(pids: number[]): Promise<Map<number, LiveStats>> {
    if (!this.#alive) return Promise.resolve(new Map());
    return this.#stats.ask(pids, (frame) => this.#writer.send(frame));
  }

  /** Stops the server (its control connection ends) and removes the socket. Processes keep running. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#control) {
      try {
        this.#control.close();
      } catch {
        // Already closed by the server's end.
      }
    } else {
      // Not connected yet, so it has started nothing: stopped at once (it ignores SIGTERM).
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.#closeListener();
    // It exits at once, or after at most 2 s of removing cgroups; one that does not (stopped by a
    // debugger, say) must not hold urocket's shutdown.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS)),
    ]);
    clearTimeout(timer);
    if (!exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await this.#child.status;
    await this.#loops;
    await this.#reading;
    await Deno.remove(this.#socket).catch(() => {});
  }

  #closeListener(): void {
    try {
      this.#listener.close();
    } catch {
      // Closed already, when the server died.
    }
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const conn of this.#listener) this.#attach(conn);
    } catch {
      // The listener was closed.
    }
  }

  /** Reads a connection's header and hands it to its request. */
  async #attach(conn: Deno.UnixConn): Promise<void> {
    if (this.#closing) {
      conn.close();
      return;
    }
    const header = await readHeader(conn);
    if (this.#closing) {
      conn.close();
      return;
    }
    if (header?.kind === "C" && header.token === this.#controlToken && !this.#control) {
      this.#control = conn;
      this.#reading = this.#readLoop(conn);
      this.#writer.connect(conn);
      return;
    }
    const token = header?.token ?? "";
    const entry = header ? this.#starting.get(token) : undefined;
    if (!entry || header?.kind !== "I" || entry.input || !entry.spec.stdin || entry.piped) {
      conn.close();
      return;
    }
    entry.input = conn;
    this.#complete(token, entry);
  }

  /** Reads the control connection's replies until it ends. */
  async #readLoop(conn: Deno.UnixConn): Promise<void> {
    const reader = new ReplyReader(this.#replies);
    try {
      for (;;) {
        const n = await conn.read(reader.space());
        if (n === null) break;
        reader.received(n);
      }
    } catch {
      // The server is gone; its exit is handled by the status watcher.
    }
    try {
      conn.close();
    } catch {
      // close() closed it first.
    }
  }

  /** What each reply does to the requests under way. */
  #replies: ReplyHandler = {
    started: (token, pid) => {
      const entry = this.#starting.get(token);
      if (!entry) return;
      entry.pid = pid;
      this.#running.set(token, entry.exit);
      this.#complete(token, entry);
    },
    output: (token, stream, bytes) => this.#outputs.get(token)?.data(stream, bytes),
    ended: (token, stream) => {
      const relay = this.#outputs.get(token);
      if (!relay) return;
      relay.end(stream);
      if (relay.ended) this.#outputs.delete(token);
    },
    failed: (token, errno) => {
      const entry = this.#starting.get(token);
      if (!entry) return;
      this.#starting.delete(token);
      this.#outputs.delete(token);
      entry.input?.close();
      entry.reject(spawnErrorFor(entry.spec.program, errno));
    },
    exited: (token, status) => {
      const exit = this.#running.get(token);
      if (!exit) return;
      this.#running.delete(token);
      exit(status);
    },
    released: (token, usage) => {
      const resolve = this.#releasing.get(token);
      if (!resolve) return;
      this.#releasing.delete(token);
      resolve(usage);
    },
    stats: (token, stats) => this.#stats.answered(token, stats),
  };

  /** Hands out the process once its pid (and its stdin connection, if it needs one) are there. */
  #complete(token: string, entry: Starting): void {
    const { spec, pid, input, output } = entry;
    const socketed = spec.stdin && !entry.piped;
    if (pid === undefined || (socketed && !input)) return;
    this.#starting.delete(token);
    entry.resolve({
      pid,
      status: entry.status,
      stdin: null,
      feedStdin: socketed ? (payload) => feed(input!, payload) : undefined,
      output,
      ...(spec.cgroup ? { release: () => this.#release(token, spec.cgroup!.parent) } : {}),
    });
  }

  /** The server is gone: requests not started fail, started ones get {@link LOST_STATUS}. */
  #failAll(): void {
    for (const [token, entry] of this.#starting) {
      this.#starting.delete(token);
      entry.input?.close();
      if (entry.pid !== undefined) entry.exit(LOST_STATUS);
      entry.reject(spawnErrorFor(entry.spec.program, ERRNO_EAGAIN));
    }
    for (const [token, exit] of this.#running) {
      this.#running.delete(token);
      exit(LOST_STATUS);
    }
    for (const [token, resolve] of this.#releasing) {
      this.#releasing.delete(token);
      resolve(undefined);
    }
    this.#stats.failAll();
    // Output ends with the server: nothing relays it any more.
    for (const [token, output] of this.#outputs) {
      this.#outputs.delete(token);
      for (const stream of output.streams) output.end(stream);
    }
  }
}
