/**
 * The Ajv keyword a `required` list becomes for properties marked
 * `readOnly` or `writeOnly`: a `readOnly` property is required in replies
 * only, a `writeOnly` one in requests only. One compiled validator serves
 * both directions — each component is compiled once, however many
 * operations use it and whichever way — and the direction of each check is
 * given as the validation context (Ajv's `passContext`).
 *
 * @module
 */

import type { ErrorObject, FuncKeywordDefinition } from "ajv";
import type { DataValidationCxt } from "ajv/dist/types/index.js";

/** Which side of the exchange a check validates. */
export type Direction = "request" | "response";

/** What every check passes as `this` to the validator (Ajv's `passContext`). */
export interface ValidationContext {
  direction: Direction;
}

/** The keyword `required` names of readOnly and writeOnly properties go to. */
export const DIRECTIONAL_REQUIRED = "x-urocket-required";

/** The value of {@link DIRECTIONAL_REQUIRED}: names required in one direction only. */
export interface DirectionalRequired {
  /** Required in requests (`writeOnly` properties). */
  request: string[];
  /** Required in replies (`readOnly` properties). */
  response: string[];
}

/** The definition of {@link DIRECTIONAL_REQUIRED}, for `ajv.addKeyword()`. */
export function directionalRequiredKeyword(): FuncKeywordDefinition {
  const validate = function (
    this: Partial<ValidationContext> | undefined,
    spec: DirectionalRequired,
    data: Record<string, unknown>,
    _parent?: unknown,
    cxt?: DataValidationCxt,
  ): boolean {
    validate.errors = undefined;
    const names = this?.direction === "response" ? spec.response : spec.request;
    const missing = names.filter((name) => data[name] === undefined);
    if (missing.length === 0) return true;
    validate.errors = missing.map((name): Partial<ErrorObject> => ({
      keyword: "required",
      instancePath: cxt?.instancePath ?? "",
      params: { missingProperty: name },
      message: `must have required property '${name}'`,
    }));
    return false;
  } as FuncKeywordDefinition["validate"] & { errors?: Partial<ErrorObject>[] };
  return {
    keyword: DIRECTIONAL_REQUIRED,
    type: "object",
    schemaType: "object",
    errors: true,
    validate,
  };
}
