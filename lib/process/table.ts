/**
 * The live process groups of the instance: counted for `max-inflight`,
 * signalled together at shutdown.
 *
 * @module
 */

import type { KillReason, ProcessGroup } from "./group.ts";

/** A place taken for a spawn under way; see {@link ProcessTable.reserve}. */
export interface Slot {
  /** The spawn started `group`: it holds the place until it has ended. */
  started(group: ProcessGroup): void;
  /** The spawn failed: the place is free again. */
  failed(): void;
}

/**
 * Tracks process groups from the moment their spawn is decided until their
 * last process is gone.
 *
 * @example
 * ```ts
 * import { ProcessGroup, type ProcessGroupOptions } from "./group.ts";
 * import type { SpawnSpec } from "./spawn.ts";
 *
 * declare const spec: SpawnSpec;
 * declare const options: ProcessGroupOptions;
 * const table = new ProcessTable();
 * const slot = table.reserve("post /pets"); // table.live is 1 from here
 * slot.started(await ProcessGroup.start(spec, options)); // until group.ended resolves
 * ```
 */
export class ProcessTable {
  #groups = new Map<ProcessGroup, string>();
  /** Spawns under way, and live groups, per key. */
  #perKey = new Map<string, number>();
  /** Spawns under way. */
  #starting = 0;
  /** Set at shutdown: groups that start from then on are signalled at once too. */
  #killing: { reason: KillReason; now: boolean } | undefined;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;

  /** Live process groups plus spawns under way: what `max-inflight` counts. */
  get live(): number {
    return this.#groups.size + this.#starting;
  }

  /** Live process groups alone (started, not yet ended). */
  get running(): number {
    return this.#groups.size;
  }

  /** {@link live} for `key` (an operation). */
  liveFor(key: string): number {
    return this.#perKey.get(key) ?? 0;
  }

  /**
   * Takes a place under `key` for a spawn about to start. It counts at
   * once, so that requests arriving while the spawn is under way see it
   * (a spawn takes a round trip to the spawn server), and shutdown waits
   * for it.
   */
  reserve(key: string): Slot {
    this.#starting++;
    this.#perKey.set(key, this.liveFor(key) + 1);
    let open = true;
    return {
      started: (group) => {
        if (!open) return;
        open = false;
        this.#starting--;
        this.#groups.set(group, key);
        group.ended.finally(() => {
          this.#groups.delete(group);
          this.#free(key);
        });
        // Shutdown has signalled the others already.
        if (this.#killing?.now) group.killNow(this.#killing.reason);
        else if (this.#killing) group.kill(this.#killing.reason);
      },
      failed: () => {
        if (!open) return;
        open = false;
        this.#starting--;
        this.#free(key);
      },
    };
  }

  /**
   * SIGTERM (then SIGKILL after each group's grace) to every live group, and
   * to every group that starts from now on.
   */
  killAll(reason: KillReason): void {
    this.#killing ??= { reason, now: false };
    for (const group of this.#groups.keys()) group.kill(reason);
  }

  /** SIGKILL to every live group at once, and to every group that starts from now on. */
  killAllNow(reason: KillReason): void {
    this.#killing = { reason: this.#killing?.reason ?? reason, now: true };
    for (const group of this.#groups.keys()) group.killNow(reason);
  }

  /** Resolves when no group is live and no spawn is under way. */
  idle(): Promise<void> {
    if (this.live === 0) return Promise.resolve();
    if (!this.#idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => resolve = r);
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  #free(key: string): void {
    const left = this.liveFor(key) - 1;
    if (left > 0) this.#perKey.set(key, left);
    else this.#perKey.delete(key);
    if (this.live === 0 && this.#idle) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }
}
