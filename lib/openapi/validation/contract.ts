/**
 * What one operation promises, read from the document with its `$ref`s
 * followed across files: its parameters (with their serialisation), its
 * request body and its responses, each schema located by file URL and JSON
 * pointer.
 *
 * @module
 */

import { isObject, type JsonObject } from "../json.ts";
import {
  childPointer,
  type DocumentFiles,
  follow,
  followMember as member,
  followPointer,
  type Location,
  type Resolved,
  resolveLocation,
} from "../refs.ts";
import { mediaTypeOf } from "./media.ts";

/** Where a parameter is. */
export type ParameterIn = "path" | "query" | "header" | "cookie";

/** The rough shape of a value, which decides how a parameter string is split. */
export type Shape = "primitive" | "array" | "object";

/** One parameter and how it is serialised. */
export interface ParameterContract {
  name: string;
  in: ParameterIn;
  required: boolean;
  /** `simple`, `form`, `label`, `matrix`, `spaceDelimited`, `pipeDelimited` or `deepObject`. */
  style: string;
  explode: boolean;
  /** An empty value counts as absent. */
  allowEmptyValue: boolean;
  shape: Shape;
  /** Property names of an object parameter, when its schema lists them. */
  properties?: string[];
  /** The value is JSON (the parameter has `content: application/json` instead of `schema`). */
  json: boolean;
  /** Its schema, when it has one. */
  schema?: Location;
  /** The parameter object. */
  location: Location;
}

/** One declared media type of a body. */
export interface MediaContract {
  /** The media type, lower-cased, without parameters (`application/json`, `*\/*`). */
  mediaType: string;
  /** The key as written in `content`. */
  key: string;
  /** Its schema, when it has one. */
  schema?: Location;
  /** Its `schema` is `null`, which some generators write for "any": no schema, said at start. */
  nullSchema?: true;
}

/** The request body. */
export interface BodyContract {
  required: boolean;
  content: MediaContract[];
  location: Location;
}

/** One response. */
export interface ResponseContract {
  /** The key in `responses`: `200`, `2XX` or `default`. */
  key: string;
  /** The declared media types; `undefined` when the response declares no content. */
  content?: MediaContract[];
  location: Location;
}

/** What an operation promises. */
export interface OperationContract {
  location: Location;
  parameters: ParameterContract[];
  body?: BodyContract;
  responses: ResponseContract[];
}

/** Header parameters OpenAPI says to ignore: HTTP itself governs them. */
const IGNORED_HEADERS = new Set(["accept", "content-type", "authorization"]);

/**
 * Describes the operation at `pointer` (`/paths/~1pets/get`) of the document
 * at `url`, following `$ref`s on the way as the operations were listed (a
 * path item may be a `$ref` into another file). Its `location` is where the
 * operation object is found.
 */
export function describeOperation(
  files: DocumentFiles,
  url: string,
  pointer: string,
): OperationContract {
  const slash = pointer.lastIndexOf("/");
  const item = followPointer(files, { url, pointer: pointer.slice(0, slash) });
  const method = pointer.slice(slash + 1).replaceAll("~1", "/").replaceAll("~0", "~");
  const op = item && member(files, item, method);
  const shared = item ? parametersOf(files, item, "parameters") : [];
  const own = op ? parametersOf(files, op, "parameters") : [];
  const parameters = [
    ...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)),
    ...own,
  ].filter((p) => !(p.in === "header" && IGNORED_HEADERS.has(p.name.toLowerCase())));

  let body: BodyContract | undefined;
  const requestBody = op && member(files, op, "requestBody");
  if (requestBody && isObject(requestBody.value)) {
    body = {
      required: requestBody.value.required === true,
      content: contentOf(requestBody) ?? [],
      location: requestBody,
    };
  }

  const responses: ResponseContract[] = [];
  const declared = op && member(files, op, "responses");
  if (declared && isObject(declared.value)) {
    for (const key of Object.keys(declared.value)) {
      const response = member(files, declared, key);
      if (!response || !isObject(response.value)) continue;
      responses.push({ key, content: contentOf(response), location: response });
    }
  }
  const location = op ? { url: op.url, pointer: op.pointer } : { url, pointer };
  return { location, parameters, body, responses };
}

