/**
 * The request body turned into the payload the process receives: on its
 * stdin, or as its last argument.
 *
 * @module
 */

import { HttpProblem } from "../http/mod.ts";
import { parseForm } from "../openapi/mod.ts";
import { MAX_ARG_BYTES } from "../process/mod.ts";

/** The payload as the process receives it. */
export interface Payload {
  bytes: Uint8Array<ArrayBuffer>;
  /** Its content type, or `""` when the client sent none. */
  contentType: string;
}

const JSON_TYPE = "application/json";

/**
 * Turns the body into the payload. With `json`, a form body
 * (`application/x-www-form-urlencoded`) becomes a JSON object — a repeated
 * field becomes an array — and an empty body becomes `{}`; any other body
 * passes unchanged. With `raw`, the bytes pass unchanged.
 *
 * @example
 * ```ts
 * encodePayload(new TextEncoder().encode("a=1&a=2&b=x"), "application/x-www-form-urlencoded", "json");
 * // bytes of {"a":["1","2"],"b":"x"}, contentType "application/json"
 * ```
 */
export function encodePayload(
  body: Uint8Array<ArrayBuffer>,
  contentType: string | null,
  encoding: "json" | "raw",
): Payload {
  const type = contentType ?? "";
  if (encoding === "raw") return { bytes: body, contentType: type };
  if (body.length === 0) return { bytes: new TextEncoder().encode("{}"), contentType: JSON_TYPE };
  if (mediaType(type) === "application/x-www-form-urlencoded") {
    const fields = parseForm(body);
    return { bytes: new TextEncoder().encode(JSON.stringify(fields)), contentType: JSON_TYPE };
  }
  return { bytes: body, contentType: type };
}

/**
 * Checks that a payload can travel as one command-line argument and returns
 * it as a string: valid UTF-8, no NUL, under the kernel's per-argument limit.
 */
export function payloadArgument(payload: Uint8Array): string {
  if (payload.length >= MAX_ARG_BYTES) {
    throw new HttpProblem(
      "payload_too_large",
      `The payload is ${payload.length} bytes; a command-line argument must stay under ` +
        `${MAX_ARG_BYTES} bytes: configure "channel: stdin" for large payloads`,
    );
  }
  let text: string;
  try {
    // ignoreBOM: a leading byte order mark is part of the payload, not to be dropped from it.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(payload);
  } catch {
    throw new HttpProblem(
      "bad_request",
      "The payload is not valid UTF-8 and cannot be a command-line argument: configure " +
        '"channel: stdin" for binary payloads',
    );
  }
  if (text.includes("\0")) {
    throw new HttpProblem(
      "bad_request",
      "The payload contains a NUL byte, which a command-line argument cannot carry: configure " +
        '"channel: stdin"',
    );
  }
  return text;
}

/** The media type of a `Content-Type` value, lower-cased and without parameters. */
export function mediaType(contentType: string): string {
  return contentType.split(";", 1)[0].trim().toLowerCase();
}
