/**
 * What a client (or a replier) is told about a request (or reply) that
 * breaks the contract: a short list of `{ in, pointer, message }`, made from
 * Ajv's errors.
 *
 * @module
 */

import type { ErrorObject } from "ajv";
import { escapePointer } from "../json.ts";
import type { AlternativesParams } from "./alternatives.ts";

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
 * member concerned (a missing property's own pointer, not its parent's); a
 * `oneOf`/`anyOf` that nothing matched is one line before its closest
 * alternative's errors (see alternatives.ts), or no line when the closest
 * alternative was the only one of the right type; other summaries and the
 * `null` branch of `nullable` are dropped when a more specific error
 * explains them; a wrong type is said once (not again as a failed format or
 * bound); duplicates go.
 */
export function fromAjvErrors(
  errors: readonly ErrorObject[],
  location: ErrorLocation,
): ValidationError[] {
  const ordered = summariesFirst(errors);
  // Every path at or above a specific error: a summary there is explained by it.
  const explainedPaths = new Set<string>();
  for (const e of ordered) {
    if (SUMMARIES.has(e.keyword) || isNullBranch(e)) continue;
    for (let path = e.instancePath;; path = path.slice(0, path.lastIndexOf("/"))) {
      if (explainedPaths.has(path)) break;
      explainedPaths.add(path);
      if (path === "") break;
    }
  }
  // A value of the wrong type fails its other keywords too (`1.5` is no `int64` either): say it once.
  const mistyped = new Set(
    ordered.filter((e) => e.keyword === "type" && !isNullBranch(e)).map((e) => e.instancePath),
  );
  const seen = new Set<string>();
  const out: ValidationError[] = [];
  for (const error of ordered) {
    const pointer = pointerOf(error);
    const alternatives = alternativesOf(error);
    if (
      alternatives ? alternatives.alone : (
        (SUMMARIES.has(error.keyword) || isNullBranch(error)) &&
        explainedPaths.has(error.instancePath)
      )
    ) {
      continue;
    }
    if (error.keyword !== "type" && pointer === error.instancePath && mistyped.has(pointer)) {
      continue;
    }
    const message = alternatives
      ? alternativesMessage(error.keyword, alternatives)
      : messageOf(error);
    const key = `${pointer}\n${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ in: location, pointer, message });
  }
  return out;
}

/** The params of a `oneOf`/`anyOf` error made by alternatives.ts, or `undefined` for any other. */
function alternativesOf(error: ErrorObject): AlternativesParams | undefined {
  return (error.keyword === "oneOf" || error.keyword === "anyOf") &&
      typeof error.params.count === "number"
    ? error.params as AlternativesParams
    : undefined;
}

/**
 * Ajv reports a failed `oneOf`/`anyOf` after the errors of its
 * alternatives; a person reads the summary first.
 */
function summariesFirst(errors: readonly ErrorObject[]): ErrorObject[] {
  const out = [...errors];
  for (let i = 0; i < out.length; i++) {
    const kept = alternativesOf(out[i])?.kept ?? 0;
    if (kept > 0 && kept <= i) out.splice(i - kept, 0, ...out.splice(i, 1));
  }
  return out;
}

function alternativesMessage(keyword: string, params: AlternativesParams): string {
  if (params.passingSchemas) {
    return `must match exactly one of the ${params.count} schemas of oneOf, but matches schemas ${
      params.passingSchemas.map((i) => i + 1).join(" and ")
    }`;
  }
  if (params.closest < 0) return `must be ${[...new Set(params.types)].join(" or ")}`;
  return `matches none of the ${params.count} schemas of ${keyword}: the errors that follow ` +
    `are those of the closest, schema ${params.closest + 1}`;
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
