/**
 * Reads a request's parameters the way OpenAPI serialises them — `style`
 * and `explode` per location, with their defaults — into strings, arrays of
 * strings and objects of strings. Turning those strings into the schema's
 * types is left to the validator's coercion.
 *
 * @module
 */

import type { ParameterContract, ParameterIn, Shape } from "./contract.ts";
import type { ValidationError } from "./errors.ts";
import { escapePointer } from "../json.ts";

/** The parts of a request parameters come from. */
export interface RequestParts {
  /** Path parameters as routed, percent-decoded. */
  path: Record<string, string>;
  query: URLSearchParams;
  headers: Headers;
}

/** Parameter values by location and name, ready for validation. */
export type ParameterValues = Record<ParameterIn, Record<string, unknown>>;

/**
 * Reads every declared parameter that the request carries. An absent
 * parameter is left out (the schema's `required` reports it); one that
 * cannot be read in its style is an error.
 */
export function readParameters(
  parameters: readonly ParameterContract[],
  parts: RequestParts,
): { values: ParameterValues; errors: ValidationError[] } {
  const values: ParameterValues = { path: {}, query: {}, header: {}, cookie: {} };
  const errors: ValidationError[] = [];
  let cookies: [string, string][] | undefined;
  const declaredQuery = new Set(parameters.filter((p) => p.in === "query").map((p) => p.name));
  for (const p of parameters) {
    let value: unknown;
    try {
      switch (p.in) {
        case "path":
          value = fromPath(p, parts.path[p.name]);
          break;
        case "query":
          value = fromQuery(p, parts.query, declaredQuery);
          break;
        case "header": {
          const raw = parts.headers.get(p.name);
          value = raw === null
            ? undefined
            : p.json
            ? raw
            : split(raw, p.shape, ",", p.explode, true);
          break;
        }
        case "cookie":
          cookies ??= parseCookies(parts.headers.get("cookie"));
          value = fromCookies(p, cookies);
          break;
      }
      if (value === "" && p.allowEmptyValue) value = undefined;
      if (value !== undefined && p.json) value = parseJson(value);
    } catch (error) {
      errors.push({
        in: p.in,
        pointer: `/${escapePointer(p.name)}`,
        message: (error as Error).message,
      });
      continue;
    }
    if (value !== undefined) values[p.in][p.name] = value;
  }
  return { values, errors };
}

/**
 * Splits a serialised value by its shape: a primitive stays a string, an
 * array is split on `delimiter`, an object is `k,v,k,v` or, exploded,
 * `k=v` items.
 */
export function split(
  raw: string,
  shape: Shape,
  delimiter: string,
  explode: boolean,
  trim = false,
): unknown {
  if (shape === "primitive") return raw;
  const items = raw === "" ? [] : raw.split(delimiter).map((s) => trim ? s.trim() : s);
  if (shape === "array") return items;
  const out: Record<string, string> = {};
  if (explode) {
    for (const item of items) {
      const eq = item.indexOf("=");
      if (eq < 0) out[item] = "";
      else out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  }
  if (items.length % 2 !== 0) throw new Error("must be name,value pairs");
  for (let i = 0; i < items.length; i += 2) out[items[i]] = items[i + 1];
  return out;
}

function fromPath(p: ParameterContract, raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  if (p.json) return raw;
  switch (p.style) {
    case "label":
      if (!raw.startsWith(".")) throw new Error('must start with "." (label style)');
      return split(raw.slice(1), p.shape, p.explode ? "." : ",", p.explode);
    case "matrix": {
      if (!raw.startsWith(";")) throw new Error('must start with ";" (matrix style)');
      const pairs = raw.slice(1).split(";").map((item) => {
        const eq = item.indexOf("=");
        return eq < 0 ? [item, ""] : [item.slice(0, eq), item.slice(eq + 1)];
      });
      if (p.shape === "object" && p.explode) return Object.fromEntries(pairs);
      const mine = pairs.filter(([name]) => name === p.name).map(([, value]) => value);
      if (mine.length === 0) throw new Error(`must be ;${p.name}=… (matrix style)`);
      if (p.shape === "array" && p.explode) return mine;
      return split(mine[0], p.shape, ",", false);
    }
    default:
      return split(raw, p.shape, ",", p.explode);
  }
}

function fromQuery(
  p: ParameterContract,
  query: URLSearchParams,
  declared: ReadonlySet<string>,
): unknown {
  if (p.style === "deepObject") {
    const out: Record<string, string> = {};
    let found = false;
    const prefix = `${p.name}[`;
    for (const [key, value] of query) {
      if (key.startsWith(prefix) && key.endsWith("]")) {
        out[key.slice(prefix.length, -1)] = value;
        found = true;
      }
    }
    return found ? out : undefined;
  }
  if (p.shape === "object" && p.style === "form" && p.explode) {
    // Each property is a query parameter of its own.
    const out: Record<string, string> = {};
    let found = false;
    for (const [key, value] of query) {
      const mine = p.properties ? p.properties.includes(key) : !declared.has(key);
      if (mine && !(key in out)) {
        out[key] = value;
        found = true;
      }
    }
    return found ? out : undefined;
  }
  const all = query.getAll(p.name);
  if (all.length === 0) return undefined;
  if (p.json) return all[0];
  if (p.shape === "array" && p.style === "form" && p.explode) return all;
  // A scalar given twice stays a list, which its schema then refuses.
  if (all.length > 1) return all;
  const delimiter = p.style === "spaceDelimited" ? " " : p.style === "pipeDelimited" ? "|" : ",";
  return split(all[0], p.shape, delimiter, false);
}

function fromCookies(p: ParameterContract, cookies: [string, string][]): unknown {
  if (p.shape === "object" && p.explode && !p.json) {
    const out: Record<string, string> = {};
    let found = false;
    for (const [name, value] of cookies) {
      if (p.properties?.includes(name)) {
        out[name] = value;
        found = true;
      }
    }
    return found ? out : undefined;
  }
  const all = cookies.filter(([name]) => name === p.name).map(([, value]) => value);
  if (all.length === 0) return undefined;
  if (p.json) return all[0];
  if (p.shape === "array" && p.explode) return all;
  return split(all[0], p.shape, ",", false);
}

/** Name/value pairs of a `Cookie` header, values percent-decoded where they can be. */
export function parseCookies(header: string | null): [string, string][] {
  if (!header) return [];
  return header.split(";").flatMap((part) => {
    const eq = part.indexOf("=");
    if (eq < 0) return [];
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1);
    }
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded: kept as sent.
    }
    return [[part.slice(0, eq).trim(), value]];
  });
}

function parseJson(value: unknown): unknown {
  try {
    return JSON.parse(String(value));
  } catch {
    throw new Error("is not valid JSON");
  }
}
