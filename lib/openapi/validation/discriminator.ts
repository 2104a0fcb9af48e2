/**
 * The Ajv keyword that an OpenAPI `discriminator` becomes: it reads the
 * property, picks the schema the value names and validates the object
 * against that schema alone — so a `Dog` sent as a `Cat` is told what a cat
 * lacks, instead of every branch's errors at once.
 *
 * @module
 */

import type { ErrorObject, FuncKeywordDefinition, ValidateFunction } from "ajv";
import type { DataValidateFunction, DataValidationCxt } from "ajv/dist/types/index.js";
import { escapePointer } from "../json.ts";
import { DISCRIMINATOR, type DiscriminatorSpec } from "./transform.ts";

/**
 * The specs being dispatched on each object right now. A base schema whose
 * cases extend it with `allOf` meets its own discriminator again inside the
 * case it picked; there it has already done its job.
 */
const dispatching = new WeakMap<object, Set<DiscriminatorSpec>>();

/**
 * Where the keyword gets the validators of its cases: the cases usually
 * refer back to the schema being compiled, so they are asked for while it
 * compiles (`want`) and compiled once it is, then looked up (`get`).
 */
export interface CaseResolver {
  want(uri: string): void;
  get(uri: string): ValidateFunction;
}

/**
 * The definition of {@link DISCRIMINATOR}, for `ajv.addKeyword()`. Without
 * a `resolver`, each case is compiled on its first use.
 */
export function discriminatorKeyword(resolver?: CaseResolver): FuncKeywordDefinition {
  return {
    keyword: DISCRIMINATOR,
    schemaType: "object",
    errors: true,
    compile(spec: DiscriminatorSpec, _parent, it) {
      const ajv = it.self;
      for (const uri of Object.values(spec.mapping)) if (uri !== spec.self) resolver?.want(uri);
      const cases = new Map<string, ValidateFunction>();
      const allowed = Object.keys(spec.mapping).map((v) => JSON.stringify(v)).join(", ");
      // A function, not an arrow: the validation context (`this`) goes on to the case.
      const validate: DataValidateFunction = function (
        this: unknown,
        data: unknown,
        cxt?: DataValidationCxt,
      ) {
        validate.errors = undefined;
        if (typeof data !== "object" || data === null || Array.isArray(data)) return true;
        const active = dispatching.get(data);
        if (active?.has(spec)) return true;
        const instancePath = cxt?.instancePath ?? "";
        const value = (data as Record<string, unknown>)[spec.propertyName];
        const uri = typeof value === "string" && Object.hasOwn(spec.mapping, value)
          ? spec.mapping[value]
          : undefined;
        if (uri !== undefined && uri === spec.self) return true;
        if (uri === undefined) {
          validate.errors = [fail(
            `${instancePath}/${escapePointer(spec.propertyName)}`,
            value === undefined ? "is required" : `must be one of: ${allowed}`,
          )];
          return false;
        }
        let target = cases.get(uri);
        if (!target) {
          target = resolver ? resolver.get(uri) : ajv.getSchema(uri);
          if (!target) throw new Error(`Cannot resolve discriminator mapping ${uri}`);
          cases.set(uri, target);
        }
        const set = active ?? new Set();
        set.add(spec);
        dispatching.set(data, set);
        try {
          if (target.call(this, data, cxt)) return true;
          validate.errors = target.errors ?? [];
          return false;
        } finally {
          set.delete(spec);
          if (set.size === 0) dispatching.delete(data);
        }
      };
      return validate;
    },
  };
}

function fail(instancePath: string, message: string): Partial<ErrorObject> {
  return { instancePath, keyword: "discriminator", params: {}, message };
}
