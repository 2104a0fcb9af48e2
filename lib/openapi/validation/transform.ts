/**
 * The copy of a document's files that Ajv validates with. OpenAPI adds
 * keywords to JSON Schema that Ajv refuses or reads differently, so a copy
 * is rewritten — the user's files are never changed:
 *
 * - `nullable: true` (3.0) becomes `type: [T, "null"]`, or `anyOf: [S, {type: null}]`
 *   beside `$ref`/`allOf`/… where there is no `type` to extend; in 3.1 it
 *   means nothing and is dropped.
 * - `discriminator` becomes {@link DISCRIMINATOR}, a keyword that picks the
 *   one schema the property names (mapping, implicit names, or the schemas
 *   that extend a base with `allOf`) and validates against it alone; a value
 *   that names no schema is an error. A `mapping` naming a schema that is
 *   not there sets the discriminator aside (it is a hint many engines ignore).
 * - `readOnly` properties are required in replies only, `writeOnly`
 *   properties in requests only: their names move from `required` to
 *   {@link DIRECTIONAL_REQUIRED}, which reads the direction of each check,
 *   so that one copy (and one compiled validator) serves both.
 * - Only schemas are schemas: `example`, `examples`, `description`,
 *   `summary` and `x-` extensions are left out of the copy, so that Ajv,
 *   which reads every object it is given for ids, never takes an `id` inside
 *   an example for a schema's; in a 3.0 document `id` is not a keyword at
 *   all (OpenAPI 3.0's Schema Object has none) and is left out everywhere.
 * - What other engines accept, Ajv is given in a form it accepts: an `enum`
 *   listing a value twice lists it once, an empty `enum` (which matches
 *   nothing) becomes `allOf: [false]`.
 * - The `$ref`s of the files beside the document become absolute
 *   (`file:///…/shared/meta.yml#`): Ajv resolves the `$ref`s of a file that
 *   a `$ref` names whole (`models/pet.yml`, as split documents write them)
 *   against the file that names it, so that `../shared/meta.yml` or
 *   `#/definitions/Tag` in it would be looked for in the wrong file. The
 *   document's own local `$ref`s stay as written: nothing names it whole.
 *
 * @module
 */

import { escapePointer, isObject, type Json, type JsonObject } from "../json.ts";
import {
  childPointer,
  DATA_KEYS,
  type DocumentFiles,
  follow,
  isRemote,
  type Location,
  locationUri,
  NAME_MAPS,
  refTarget,
  resolveLocation,
} from "../refs.ts";
import { DIRECTIONAL_REQUIRED, type DirectionalRequired } from "./directional.ts";

/**
 * Members that are never a schema nor hold one, wherever they are (a
 * property of that name, inside `properties`, is kept): documentation and
 * examples.
 */
const ANNOTATIONS: ReadonlySet<string> = new Set(["example", "examples", "description", "summary"]);

/** Whether member `key` of an object that is not a map of names is left out of what Ajv sees. */
export function isAnnotation(key: string, version: "3.0" | "3.1"): boolean {
  return ANNOTATIONS.has(key) || key.startsWith("x-") || (key === "id" && version === "3.0");
}

/** The keyword a `discriminator` becomes. */
export const DISCRIMINATOR = "x-urocket-discriminator";

/** The value of {@link DISCRIMINATOR}. */
export interface DiscriminatorSpec {
  /** The property whose value names the schema. */
  propertyName: string;
  /** Property value → absolute URI of the schema it selects. */
  mapping: Record<string, string>;
  /**
   * On a base schema that the mapped schemas extend with `allOf`: its own
   * URI. A value naming it (its schema name) validates against the base
   * alone.
   */
  self?: string;
}

/** Options of {@link transformFiles}. */
export interface TransformOptions {
  version: "3.0" | "3.1";
}

/** Returns the rewritten copy of every file, by URL. */
export function transformFiles(files: DocumentFiles, options: TransformOptions): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const [url, root] of files) {
    const isDocument = isObject(root) && typeof root.openapi === "string";
    out.set(url, visit(root, "", false, { ...options, files, url, root, isDocument }));
  }
  return out;
}

