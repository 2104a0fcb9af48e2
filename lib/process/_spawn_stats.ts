/**
 * Live usage of the processes the spawn server started, asked for on its
 * control connection (the stats frame, answered by a `U` line): the
 * console's CPU time and RSS of each process in flight, read by the server
 * from `/proc` (Deno refuses to read `/proc/<pid>` without `--allow-all`).
 * Each request waits a bounded time, so that a server that is busy or gone
 * never holds the console.
 *
 * @module
 */

import type { LiveStats } from "../console/mod.ts";
import { statsFrame } from "./_spawn_frames.ts";
import { newToken } from "./_spawn_protocol.ts";

/** How long a stats request waits for its answer before it counts as none. */
export const STATS_WAIT_MS = 500;

/** Stats requests waiting for their `U` line, by token. */
export class StatsRequests {
  #waiting = new Map<string, (stats: Map<number, LiveStats>) => void>();

  /**
   * Sends the request for `pids` with `send`; resolves with the server's
   * answer, or an empty map after {@link STATS_WAIT_MS}. Never rejects.
   */
  ask(pids: number[], send: (frame: Uint8Array) => void): Promise<Map<number, LiveStats>> {
    const wanted = [...new Set(pids.filter((pid) => Number.isSafeInteger(pid) && pid > 0))];
    if (wanted.length === 0) return Promise.resolve(new Map());
    const token = newToken();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answered(token, new Map()), STATS_WAIT_MS);
      this.#waiting.set(token, (stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      send(statsFrame(token, wanted));
    });
  }

  /** The answer to `token`; one that comes after its wait is over is dropped. */
  answered(token: string, stats: Map<number, LiveStats>): void {
    const resolve = this.#waiting.get(token);
    if (!resolve) return;
    this.#waiting.delete(token);
    resolve(stats);
  }

  /** The server is gone: every request waiting gets an empty answer at once. */
  failAll(): void {
    for (const token of [...this.#waiting.keys()]) this.answered(token, new Map());
  }
}
