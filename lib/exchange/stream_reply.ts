/**
 * Passes a streamed reply body from the replier to the client.
 *
 * @module
 */

/** How a streamed reply body ended. */
export type StreamReplyEnd = "delivered" | "client_gone" | "too_large" | "broken" | "timeout";

/** Options of {@link streamReply}. */
export interface StreamReplyOptions {
  /** The body is cut when it passes this many bytes (`max-reply`). */
  maxBytes: number;
  /** The body is cut when it has not ended this long after it started (`stream-timeout`). */
  timeoutMs: number;
  /** Called once, when the body has ended one way or another. */
  onEnd: (end: StreamReplyEnd, bytes: number) => void;
}

/**
 * Streams `source` to the client chunk by chunk, pulling only as fast as the client reads,
 * so that a slow client slows the replier and nothing is buffered whole.
 * The client's response is aborted (its connection closed, since status and
 * headers are already sent) when the body passes `maxBytes`, takes longer than
 * `timeoutMs`, or the replier breaks off.
 *
 * @example
 * ```ts
 * declare const replierRequest: Request;
 * const body = streamReply(replierRequest.body!, {
 *   maxBytes: 10 << 20,
 *   timeoutMs: 300_000,
 *   onEnd: (end, bytes) => console.log(end, bytes),
 * });
 * new Response(body, { status: 200 });
 * ```
 */
export function streamReply(
  source: ReadableStream<Uint8Array>,
  options: StreamReplyOptions,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let bytes = 0;
  let ended = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const end = (result: StreamReplyEnd) => {
    if (ended) return false;
    ended = true;
    clearTimeout(timer);
    options.onEnd(result, bytes);
    return true;
  };
  const cut = (controller: ReadableStreamDefaultController<Uint8Array>, result: StreamReplyEnd) => {
    if (!end(result)) return;
    reader.cancel().catch(() => {});
    controller.error(new Error(`The reply was cut: ${result}`));
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => cut(controller, "timeout"), options.timeoutMs);
    },
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        if (end("broken")) controller.error(new Error("The replier broke off"));
        return;
      }
      if (ended) return;
      if (chunk.done) {
        controller.close();
        end("delivered");
        return;
      }
      // The chunk that passes the limit is refused whole: `bytes` counts what the client was sent.
      if (bytes + chunk.value.length > options.maxBytes) return cut(controller, "too_large");
      bytes += chunk.value.length;
      controller.enqueue(chunk.value);
    },
    cancel() {
      if (end("client_gone")) reader.cancel().catch(() => {});
    },
  }, { highWaterMark: 0 });
}
