/**
 * How to undo the steps a start has taken so far, in reverse order: the
 * start pushes each step's undo as it takes it and unwinds once if a later
 * step fails.
 *
 * @module
 */

/** Undo steps, last in first out. */
export class UndoStack {
  #steps: (() => Promise<void> | void)[] = [];

  /** Records how to undo the step just taken. */
  push(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  /**
   * Undoes every recorded step, the last first. An undo that fails does not
   * stop the others: the error that made the start fail is the one to report.
   */
  async unwind(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // See above.
      }
    }
  }
}
