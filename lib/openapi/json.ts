/**
 * JSON values as found in an OpenAPI document, and JSON pointers into them
 * (RFC 6901).
 *
 * @module
 */

import { LineCounter, parseDocument } from "yaml";
import { yamlDuplicateKeys } from "../yaml_keys/mod.ts";

/** A key written twice in one object of a document file. */
export interface DuplicateKey {
  key: string;
  /** JSON pointer of the key (of both: they are in the same object). */
  pointer: string;
  /** 1-based line of the second one. */
  line: number;
  /** 1-based line of the first one. */
  firstLine: number;
}

/**
 * A document file writes one key twice in an object. Parsers keep the last
 * one and drop the other without a word — a path pasted twice would lose
 * an operation — so the file is refused instead.
 */
export class DuplicateKeyError extends Error {
  /** Every duplicate, in file order. */
  readonly duplicates: readonly DuplicateKey[];

  constructor(duplicates: DuplicateKey[]) {
    super(
      duplicates.map((d) =>
        `Duplicate key ${JSON.stringify(d.key)} at line ${d.line} (first at line ${d.firstLine})`
      ).join("\n"),
    );
    this.name = "DuplicateKeyError";
    this.duplicates = duplicates;
  }
}

/**
 * Parses a document file's text, JSON or YAML. JSON goes through
 * `JSON.parse` first: the YAML parser is about a hundred times slower on a
 * large JSON document, and start-up time grows with the document. Either
 * way a key written twice in one object is refused: the scan that finds it
 * in JSON costs about as much again as `JSON.parse` (measured: 15 ms against
 * 7 ms on a 2.9 MB document, where the YAML parser takes 900 ms).
 *
 * @throws {DuplicateKeyError} when an object has a key twice.
 * @throws {Error} with the YAML parser's message when the text is neither.
 */
export function parseJsonOrYaml(text: string): Json {
  if (/^\s*[{[]/.test(text)) {
    let value: Json | undefined;
    try {
      value = JSON.parse(text);
    } catch {
      // Not strict JSON (comments, trailing commas…): YAML, a superset, may still read it.
    }
    if (value !== undefined) {
      const duplicates = jsonDuplicateKeys(text);
      if (duplicates.length > 0) throw new DuplicateKeyError(duplicates);
      return value;
    }
  }
  const lineCounter = new LineCounter();
  // Keys are checked below rather than by `uniqueKeys`, whose error names no key.
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter, logLevel: "error" });
  if (doc.errors.length > 0) throw doc.errors[0];
  const duplicates = yamlDuplicateKeys(doc.contents, lineCounter);
  if (duplicates.length > 0) {
    throw new DuplicateKeyError(duplicates.map(({ key, path, line, firstLine }) => ({
      key,
      pointer: path.map((part) => `/${escapePointer(String(part))}`).join(""),
      line,
      firstLine,
    })));
  }
  return doc.toJS({ maxAliasCount: 1000 }) as Json;
}

/** An object or an array being read by {@link jsonDuplicateKeys}. */
type Frame =
  | { keys: Map<string, number>; key: string; expectKey: boolean }
  | { keys?: undefined; index: number };

/**
 * The keys written twice in the objects of `text`, which `JSON.parse` has
 * accepted: one pass over the characters that only looks at strings and
 * the structural characters between them.
 */
export function jsonDuplicateKeys(text: string): DuplicateKey[] {
  const found: { key: string; pointer: string; at: number; first: number }[] = [];
  const stack: Frame[] = [];
  let top: Frame | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      let end = text.indexOf('"', i + 1);
      // A quote after an odd number of backslashes is inside the string.
      for (;;) {
        let k = end - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((end - 1 - k) % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      i = end;
      if (top?.keys && top.expectKey) {
        const raw = text.slice(start + 1, end);
        const key: string = raw.includes("\\") ? JSON.parse(text.slice(start, end + 1)) : raw;
        top.key = key;
        top.expectKey = false;
        const first = top.keys.get(key);
        if (first === undefined) top.keys.set(key, start);
        else found.push({ key, pointer: framePointer(stack), at: start, first });
      }
    } else if (c === 0x7b) {
      stack.push(top = { keys: new Map(), key: "", expectKey: true });
    } else if (c === 0x5b) {
      stack.push(top = { index: 0 });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      top = stack[stack.length - 1];
    } else if (c === 0x2c) {
      if (top?.keys) top.expectKey = true;
      else if (top) top.index++;
    }
  }
  if (found.length === 0) return [];
  const lineOf = lineFinder(text);
  return found.map((d) => ({
    key: d.key,
    pointer: d.pointer,
    line: lineOf(d.at),
    firstLine: lineOf(d.first),
  }));
}

function framePointer(stack: Frame[]): string {
  return stack.map((f) => `/${f.keys ? escapePointer(f.key) : f.index}`).join("");
}

/** A function from an offset in `text` to its 1-based line. */
function lineFinder(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
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
