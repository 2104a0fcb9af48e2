/**
 * Loads an OpenAPI 3.0/3.1 document, used unchanged, with the files next to
 * it that its `$ref`s name, and lists its operations: method, path template,
 * parameters, request body, responses.
 *
 * @module
 */

import {
  DuplicateKeyError,
  escapePointer,
  isObject,
  type JsonObject,
  parseJsonOrYaml,
} from "./json.ts";
import { loadRefFiles, localRefProblems, type RefProblem } from "./ref_files.ts";
import {
  childPointer,
  type DocumentFiles,
  fileUrl,
  followMember,
  type Location,
  type Resolved,
} from "./refs.ts";

export { escapePointer, isObject, type Json, type JsonObject, resolvePointer } from "./json.ts";

/** HTTP methods an OpenAPI path item may declare. */
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** One thing wrong with the document, located by JSON pointer. */
export interface DocumentProblem {
  pointer: string;
  message: string;
  /** 1-based line, when the problem is tied to one (a duplicate key). */
  line?: number;
  /** The file the pointer is in, when it is not the document itself but a file it refers to. */
  file?: string;
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
    super(
      problems.map((p) =>
        `${p.file ?? file}${p.line ? `:${p.line}` : ""}: ${p.pointer || "/"}: ${p.message}`
      ).join("\n"),
    );
    this.name = "DocumentError";
    this.file = file;
    this.problems = problems;
  }
}

/** A parameter of an operation, with its `$ref`s followed. */
export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  /** The parameter object as written (after following its `$ref`s). */
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
  /** The `requestBody` object (after following its `$ref`s), if any. */
  requestBody?: JsonObject;
  /** The `responses` object as written (its members may be `$ref`s). */
  responses: JsonObject;
  /**
   * JSON pointer of the operation in the document (`/paths/~1pets/get`), for
   * messages — also when its path item is a `$ref` to another place.
   */
  pointer: string;
  /** Where the operation object is: the file that holds it and the pointer in that file. */
  location: Location;
}

/** A loaded document. */
export interface OpenApiDocument {
  /** Absolute path of the file. */
  file: string;
  /** `3.0` or `3.1`. */
  version: "3.0" | "3.1";
  /** The document as parsed, never modified. */
  raw: JsonObject;
  /** The file's URL: the base of its `$ref`s. */
  url: string;
  /**
   * The document and every file its `$ref`s name, by URL, as parsed (after
   * {@link loadDocument}; {@link parseDocumentText} has the document only).
   */
  files: DocumentFiles;
  /** Path prefix from `servers[0].url` (`""` when none), e.g. `/v1`. */
  basePath: string;
  /** Why {@link basePath} is a guess, when it is (see {@link serverBasePath}). */
  basePathNote?: string;
  operations: DocumentOperation[];
}

/**
 * Reads and checks the OpenAPI document at `file`, loads the files its
 * `$ref`s name (a missing file, or a pointer into one that leads nowhere, is
 * a problem), and lists its operations with `$ref`s followed across them.
 */
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
  const document = checkDocumentText(text, file);
  const { files, problems } = await loadRefFiles(document.url, document.raw, { read: readFile });
  if (problems.length > 0) throw new DocumentError(file, problems.map(documentProblem(file)));
  return { ...document, files, operations: listOperations(files, document.url) };
}

/**
 * Reads a file a `$ref` names. Only a regular file: reading a FIFO would
 * block the start for ever, and a device may never end. Synchronously: the
 * files are read one after the other anyway, and the async calls cost
 * about 100 ms more over DigitalOcean's 1,483 files.
 */