interface Context extends TransformOptions {
  files: DocumentFiles;
  /** The file being rewritten. */
  url: string;
  root: Json;
  /** Whether the file is the document itself, not a file its `$ref`s name. */
  isDocument: boolean;
}

function visit(node: Json, pointer: string, named: boolean, ctx: Context): Json {
  if (Array.isArray(node)) {
    return node.map((child, i) => visit(child, `${pointer}/${i}`, false, ctx));
  }
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(node)) {
    const at = childPointer(pointer, key);
    if (named) out[key] = visit(child, at, false, ctx);
    else if (isAnnotation(key, ctx.version)) continue;
    else if (DATA_KEYS.has(key)) out[key] = child;
    else out[key] = visit(child, at, NAME_MAPS.has(key), ctx);
  }
  return named ? out : rewrite(node, out, pointer, ctx);
}

/** Rewrites one object that may be a schema; `original` is the user's, `out` the copy so far. */
function rewrite(original: JsonObject, out: JsonObject, pointer: string, ctx: Context): Json {
  if (typeof out.$ref === "string" && !(ctx.isDocument && out.$ref.startsWith("#"))) {
    const target = refTarget(ctx.url, out.$ref);
    if (target && !isRemote(target.url)) out.$ref = locationUri(target);
  }
  if (Array.isArray(out.required) && isObject(original.properties)) {
    splitRequired(out, original.properties, ctx);
  }
  if (isObject(out.discriminator) && typeof out.discriminator.propertyName === "string") {
    rewriteDiscriminator(out, pointer, ctx);
  }
  if (Array.isArray(out.enum)) {
    const values = distinct(out.enum);
    if (values.length === 0) {
      delete out.enum;
      out.allOf = [...(Array.isArray(out.allOf) ? out.allOf : []), false];
    } else if (values.length < out.enum.length) out.enum = values;
  }
  if (typeof out.nullable === "boolean") {
    const nullable = out.nullable;
    delete out.nullable;
    if (nullable && ctx.version === "3.0") return allowNull(out);
  }
  return out;
}

