/**
 * The requests `deno task corpus` sends to one operation: one sampled to be
 * valid (every required parameter, the body sampled from its schema), and
 * one that breaks the contract where the operation can be broken — a JSON
 * body of another type than its schema's, a malformed JSON body, or a
 * parameter of the wrong type — which urocket must refuse with 400.
 *
 * @module
 */

import {
  type CorpusOperation,
  type CorpusRequest,
  deref,
  headerSafe,
  isJsonType,
  isObj,
  type Json,
  type Obj,
  parameterSchema,
  parametersOf,
  sampled,
  serialise,
} from "./corpus_wire.ts";

/** Headers HTTP itself governs, which OpenAPI says to ignore as parameters. */
const IGNORED_HEADERS = new Set(["accept", "content-type", "authorization"]);

interface Parts {
  /** Path parameter values, encoded. */
  path: Map<string, string>;
  query: [string, string][];
  headers: Record<string, string>;
}

/** The valid request and, when the operation can be broken, an invalid one. */
export function buildRequests(
  doc: Obj,
  operation: CorpusOperation,
  base: string,
): CorpusRequest[] {
  const parameters = parametersOf(doc, operation);
  const parts: Parts = { path: new Map(), query: [], headers: {} };
  const typed: { p: Obj; types: string[] }[] = [];
  for (const p of parameters) {
    const name = p.name as string;
    const schema = parameterSchema(p);
    const required = p.in === "path" || p.required === true;
    const types = typesOf(doc, schema);
    if (required && (p.in === "path" || p.in === "query")) typed.push({ p, types });
    if (!required) continue;
    const json = p.schema === undefined && isObj(p.content);
    const value = sampled(doc, schema, "request");
    if (p.in === "path") {
      parts.path.set(name, encodeURIComponent(serialise(value, json) || "1"));
    } else if (p.in === "query") addQuery(parts.query, p, value, json);
    else if (p.in === "header" && !IGNORED_HEADERS.has(name.toLowerCase())) {
      parts.headers[name] = headerSafe(serialise(value, json));
    } else if (p.in === "cookie") {
      const cookie = `${name}=${encodeURIComponent(serialise(value, json))}`;
      parts.headers.cookie = parts.headers.cookie ? `${parts.headers.cookie}; ${cookie}` : cookie;
    }
  }
  const method = operation.method.toUpperCase();
  const target = (p: Parts) =>
    base + operation.path.replace(/\{([^}]+)\}/g, (m, name) => p.path.get(name) ?? m) +
    (p.query.length > 0 ? "?" + new URLSearchParams(p.query).toString() : "");
  // fetch sends no body with GET or HEAD (some documents declare one, optional, for GET).
  const body = method === "GET" || method === "HEAD" ? undefined : bodyOf(doc, operation);
  const valid: CorpusRequest = {
    operation,
    kind: "valid",
    target: target(parts),
    method,
    headers: { ...parts.headers, ...(body ? { "content-type": body.type } : {}) },
    ...(body ? { body: body.valid } : {}),
  };
  const requests = [valid];
  if (body?.invalid !== undefined) {
    requests.push({ ...valid, kind: "invalid", body: body.invalid });
  } else {
    const breakable = typed.find(({ types }) =>
      types.length > 0 && types.every((t) => ["integer", "number", "boolean"].includes(t))
    );
    if (breakable) {
      const broken: Parts = { ...parts, path: new Map(parts.path), query: [...parts.query] };
      const name = breakable.p.name as string;
      if (breakable.p.in === "path") broken.path.set(name, "not-a-number");
      else {
        broken.query = broken.query.filter(([k]) => k !== name);
        broken.query.push([name, "not-a-number"]);
      }
      requests.push({ ...valid, kind: "invalid", target: target(broken) });
    }
  }
  return requests;
}

