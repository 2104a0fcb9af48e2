/**
 * A process's stdio through the spawn server: its output as the server
 * relays it (kept until a sink is attached), the payload urocket writes to
 * its stdin when the payload is too large for the server to pipe, and the
 * request that holds both until the process is handed out.
 *
 * @module
 */

import type {
  ExitStatus,
  OutputRelay,
  OutputSink,
  OutputStream,
  Spawned,
  SpawnError,
  SpawnSpec,
} from "./spawn.ts";

/** A request between its frame and its `S`/`F` line (plus its stdin connection, if it has one). */
export interface Starting {
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

/**
 * A process's relayed output, fed by the server's `D` and `C` lines: what
 * arrives before the process is handed out waits for {@link OutputRelay.attach}.
 */
export class Relay implements OutputRelay {
  readonly kind = "relay";
  readonly streams: readonly OutputStream[];
  /** Streams not ended yet. */
  #open: Set<OutputStream>;
  #sink: OutputSink | undefined;
  /** What came before attach(): chunks, and `null` for an end. */
  #early: [OutputStream, Uint8Array | null][] = [];
  #onDrop: () => void;

  /** A relay of stderr (and of stdout when `stdout`); `onDrop` asks the server to stop relaying. */
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

  /** Output of `stream`, from a `D` line. */
  data(stream: OutputStream, bytes: Uint8Array): void {
    if (!this.#open.has(stream)) return;
    if (this.#sink) this.#sink.data(stream, bytes);
    else this.#early.push([stream, bytes]);
  }

  /** The end of `stream`, from a `C` line (or the server's end). */
  end(stream: OutputStream): void {
    if (!this.#open.delete(stream)) return;
    if (this.#sink) this.#sink.end(stream);
    else this.#early.push([stream, null]);
  }
}

/**
 * Writes the payload to the handler's stdin, then closes the connection:
 * the handler reads what was written, then EOF. A handler that exits
 * without reading is not an error.
 */
export async function feed(conn: Deno.UnixConn, payload: Uint8Array): Promise<void> {
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
