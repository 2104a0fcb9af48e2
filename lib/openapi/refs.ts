/**
 * `$ref`s across the files of an OpenAPI document: the document itself and
 * the files next to it that its refs name (`./schemas/pet.yaml#/Pet`). A
 * place in them is a file URL plus a JSON pointer — the same absolute URI
 * Ajv resolves, so that what urocket checks at start is what Ajv finds later.
 *
 * @module
 */

import { escapePointer, isObject, type Json, type JsonObject, resolvePointer } from "./json.ts";

/** Every file of a document by file URL: the document's own and those its refs name. */
export type DocumentFiles = ReadonlyMap<string, Json>;

/** A place in one of a document's files. */
export interface Location {
  /** The file's URL, e.g. `file:///srv/api/openapi.yaml`. */
  url: string;
  /** A JSON pointer into the file, unescaped as in RFC 6901 (`/components/schemas/Pet`). */
  pointer: string;
}

/** A location and the value found there. */
export interface Resolved extends Location {
  value: Json;
}

/**
 * Keys whose members are named entries rather than keywords: a property may
 * be called `default` or `example`, and must still be walked.
 */
export const NAME_MAPS: ReadonlySet<string> = new Set([
  "properties",
  "patternProperties",
  "$defs",
  "definitions",
  "dependentSchemas",
  "schemas",
  "paths",
  "responses",
  "content",
  "headers",
  "parameters",
  "requestBodies",
  "callbacks",
  "links",
  "encoding",
  "webhooks",
  "pathItems",
]);
/** Keys whose values are data, where a `$ref` member is not a reference. */
export const DATA_KEYS: ReadonlySet<string> = new Set([
  "example",
  "examples",
  "default",
  "enum",
  "const",
]);

/** The file URL of an absolute path. */
export function fileUrl(path: string): string {
  const escaped = path.replaceAll("%", "%25").replaceAll("#", "%23").replaceAll("?", "%3F");
  return new URL(escaped, "file:///").href;
}

/** The path of a file URL. */
export function filePath(url: string): string {
  return url.startsWith("file:") ? decodeURIComponent(new URL(url).pathname) : url;
}

/**
 * The absolute URI of a location, as Ajv names it: the file URL and the
 * pointer as a fragment, each token percent-encoded (`{` and `}` of path
 * templates included).
 */
export function locationUri(location: Location): string {
  const fragment = location.pointer.split("/").map(encodeURIComponent).join("/");
  return `${location.url}#${fragment}`;
}

/** Appends a member name to a JSON pointer. */
export function childPointer(pointer: string, key: string | number): string {
  return `${pointer}/${escapePointer(String(key))}`;
}

/**
 * Where `ref`, written in the file at `base`, points; `undefined` when it is
 * not a usable URI reference.
 */
export function refTarget(base: string, ref: string): Location | undefined {
  const hash = ref.indexOf("#");
  const file = hash < 0 ? ref : ref.slice(0, hash);
  let url: string;
  let pointer: string;
  try {
    url = file === "" ? base : new URL(file, base).href;
    pointer = decodeURIComponent(hash < 0 ? "" : ref.slice(hash + 1));
  } catch {
    return undefined;
  }
  return { url, pointer };
}

/** Resolves `ref`, written in the file at `base`; `undefined` when it leads nowhere. */
export function resolveRef(files: DocumentFiles, base: string, ref: string): Resolved | undefined {
  const target = refTarget(base, ref);
  return target && resolveLocation(files, target);
}

/** The value at `location`; `undefined` when there is none. */
export function resolveLocation(files: DocumentFiles, location: Location): Resolved | undefined {
  const root = files.get(location.url);
  if (root === undefined) return undefined;
  const value = location.pointer === ""
    ? root
    : resolvePointer(root, location.pointer.replaceAll("%", "%25"));
  return value === undefined ? undefined : { ...location, value };
}

/** Most `$ref`s followed in a row before a chain counts as a loop. */
export const MAX_HOPS = 32;

/**
 * Follows a chain of `$ref`s from `start` to the first value that is not a
 * reference; `undefined` when a link is broken or the chain loops.
 */
export function follow(files: DocumentFiles, start: Resolved): Resolved | undefined {
  let current: Resolved | undefined = start;
  for (let hops = 0; hops < MAX_HOPS; hops++) {
    if (!current || !isObject(current.value) || typeof current.value.$ref !== "string") {
      return current;
    }
    current = resolveRef(files, current.url, current.value.$ref);
  }
  return undefined;
}

/**
 * The member `key` of a resolved object or array, with its `$ref`s followed
 * (relative to the file that holds each); `undefined` when there is none, a
 * link is broken or the chain loops.
 */
export function followMember(
  files: DocumentFiles,
  parent: Resolved,
  key: string | number,
): Resolved | undefined {
  if (!isObject(parent.value) && !Array.isArray(parent.value)) return undefined;
  // Own members only: a key such as "constructor" must not find Object's.
  if (!Object.hasOwn(parent.value, key)) return undefined;
  const value = (parent.value as Record<string, Json>)[key];
  return follow(files, { url: parent.url, pointer: childPointer(parent.pointer, key), value });
}

/**
 * The value at `location`, following every `$ref` met on the way: in a
 * document whose path item `/pets` is a `$ref` into `paths/pets.yaml`,
 * `/paths/~1pets/post` is the `post` of that file. `undefined` when the way
 * is broken.
 */
export function followPointer(files: DocumentFiles, location: Location): Resolved | undefined {
  let current = resolveLocation(files, { url: location.url, pointer: "" });
  if (location.pointer === "") return current && follow(files, current);
  for (const token of location.pointer.slice(1).split("/")) {
    if (!current) return undefined;
    current = followMember(files, current, token.replaceAll("~1", "/").replaceAll("~0", "~"));
  }
  return current;
}

/** Whether a reference points outside the local file system (never fetched). */
export function isRemote(url: string): boolean {
  return !url.startsWith("file:");
}

/**
 * Calls `visit` for every object in `node` that may be a schema (or another
 * OpenAPI object), with its JSON pointer — never for a map of names such as
 * `properties` itself. Data (`example`, `examples`, `default`, `enum`,
 * `const`) and extensions (`x-…`) are not walked, except as names of
 * properties. The walk of a schema's subschemas; the document's own objects
 * are walked by `walkStructure()` of structure.ts, which knows their kinds.
 */
export function walkObjects(
  node: Json | undefined,
  pointer: string,
  visit: (object: JsonObject, pointer: string) => void,
  named = false,
): void {
  if (Array.isArray(node)) {
    node.forEach((child, i) => walkObjects(child, childPointer(pointer, i), visit));
  } else if (isObject(node)) {
    if (!named) visit(node, pointer);
    for (const [key, child] of Object.entries(node)) {
      if (named || (!DATA_KEYS.has(key) && !key.startsWith("x-"))) {
        walkObjects(child, childPointer(pointer, key), visit, !named && NAME_MAPS.has(key));
      }
    }
  }
}
