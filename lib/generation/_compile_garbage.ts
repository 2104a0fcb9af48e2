/**
 * Keeps the garbage of a long validator compile bounded. Compiling leaves
 * most of what it allocates as garbage, alive long enough to reach V8's
 * old generation, whose limit V8 raises faster than the garbage grows:
 * with every operation of Stripe's document (452) validating, urocket was at
 * 280 MiB when ready, and V8 collected 150 MiB of it only ~25 s later.
 *
 * Where urocket runs with `--expose-gc` (its tasks, the compiled binary and
 * the container image do), a compile has the garbage collected each time the
 * heap has grown by as much as it held after the last collection (at least
 * 64 MiB), so that collecting costs a bounded share of compiling whatever
 * the document's size; and fully, handing pages back, at its end. Without
 * the flag, V8 collects when it sees fit.
 *
 * @module
 */

/** V8's `gc()`, present with `--expose-gc`. */
type Collect = (options?: { type: "major"; flavor: "last-resort" }) => void;

/** The least growth of the heap between two collections. */
const GROWTH = 64 * 1024 * 1024;

function heapUsed(): number {
  return Deno.memoryUsage().heapUsed;
}

/**
 * The collections of one compile: {@link CompileGarbage.check} where compiling yields to the event
 * loop (reading the heap's size costs a call into V8), then {@link CompileGarbage.done}.
 */
export class CompileGarbage {
  readonly #collect = (globalThis as { gc?: Collect }).gc;
  readonly #start = heapUsed();
  #kept = this.#start;
  #collected = false;

  /** Collects when the heap has grown by more than it held after the last collection. */
  check(): void {
    if (!this.#collect || heapUsed() - this.#kept < Math.max(GROWTH, this.#kept)) return;
    this.#collect();
    this.#kept = heapUsed();
    this.#collected = true;
  }

  /** At the end of a compile that grew the heap: a full collection that hands pages back now. */
  done(): void {
    if (!this.#collect || (!this.#collected && heapUsed() - this.#start < GROWTH)) return;
    this.#collect({ type: "major", flavor: "last-resort" });
  }
}
