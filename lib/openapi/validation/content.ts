/**
 * Checking one body against the schema of its media type: JSON bodies are
 * parsed and validated as they are, form bodies are parsed into fields and
 * validated with their strings coerced; other types are not validated.
 *
 * @module
 */

import type { MediaContract } from "./contract.ts";
import { type ErrorLocation, fromAjvErrors, type ValidationError } from "./errors.ts";
import { isFormType, isJsonType } from "./media.ts";
import { locationUri } from "../refs.ts";
import type { SchemaSet } from "./schemas.ts";
import type { Direction } from "./directional.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks `body`, sent as `mediaType` and matched to the declared `media`.
 * Returns the errors, `[]` when it is valid or cannot be validated.
 */
export function checkContent(
  body: Uint8Array,
  mediaType: string,
  media: MediaContract,
  schemas: SchemaSet,
  view: Direction,
): ValidationError[] {
  const location: ErrorLocation = "body";
  let data: unknown;
  let coerce = false;
  if (isJsonType(mediaType)) {
    const parsed = parseJsonBody(body);
    if ("error" in parsed) return [{ in: location, pointer: "", message: parsed.error }];
    data = parsed.value;
  } else if (isFormType(mediaType)) {
    data = parseForm(body);
    coerce = true;
  } else {
    return [];
  }
  if (!media.schema) return [];
  const errors = schemas.check(locationUri(media.schema), data, {
    view,
    coerce,
    ...(view === "request" ? { size: body.length } : {}),
  });
  return errors ? fromAjvErrors(errors, location) : [];
}

/**
 * Parses a JSON body. The error names the position only: a body is never
 * quoted, neither to the client nor in the log.
 */
export function parseJsonBody(body: Uint8Array): { value: unknown } | { error: string } {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return { error: "is not valid UTF-8" };
  }
  if (text.trim() === "") return { error: "is empty: a JSON value is expected" };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message);
    return { error: `is not valid JSON${position ? ` (at position ${position[1]})` : ""}` };
  }
}

/** Parses `application/x-www-form-urlencoded` fields; a repeated field becomes a list. */
export function parseForm(body: Uint8Array): Record<string, string | string[]> {
  // A Map, not an object: on a plain object a field named `constructor` or `toString` would find
  // Object.prototype's member and count as seen before.
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(new TextDecoder().decode(body))) {
    const seen = fields.get(name);
    if (seen === undefined) fields.set(name, value);
    else if (Array.isArray(seen)) seen.push(value);
    else fields.set(name, [seen, value]);
  }
  return Object.fromEntries(fields);
}
