/**
 * urocket's side of the spawn server (`native/urocket_spawn.c`): a small C
 * process, started once, that forks every handler into a session of its
 * own, so that urocket's event loop never blocks on a fork or an exec.
 * Requests go out and starts, exits and the handlers' output (stderr, and
 * stdout when it is logged) come back on one connection the server opens to
 * a private unix socket at start: plain reads and writes, no web streams.
 * Only a payload too large for a pipe buffer comes with a connection of its
 * own. See the C file for the protocol.
 *
 * This file must stay whole until the C helper is split with it: its wire
 * protocol (the flag, signal and errno tables, the frame codec) mirrors
 * `native/urocket_spawn.c` and changes with it, and both move into files of
 * their own in one step (issue 22 reworks both).
 *
 * @module
 */

import { concatBytes } from "../http/mod.ts";
import {
  type ExitStatus,
  type GroupUsage,
  type OutputRelay,
  type OutputSink,
  type OutputStream,
  type Spawned,
  SpawnError,
  type SpawnSpec,
} from "./spawn.ts";

/** The protocol `urocket-spawn --version` must answer. */
export const SPAWN_PROTOCOL = "4";

/** Request flags (see the C file). */
const FLAG = {
  stdinSocket: 1,
  stdout: 2,
  stdinPipe: 4,
  cgroup: 8,
  user: 16,
  release: 32,
  drop: 64,
} as const;

/** Largest payload the server puts in a pipe itself (a pipe buffer: it never blocks the server). */
const MAX_PIPED_PAYLOAD = 65536;
/** Length of a request token: 16 hex digits. */
const TOKEN_LEN = 16;
/** Token plus the connection's kind (`C`: control, `I`: a handler's stdin). */
const HEADER_LEN = TOKEN_LEN + 1;
/** What urocket reads the server's stdout into: one relayed chunk (16 KiB) fits many times. */
const READ_BUFFER = 64 * 1024;
/** How long close() waits for the server to exit before killing it. */
const CLOSE_WAIT_MS = 5_000;
/** `\n` */
const NEWLINE = 10;

/** A started process's exit status, when the server is gone and it can no longer be known. */
const LOST_STATUS: ExitStatus = { success: false, code: -1, signal: null, lost: true };

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

/** A request between its frame and its `S`/`F` line (plus its stdin connection, if it has one). */
interface Starting {
  spec: SpawnSpec;
  pid?: number;
  /** The handler's stdin, for a payload too large to be piped by the server. */
  input?: Deno.UnixConn;
  /** Its relayed output, handed out with {@link Spawned}. */
  output: Relay;
  resolve: (spawned: Spawned) => void;
  reject: (error: SpawnError) => void;
  /** Settles the status promise handed out with {@link Spawned}. */
  exit: (status: ExitStatus) => void;
  status: Promise<ExitStatus>;
  /** Whether the server put the payload in a pipe itself. */
  piped: boolean;
}

/** Frame fields between FLAGS and ARGC that a request without a cgroup or a user leaves empty. */
const NO_GROUP_NO_USER = ["", "", "", "", "", "", ""];

/** fd numbers of the server's `D` and `C` lines. */
const STREAM_OF_FD: Record<string, OutputStream> = { "1": "stdout", "2": "stderr" };

/**
 * A process's relayed output, fed by the server's `D` and `C` lines: what
 * arrives before the process is handed out waits for {@link OutputRelay.attach}.
 */
class Relay implements OutputRelay {
  readonly kind = "relay";
  readonly streams: readonly OutputStream[];
  /** Streams not ended yet. */
  #open: Set<OutputStream>;
  #sink: OutputSink | undefined;
  /** What came before attach(): chunks, and `null` for an end. */
  #early: [OutputStream, Uint8Array | null][] = [];
  #onDrop: () => void;

  constructor(stdout: boolean, onDrop: () => void) {
    this.streams = stdout ? ["stderr", "stdout"] : ["stderr"];
    this.#open = new Set(this.streams);
    this.#onDrop = onDrop;
  }

  /** Whether every stream has ended. */
  get ended(): boolean {
    return this.#open.size === 0;
  }

  attach(sink: OutputSink): void {
    this.#sink = sink;
    for (const [stream, bytes] of this.#early) {
      if (bytes) sink.data(stream, bytes);
      else sink.end(stream);
    }
    this.#early = [];
  }

