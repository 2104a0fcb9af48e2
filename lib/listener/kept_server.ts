/**
 * A `Deno.serve` server that survives its listener. When accept() fails —
 * at the limit on open descriptors above all (EMFILE) — Deno's accept loop
 * ends, closes the listener and rejects the server's `finished`, which,
 * unhandled, ends the process. Here that rejection is handled: the
 * connections already accepted are still served, the reserve of descriptors
 * is released for in-flight work, a line says it (rate-limited), and the
 * address is bound again as soon as there is room.
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import type { DescriptorReserve } from "./descriptor_reserve.ts";

/** Options of {@link KeptServer.start}. */
export interface KeptServerOptions<A extends Deno.Addr> {
  /** What the log lines call it: `front`, `admin` or `socket`. */
  name: string;
  /** Binds a new server on the same address: the first, and again after each loss. */
  bind: () => Promise<Deno.HttpServer<A>>;
  logger: Logger;
  /** Released when a listener reaches the descriptor limit. */
  reserve: DescriptorReserve;
  /**
   * Whether binding again waits until the reserve is full and as many
   * descriptors are free besides: the front's connections are what fills
   * the table, and accepting again at once would only fill it again.
   */
  waitForRoom?: boolean;
  /** Default {@link RETRY_MS}. */
  retryMs?: readonly number[];
}

/** The waits between attempts to bind again, in ms; the last repeats. */
export const RETRY_MS = [0, 50, 100, 250, 500, 1000] as const;
/** At most one line saying a listener stopped accepting per this many ms (per listener). */
export const REPORT_WINDOW_MS = 10_000;
/**
 * How long a server whose listener died keeps the connections it had
 * accepted (keep-alive clients go on meanwhile); then it is shut down:
 * idle ones are closed, requests in flight finish.
 */
export const RETIRE_MS = 30_000;

/** Whether `error` says the process or the system ran out of descriptors (EMFILE, ENFILE). */
export function isDescriptorLimit(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /os error 2[34]\b|too many open files/i.test(message);
}

/**
 * A server kept listening on its address.
 *
 * @example
 * ```ts
 * import { Logger } from "../log/mod.ts";
 * import { DescriptorReserve } from "./descriptor_reserve.ts";
 *
 * const handler = () => new Response("hello");
 * const logger = new Logger({ write: () => Promise.resolve() });
 * const reserve = new DescriptorReserve(32);
 * const front = await KeptServer.start({
 *   name: "front",
 *   bind: () => Promise.resolve(Deno.serve({ port: 8080, onListen() {} }, handler)),
 *   logger,
 *   reserve,
 *   waitForRoom: true,
 * });
 * front.accepting; // false while the address is not bound
 * await front.shutdown();
 * ```
 */
