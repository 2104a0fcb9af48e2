/**
 * Wiring one corpus document: a config that sends every operation, with
 * `validate-in` and `validate-out` on, to a tiny handler replying with a
 * response sampled from the operation's schema; and, for some operations, a
 * sampled valid request and an invalid one. Sampling is `openapi-sampler`'s
 * (it prefers a schema's `example`, which real documents sometimes get
 * wrong: such a request is the sampler's mistake, not urocket's).
 *
 * @module
 */

import { sample } from "openapi-sampler";

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type Obj = { [key: string]: Json };

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** One operation of the document. */
export interface CorpusOperation {
  /** Index, used to name its reply files. */
  index: number;
  method: string;
  path: string;
  /** The operation object, `$ref`s unresolved. */
  op: Obj;
  /** The path item's shared parameters. */
  shared: Json[];
}

/** A request to send. */
export interface CorpusRequest {
  operation: CorpusOperation;
  kind: "valid" | "invalid";
  /** Path and query, base path included. */
  target: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** What the handler replies for one operation. */
export interface CorpusReply {
  status: number;
  contentType: string;
  body: string;
}

export function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows local `$ref`s (`#/…`) to the value; `undefined` when one does not resolve. */
export function deref(doc: Obj, value: Json | undefined, depth = 0): Json | undefined {
  if (!isObj(value) || typeof value.$ref !== "string" || depth > 20) return value;
  const ref = value.$ref;
  if (!ref.startsWith("#")) return undefined;
  let node: Json | undefined = doc;
  for (const raw of ref.slice(2).split("/")) {
    if (ref === "#") break;
    const token = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    node = isObj(node) || Array.isArray(node) ? (node as Record<string, Json>)[token] : undefined;
  }
  return deref(doc, node, depth + 1);
}

/** Every operation of the document, in document order. */
export function listOperations(doc: Obj): CorpusOperation[] {
  const out: CorpusOperation[] = [];
  const paths = isObj(doc.paths) ? doc.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = deref(doc, rawItem);
    if (!isObj(item)) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      if (isObj(op)) out.push({ index: out.length, method, path, op, shared });
    }
  }
  return out;
}

/** The path `servers[0].url` puts in front of every route, as urocket reads it. */
export function basePath(doc: Obj): string {
  const server = Array.isArray(doc.servers) ? doc.servers[0] : undefined;
  if (!isObj(server) || typeof server.url !== "string") return "";
  const variables = isObj(server.variables) ? server.variables : {};
  const url = server.url.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const variable = variables[name];
    return isObj(variable) && typeof variable.default === "string" ? variable.default : "";
  });
  let path: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      path = new URL(url).pathname;
    } catch {
      return "";
    }
  } else if (url.startsWith("//")) path = url.replace(/^\/\/[^/]*/, "");
  else path = url.startsWith("/") ? url : `/${url}`;
  return path.replace(/\/+$/, "");
}

