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
 * reserve.fill() && reserve.hasRoom(); // true once 64 are free again
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
   * Whether {@link size} descriptors beyond those held could be opened now:
   * opens and closes them at once. With a full reserve, room for the front
   * to accept again without taking what the reserve is for.
   */
  hasRoom(): boolean {
    const probe = new DescriptorReserve(this.size);
    try {
      return probe.fill();
    } finally {
      probe.release();
    }
  }
}
