/**
 * Turns a process's stdout or stderr into bounded lines.
 *
 * @module
 */

/** Options of {@link readLines}. */
export interface ReadLinesOptions {
  /** Longest line kept, in UTF-16 code units; the rest is cut off. Default 8192. */
  maxLine?: number;
  /** Called once per line, without its newline; `truncated` when it was cut. */
  onLine: (line: string, truncated: boolean) => void;
  /** Stops reading (and cancels the stream) when aborted. */
  signal?: AbortSignal;
}

/**
 * Reads `stream` to its end, calling `onLine` for each line. A line longer
 * than `maxLine` (say, 1 MiB without a newline) is cut and the remainder up
 * to the next newline skipped, so one chatty process cannot grow urocket's
 * memory. Resolves when the stream ends, errors or is cancelled.
 */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadLinesOptions,
): Promise<void> {
  const maxLine = options.maxLine ?? 8192;
  const decoder = new TextDecoder();
  let buffer = "";
  let skipping = false;
  const emit = (line: string, truncated: boolean) => {
    options.onLine(line.endsWith("\r") ? line.slice(0, -1) : line, truncated);
  };
  const reader = stream.getReader();
  const stop = () => reader.cancel().catch(() => {});
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      buffer += decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n", start)) {
        if (!skipping) emit(buffer.slice(start, nl), false);
        skipping = false;
        start = nl + 1;
      }
      buffer = buffer.slice(start);
      if (buffer.length > maxLine) {
        if (!skipping) emit(buffer.slice(0, maxLine), true);
        skipping = true;
        buffer = "";
      }
    }
  } catch {
    // The stream broke: what was read so far is still logged below.
  } finally {
    // Not releaseLock(): nothing reads this stream after us, and releasing costs an Error with a stack.
    options.signal?.removeEventListener("abort", stop);
  }
  buffer += decoder.decode();
  if (buffer && !skipping) emit(buffer, false);
}
