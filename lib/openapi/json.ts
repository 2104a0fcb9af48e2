/**
 * JSON values as found in an OpenAPI document, and JSON pointers into them
 * (RFC 6901).
 *
 * @module
 */

import { parse } from "yaml";

/**
 * Parses a document file's text, JSON or YAML. JSON goes through
 * `JSON.parse` first: the YAML parser is about a hundred times slower on a
 * large JSON document, and start-up time grows with the document.
 *
 * @throws {Error} with the YAML parser's message when the text is neither.
 */
export function parseJsonOrYaml(text: string): Json {
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not strict JSON (comments, trailing commas…): YAML, a superset, may still read it.
    }
  }
  return parse(text, { uniqueKeys: false, maxAliasCount: 1000, logLevel: "error" }) as Json;
}

/** A JSON value as found in a document. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object as found in a document. */
export type JsonObject = { [key: string]: Json };

/** Whether `value` is a plain JSON object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Resolves a JSON pointer (RFC 6901, possibly percent-encoded as in a URI fragment). */
export function resolvePointer(doc: Json, pointer: string): Json | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pointer);
  } catch {
    return undefined;
  }
  if (decoded === "") return doc;
  if (!decoded.startsWith("/")) return undefined;
  let node: Json | undefined = doc;
  for (const token of decoded.slice(1).split("/")) {
    const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node) && Object.hasOwn(node, key)) node = node[key];
    else return undefined;
  }
  return node;
}

/** Escapes one JSON pointer token. */
export function escapePointer(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}
