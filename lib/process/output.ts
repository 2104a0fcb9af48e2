/**
 * Turns a process's stdout or stderr into bounded lines.
 *
 * @module
 */

/** Called once per line, without its newline; `truncated` when it was cut. */
export type OnLine = (line: string, truncated: boolean) => void;

/** Longest line kept by default, in UTF-16 code units. */
const MAX_LINE = 8192;

/**
 * Splits output pushed to it chunk by chunk into lines. A line longer than
 * `maxLine` (say, 1 MiB without a newline) is cut and the remainder up to
 * the next newline skipped, so one chatty process cannot grow urocket's
 * memory. A trailing `\r` is removed; invalid UTF-8 becomes U+FFFD.
 *
 * @example
 * ```ts
 * const lines = new LineSplitter((line) => console.log(line));
 * lines.push(new TextEncoder().encode("a\nb"));  // logs "a"
 * lines.end();                                   // logs "b"
 * ```
 */
export class LineSplitter {
  #onLine: OnLine;
  #maxLine: number;
  /** Made on the first chunk: most processes print nothing, so most splitters never need one. */
  #decoder: TextDecoder | undefined;
  #buffer = "";
  #skipping = false;

  constructor(onLine: OnLine, maxLine = MAX_LINE) {
    this.#onLine = onLine;
    this.#maxLine = maxLine;
  }

  /** Takes the next chunk, calling `onLine` for every line it completes. */
  push(chunk: Uint8Array): void {
    this.#decoder ??= new TextDecoder();
    const buffer = this.#buffer + this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n", start)) {
      // A long line that ends within this chunk is cut as well as one still open at its end.
      if (!this.#skipping) this.#emit(buffer.slice(start, nl));
      this.#skipping = false;
      start = nl + 1;
    }
    this.#buffer = start === 0 ? buffer : buffer.slice(start);
    if (this.#buffer.length > this.#maxLine) {
      if (!this.#skipping) this.#emit(this.#buffer);
      this.#skipping = true;
      this.#buffer = "";
    }
  }

  /** The output ended: a last line without a newline is emitted too. */
  end(): void {
    const rest = this.#buffer + (this.#decoder?.decode() ?? "");
    this.#buffer = "";
    if (rest && !this.#skipping) this.#emit(rest);
  }

  /** Passes `line` on, cut to maxLine (and flagged) when longer. */
  #emit(line: string): void {
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.length <= this.#maxLine) return this.#onLine(line, false);
    // Cut before a surrogate pair rather than through it, so the line stays valid text.
    const end = isHighSurrogate(line.charCodeAt(this.#maxLine - 1))
      ? this.#maxLine - 1
      : this.#maxLine;
    this.#onLine(line.slice(0, end), true);
  }
}

/**
 * How much of a process's output may be logged (`log-limit`), shared by its
 * stdout and stderr: each line costs its UTF-8 bytes and its newline. From
 * the first line that does not fit on, nothing more is logged; the rest is
 * still read (a process must never block on a full pipe) and only counted.
 *
 * @example
 * ```ts
 * const budget = new OutputBudget(10);
 * budget.take("12345678"); // "logged": 9 bytes
 * budget.take("abc");      // "cut": the first line past the limit
 * budget.take("d");        // "discarded"
 * ```
 */
export class OutputBudget {
  #limit: number;
  #logged = 0;
  #discarded = 0;
  #cut = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Whether the limit has been passed: what is read from then on is discarded. */
  get cut(): boolean {
    return this.#cut;
  }

  /** Bytes logged (lines and their newlines). */
  get logged(): number {
    return this.#logged;
  }

  /** Bytes read and discarded once the limit was passed. */
  get discarded(): number {
    return this.#discarded;
  }

  /**
   * Counts `line`: `logged` when it fits, `cut` for the first line that
   * does not (say so once), `discarded` for every line after it.
   */
  take(line: string): "logged" | "cut" | "discarded" {
    const bytes = utf8Length(line) + 1;
    if (this.#cut) {
      this.#discarded += bytes;
      return "discarded";
    }
    if (this.#logged + bytes > this.#limit) {
      this.#cut = true;
      this.#discarded += bytes;
      return "cut";
    }
    this.#logged += bytes;
    return "logged";
  }

  /** Counts `bytes` of raw output read and discarded without being split into lines. */
  discard(bytes: number): void {
    this.#discarded += bytes;
  }
}

/** The length of `text` in UTF-8, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    // A surrogate pair is 4 bytes, 2 code units: one more byte each.
    bytes += code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Options of {@link readLines}. */
export interface ReadLinesOptions {
  /** Longest line kept, in UTF-16 code units; the rest is cut off. Default 8192. */
  maxLine?: number;
  onLine: OnLine;
  /** Stops reading (and cancels the stream) when aborted. */
  signal?: AbortSignal;
  /** Once it is cut, chunks are read, counted and discarded instead of split into lines. */
  budget?: OutputBudget;
}

/**
 * Reads `stream` to its end, calling `onLine` for each line (see
 * {@link LineSplitter}). Resolves when the stream ends, errors or is
 * cancelled.
 */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadLinesOptions,
): Promise<void> {
  const lines = new LineSplitter(options.onLine, options.maxLine);
  const reader = stream.getReader();
  const stop = () => reader.cancel().catch(() => {});
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (options.budget?.cut) options.budget.discard(value.length);
      else lines.push(value);
    }
  } catch {
    // The stream broke: what was read so far is still logged below.
  } finally {
    // Not releaseLock(): nothing reads this stream after us, and releasing costs an Error with a stack.
    options.signal?.removeEventListener("abort", stop);
  }
  if (!options.budget?.cut) lines.end();
}