export class KeptServer<A extends Deno.Addr> {
  #options: KeptServerOptions<A>;
  #current: Deno.HttpServer<A>;
  /** Servers whose listener is gone, still serving what they accepted, with their retire timers. */
  #retired = new Map<Deno.HttpServer<A>, ReturnType<typeof setTimeout> | undefined>();
  #accepting = true;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #binding: Promise<boolean> | undefined;
  /** Since when it does not accept (performance.now()). */
  #downSince = 0;
  /** Times the listener stopped accepting since the last line said so. */
  #stops = 0;
  #lastError = "";
  /** When the last "stopped accepting" line was written, and whether its outage is still going. */
  #reportedAt = -Infinity;
  #reported = false;
  #reportTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(options: KeptServerOptions<A>, server: Deno.HttpServer<A>) {
    this.#options = options;
    this.#current = server;
    this.#watch(server);
  }

  /** Binds the first server; its errors are the caller's (a port in use at start is fatal). */
  static async start<A extends Deno.Addr>(options: KeptServerOptions<A>): Promise<KeptServer<A>> {
    return new KeptServer(options, await options.bind());
  }

  /** The address of the current server. */
  get addr(): A {
    return this.#current.addr;
  }

  /** Whether the address is bound and accepting. */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** Why the listener stopped, or the last bind failed. */
  get lastError(): string {
    return this.#lastError;
  }

  /**
   * Binds a new server now and shuts the current one down gracefully (its
   * requests in flight finish): its listener can no longer be reached (the
   * socket file was removed). Resolves false when the bind failed, which
   * leaves things as they were.
   */
  replace(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    this.#binding ??= this.#bind().finally(() => this.#binding = undefined);
    return this.#binding;
  }

  /** Stops accepting and resolves when every server has finished its requests. */
  async shutdown(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#reportTimer);
    await this.#binding;
    const servers = [this.#current, ...this.#retired.keys()];
    for (const timer of this.#retired.values()) clearTimeout(timer);
    this.#retired.clear();
    await Promise.all(servers.map((server) => server.shutdown().catch(() => {})));
  }

  #watch(server: Deno.HttpServer<A>): void {
    server.finished.catch((error) => this.#lost(server, error));
  }

  #lost(server: Deno.HttpServer<A>, error: unknown): void {
    if (this.#closed || server !== this.#current) return;
    // Its connections are still served; it is shut down once they had their time.
    this.#retired.set(server, setTimeout(() => this.#retire(server), RETIRE_MS));
    if (this.#accepting) this.#downSince = performance.now();
    this.#accepting = false;
    this.#stops++;
    this.#lastError = error instanceof Error ? error.message : String(error);
    if (isDescriptorLimit(error)) this.#options.reserve.release();
    this.#report();
    this.#attempt = 0;
    this.#schedule();
  }

  #retire(server: Deno.HttpServer<A>): void {
    this.#retired.set(server, undefined);
    server.shutdown().catch(() => {}).finally(() => {
      if (!this.#closed) this.#retired.delete(server);
    });
  }

  #schedule(): void {
    if (this.#closed) return;
    const retry = this.#options.retryMs ?? RETRY_MS;
    const ms = retry[Math.min(this.#attempt++, retry.length - 1)];
    clearTimeout(this.#timer);
    this.#timer = setTimeout(async () => {
      this.#timer = undefined;
      if (!this.#accepting && !(await this.replace()) && !this.#accepting) this.#schedule();
    }, ms);
  }

  /** One attempt to bind again; true when a new server listens. */
  async #bind(): Promise<boolean> {
    const { reserve, waitForRoom } = this.#options;
    if (waitForRoom && !reserve.refillWithRoom()) {
      this.#lastError = "too many open files";
      return false;
    }
    let server: Deno.HttpServer<A>;
    try {
      server = await this.#options.bind();
    } catch (error) {
      this.#lastError = (error as Error).message;
      return false;
    }
    if (this.#closed) {
      await server.shutdown();
      return false;
    }
    const previous = this.#current;
    this.#current = server;
    this.#watch(server);
    if (this.#accepting) {
      // Replaced while it still listened: nothing can reach it any more, but what it serves.
      this.#retire(previous);
    } else {
      this.#accepting = true;
      this.#recovered();
    }
    if (reserve.held < reserve.size) reserve.refillWithRoom();
    return true;
  }

  /** Says it stopped accepting, at most once per window: a line later says how often meanwhile. */
  #report(): void {
    const now = performance.now();
    if (now - this.#reportedAt < REPORT_WINDOW_MS) {
      this.#reportTimer ??= setTimeout(() => {
        this.#reportTimer = undefined;
        if (!this.#accepting && !this.#closed) this.#report();
      }, this.#reportedAt + REPORT_WINDOW_MS - now);
      return;
    }
    const { logger, name } = this.#options;
    const fields = {
      listener: name,
      address: formatAddr(this.#current.addr),
      error: this.#lastError,
      times: this.#stops,
    };
    if (isDescriptorLimit(this.#lastError)) {
      logger.warn("descriptor_limit", {
        ...fields,
        message: "cannot accept connections: too many open files; new connections are " +
          "refused until descriptors free up, requests in flight go on (raise ulimit -n)",
      });
    } else {
      logger.error("accept_failed", {
        ...fields,
        message: "the listener stopped accepting: binding its address again",
      });
    }
    this.#stops = 0;
    this.#reportedAt = now;
    this.#reported = true;
  }

  /** Says it accepts again, when it had said it stopped (the line before it then tells the truth). */
  #recovered(): void {
    if (!this.#reported) return;
    this.#reported = false;
    clearTimeout(this.#reportTimer);
    this.#reportTimer = undefined;
    this.#options.logger.info("accepting", {
      listener: this.#options.name,
      address: formatAddr(this.#current.addr),
      down_ms: Math.round(performance.now() - this.#downSince),
    });
  }
}

/** `host:port`, `[v6]:port`, or a socket path. */
function formatAddr(addr: Deno.Addr): string {
  if (addr.transport === "unix" || addr.transport === "unixpacket") return addr.path;
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }
  return String(addr.transport);
}
