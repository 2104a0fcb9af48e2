/**
 * The OpenAPI document as urocket serves it on its reference page: one
 * file, even when the document is split across files by `$ref`s, whose
 * `servers` entry is the path prefix urocket routes under — so that "try
 * it" requests reach urocket itself.
 *
 * @module
 */

import {
  type DocumentFiles,
  escapePointer,
  filePath,
  isObject,
  isRemote,
  type Json,
  type JsonObject,
  refTarget,
  walkObjects,
} from "../openapi/mod.ts";

/**
 * The root member under which the files a document refers to are carried,
 * each under its path relative to the document (`schemas/pet.yaml`). A
 * specification extension, so the result is still a valid OpenAPI document.
 */
export const BUNDLED_KEY = "x-urocket-bundled";

/**
 * One document from the files of a split one: the root document, with
 * every other file it names copied under {@link BUNDLED_KEY} and every
 * `$ref` rewritten to point into it (a `$ref` to another host is left as it
 * is). Recursive schemas stay recursive: nothing is inlined. `servers`
 * becomes `[{ url: basePath }]` (`/` when there is no prefix), and the
 * `servers` of path items and operations are dropped: they do not change
 * where urocket answers.
 *
 * @example
 * ```ts
 * import { loadDocument } from "../openapi/mod.ts";
 *
 * const document = await loadDocument("/srv/api/openapi.yaml");
 * const doc = bundleDocument(document.files, document.url, "/v1");
 * doc.servers; // [{ url: "/v1" }]
 * ```
 */
export function bundleDocument(files: DocumentFiles, url: string, basePath: string): JsonObject {
  const dir = url.slice(0, url.lastIndexOf("/") + 1);
  const keys = new Map<string, string>();
  for (const file of files.keys()) {
    if (file !== url) keys.set(file, relativeKey(file, dir));
  }
  const rewrite = (value: Json, base: string): Json => {
    const copy = structuredClone(value);
    walkObjects(copy, "", (object) => {
      if (typeof object.$ref === "string") object.$ref = bundledRef(base, object.$ref, url, keys);
    });
    return copy;
  };
  const root = rewrite(files.get(url) as JsonObject, url) as JsonObject;
  root.servers = [{ url: basePath || "/" }];
  if (isObject(root.paths)) {
    for (const item of Object.values(root.paths)) {
      if (!isObject(item)) continue;
      delete item.servers;
      for (const operation of Object.values(item)) {
        if (isObject(operation)) delete operation.servers;
      }
    }
  }
  if (keys.size > 0) {
    const bundled: JsonObject = {};
    for (const [file, key] of keys) bundled[key] = rewrite(files.get(file)!, file);
    root[BUNDLED_KEY] = bundled;
  }
  return root;
}

/** `ref`, written in the file at `base`, as a reference within the bundled document. */
function bundledRef(base: string, ref: string, root: string, keys: Map<string, string>): string {
  const target = refTarget(base, ref);
  if (!target || isRemote(target.url)) return ref;
  if (target.url === root) return "#" + fragment(target.pointer);
  const key = keys.get(target.url);
  // Every file a ref names was loaded (a missing one refused the document): this is a safeguard.
  if (key === undefined) return ref;
  return `#/${BUNDLED_KEY}/${fragment("/" + escapePointer(key)).slice(1)}${
    fragment(target.pointer)
  }`;
}

/** A JSON pointer as a URI fragment: characters a fragment cannot hold are percent-encoded. */
function fragment(pointer: string): string {
  return pointer.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]/g, (char) => encodeURIComponent(char));
}

/** The path of `file` relative to the folder `dir` (both file URLs), `../` where it is outside. */
function relativeKey(file: string, dir: string): string {
  const from = filePath(dir).split("/").filter((s) => s !== "");
  const to = filePath(file).split("/").filter((s) => s !== "");
  let common = 0;
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  return [...Array(from.length - common).fill(".."), ...to.slice(common)].join("/");
}
