/**
 * The live process groups of the instance: counted for `max-inflight`,
 * signalled together at shutdown.
 *
 * @module
 */

import type { KillReason, ProcessGroup } from "./group.ts";

/**
 * Tracks process groups from spawn until their last process is gone.
 *
 * @example
 * ```ts
 * const table = new ProcessTable();
 * table.add(group, "post /pets");
 * table.live; // 1, until group.ended resolves
 * ```
 */
export class ProcessTable {
  #groups = new Map<ProcessGroup, string>();
  #perKey = new Map<string, number>();
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;

  /** Number of live process groups. */
  get live(): number {
    return this.#groups.size;
  }

  /** Number of live process groups started for `key` (an operation). */
  liveFor(key: string): number {
    return this.#perKey.get(key) ?? 0;
  }

  /** Tracks `group` under `key` until it has ended. */
  add(group: ProcessGroup, key: string): void {
    this.#groups.set(group, key);
    this.#perKey.set(key, this.liveFor(key) + 1);
    group.ended.finally(() => {
      this.#groups.delete(group);
      const left = this.liveFor(key) - 1;
      if (left > 0) this.#perKey.set(key, left);
      else this.#perKey.delete(key);
      if (this.#groups.size === 0 && this.#idle) {
        this.#idle.resolve();
        this.#idle = undefined;
      }
    });
  }

  /** SIGTERM (then SIGKILL after each group's grace) to every live group. */
  killAll(reason: KillReason): void {
    for (const group of this.#groups.keys()) group.kill(reason);
  }

  /** SIGKILL to every live group at once. */
  killAllNow(reason: KillReason): void {
    for (const group of this.#groups.keys()) group.killNow(reason);
  }

  /** Resolves when no group is live. */
  idle(): Promise<void> {
    if (this.#groups.size === 0) return Promise.resolve();
    if (!this.#idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => resolve = r);
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }
}
