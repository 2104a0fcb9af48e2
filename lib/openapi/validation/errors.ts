/**
 * What a client (or a replier) is told about a request (or reply) that
 * breaks the contract: a short list of `{ in, pointer, message }`, made from
 * Ajv's errors.
 *
 * @module
 */

import type { ErrorObject } from "ajv";
import { escapePointer } from "../json.ts";

/** Where in a request or reply an error is. */
export type ErrorLocation = "body" | "query" | "path" | "header" | "cookie" | "status";

/** One way a request or reply breaks the contract. */
export interface ValidationError {
  in: ErrorLocation;
  /** JSON pointer into the body, or `/<name>` of a parameter or header (then into its value). */
  pointer: string;
  message: string;
}

/** Most errors listed in an answer or a log line. */
export const MAX_ERRORS = 20;

/** Most allowed values quoted in an `enum` message. */
const MAX_ALLOWED_SHOWN = 10;

/** Summary keywords that only repeat what the errors of their branches say. */
const SUMMARIES = new Set(["anyOf", "oneOf", "if", "contains"]);

/**
 * Turns Ajv's errors into the list the client sees: each error points at the
 * member concerned (a missing property's own pointer, not its parent's),
 * summaries (`anyOf`, `oneOf`, …) and the `null` branch of `nullable` are
 * dropped when a more specific error explains them, a wrong type is said
 * once (not again as a failed format or bound), duplicates go.
 */
export function fromAjvErrors(
  errors: readonly ErrorObject[],
  location: ErrorLocation,
): ValidationError[] {
  const mapped = errors.map((error) => ({ error, pointer: pointerOf(error) }));
  const explained = (path: string, self: ErrorObject) =>
    errors.some((other) =>
      other !== self && !SUMMARIES.has(other.keyword) && !isNullBranch(other) &&
      (other.instancePath === path || other.instancePath.startsWith(path + "/"))
    );
  // A value of the wrong type fails its other keywords too (`1.5` is no `int64` either): say it once.
  const mistyped = new Set(
    errors.filter((e) => e.keyword === "type" && !isNullBranch(e)).map((e) => e.instancePath),
  );
  const seen = new Set<string>();
  const out: ValidationError[] = [];
  for (const { error, pointer } of mapped) {
    if (
      (SUMMARIES.has(error.keyword) || isNullBranch(error)) && explained(error.instancePath, error)
    ) {
      continue;
    }
    if (error.keyword !== "type" && pointer === error.instancePath && mistyped.has(pointer)) {
      continue;
    }
    const message = messageOf(error);
    const key = `${pointer}\n${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ in: location, pointer, message });
  }
  return out;
}

/**
 * Splits errors found on the parameter object `{ path, query, header,
 * cookie }` into errors located in each.
 */
export function locateParameterErrors(errors: readonly ValidationError[]): ValidationError[] {
  return errors.map((error) => {
    const match = /^\/(path|query|header|cookie)(\/.*)?$/.exec(error.pointer);
    if (!match) return error;
    return { in: match[1] as ErrorLocation, pointer: match[2] ?? "", message: error.message };
  });
}

/** The `detail` of a problem listing `total` errors, of which at most {@link MAX_ERRORS} are shown. */
export function errorsDetail(subject: string, total: number): string {
  const count = total === 1 ? "1 error" : `${total} errors`;
  return total > MAX_ERRORS
    ? `${subject} does not match the API contract: ${count}, the first ${MAX_ERRORS} listed`
    : `${subject} does not match the API contract: ${count}`;
}

function isNullBranch(error: ErrorObject): boolean {
  return error.keyword === "type" && error.params.type === "null";
}

function pointerOf(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  const member = error.keyword === "required"
    ? p.missingProperty
    : error.keyword === "additionalProperties"
    ? p.additionalProperty
    : error.keyword === "unevaluatedProperties"
    ? p.unevaluatedProperty
    : error.keyword === "dependencies" || error.keyword === "dependentRequired"
    ? p.missingProperty
    : undefined;
  return typeof member === "string"
    ? `${error.instancePath}/${escapePointer(member)}`
    : error.instancePath;
}

function messageOf(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return "is required";
    case "additionalProperties":
    case "unevaluatedProperties":
      return "is not an allowed property";
    case "false schema":
      return "is not allowed";
    case "type":
      return `must be ${String(p.type).split(",").join(" or ")}`;
    case "enum": {
      const allowed = (p.allowedValues as unknown[]) ?? [];
      const shown = allowed.slice(0, MAX_ALLOWED_SHOWN).map((v) => JSON.stringify(v)).join(", ");
      return `must be one of: ${shown}${allowed.length > MAX_ALLOWED_SHOWN ? ", …" : ""}`;
    }
    case "const":
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case "format":
      return `must be a valid ${String(p.format)}`;
    default:
      return error.message ?? `fails "${error.keyword}"`;
  }
}
