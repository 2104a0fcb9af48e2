/**
 * A few descriptors held in reserve for when urocket reaches its limit on
 * open descriptors: released, they let in-flight requests finish (a reply
 * on the socket, a probe of /readyz need one each) while the front, whose
 * connections filled the table, stops accepting.
 *
 * @module
 */

/** How many descriptors urocket holds in reserve, at most. */
export const RESERVE_SIZE = 32;

/** The reserve for a limit of `nofile` descriptors: an eighth of it, at most {@link RESERVE_SIZE}. */
export function reserveSizeFor(nofile: number | undefined): number {
  if (nofile === undefined) return RESERVE_SIZE;
  return Math.max(1, Math.min(RESERVE_SIZE, Math.floor(nofile / 8)));
}

/**
 * Descriptors opened on `/dev/null` and held, to be released at the limit.
 *
 * @example
 * ```ts
 * const reserve = new DescriptorReserve(32);
 * reserve.fill();     // true: 32 descriptors held
 * reserve.release();  // at the limit: 32 free for in-flight work
 * reserve.refillWithRoom(); // true, and held again, once 64 are free
 * ```
 */
export class DescriptorReserve {
  readonly size: number;
  #files: Deno.FsFile[] = [];

  constructor(size: number) {
    this.size = size;
  }

  /** How many descriptors are held now. */
  get held(): number {
    return this.#files.length;
  }

  /** Opens descriptors until {@link size} are held; false when the limit stops it first. */
  fill(): boolean {
    while (this.#files.length < this.size) {
      try {
        this.#files.push(Deno.openSync("/dev/null"));
      } catch {
        return false;
      }
    }
    return true;
  }

  /** Closes every descriptor held: room for in-flight work at the limit. */
  release(): void {
    for (const file of this.#files) file.close();
    this.#files = [];
  }

  /**
   * Fills the reserve when there is room for it twice over — the reserve,
   * and as many descriptors free besides — and says whether there was:
   * the reserve never takes the last free descriptors, which requests in
   * flight need. Probes by opening and closing them at once.
   */
  refillWithRoom(): boolean {
    const probe = new DescriptorReserve(2 * this.size - this.#files.length);
    try {
      if (!probe.fill()) return false;
    } finally {
      probe.release();
    }
    return this.fill();
  }
}