function readFile(path: string): Promise<string> {
  try {
    if (!Deno.statSync(path).isFile) throw new Error("not a regular file");
    return Promise.resolve(Deno.readTextFileSync(path));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A `$ref` problem as a problem of the document at `file`, naming its own file when another. */
function documentProblem(file: string): (problem: RefProblem) => DocumentProblem {
  return (p) => ({
    pointer: p.pointer,
    message: p.message,
    ...(p.file !== file ? { file: p.file } : {}),
  });
}

/**
 * Parses `text` (YAML or JSON) as an OpenAPI document, on its own: `$ref`s
 * into other files are not loaded, so what they name is missing from
 * `operations` (a path item in another file lists no operation).
 *
 * @throws {DocumentError} listing every problem: syntax, a key written twice
 * in one object, version, missing `paths`, local `$ref`s that do not resolve.
 */
export function parseDocumentText(text: string, file: string): OpenApiDocument {
  const document = checkDocumentText(text, file);
  const problems = localRefProblems(document.url, document.raw);
  if (problems.length > 0) throw new DocumentError(file, problems.map(documentProblem(file)));
  return { ...document, operations: listOperations(document.files, document.url) };
}

/**
 * Parses `text` and checks what it holds, not its `$ref`s; operations are
 * listed by the caller, once the files are known.
 */
function checkDocumentText(text: string, file: string): Omit<OpenApiDocument, "operations"> {
  let raw: unknown;
  try {
    raw = parseJsonOrYaml(text);
  } catch (error) {
    if (error instanceof DuplicateKeyError) {
      throw new DocumentError(
        file,
        error.duplicates.map((d) => ({
          pointer: d.pointer,
          line: d.line,
          message: `Duplicate key ${JSON.stringify(d.key)} (first at line ${d.firstLine}): ` +
            "only the last one would be kept",
        })),
      );
    }
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
  if (problems.length > 0) throw new DocumentError(file, problems);
  const doc = raw as JsonObject;
  const url = fileUrl(file);
  const { path: basePath, note } = serverBasePath(doc);
  return {
    file,
    version: versionMatch![1] === "0" ? "3.0" : "3.1",
    raw: doc,
    url,
    files: new Map([[url, doc]]),
    basePath,
    ...(note === undefined ? {} : { basePathNote: note }),
  };
}

/**
 * The operations of the document at `url`, every `$ref` on the way (path
 * item, parameter, request body) followed across `files`, each relative to
 * the file that holds it.
 */
function listOperations(files: DocumentFiles, url: string): DocumentOperation[] {
  const doc = files.get(url) as JsonObject;
  const paths: Resolved = { url, pointer: "/paths", value: doc.paths };
  const operations: DocumentOperation[] = [];
  for (const path of Object.keys(doc.paths as JsonObject)) {
    const item = followMember(files, paths, path);
    if (!item || !isObject(item.value)) continue;
    const shared = parametersOf(files, item);
    for (const method of METHODS) {
      const op = followMember(files, item, method);
      if (!op || !isObject(op.value)) continue;
      const own = parametersOf(files, op);
      const parameters = [
        ...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)),
        ...own,
      ];
      const body = followMember(files, op, "requestBody")?.value;
      operations.push({
        path,
        method,
        operationId: typeof op.value.operationId === "string" ? op.value.operationId : undefined,
        parameters,
        requestBody: isObject(body) ? body : undefined,
        responses: isObject(op.value.responses) ? op.value.responses : {},
        pointer: `/paths/${escapePointer(path)}/${method}`,
        location: { url: op.url, pointer: op.pointer },
      });
    }
  }
  return operations;
}

/** The parameters listed by a path item or an operation, `$ref`s followed. */
function parametersOf(files: DocumentFiles, owner: Resolved): Parameter[] {
  const list = followMember(files, owner, "parameters");
  if (!list || !Array.isArray(list.value)) return [];
  const out: Parameter[] = [];
  for (let i = 0; i < list.value.length; i++) {
    const p = followMember(files, list, i)?.value;
    if (!isObject(p) || typeof p.name !== "string") continue;
    if (p.in !== "path" && p.in !== "query" && p.in !== "header" && p.in !== "cookie") continue;
    out.push({ name: p.name, in: p.in, required: p.in === "path" || p.required === true, spec: p });
  }
  return out;
}

/**
 * The media types the responses of `operation` declare, their `$ref`s
 * followed across `files`.
 */
export function responseMediaTypes(
  files: DocumentFiles,
  operation: DocumentOperation,
): Set<string> {
  const responses: Resolved = {
    url: operation.location.url,
    pointer: childPointer(operation.location.pointer, "responses"),
    value: operation.responses,
  };
  const types = new Set<string>();
  for (const key of Object.keys(operation.responses)) {
    const response = followMember(files, responses, key)?.value;
    if (isObject(response) && isObject(response.content)) {
      for (const type of Object.keys(response.content)) types.add(type);
    }
  }
  return types;
}

/**
 * The path of `servers[0].url`, every route's prefix (`""` for none): its
 * variables take their defaults, then scheme and host are dropped —
 * `{scheme}://api.example.com/v1`, `https://{region}.example.com/v1`,
 * `{server}/v1` with the default `https://api.example.com` and a relative
 * `/v1` or `v1` all give `/v1`. A `note` says when a variable without a
 * default (the specification requires one) is in the path, since the path
 * is then a guess.
 */
export function serverBasePath(doc: JsonObject): { path: string; note?: string } {
  const servers = doc.servers;
  if (!Array.isArray(servers) || !isObject(servers[0])) return { path: "" };
  const server = servers[0];
  if (typeof server.url !== "string") return { path: "" };
  const url = server.url;
  const variables = isObject(server.variables) ? server.variables : {};
  const missing = new Set<string>();
  const fill = (unknown: string) =>
    url.replace(/\{([^}]*)\}/g, (_, name: string) => {
      const variable = Object.hasOwn(variables, name) ? variables[name] : undefined;
      if (isObject(variable) && typeof variable.default === "string") return variable.default;
      missing.add(name);
      return unknown;
    });
  const path = urlPath(fill(""));
  if (missing.size === 0 || urlPath(fill("x")) === path) return { path };
  const names = [...missing].map((name) => `{${name}}`).join(", ");
  return {
    path,
    note: `servers[0].url ${JSON.stringify(url)} has ${names} without a default in its path: ` +
      `the base path is taken as ${JSON.stringify(path || "/")}; set base-path to say which`,
  };
}

/** The path of a server URL, absolute or relative, without its trailing slash. */
function urlPath(url: string): string {
  // The scheme may be empty: `{scheme}://host` with no default for {scheme} leaves `://host`.
  // An empty variable leaves `//`, which a URL parser would take for a host.
  const rest = url.replace(/^(?:[^:/?#]*:)?\/\/[^/?#]*/, "").replace(/[?#].*$/s, "")
    .replace(/\/{2,}/g, "/");
  let path: string;
  try {
    // Resolves dot segments and percent-encodes as clients send it (`/café` → `/caf%C3%A9`).
    path = new URL(rest.startsWith("/") ? rest : `/${rest}`, "http://host.invalid").pathname;
  } catch {
    return "";
  }
  return path.replace(/\/+$/, "");
}