function addQuery(query: [string, string][], p: Obj, value: Json, json: boolean): void {
  const name = p.name as string;
  const style = typeof p.style === "string" ? p.style : "form";
  const explode = typeof p.explode === "boolean" ? p.explode : style === "form";
  if (style === "deepObject" && isObj(value)) {
    for (const [k, v] of Object.entries(value)) query.push([`${name}[${k}]`, serialise(v, false)]);
  } else if (!json && Array.isArray(value) && explode) {
    for (const v of value) query.push([name, serialise(v, false)]);
  } else if (!json && isObj(value) && explode) {
    for (const [k, v] of Object.entries(value)) query.push([k, serialise(v, false)]);
  } else {
    const delimiter = style === "pipeDelimited" ? "|" : style === "spaceDelimited" ? " " : ",";
    query.push([
      name,
      Array.isArray(value) && !json
        ? value.map((v) => serialise(v, false)).join(delimiter)
        : serialise(value, json),
    ]);
  }
}

/** The JSON types a schema allows at its top (through `$ref` and `allOf`); [] when unknown. */
function typesOf(doc: Obj, schema: Json | undefined, depth = 0): string[] {
  const s = deref(doc, schema);
  if (!isObj(s) || depth > 10) return [];
  if (typeof s.type === "string") return s.nullable === true ? [s.type, "null"] : [s.type];
  if (Array.isArray(s.type)) return s.type.filter((t): t is string => typeof t === "string");
  if (Array.isArray(s.allOf)) {
    for (const member of s.allOf) {
      const found = typesOf(doc, member, depth + 1);
      if (found.length > 0) return found;
    }
  }
  return [];
}

/** A JSON value of none of `types`. */
function wrongValue(types: string[]): Json | undefined {
  const candidates: [string, Json][] = [
    ["object", [1, 2]],
    ["array", { unexpected: true }],
    ["string", 12345],
    ["integer", "text"],
    ["number", "text"],
    ["boolean", "text"],
  ];
  const allows = (value: Json) => {
    const kind = Array.isArray(value)
      ? "array"
      : value === null
      ? "null"
      : typeof value === "number"
      ? (Number.isInteger(value) ? ["integer", "number"] : ["number"])
      : typeof value;
    return (Array.isArray(kind) ? kind : [kind]).some((k) => types.includes(k));
  };
  for (const [type, value] of candidates) if (types.includes(type) && !allows(value)) return value;
  return undefined;
}

/** The request body: its media type, a valid sample and, for JSON, an invalid one. */
function bodyOf(
  doc: Obj,
  operation: CorpusOperation,
): { type: string; valid: string; invalid?: string } | undefined {
  const requestBody = deref(doc, operation.op.requestBody);
  if (!isObj(requestBody) || !isObj(requestBody.content)) return undefined;
  const content = requestBody.content;
  const keys = Object.keys(content);
  const json = keys.find((k) => isJsonType(k)) ??
    keys.find((k) => k === "*/*" || k === "application/*");
  if (json !== undefined) {
    const media = content[json];
    const schema = isObj(media) ? media.schema : undefined;
    const value = schema === undefined ? {} : sampled(doc, schema, "request");
    const type = json.includes("*") ? "application/json" : json;
    if (schema === undefined) return { type, valid: JSON.stringify(value) };
    const wrong = wrongValue(typesOf(doc, schema));
    return {
      type,
      valid: JSON.stringify(value ?? null),
      invalid: wrong === undefined ? '{"unterminated' : JSON.stringify(wrong),
    };
  }
  const form = keys.find((k) => k.split(";")[0].trim() === "application/x-www-form-urlencoded");
  if (form !== undefined) {
    const media = content[form];
    const value = sampled(doc, isObj(media) ? media.schema : undefined, "request");
    const fields: [string, string][] = [];
    if (isObj(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (Array.isArray(v)) { for (const item of v) fields.push([k, serialise(item, false)]); }
        else fields.push([k, isObj(v) ? JSON.stringify(v) : serialise(v, false)]);
      }
    }
    return { type: form, valid: new URLSearchParams(fields).toString() };
  }
  if (keys.length === 0) return undefined;
  const type = keys[0].includes("*") ? "application/octet-stream" : keys[0];
  return { type, valid: "x" };
}
