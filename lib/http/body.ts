/**
 * Reading a request body whole, within a size limit — the same rule for the
 * client's request (`max-body`) and the process's reply (`max-reply`) — and,
 * for the client's request, within `body-timeout` and the bytes all bodies
 * being received may hold together (`max-body-memory`).
 *
 * What a body holds follows its bytes, never its chunking: each chunk is
 * copied into one growing buffer as it arrives, so a million one-byte chunks
 * cost what one megabyte costs (Deno hands each chunk over in a buffer of
 * its own, 64 KiB when it allocates it, which keeping the chunks would keep).
 *
 * @module
 */

/** A body passed its size limit. */
export class BodyTooLarge extends Error {
  /** The limit that was passed, in bytes. */
  readonly limit: number;

  constructor(limit: number) {
    super(`The body is larger than ${limit} bytes`);
    this.name = "BodyTooLarge";
    this.limit = limit;
  }
}

/** A body was not complete within its time. */
export class BodyTimeout extends Error {
  /** The time it had, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`The body was not complete within ${timeoutMs} ms`);
    this.name = "BodyTimeout";
    this.timeoutMs = timeoutMs;
  }
}

/** The bytes that bodies being received may hold together are spent. */
export class BodyOverBudget extends Error {
  constructor() {
    super("The bodies being received hold all the memory they may");
    this.name = "BodyOverBudget";
  }
}

/** Where the bytes a body holds while it is received are counted (see BodyBudget). */
export interface BodyAllowance {
  /** Counts `bytes` more; false, counting nothing, when they do not fit. */
  take(bytes: number): boolean;
  /** Gives back `bytes` taken before. */
  give(bytes: number): void;
}

/** Options of {@link readBodyWithin}. */
export interface ReadBodyOptions {
  /** How long the whole body may take from now; then {@link BodyTimeout}. */
  timeoutMs?: number;
  /** Counts what the body holds while it is received; when spent, {@link BodyOverBudget}. */
  budget?: BodyAllowance;
}

/**
 * Bodies with a `Content-Length` up to this size are read with Deno's one-call
 * read, the cheapest there is (most arrive whole with their headers). Larger
 * ones go through {@link collect}, whose reading can be stopped: Deno's
 * one-call read cannot, and holds a few times the declared size until the
 * client finishes or leaves.
 */
export const ONE_CALL_MAX = 16 * 1024;
/**
 * What one read from the connection may return: the one buffer a body being
 * collected reads into, and all it keeps once it has timed out (see
 * {@link collect}). Per connection, like Deno's own buffers: the budget
 * counts body bytes only.
 */
export const READ_BUFFER = 16 * 1024;
/** Smallest buffer a body without `Content-Length` starts with. */
const MIN_CAPACITY = 1024;

/**
 * Reads the whole body of `request`, throwing {@link BodyTooLarge} as soon as
 * it is known to exceed `limit`: at once from `Content-Length`, or while
 * reading a body sent without one. A body that breaks off rejects with the
 * stream's own error; one not complete within `timeoutMs` with
 * {@link BodyTimeout}; one that does not fit in `budget` with
 * {@link BodyOverBudget}. The budget gets the body's bytes back when this
 * settles — or, for a small body Deno reads itself, once Deno lets go of them
 * (see {@link ONE_CALL_MAX}).
 */
export function readBodyWithin(
  request: Request,
  limit: number,
  options: ReadBodyOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = declaredLength(request.headers);
  if (declared !== undefined && declared > limit) return Promise.reject(new BodyTooLarge(limit));
  if (declared === 0) return Promise.resolve(new Uint8Array());
  // With a Content-Length within the limit the HTTP layer delivers exactly that many bytes, so
  // Deno's one-call read is safe. `request.body` is not looked at first: the getter builds a
  // ReadableStream the one-call read then has to go through.
  if (declared !== undefined && declared <= ONE_CALL_MAX) {
    return readInOneCall(request, declared, options);
  }
  const body = request.body;
  return body ? collect(body, limit, declared, options) : Promise.resolve(new Uint8Array());
}

/** Deno's one-call read of a declared body, raced against the timeout. */
function readInOneCall(
  request: Request,
  declared: number,
  { timeoutMs, budget }: ReadBodyOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  if (budget && !budget.take(declared)) return Promise.reject(new BodyOverBudget());
  // One promise settled by whichever comes first, rather than a race: this is every small
  // request's path, where each promise and reaction less counts (see BENCHMARKS.md).
  return new Promise((resolve, reject) => {
    const timer = timeoutMs === undefined
      ? undefined
      : setTimeout(() => reject(new BodyTimeout(timeoutMs)), timeoutMs);
    // A read that lost to the timer still holds its bytes until the client finishes or leaves:
    // they are given back only then.
    request.arrayBuffer().then((bytes) => {
      budget?.give(declared);
      clearTimeout(timer);
      resolve(new Uint8Array(bytes));
    }, (error) => {
      budget?.give(declared);
      clearTimeout(timer);
      reject(error);
    });
  });
}

type Reader =
  | { byob: true; reader: ReadableStreamBYOBReader }
  | { byob: false; reader: ReadableStreamDefaultReader<Uint8Array> };

/** A reader that fills buffers of ours when the stream can (Deno's own body streams can). */
function readerOf(stream: ReadableStream<Uint8Array>): Reader {
  try {
    return { byob: true, reader: stream.getReader({ mode: "byob" }) };
  } catch {
    // Not a byte stream (a body Deno already held whole, a stream built in a test).
    return { byob: false, reader: stream.getReader() };
  }
}

/**
 * Reads `stream` chunk by chunk into one buffer: `declared` bytes when the
 * length is known, else a buffer that doubles, cut to size at the end. The
 * budget counts that buffer.
 *
 * At the timeout the body is given up at once (the buffer is dropped and its
 * bytes given back) and the read under way is left to finish: Deno has no
 * way to close a connection from here, but when a read of a body whose
 * answer is sent ends, cancelling the stream drops the connection. So the
 * first bytes the client sends after its 408 close its connection; until
 * then the read buffer is all it holds.
 */
function collect(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  declared: number | undefined,
  { timeoutMs, budget }: ReadBodyOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const source = readerOf(stream);
  const readBuffer = source.byob ? READ_BUFFER : 0;
  let held = declared ?? 0;
  if (budget && !budget.take(held)) {
    source.reader.cancel().catch(() => {});
    return Promise.reject(new BodyOverBudget());
  }
  return new Promise((resolve, reject) => {
    let buffer = new Uint8Array(declared ?? 0);
    let size = 0;
    let settled = false;
    let scratch = new ArrayBuffer(readBuffer);
    /** Ends the body for the caller and gives its bytes back. */
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      buffer = new Uint8Array();
      budget?.give(held);
      held = 0;
    };
    const fail = (error: Error, cancel: boolean) => {
      if (settled) return;
      settle();
      if (cancel) source.reader.cancel().catch(() => {});
      reject(error);
    };
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      settle();
      reject(new BodyTimeout(timeoutMs));
    }, timeoutMs);
    const take = (chunk: Uint8Array) => {
      const need = size + chunk.length;
      if (need > limit) return fail(new BodyTooLarge(limit), true);
      if (need > buffer.length) {
        const capacity = Math.min(limit, Math.max(need, buffer.length * 2, MIN_CAPACITY));
        if (budget && !budget.take(capacity - buffer.length)) {
          return fail(new BodyOverBudget(), true);
        }
        held += capacity - buffer.length;
        const grown = new Uint8Array(capacity);
        grown.set(buffer.subarray(0, size));
        buffer = grown;
      }
      buffer.set(chunk, size);
      size = need;
    };
    const pump = async () => {
      for (;;) {
        const { done, value } = source.byob
          ? await source.reader.read(new Uint8Array(scratch))
          : await source.reader.read();
        if (done) break;
        // The one read after the timeout: nothing more is read (see above).
        if (settled) return void source.reader.cancel().catch(() => {});
        // A BYOB read hands the buffer back transferred: the next read reuses it.
        if (source.byob) scratch = value.buffer as ArrayBuffer;
        take(value);
        if (settled) return;
      }
      if (settled) return;
      const body = size === buffer.length ? buffer : buffer.slice(0, size);
      settle();
      resolve(body);
    };
    pump().catch((error) => fail(error, false));
  });
}

/**
 * The body's length as its `Content-Length` declares it, when that is one
 * plain number. Deno accepts a header sent twice (`N, N` once joined), which
 * must not pass for a length within a limit: the body is then counted as it
 * is read.
 */
export function declaredLength(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * The bytes of `chunks` one after the other, in one new array. `size`, when
 * the caller already knows it, saves adding the lengths up.
 *
 * @example
 * ```ts
 * concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(
  chunks: readonly Uint8Array[],
  size = chunks.reduce((total, chunk) => total + chunk.length, 0),
): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}