/** The config text wiring every operation to `reply.sh <index>` in `dir`. */
export function configText(dir: string, operations: readonly CorpusOperation[]): string {
  const lines = [
    "openapi: openapi.json",
    "listen: 127.0.0.1:0",
    "admin: 127.0.0.1:0",
    `socket: ${dir}/u.sock`,
    "shutdown-delay: 0s",
    "timeout: 20s",
    "paths:",
  ];
  const byPath = new Map<string, CorpusOperation[]>();
  for (const op of operations) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op]);
  for (const [path, ops] of byPath) {
    lines.push(`  ${JSON.stringify(path)}:`);
    for (const op of ops) {
      lines.push(
        `    ${op.method}:`,
        "      validate-in: true",
        "      validate-out: true",
        // What is measured is validation: the document's security schemes are not configured.
        "      security: open",
        `      inject: { cmd: ["/bin/sh", ${JSON.stringify(`${dir}/reply.sh`)}, "${op.index}"], ` +
          "channel: stdin }",
        "      outtake: usocket://uri/{req_id}",
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** The handler: drains stdin and replies with the files `r/<index>.{status,type,body}`. */
export const REPLY_SH = `#!/bin/sh
cat >/dev/null
r="$(dirname "$0")/r/$1"
set -- -H "Urocket-Status: $(cat "$r.status")"
set -- "$@" -H "Content-Type: $(cat "$r.type")"
exec curl --silent --show-error --unix-socket "$UROCKET_SOCKET" "$@" \\
  --data-binary @"$r.body" "$UROCKET_REPLY_URL"
`;

export function isJsonType(type: string): boolean {
  return /^application\/json$|\+json$/i.test(type.split(";")[0].trim());
}

export function sampled(
  doc: Obj,
  schema: Json | undefined,
  direction: "request" | "response",
): Json {
  try {
    return sample(schema as never, {
      skipReadOnly: direction === "request",
      skipWriteOnly: direction === "response",
      skipNonRequired: true,
      enablePatterns: true,
      quiet: true,
    }, doc) as Json;
  } catch {
    return {};
  }
}

/** A concrete media type for a declared key (`*\/*` and `application/*` are ranges). */
function concrete(key: string, json: boolean): string {
  if (!key.includes("*")) return key;
  return json || key === "*/*" ? "application/json" : key.replace("*", "octet-stream");
}

/** The reply the handler sends for `operation`: its first success response, sampled. */
export function sampleReply(doc: Obj, operation: CorpusOperation): CorpusReply {
  const responses = isObj(operation.op.responses) ? operation.op.responses : {};
  const keys = Object.keys(responses);
  const key = keys.filter((k) => /^2\d\d$/.test(k)).sort()[0] ??
    keys.find((k) => k.toUpperCase() === "2XX") ?? keys.find((k) => k === "default") ?? keys[0];
  if (key === undefined) return { status: 200, contentType: "", body: "" };
  const status = /^\d{3}$/.test(key) ? Number(key) : 200;
  const response = deref(doc, responses[key]);
  const content = isObj(response) && isObj(response.content) ? response.content : {};
  const types = Object.keys(content);
  if (types.length === 0 || status === 204 || status === 304 || operation.method === "head") {
    return { status, contentType: "", body: "" };
  }
  const json = types.find((t) => isJsonType(t) || t === "*/*" || t === "application/*");
  if (json !== undefined) {
    const media = content[json];
    const schema = isObj(media) ? media.schema : undefined;
    const value = schema === undefined ? {} : sampled(doc, schema, "response");
    return { status, contentType: concrete(json, true), body: JSON.stringify(value ?? null) };
  }
  return { status, contentType: concrete(types[0], false), body: "x" };
}

/** The operation's parameters, path item's first, each resolved. */
export function parametersOf(doc: Obj, operation: CorpusOperation): Obj[] {
  const own = Array.isArray(operation.op.parameters) ? operation.op.parameters : [];
  const all = [...operation.shared, ...own].map((p) => deref(doc, p)).filter(isObj);
  const seen = new Map<string, Obj>();
  for (const p of all) seen.set(`${p.in} ${p.name}`, p);
  return [...seen.values()].filter((p) => typeof p.name === "string");
}

export function parameterSchema(p: Obj): Json | undefined {
  if (p.schema !== undefined) return p.schema;
  if (isObj(p.content)) {
    const media = Object.values(p.content)[0];
    return isObj(media) ? media.schema : undefined;
  }
  return undefined;
}

/** A parameter value as `style: simple` / `form` write it (not exploded objects). */
export function serialise(value: Json, json: boolean): string {
  if (json) return JSON.stringify(value);
  if (Array.isArray(value)) return value.map((v) => serialise(v, false)).join(",");
  if (isObj(value)) {
    return Object.entries(value).flatMap(([k, v]) => [k, serialise(v, false)]).join(",");
  }
  return value === null ? "" : String(value);
}

/** Header values must be ASCII without controls. */
export function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "x");
}
