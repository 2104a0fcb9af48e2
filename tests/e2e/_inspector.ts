/**
 * V8's inspector in a urocket under test, to have its garbage collected
 * before its memory is read. A garbage-collected heap grows as V8 sees fit,
 * and the allocator keeps the high-water mark of what the garbage held: the
 * same urocket under the same 10,000 requests ends 15 to 35 MiB above where
 * it was after 1,000 when V8 is left alone, and 3 to 7 MiB above when
 * collected only before each reading — while what it keeps (its live heap)
 * grows by less than 1 MiB. What is kept survives every collection; garbage
 * does not. So memory tests collect every 1,000 requests or so, and read the
 * resident memory (what a user sees) after a collection.
 *
 * @module
 */

/** Resident memory (from /proc) and V8's live heap, in KiB. */
export interface Memory {
  rssKb: number;
  heapKb: number;
}

/** A connection to the inspector of a Deno process started with `--inspect`. */
export class Inspector {
  #socket: WebSocket;
  #next = 0;
  #waiting = new Map<number, (result: Record<string, number>) => void>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.#waiting.get(message.id)?.(message.result);
      this.#waiting.delete(message.id);
    };
  }

  /** Connects to the inspector listening on 127.0.0.1:`port`. */
  static async connect(port: number): Promise<Inspector> {
    const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    return new Inspector(socket);
  }

  /** A full collection, then the memory of `pid` (the inspected process). */
  async collected(pid: number): Promise<Memory> {
    await this.#send("HeapProfiler.collectGarbage");
    const { usedSize } = await this.#send("Runtime.getHeapUsage");
    // V8 hands freed pages back to the system on a thread of its own.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return {
      rssKb: Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]),
      heapKb: Math.round(usedSize / 1024),
    };
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.#socket.onclose = resolve);
    this.#socket.close();
    await closed;
  }

  #send(method: string): Promise<Record<string, number>> {
    const id = ++this.#next;
    this.#socket.send(JSON.stringify({ id, method }));
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }
}

/** A TCP port of 127.0.0.1 free now, for an inspector to listen on. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * The `wrap` of `startUrocket()` that runs urocket's own command line with
 * the inspector on 127.0.0.1:`port` (the shell execs, so the pid is urocket's).
 */
export function inspectorWrap(port: number): string[] {
  return ["sh", "-c", `deno=$1; shift 2; exec "$deno" run --inspect=127.0.0.1:${port} "$@"`, "sh"];
}
