/**
 * Loads an OpenAPI 3.0/3.1 document, used unchanged, and lists its
 * operations: method, path template, parameters, request body, responses.
 *
 * @module
 */

import { parse } from "yaml";

/** HTTP methods an OpenAPI path item may declare. */
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** A JSON value as found in a document. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object as found in a document. */
export type JsonObject = { [key: string]: Json };

/** One thing wrong with the document, located by JSON pointer. */
export interface DocumentProblem {
  pointer: string;
  message: string;
}

/**
 * The OpenAPI document cannot be used. Carries every problem found.
 */
export class DocumentError extends Error {
  /** The document's path. */
  readonly file: string;
  /** The problems, each with its JSON pointer. */
  readonly problems: readonly DocumentProblem[];

  constructor(file: string, problems: DocumentProblem[]) {
    super(problems.map((p) => `${file}: ${p.pointer || "/"}: ${p.message}`).join("\n"));
    this.name = "DocumentError";
    this.file = file;
    this.problems = problems;
  }
}

/** A parameter of an operation, with local `$ref`s resolved. */
export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  /** The parameter object as written (after `$ref` resolution). */
  spec: JsonObject;
}

/** One operation of the document. */
export interface DocumentOperation {
  /** Path template as written in `paths`, e.g. `/pets/{petId}`. */
  path: string;
  /** Lower-case method. */
  method: string;
  operationId?: string;
  /** Path-level and operation-level parameters, the latter winning. */
  parameters: Parameter[];
  /** The `requestBody` object (after `$ref` resolution), if any. */
  requestBody?: JsonObject;
  /** The `responses` object as written. */
  responses: JsonObject;
  /** JSON pointer of the operation object, for messages. */
  pointer: string;
}

/** A loaded document. */
export interface OpenApiDocument {
  /** Absolute path of the file. */
  file: string;
  /** `3.0` or `3.1`. */
  version: "3.0" | "3.1";
  /** The document as parsed, never modified. */
  raw: JsonObject;
  /** Path prefix from `servers[0].url` (`""` when none), e.g. `/v1`. */
  basePath: string;
  operations: DocumentOperation[];
}

/** Reads and checks the OpenAPI document at `file`. */
export async function loadDocument(file: string): Promise<OpenApiDocument> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new DocumentError(file, [{
      pointer: "",
      message: `Cannot read the OpenAPI document: ${(error as Error).message}`,
    }]);
  }
  return parseDocumentText(text, file);
}

/**
 * Parses `text` (YAML or JSON) as an OpenAPI document.
 *
 * @throws {DocumentError} listing every problem: syntax, version, missing
 * `paths`, local `$ref`s that do not resolve.
 */
export function parseDocumentText(text: string, file: string): OpenApiDocument {
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: false, maxAliasCount: 1000, logLevel: "error" });
  } catch (error) {
    throw new DocumentError(file, [{
      pointer: "",
      message: `Invalid YAML or JSON: ${(error as Error).message.split("\n")[0]}`,
    }]);
  }
  if (!isObject(raw)) {
    throw new DocumentError(file, [{ pointer: "", message: "Expected an OpenAPI object" }]);
  }
  const problems: DocumentProblem[] = [];
  const versionMatch = typeof raw.openapi === "string"
    ? /^3\.([01])\.\d+(?:-[0-9A-Za-z.-]+)?$/.exec(raw.openapi)
    : null;
  if (!versionMatch) {
    problems.push({
      pointer: "/openapi",
      message:
        `Expected "openapi: 3.0.x" or "3.1.x", found ${JSON.stringify(raw.openapi ?? null)}` +
        (raw.swagger ? " (Swagger 2.0 documents need converting to OpenAPI 3 first)" : ""),
    });
  }
  if (!isObject(raw.paths)) {
    problems.push({ pointer: "/paths", message: "The document has no paths object" });
  }
  walkRefs(raw, "", (ref, pointer) => {
    if (ref.startsWith("#") && resolvePointer(raw as JsonObject, ref.slice(1)) === undefined) {
      problems.push({ pointer, message: `$ref ${JSON.stringify(ref)} does not resolve` });
    }
  });
  if (problems.length > 0) throw new DocumentError(file, problems);
  const doc = raw as JsonObject;
  return {
    file,
    version: versionMatch![1] === "0" ? "3.0" : "3.1",
    raw: doc,
    basePath: basePathOf(doc),
    operations: listOperations(doc),
  };
}

function listOperations(doc: JsonObject): DocumentOperation[] {
  const operations: DocumentOperation[] = [];
  for (const [path, itemOrRef] of Object.entries(doc.paths as JsonObject)) {
    const item = deref(doc, itemOrRef);
    if (!isObject(item)) continue;
    const shared = parametersOf(doc, item.parameters);
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const own = parametersOf(doc, op.parameters);
      const parameters = [
        ...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)),
        ...own,
      ];
      const body = deref(doc, op.requestBody);
      operations.push({
        path,
        method,
        operationId: typeof op.operationId === "string" ? op.operationId : undefined,
        parameters,
        requestBody: isObject(body) ? body : undefined,
        responses: isObject(op.responses) ? op.responses : {},
        pointer: `/paths/${escapePointer(path)}/${method}`,
      });
    }
  }
  return operations;
}

function parametersOf(doc: JsonObject, list: Json | undefined): Parameter[] {
  if (!Array.isArray(list)) return [];
  const out: Parameter[] = [];
  for (const entry of list) {
    const p = deref(doc, entry);
    if (!isObject(p) || typeof p.name !== "string") continue;
    if (p.in !== "path" && p.in !== "query" && p.in !== "header" && p.in !== "cookie") continue;
    out.push({ name: p.name, in: p.in, required: p.in === "path" || p.required === true, spec: p });
  }
  return out;
}

function basePathOf(doc: JsonObject): string {
  const servers = doc.servers;
  if (!Array.isArray(servers) || !isObject(servers[0])) return "";
  const server = servers[0];
  let url = typeof server.url === "string" ? server.url : "";
  const variables = isObject(server.variables) ? server.variables : {};
  url = url.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const variable = variables[name];
    return isObject(variable) && typeof variable.default === "string" ? variable.default : "";
  });
  let path: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      path = new URL(url).pathname;
    } catch {
      return "";
    }
  } else if (url.startsWith("//")) {
    path = url.replace(/^\/\/[^/]*/, "");
  } else {
    path = url.startsWith("/") ? url : `/${url}`;
  }
  return path.replace(/\/+$/, "");
}

/** Follows a local `$ref` chain; returns other values unchanged. */
export function deref(doc: JsonObject, value: Json | undefined): Json | undefined {
  let current = value;
  for (let hops = 0; hops < 32 && isObject(current) && typeof current.$ref === "string"; hops++) {
    if (!current.$ref.startsWith("#")) return current;
    current = resolvePointer(doc, current.$ref.slice(1));
  }
  return current;
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

/** Keys whose values are data, where a `$ref` key is not a reference. */
const DATA_KEYS = new Set(["example", "default", "enum", "const"]);

function walkRefs(node: unknown, pointer: string, visit: (ref: string, pointer: string) => void) {
  if (Array.isArray(node)) {
    node.forEach((child, i) => walkRefs(child, `${pointer}/${i}`, visit));
  } else if (isObject(node)) {
    for (const [key, child] of Object.entries(node)) {
      if (key === "$ref" && typeof child === "string") visit(child, `${pointer}/$ref`);
      else if (!DATA_KEYS.has(key)) walkRefs(child, `${pointer}/${escapePointer(key)}`, visit);
    }
  }
}

/** Whether `value` is a plain JSON object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
