/**
 * Waits with a bound, the shape of every wait of urocket's shutdown.
 *
 * @module
 */

/** After a second signal: how long each remaining step may take. */
export const FORCED_WAIT_MS = 2_000;

/**
 * Resolves true when `promise` settles within `ms`, false otherwise; the
 * timer never outlives the wait.
 */
export async function bounded(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A second shutdown signal: from then on, each wait of the shutdown is cut
 * to {@link FORCED_WAIT_MS}.
 */
export class Forcing {
  #forced = false;
  #force!: () => void;
  /** Resolves at the second signal. */
  readonly signal: Promise<void> = new Promise((resolve) => this.#force = resolve);

  /** Whether the second signal came. */
  get forced(): boolean {
    return this.#forced;
  }

  /** The second signal. */
  force(): void {
    this.#forced = true;
    this.#force();
  }

  /** Waits for `promise` up to `ms`; after the second signal, up to {@link FORCED_WAIT_MS} from then. */
  wait(promise: Promise<unknown>, ms: number): Promise<boolean> {
    return bounded(
      Promise.race([promise, this.signal.then(() => bounded(promise, FORCED_WAIT_MS))]),
      this.#forced ? FORCED_WAIT_MS : ms,
    );
  }
}
