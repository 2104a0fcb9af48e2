/**
 * The bytes all request bodies being received may hold together
 * (`max-body-memory`), so that many slow or stalled uploads cost a bounded
 * amount of memory however many connections carry them.
 *
 * @module
 */

import type { BodyAllowance } from "./body.ts";

/**
 * Counts the bytes request bodies hold while they are received, up to a
 * limit read at each request (a reload may change it). A body that does not
 * fit is refused rather than waited for: its client gets 503 at once.
 *
 * @example
 * ```ts
 * const budget = new BodyBudget(() => 64 * 1024 * 1024);
 * budget.take(1024); // true
 * budget.give(1024);
 * ```
 */
export class BodyBudget implements BodyAllowance {
  #held = 0;
  readonly #limit: () => number;

  constructor(limit: () => number) {
    this.#limit = limit;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** Counts `bytes` more; false, counting nothing, when they do not fit under the limit. */
  take(bytes: number): boolean {
    if (this.#held + bytes > this.#limit()) return false;
    this.#held += bytes;
    return true;
  }

  /** Gives back `bytes` taken before. */
  give(bytes: number): void {
    this.#held -= bytes;
  }
}
