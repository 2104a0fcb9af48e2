/**
 * `$ref`s across the files of an OpenAPI document: the document itself and
 * the files next to it that its refs name (`./schemas/pet.yaml#/Pet`). A
 * place in them is a file URL plus a JSON pointer — the same absolute URI
 * Ajv resolves, so that what urocket checks at start is what Ajv finds later.
 *
 * @module
 */

import {
  escapePointer,
  isObject,
  type Json,
  type JsonObject,
  parseJsonOrYaml,
  resolvePointer,
} from "./json.ts";

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

/** One broken `$ref`, found while loading the files. */
export interface RefProblem {
  /** Path of the file holding the `$ref`. */
  file: string;
  /** JSON pointer of the `$ref` member in that file. */
  pointer: string;
  message: string;
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
const MAX_HOPS = 32;

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
 * properties. The one walk of the document, its files and its schemas, so
 * that what is checked at start is what is followed later.
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

/** Calls `visit` for every `$ref` in `node`, with the JSON pointer of the `$ref` member. */
export function walkRefs(
  node: Json | undefined,
  pointer: string,
  visit: (ref: string, pointer: string) => void,
): void {
  walkObjects(node, pointer, (object, at) => {
    if (typeof object.$ref === "string") visit(object.$ref, childPointer(at, "$ref"));
  });
}

/**
 * Whether the chain of `$ref`s that starts with `ref` (in the file at
 * `base`) comes back to a place it passed, or is too long for
 * {@link follow}. A chain that ends (at a value, a broken link or another host) does
 * not loop: the broken link is reported where it is, a remote one is left
 * to the validation that needs it.
 */
function chainLoops(files: DocumentFiles, base: string, ref: string): boolean {
  const seen = new Set<string>();
  let current = resolveRef(files, base, ref);
  for (let hops = 1; current; hops++) {
    if (!isObject(current.value) || typeof current.value.$ref !== "string") return false;
    const at = locationUri(current);
    // follow() resolves at most MAX_HOPS refs, the last of which must lead to a value.
    if (seen.has(at) || hops + 1 >= MAX_HOPS) return true;
    seen.add(at);
    current = resolveRef(files, current.url, current.value.$ref);
  }
  return false;
}

/** Options of {@link loadRefFiles}. */
export interface LoadRefFilesOptions {
  /** Reads a file's text; injected so that tests need no disk. */
  read: (path: string) => Promise<string>;
  /** Most files loaded, against a runaway chain of generated files. Default 1,000. */
  maxFiles?: number;
}

/**
 * Loads every file the document at `url` names in a `$ref`, transitively,
 * and checks that each such ref resolves. Refs to other hosts (`https:`)
 * are left alone: urocket never fetches at start or at run time.
 */
export async function loadRefFiles(
  url: string,
  document: Json,
  options: LoadRefFilesOptions,
): Promise<{ files: Map<string, Json>; problems: RefProblem[] }> {
  const files = new Map<string, Json>([[url, document]]);
  const failed = new Map<string, string>();
  const problems: RefProblem[] = [];
  const refs: { from: Location; ref: string; target: Location }[] = [];
  const queue = [url];
  const maxFiles = options.maxFiles ?? 1000;
  while (queue.length > 0) {
    const current = queue.shift()!;
    const found: { from: Location; ref: string; target: Location }[] = [];
    walkRefs(files.get(current), "", (ref, pointer) => {
      const from = { url: current, pointer };
      const target = refTarget(current, ref);
      if (!target) {
        problems.push({
          file: filePath(current),
          pointer,
          message: `$ref ${JSON.stringify(ref)} is not a valid URI reference`,
        });
        return;
      }
      // The document's own local refs are checked where it is parsed.
      if (current === url && target.url === url) return;
      if (isRemote(target.url)) return;
      found.push({ from, ref, target });
    });
    for (const link of found) {
      refs.push(link);
      const target = link.target.url;
      if (files.has(target) || failed.has(target)) continue;
      if (files.size >= maxFiles) {
        failed.set(target, `more than ${maxFiles} files are referenced`);
        continue;
      }
      try {
        const text = await options.read(filePath(target));
        files.set(target, parseJsonOrYaml(text));
        queue.push(target);
      } catch (error) {
        failed.set(target, (error as Error).message.split("\n")[0]);
      }
    }
  }
  for (const { from, ref, target } of refs) {
    const reason = failed.get(target.url);
    if (reason !== undefined) {
      problems.push({
        file: filePath(from.url),
        pointer: from.pointer,
        message: `$ref ${JSON.stringify(ref)} does not resolve: cannot load ${
          filePath(target.url)
        }: ${reason}`,
      });
    } else if (!resolveRef(files, from.url, ref)) {
      problems.push({
        file: filePath(from.url),
        pointer: from.pointer,
        message: `$ref ${JSON.stringify(ref)} does not resolve`,
      });
    }
  }
  // A chain of refs that comes back on itself resolves link by link and leads nowhere: what it
  // stands for (a path item, a request body) would be silently missing.
  for (const [file, root] of files) {
    walkRefs(root, "", (ref, pointer) => {
      if (chainLoops(files, file, ref)) {
        problems.push({
          file: filePath(file),
          pointer,
          message: `$ref ${
            JSON.stringify(ref)
          } leads to a chain of $refs that loops (or has ${MAX_HOPS} $refs or more)`,
        });
      }
    });
  }
  return { files, problems };
}
