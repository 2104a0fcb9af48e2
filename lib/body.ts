/**
 * Reading a request body whole, within a size limit — the same rule for the
 * client's request (`max-body`) and the process's reply (`max-reply`).
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

/**
 * Reads the whole body of `request`, throwing {@link BodyTooLarge} as soon as
 * it is known to exceed `limit`: at once from `Content-Length`, or while
 * reading a body sent without one. A body that breaks off rejects with the
 * stream's own error.
 */
export async function readBodyWithin(
  request: Request,
  limit: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = declaredLength(request.headers);
  if (declared !== undefined && declared > limit) throw new BodyTooLarge(limit);
  // With a Content-Length within the limit the HTTP layer delivers exactly that many bytes, so
  // Deno's one-call read is safe; it is the common case. `request.body` is not looked at first:
  // the getter builds a ReadableStream the one-call read then has to go through.
  if (declared !== undefined) return new Uint8Array(await request.arrayBuffer());
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  // The reader is never released: the body is consumed either way, and releaseLock() costs an
  // Error with a stack trace.
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw new BodyTooLarge(limit);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, size);
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