  drop(): void {
    if (this.ended) return;
    this.#onDrop();
    for (const stream of this.#open) this.end(stream);
  }

  data(stream: OutputStream, bytes: Uint8Array): void {
    if (!this.#open.has(stream)) return;
    if (this.#sink) this.#sink.data(stream, bytes);
    else this.#early.push([stream, bytes]);
  }

  end(stream: OutputStream): void {
    if (!this.#open.delete(stream)) return;
    if (this.#sink) this.#sink.end(stream);
    else this.#early.push([stream, null]);
  }
}

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
  /** Frames waiting for the control connection, or for the write before them. */
  #outbox: Uint8Array[] = [];
  #sending = false;
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
      return Promise.reject(spawnErrorFor(spec.program, 11 /* EAGAIN: server gone */));
    }
    const fields = [
      spec.program,
      ...spec.args,
    ];
    const env: string[] = [];
    for (const name in spec.env) env.push(`${name}=${spec.env[name]}`);
    const token = newToken();
    const payload = spec.stdin && spec.payload && spec.payload.length <= MAX_PIPED_PAYLOAD
      ? spec.payload
      : undefined;
    const stdinFlag = spec.stdin ? (payload ? FLAG.stdinPipe : FLAG.stdinSocket) : 0;
    const { cgroup, user } = spec;
    const flags = stdinFlag | (spec.stdout ? FLAG.stdout : 0) | (cgroup ? FLAG.cgroup : 0) |
      (user ? FLAG.user : 0);
    const parts = [
      token,
      String(flags),
      spec.cwd,
      cgroup?.parent ?? "",
      cgroup?.memoryMax ?? "",
      cgroup?.cpuMax ?? "",
      cgroup?.pidsMax ?? "",
      user ? String(user.uid) : "",
      user ? String(user.gid) : "",
      user ? user.groups.join(",") : "",
      String(fields.length),
      ...fields,
      String(env.length),
      ...env,
      String(payload?.length ?? 0),
    ];
    for (const part of parts) {
      if (part.includes("\0")) return Promise.reject(spawnErrorFor(spec.program, 22));
    }
    const frame = this.#frame(parts, payload);
    const output = this.#relayed(token, spec.stdout);
    return new Promise<Spawned>((resolve, reject) => {
      let exit!: (status: ExitStatus) => void;
      const status = new Promise<ExitStatus>((settle) => exit = settle);
      this.#starting.set(token, { spec, resolve, reject, exit, status, piped: !!payload, output });
      this.#send(frame);
    });
  }

  /** The relay of a process's output; dropping it stops the server relaying it. */
  #relayed(token: string, stdout: boolean): Relay {
    const relay = new Relay(stdout, () => {
      this.#outputs.delete(token);
      // A process that escaped its group may hold the pipe forever: the server lets it go.
      if (this.#alive) this.#send(this.#frame([token, String(FLAG.drop), ""]));
    });
    this.#outputs.set(token, relay);
    return relay;
  }

  /** Reads the usage of a released process's cgroup and removes it (the `R` line). */
  #release(token: string, parent: string): Promise<GroupUsage | undefined> {
    if (!this.#alive) return Promise.resolve(undefined);
    const frame = this.#frame([token, String(FLAG.release), "", parent, ...NO_GROUP_NO_USER]);
    return new Promise((resolve) => {
      this.#releasing.set(token, resolve);
      this.#send(frame);
    });
  }

  #frame(parts: string[], payload?: Uint8Array): Uint8Array {
    const text = parts.join("\0") + "\0";
    // The usual frame is encoded into a buffer kept for the next one, then copied once into the
    // frame: no intermediate array per request. A large one (a big command line) gets its own.
    const encoded = text.length * 3 <= SCRATCH_BYTES
      ? SCRATCH.subarray(0, this.#encoder.encodeInto(text, SCRATCH).written)
      : this.#encoder.encode(text);
    const size = encoded.length + (payload?.length ?? 0);
    const frame = new Uint8Array(4 + size);
    frame[0] = size & 0xff;
    frame[1] = (size >>> 8) & 0xff;
    frame[2] = (size >>> 16) & 0xff;
    frame[3] = size >>> 24;
    frame.set(encoded, 4);
    if (payload) frame.set(payload, 4 + encoded.length);
    return frame;
  }

  /**
   * Queues a frame for the server. Frames queued while a write is under way
   * leave together in the next one. A server that is gone fails every
   * request at once (see the status watcher), so a failed write is dropped.
   */
  #send(frame: Uint8Array): void {
    this.#outbox.push(frame);
    if (this.#control && !this.#sending) this.#pump(this.#control);
  }

  async #pump(conn: Deno.UnixConn): Promise<void> {
    this.#sending = true;
    try {
      while (this.#outbox.length > 0) {
        const chunk = this.#outbox.length === 1 ? this.#outbox[0] : concatBytes(this.#outbox);
        this.#outbox = [];
        let offset = 0;
        while (offset < chunk.length) offset += await conn.write(chunk.subarray(offset));
      }
    } catch {
      this.#outbox = [];
    } finally {
      this.#sending = false;
    }
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
    const header = new Uint8Array(HEADER_LEN);
    let got = 0;
    try {
      while (got < HEADER_LEN) {
        const n = await conn.read(header.subarray(got));
        if (n === null) break;
        got += n;
      }
    } catch {
      // Broken before its header: nobody's stream.
    }
    const token = String.fromCharCode(...header.subarray(0, TOKEN_LEN));
    const kind = String.fromCharCode(header[TOKEN_LEN]);
    if (this.#closing) {
      conn.close();
      return;
    }
    if (got === HEADER_LEN && kind === "C" && token === this.#controlToken && !this.#control) {
      this.#control = conn;
      this.#reading = this.#readLoop(conn);
      if (this.#outbox.length > 0) this.#pump(conn);
      return;
    }
    const entry = got === HEADER_LEN ? this.#starting.get(token) : undefined;
    if (!entry || kind !== "I" || entry.input || !entry.spec.stdin || entry.piped) {
      conn.close();
      return;
    }
    entry.input = conn;
    this.#complete(token, entry);
  }

  /**
   * Reads the control connection: lines, and after each `D` line the bytes
   * it announces, into one buffer.
   */
  async #readLoop(conn: Deno.UnixConn): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = new Uint8Array(READ_BUFFER);
    let filled = 0;
    try {
      for (;;) {
        if (filled === buffer.length) {
          const larger = new Uint8Array(buffer.length * 2);
          larger.set(buffer);
          buffer = larger;
        }
        const n = await conn.read(buffer.subarray(filled));
        if (n === null) break;
        filled += n;
        let start = 0;
        for (;;) {
          const nl = buffer.indexOf(NEWLINE, start);
          if (nl < 0 || nl >= filled) break;
          const line = decoder.decode(buffer.subarray(start, nl));
          if (line.charCodeAt(0) === 68 /* D */) {
            const [, token, fd, length] = line.split(" ");
            const end = nl + 1 + Number(length);
            if (end > filled) break;
            this.#onOutput(token, fd, buffer.slice(nl + 1, end));
            start = end;
          } else {
            this.#onLine(line);
            start = nl + 1;
          }
        }
        buffer.copyWithin(0, start, filled);
        filled -= start;
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

  #onOutput(token: string, fd: string, bytes: Uint8Array): void {
    const stream = STREAM_OF_FD[fd];
    if (stream) this.#outputs.get(token)?.data(stream, bytes);
  }

  #onLine(line: string): void {
    const [kind, token, a, b, c, d, e, f, g] = line.split(" ");
    if (kind === "S") {
      const entry = this.#starting.get(token);
      if (!entry) return;
      entry.pid = Number(a);
      this.#running.set(token, entry.exit);
      this.#complete(token, entry);
    } else if (kind === "C") {
      const relay = this.#outputs.get(token);
      const stream = STREAM_OF_FD[a];
      if (!relay || !stream) return;
      relay.end(stream);
      if (relay.ended) this.#outputs.delete(token);
    } else if (kind === "F") {
      const entry = this.#starting.get(token);
      if (!entry) return;
      this.#starting.delete(token);
      this.#outputs.delete(token);
      entry.input?.close();
      entry.reject(spawnErrorFor(entry.spec.program, Number(a)));
    } else if (kind === "X") {
      // a = pid, b = raw wait status, c/d/e = utime_us, stime_us, maxrss_kb, f = whether the
      // group was still there, g = OOM kills in the cgroup (-1 without one).
      const exit = this.#running.get(token);
      if (!exit) return;
      this.#running.delete(token);
      const status: ExitStatus = commandStatus(Number(b));
      if (f === "0") status.groupAlive = false;
      status.usage = { userUs: Number(c), sysUs: Number(d), maxRssKb: Number(e) };
      if (Number(g) >= 0) status.oomKills = Number(g);
      exit(status);
    } else if (kind === "R") {
      // a/b = user_usec, system_usec, c = memory.peak, d = oom_kill (-1: unreadable), e = removed.
      const resolve = this.#releasing.get(token);
      if (!resolve) return;
      this.#releasing.delete(token);
      const known = (value: string) => Number(value) >= 0 ? Number(value) : undefined;
      resolve({
        userUs: known(a),
        sysUs: known(b),
        peakBytes: known(c),
        oomKills: known(d),
        removed: e === "1",
      });
    }
  }

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
      entry.reject(spawnErrorFor(entry.spec.program, 11));
    }
    for (const [token, exit] of this.#running) {
      this.#running.delete(token);
      exit(LOST_STATUS);
    }
    for (const [token, resolve] of this.#releasing) {
      this.#releasing.delete(token);
      resolve(undefined);
    }
    // Output ends with the server: nothing relays it any more.
    for (const [token, output] of this.#outputs) {
      this.#outputs.delete(token);
      for (const stream of output.streams) output.end(stream);
    }
  }
}

/** A frame's text up to this size (in bytes) is encoded in {@link SCRATCH}, shared by all servers. */
const SCRATCH_BYTES = 16 * 1024;
const SCRATCH = new Uint8Array(SCRATCH_BYTES);

/** 16 hex digits from the CSPRNG: a handler cannot guess another request's streams. */
function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let token = "";
  for (const byte of bytes) token += (byte < 16 ? "0" : "") + byte.toString(16);
  return token;
}

/**
 * Writes the payload to the handler's stdin, then closes the connection:
 * the handler reads what was written, then EOF. A handler that exits
 * without reading is not an error.
 */
async function feed(conn: Deno.UnixConn, payload: Uint8Array): Promise<void> {
  try {
    let offset = 0;
    while (offset < payload.length) offset += await conn.write(payload.subarray(offset));
  } catch {
    // EPIPE or a closed connection: the handler is gone or closed stdin.
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
