/**
 * `oneOf` and `anyOf` as Ajv compiles them, with errors a person can act
 * on: when no alternative matches, only the closest one's errors are kept
 * (not every alternative's), after one line saying how many there were; an
 * alternative the value does not even have the type of is never the
 * closest, and when every alternative fails on type the one line says which
 * types would do. The generated code is Ajv's own (same evaluation, same
 * `unevaluated*` bookkeeping); it only notes where each alternative's
 * errors start and, on failure, keeps the closest ones.
 *
 * @module
 */

import {
  _,
  type CodeKeywordDefinition,
  type ErrorObject,
  type KeywordCxt,
  Name,
  type SchemaCxt,
} from "ajv";
import { strConcat } from "ajv/dist/compile/codegen/index.js";
import names from "ajv/dist/compile/names.js";
import { alwaysValidSchema } from "ajv/dist/compile/util.js";

/** The `params` of a failed `oneOf`/`anyOf`, read by errors.ts. */
export interface AlternativesParams {
  /** How many alternatives there are. */
  count: number;
  /** Index of the closest alternative, whose errors follow; -1 when each failed on type. */
  closest: number;
  /** Whether every other alternative failed on type: the closest one's errors say it all. */
  alone: boolean;
  /** When each failed on type: the types that would do. */
  types: string[];
  /** For `oneOf`: the alternatives that matched when more than one did. */
  passingSchemas: number[] | null;
  /** How many errors of the closest alternative were kept, just before this one. */
  kept: number;
}

/**
 * Keeps, of the errors of alternatives starting at `starts[i]` and ending
 * at `end`, the closest alternative's; returns where the errors now end and
 * what {@link AlternativesParams} needs. `passing` is `oneOf`'s list of the
 * alternatives that matched, when more than one did.
 */
export function keepClosest(
  errors: ErrorObject[] | null,
  starts: number[],
  end: number,
  instancePath: string,
  passing: number | number[] | null = null,
): Pick<AlternativesParams, "closest" | "alone" | "types" | "kept"> & { end: number } {
  const none = { closest: -1, alone: false, types: [], kept: 0 };
  if (!errors || starts.length === 0) return { end, ...none };
  if (Array.isArray(passing)) {
    // More than one matched (oneOf): what the others lacked is beside the point.
    errors.splice(starts[0], end - starts[0]);
    return { end: starts[0], ...none };
  }
  const branches = starts.map((start, i) => errors.slice(start, starts[i + 1] ?? end));
  const mistyped = (branch: ErrorObject[]) =>
    branch.some((e) => e.keyword === "type" && e.instancePath === instancePath);
  const candidates = branches.map((branch, index) => ({ branch, index }))
    .filter(({ branch }) => !mistyped(branch));
  if (candidates.length === 0) {
    const types = [
      ...new Set(
        branches.flatMap((branch) =>
          branch.filter((e) => e.keyword === "type" && e.instancePath === instancePath)
            .flatMap((e) => String(e.params.type).split(","))
        ),
      ),
    ];
    errors.splice(starts[0], end - starts[0]);
    return { end: starts[0], ...none, types };
  }
  // A property that must be a constant (a kind, a type tag) set otherwise names another case.
  const mismatched = (branch: ErrorObject[]) =>
    branch.filter((e) =>
      (e.keyword === "const" || e.keyword === "enum") &&
      e.instancePath.startsWith(instancePath + "/") &&
      !e.instancePath.slice(instancePath.length + 1).includes("/")
    ).length;
  const best = candidates.reduce((a, b) => {
    const byTag = mismatched(a.branch) - mismatched(b.branch);
    if (byTag !== 0) return byTag < 0 ? a : b;
    return b.branch.length < a.branch.length ? b : a;
  });
  errors.splice(starts[0], end - starts[0], ...best.branch);
  return {
    end: starts[0] + best.branch.length,
    closest: best.index,
    alone: candidates.length === 1,
    types: [],
    kept: best.branch.length,
  };
}

const keepClosestFunc = Object.assign(keepClosest, { code: "keepClosest" });

/** Definitions replacing Ajv's `oneOf` and `anyOf`, for `ajv.removeKeyword()` then `addKeyword()`. */
export function alternativesKeywords(): CodeKeywordDefinition[] {
  return (["oneOf", "anyOf"] as const).map((keyword) => ({
    keyword,
    schemaType: "array",
    trackErrors: true,
    error: {
      message: keyword === "oneOf"
        ? "must match exactly one schema in oneOf"
        : "must match a schema in anyOf",
      params: ({ params }) =>
        _`{count: ${params.count}, closest: ${params.pick}.closest, alone: ${params.pick}.alone, types: ${params.pick}.types, kept: ${params.pick}.kept, passingSchemas: ${params.passing}}`,
    },
    code: (cxt: KeywordCxt) => alternativesCode(cxt, keyword),
  }));
}

/** Ajv's code for `oneOf` / `anyOf` (vocabularies/applicator), with the errors noted per alternative. */
function alternativesCode(cxt: KeywordCxt, keyword: "oneOf" | "anyOf"): void {
  const { gen, schema, it } = cxt;
  if (!Array.isArray(schema)) throw new Error(`${keyword} must be an array`);
  if (keyword === "anyOf" && schema.some((s) => alwaysValidSchema(it, s)) && !it.opts.unevaluated) {
    return;
  }
  const N = names.default;
  const valid = gen.let("valid", false);
  const passing = gen.let("passing", null);
  const starts = gen.const("starts", _`[]`);
  const pick = gen.let("pick", null);
  const schValid = gen.name("_valid");
  cxt.setParams({ passing, pick, count: schema.length });
  gen.block(() =>
    schema.forEach((sch: unknown, i: number) => {
      gen.code(_`${starts}.push(${N.errors})`);
      if (keyword === "anyOf") {
        const schCxt = cxt.subschema({ keyword, schemaProp: i, compositeRule: true }, schValid);
        gen.assign(valid, _`${valid} || ${schValid}`);
        if (!cxt.mergeValidEvaluated(schCxt, schValid)) gen.if(_`!${valid}`);
        return;
      }
      let schCxt: SchemaCxt | undefined;
      if (alwaysValidSchema(it, sch as boolean)) gen.var(schValid, true);
      else schCxt = cxt.subschema({ keyword, schemaProp: i, compositeRule: true }, schValid);
      if (i > 0) {
        gen.if(_`${schValid} && ${valid}`).assign(valid, false)
          .assign(passing, _`[${passing}, ${i}]`).else();
      }
      gen.if(schValid, () => {
        gen.assign(valid, true);
        gen.assign(passing, i);
        if (schCxt) cxt.mergeEvaluated(schCxt, Name);
      });
    })
  );
  const helper = gen.scopeValue("func", { ref: keepClosestFunc, code: _`keepClosest` });
  const path = strConcat(N.instancePath, it.errorPath);
  cxt.result(valid, () => cxt.reset(), () => {
    gen.assign(pick, _`${helper}(${N.vErrors}, ${starts}, ${N.errors}, ${path}, ${passing})`);
    gen.assign(N.errors, _`${pick}.end`);
    cxt.error(true);
  });
}
