/**
 * The request body, read within the operation's bounds (`max-body`,
 * `body-timeout`, the `max-body-memory` all bodies share) before any
 * process starts.
 *
 * @module
 */

import {
  type BodyAllowance,
  BodyOverBudget,
  BodyTimeout,
  BodyTooLarge,
  HttpProblem,
  readBodyWithin,
} from "../http/mod.ts";

/** The operation's bounds on its request body. */
export interface BodyLimits {
  /** `max-body`, in bytes. */
  maxBody: number;
  /** `body-timeout`, in milliseconds. */
  bodyTimeoutMs?: number;
  /** Where the bytes of bodies being received are counted (`max-body-memory`). */
  budget?: BodyAllowance;
}

/** The bounds of an operation's request body (`op`), counted in `budget`. */
export function bodyLimitsOf(
  op: { maxBody: number; bodyTimeoutMs: number },
  budget: BodyAllowance | undefined,
): BodyLimits {
  return { maxBody: op.maxBody, bodyTimeoutMs: op.bodyTimeoutMs, budget };
}

/**
 * Reads the request body within the operation's bounds, before any process
 * starts: a larger body is the client's 413, one not complete within
 * `body-timeout` its 408, one that does not fit in `max-body-memory` a 503,
 * one that breaks off its 400.
 */
export async function readBody(
  request: Request,
  { maxBody, bodyTimeoutMs, budget }: BodyLimits,
): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await readBodyWithin(request, maxBody, { timeoutMs: bodyTimeoutMs, budget });
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      throw new HttpProblem(
        "payload_too_large",
        `The request body is larger than this operation's max-body (${maxBody} bytes)`,
      );
    }
    if (error instanceof BodyTimeout) {
      // Deno answers it with Connection: close, as it does any answer sent before the body ended.
      throw new HttpProblem(
        "request_timeout",
        `The request body was not complete within this operation's body-timeout ` +
          `(${error.timeoutMs} ms)`,
      );
    }
    if (error instanceof BodyOverBudget) {
      throw new HttpProblem(
        "overloaded",
        "Too many request bodies are being received (max-body-memory): try again shortly",
        { headers: { "retry-after": "1" } },
      );
    }
    // The client closed its connection mid-body: its request, not urocket, is broken.
    throw new HttpProblem("bad_request", "The request body ended before it was complete", {
      cause: error,
    });
  }
}
