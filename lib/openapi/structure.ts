/**
 * Which members of an OpenAPI document hold what, for the walk that finds
 * the `$ref`s urocket follows. Only the objects urocket reads are walked:
 * path items, operations, parameters, request bodies, responses, headers,
 * media types, encodings, callbacks and schemas (those of `components`
 * too). Examples, links, security schemes, tags, descriptions, `x-…`
 * extensions and any other data never are: a `$ref` in an `x-codeSamples`
 * list, an example's value or a tag's description is not a reference, and
 * a split document such as DigitalOcean's, which points its code samples
 * and descriptions at files of their own, loads without them.
 *
 * @module
 */

import { isObject, type Json, type JsonObject } from "./json.ts";
import { childPointer } from "./refs.ts";

/** What an object of an OpenAPI document is, as far as the walk cares. */
export type Kind =
  | "document"
  | "components"
  | "paths"
  | "pathItem"
  | "operation"
  | "parameter"
  | "header"
  | "requestBody"
  | "mediaType"
  | "encoding"
  | "responses"
  | "response"
  | "callback"
  | "schema";

/**
 * What a member holds: one object of a kind, a list of them, or a map of
 * names to them. A list or a map may itself be a `$ref` (DigitalOcean's
 * document writes `properties: { $ref: "…#/droplet_ids" }`), so a `$ref`
 * stands for a shape, not only for a kind.
 */
export type Shape = Kind | `list:${Kind}` | `map:${Kind}`;

/** The members of each kind of object that hold others; `*` stands for every member but `x-…`. */
const MEMBERS: Record<Exclude<Kind, "schema">, Record<string, Shape>> = {
  document: {
    paths: "paths",
    webhooks: "map:pathItem",
    components: "components",
  },
  components: {
    schemas: "map:schema",
    responses: "map:response",
    parameters: "map:parameter",
    requestBodies: "map:requestBody",
    headers: "map:header",
    callbacks: "map:callback",
    pathItems: "map:pathItem",
  },
  paths: { "*": "pathItem" },
  pathItem: {
    get: "operation",
    put: "operation",
    post: "operation",
    delete: "operation",
    options: "operation",
    head: "operation",
    patch: "operation",
    trace: "operation",
    parameters: "list:parameter",
  },
  operation: {
    parameters: "list:parameter",
    requestBody: "requestBody",
    responses: "responses",
    callbacks: "map:callback",
  },
  parameter: { schema: "schema", content: "map:mediaType" },
  header: { schema: "schema", content: "map:mediaType" },
  requestBody: { content: "map:mediaType" },
  mediaType: { schema: "schema", encoding: "map:encoding" },
  encoding: { headers: "map:header" },
  responses: { "*": "response" },
  response: { headers: "map:header", content: "map:mediaType" },
  callback: { "*": "pathItem" },
};

/**
 * The keywords of a schema (JSON Schema draft 4 to 2020-12, as OpenAPI 3.0
 * and 3.1 use them) whose values are schemas; any other keyword is data.
 */
const SCHEMA_ONE = new Set([
  "items",
  "additionalItems",
  "additionalProperties",
  "not",
  "if",
  "then",
  "else",
  "contains",
  "propertyNames",
  "unevaluatedItems",
  "unevaluatedProperties",
  "contentSchema",
]);
/** Keywords whose values are lists of schemas (`items` too, in its tuple form). */
const SCHEMA_LIST = new Set(["allOf", "anyOf", "oneOf", "prefixItems", "items"]);
/** Keywords whose values map names to schemas (`dependencies` also to lists of names). */
const SCHEMA_MAP = new Set([
  "properties",
  "patternProperties",
  "$defs",
  "definitions",
  "dependentSchemas",
  "dependencies",
]);

/** Called for each `$ref` found, with the JSON pointer of the `$ref` member and what it stands for. */
export type RefVisitor = (ref: string, pointer: string, shape: Shape) => void;

/**
 * Calls `visit` for every `$ref` of `node`, of `shape` at `pointer`, that
 * urocket follows. A `$ref` is not followed through: the caller resolves
 * it and walks its target as the shape it is given. Beside a `$ref`, a
 * schema's other keywords are walked too (they apply in 3.1, and Ajv
 * applies them in 3.0), another object's are not (a Reference Object
 * stands for its target).
 */
export function walkStructure(
  node: Json | undefined,
  shape: Shape,
  pointer: string,
  visit: RefVisitor,
): void {
  if (typeof node !== "object" || node === null) return;
  const colon = shape.indexOf(":");
  if (colon >= 0) return walkMany(node, shape, shape.slice(colon + 1) as Kind, pointer, visit);
  if (!isObject(node)) return;
  if (typeof node.$ref === "string") {
    visit(node.$ref, childPointer(pointer, "$ref"), shape);
    if (shape !== "schema") return;
  }
  if (shape === "schema") return walkSchema(node, pointer, visit);
  const members = MEMBERS[shape as Exclude<Kind, "schema">];
  for (const [key, child] of Object.entries(node)) {
    const member = Object.hasOwn(members, key)
      ? members[key]
      : key.startsWith("x-")
      ? undefined
      : members["*"];
    if (member) walkStructure(child, member, childPointer(pointer, key), visit);
  }
}

/** Walks a list or a map of objects of `kind`, or the `$ref` that stands for it. */
function walkMany(
  node: Json[] | { [key: string]: Json },
  shape: Shape,
  kind: Kind,
  pointer: string,
  visit: RefVisitor,
): void {
  const list = shape.startsWith("list:");
  if (Array.isArray(node)) {
    if (list) node.forEach((item, i) => walkStructure(item, kind, childPointer(pointer, i), visit));
    return;
  }
  // A property schema named "$ref" is an object; a $ref standing for the whole map is a string.
  if (typeof node.$ref === "string") return visit(node.$ref, childPointer(pointer, "$ref"), shape);
  if (list) return;
  // Every entry, `x-…` names too: a header or a property may be called `x-rate-limit`.
  for (const [name, item] of Object.entries(node)) {
    walkStructure(item, kind, childPointer(pointer, name), visit);
  }
}

/** Walks the keywords of a schema that hold schemas. */
function walkSchema(node: JsonObject, pointer: string, visit: RefVisitor): void {
  for (const [key, child] of Object.entries(node)) {
    const at = childPointer(pointer, key);
    if (Array.isArray(child)) {
      if (SCHEMA_LIST.has(key)) walkStructure(child, "list:schema", at, visit);
    } else if (SCHEMA_ONE.has(key)) {
      walkStructure(child, "schema", at, visit);
    } else if (SCHEMA_MAP.has(key)) {
      walkStructure(child, "map:schema", at, visit);
    }
  }
}