/** The values of `list` without repeats, equal JSON counting as the same (key order aside). */
function distinct(list: Json[]): Json[] {
  const seen = new Set<string>();
  return list.filter((value) => {
    const key = canonical(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (!isObject(value)) return JSON.stringify(value);
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
}

/** Keywords beside which `type` cannot simply gain `"null"`. */
const COMPOSED = ["$ref", "allOf", "anyOf", "oneOf", "not", DISCRIMINATOR];

function allowNull(schema: JsonObject): Json {
  if (typeof schema.type === "string" && !COMPOSED.some((k) => k in schema)) {
    schema.type = [schema.type, "null"];
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) {
      schema.enum = [...schema.enum, null];
    }
    return schema;
  }
  return { anyOf: [schema, { type: "null" }] };
}

/** Moves the names of readOnly and writeOnly properties from `required` to {@link DIRECTIONAL_REQUIRED}. */
function splitRequired(out: JsonObject, properties: JsonObject, ctx: Context): void {
  const required = out.required as Json[];
  const always: Json[] = [];
  const spec: DirectionalRequired = { request: [], response: [] };
  for (const name of required) {
    const readOnly = typeof name === "string" && hasFlag(properties[name], "readOnly", ctx, 0);
    const writeOnly = typeof name === "string" && hasFlag(properties[name], "writeOnly", ctx, 0);
    if (!readOnly && !writeOnly) always.push(name);
    else if (!readOnly) spec.request.push(name as string);
    else if (!writeOnly) spec.response.push(name as string);
  }
  if (always.length === required.length) return;
  if (always.length === 0) delete out.required;
  else out.required = always;
  if (spec.request.length > 0 || spec.response.length > 0) {
    out[DIRECTIONAL_REQUIRED] = spec as unknown as JsonObject;
  }
}

/** Whether a property schema is marked `flag` (readOnly/writeOnly), through `$ref` and `allOf`. */
function hasFlag(schema: Json | undefined, flag: string, ctx: Context, depth: number): boolean {
  if (!isObject(schema) || depth > 8) return false;
  if (schema[flag] === true) return true;
  if (typeof schema.$ref === "string") {
    const target = follow(ctx.files, { url: ctx.url, pointer: "", value: schema });
    if (target && hasFlag(target.value, flag, { ...ctx, url: target.url }, depth + 1)) return true;
  }
  return Array.isArray(schema.allOf) &&
    schema.allOf.some((member) => hasFlag(member, flag, ctx, depth + 1));
}

function rewriteDiscriminator(out: JsonObject, pointer: string, ctx: Context): void {
  const discriminator = out.discriminator as JsonObject;
  delete out.discriminator;
  const key = Array.isArray(out.oneOf) ? "oneOf" : Array.isArray(out.anyOf) ? "anyOf" : undefined;
  const branches = key ? out[key] as Json[] : undefined;
  const mapping: Record<string, string> = {};
  if (branches) {
    // Inline branches have no name to select them by: leave oneOf/anyOf to do the work.
    if (!branches.every((b) => isObject(b) && typeof b.$ref === "string")) return;
    for (const branch of branches as JsonObject[]) {
      const target = refTarget(ctx.url, branch.$ref as string);
      if (target) mapping[implicitName(target)] = locationUri(target);
    }
  } else {
    // A base schema: the schemas of this file that extend it with allOf are its cases.
    const schemas = isObject(ctx.root) && isObject(ctx.root.components)
      ? ctx.root.components.schemas
      : undefined;
    for (const [name, schema] of Object.entries(isObject(schemas) ? schemas : {})) {
      const extendsThis = isObject(schema) && Array.isArray(schema.allOf) &&
        schema.allOf.some((member) => {
          if (!isObject(member) || typeof member.$ref !== "string") return false;
          const target = refTarget(ctx.url, member.$ref);
          return target?.url === ctx.url && target.pointer === pointer;
        });
      if (extendsThis) {
        mapping[name] = locationUri({
          url: ctx.url,
          pointer: `/components/schemas/${escapePointer(name)}`,
        });
      }
    }
  }
  if (isObject(discriminator.mapping)) {
    for (const [value, named] of Object.entries(discriminator.mapping)) {
      if (typeof named !== "string") continue;
      const target = refTarget(ctx.url, mappingRef(named));
      // A mapping that names nothing (start-up warned): the discriminator is set aside.
      if (!target || !resolveLocation(ctx.files, target)) return;
      mapping[value] = locationUri(target);
    }
  }
  if (Object.keys(mapping).length === 0) return;
  const self = key ? undefined : locationUri({ url: ctx.url, pointer });
  if (self) mapping[implicitName({ url: ctx.url, pointer })] ??= self;
  if (key) delete out[key];
  const spec: DiscriminatorSpec = {
    propertyName: discriminator.propertyName as string,
    mapping,
    ...(self ? { self } : {}),
  };
  out[DISCRIMINATOR] = spec as unknown as JsonObject;
}

/**
 * A `mapping` value is a schema name (`Dog`) or a reference
 * (`#/components/schemas/Dog`, `dog.yaml`).
 */
export function mappingRef(value: string): string {
  return /[/#.]/.test(value) ? value : `#/components/schemas/${escapePointer(value)}`;
}

/** The name a `$ref` branch is selected by: the schema's name, or the file's. */
function implicitName(target: Location): string {
  const tokens = target.pointer.split("/");
  const last = tokens[tokens.length - 1];
  if (last) return last.replaceAll("~1", "/").replaceAll("~0", "~");
  const file = decodeURIComponent(target.url.slice(target.url.lastIndexOf("/") + 1));
  return file.replace(/\.(ya?ml|json)$/i, "");
}