function parametersOf(files: DocumentFiles, owner: Resolved, key: string): ParameterContract[] {
  const list = member(files, owner, key);
  if (!list || !Array.isArray(list.value)) return [];
  const out: ParameterContract[] = [];
  list.value.forEach((_, i) => {
    const p = member(files, list, i);
    if (!p || !isObject(p.value)) return;
    const spec = p.value;
    if (typeof spec.name !== "string") return;
    if (spec.in !== "path" && spec.in !== "query" && spec.in !== "header" && spec.in !== "cookie") {
      return;
    }
    const style = typeof spec.style === "string" ? spec.style : defaultStyle(spec.in);
    let schema: Location | undefined;
    let json = false;
    if (spec.schema !== undefined) {
      schema = { url: p.url, pointer: childPointer(p.pointer, "schema") };
    } else if (isObject(spec.content)) {
      const [type] = Object.keys(spec.content);
      if (type !== undefined) {
        json = true;
        const media = spec.content[type];
        if (isObject(media) && media.schema !== undefined) {
          schema = {
            url: p.url,
            pointer: childPointer(childPointer(childPointer(p.pointer, "content"), type), "schema"),
          };
        }
      }
    }
    const { shape, properties } = schema ? shapeOf(files, schema) : { shape: "primitive" as const };
    out.push({
      name: spec.name,
      in: spec.in,
      required: spec.in === "path" || spec.required === true,
      style,
      explode: typeof spec.explode === "boolean" ? spec.explode : style === "form",
      allowEmptyValue: spec.allowEmptyValue === true,
      shape,
      ...(properties ? { properties } : {}),
      json,
      schema,
      location: p,
    });
  });
  return out;
}

function defaultStyle(location: ParameterIn): string {
  return location === "query" || location === "cookie" ? "form" : "simple";
}

function contentOf(owner: Resolved): MediaContract[] | undefined {
  if (!isObject(owner.value) || !isObject(owner.value.content)) return undefined;
  const content = owner.value.content;
  return Object.keys(content).map((key) => {
    const media = content[key];
    const hasSchema = isObject(media) && media.schema !== undefined && media.schema !== null;
    const pointer = childPointer(childPointer(owner.pointer, "content"), key);
    return {
      mediaType: mediaTypeOf(key),
      key,
      ...(hasSchema
        ? { schema: { url: owner.url, pointer: childPointer(pointer, "schema") } }
        : {}),
      ...(isObject(media) && media.schema === null ? { nullSchema: true as const } : {}),
    };
  });
}

/**
 * The shape of the schema at `location` (through `$ref`, `allOf`, `anyOf`,
 * `oneOf`), and its property names when it is an object that lists them.
 */
export function shapeOf(
  files: DocumentFiles,
  location: Location,
): { shape: Shape; properties?: string[] } {
  const start = resolveLocation(files, location);
  const found = start && shapeIn(files, start, 0);
  return found ?? { shape: "primitive" };
}

function shapeIn(
  files: DocumentFiles,
  start: Resolved,
  depth: number,
): { shape: Shape; properties?: string[] } | undefined {
  const resolved = follow(files, start);
  if (!resolved || !isObject(resolved.value) || depth > 8) return undefined;
  const schema: JsonObject = resolved.value;
  const types = typeof schema.type === "string"
    ? [schema.type]
    : Array.isArray(schema.type)
    ? schema.type.filter((t) => t !== "null")
    : [];
  const properties = isObject(schema.properties) ? Object.keys(schema.properties) : undefined;
  if (types[0] === "array") return { shape: "array" };
  if (types[0] === "object") return { shape: "object", properties };
  if (types.length > 0) return { shape: "primitive" };
  if (schema.items !== undefined) return { shape: "array" };
  if (properties || schema.additionalProperties !== undefined) {
    return { shape: "object", properties };
  }
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const list = schema[key];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      const found = shapeIn(files, {
        url: resolved.url,
        pointer: childPointer(childPointer(resolved.pointer, key), i),
        value: list[i],
      }, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
