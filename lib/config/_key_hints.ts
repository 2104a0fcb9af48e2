/**
 * What to say about a key the schema refused, so that a config error teaches
 * the file's shape: where an unknown key belongs when it is a key of another
 * level (a per-operation key written at the top level, say), else the known
 * key it is likely a typo of; and that a missing key is required.
 *
 * @module
 */

import { closest } from "../common/mod.ts";
import { ConfigSchema, HTTP_METHODS, OperationSchema } from "./schema.ts";
import { SchemeConfigSchema } from "./security.ts";

const TOP = Object.keys(ConfigSchema.shape);
const OPERATION = Object.keys(OperationSchema.shape);
const INJECT = Object.keys(OperationSchema.shape.inject.shape);
const LIMITS = ["memory", "cpu", "pids"];
const SCHEME = Object.keys(SchemeConfigSchema.shape);
const HMAC = Object.keys(SchemeConfigSchema.shape.hmac.unwrap().shape);
const METHODS: readonly string[] = HTTP_METHODS;

/** Where in the file a mapping sits. */
type Level = "top" | "path" | "operation" | "inject" | "limits" | "scheme" | "hmac" | "other";

function levelOf(path: readonly PropertyKey[]): Level {
  if (path.length === 0) return "top";
  if (path.length === 1 && path[0] === "limits") return "limits";
  if (path[0] === "security") {
    if (path.length === 2) return "scheme";
    if (path.length === 3 && path[2] === "hmac") return "hmac";
    return "other";
  }
  if (path[0] !== "paths") return "other";
  if (path.length === 2) return "path";
  if (path.length === 3) return "operation";
  if (path.length === 4 && path[3] === "inject") return "inject";
  if (path.length === 4 && path[3] === "limits") return "limits";
  return "other";
}

/** The keys a mapping at `path` may hold. */
export function knownKeysAt(path: readonly PropertyKey[]): string[] {
  return {
    top: TOP,
    path: [...METHODS],
    operation: OPERATION,
    inject: INJECT,
    limits: LIMITS,
    scheme: SCHEME,
    hmac: HMAC,
    other: [],
  }[levelOf(path)];
}

/** `paths./pets.get`, or a placeholder outside an operation. */
function operationPath(path: readonly PropertyKey[]): string {
  return path.length >= 3 ? path.slice(0, 3).map(String).join(".") : "paths.<path>.<method>";
}

/** Where `key`, unknown at `path`, belongs instead, when it is a key of another level. */
function belongsElsewhere(key: string, path: readonly PropertyKey[]): string | undefined {
  const op = operationPath(path);
  switch (levelOf(path)) {
    case "top":
      if (OPERATION.includes(key)) return `it is set per operation, as ${op}.${key}`;
      if (INJECT.includes(key)) return `it is set per operation, as ${op}.inject.${key}`;
      if (key.startsWith("/")) return `paths go under "paths", as paths.${key}`;
      if (METHODS.includes(key)) return `operations go under "paths", as paths.<path>.${key}`;
      return undefined;
    case "path":
      if (OPERATION.includes(key) || INJECT.includes(key)) {
        return `it is set per method, as ${path.map(String).join(".")}.<method>.${key}`;
      }
      return undefined;
    case "operation":
      if (INJECT.includes(key)) return `it goes under inject, as ${op}.inject.${key}`;
      if (TOP.includes(key)) return "it is set at the top level only";
      return undefined;
    case "inject":
      if (OPERATION.includes(key)) return `it goes beside inject, as ${op}.${key}`;
      if (TOP.includes(key)) return "it is set at the top level only";
      return undefined;
    default:
      return undefined;
  }
}

/** How a message names the mapping at `path`. */
const PLACE: Record<Level, string> = {
  top: "at the top level",
  path: "directly under a path",
  operation: "in an operation",
  inject: "under inject",
  limits: "under limits",
  scheme: "in a security scheme",
  hmac: "under hmac",
  other: "here",
};

/** The message for `key`, which the mapping at `path` does not take. */
export function unknownKeyMessage(key: string, path: readonly PropertyKey[]): string {
  const elsewhere = belongsElsewhere(key, path);
  if (elsewhere) {
    return `Key ${JSON.stringify(key)} does not belong ${PLACE[levelOf(path)]}: ${elsewhere}`;
  }
  const hint = closest(key, knownKeysAt(path));
  return `Unknown key ${JSON.stringify(key)}` + (hint ? `: did you mean "${hint}"?` : "");
}

/** What a required key holds, said when it is missing. */
const REQUIRED: Record<string, string> = {
  inject: "what to run, e.g. inject: { cmd: ./handler.sh }",
  cmd: "the program to run, a string such as ./handler.sh or a list of argv words",
};

/** The message for the required key at the end of `path`, which is missing. */
export function missingKeyMessage(path: readonly PropertyKey[]): string {
  const key = String(path.at(-1));
  const what = REQUIRED[key];
  return `Required key ${JSON.stringify(key)} is missing` + (what ? `: ${what}` : "");
}

/** Whether `path` names a key absent from a mapping that exists in `data`. */
export function isMissing(data: unknown, path: readonly PropertyKey[]): boolean {
  let node = data;
  for (const part of path.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return false;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return typeof node === "object" && node !== null && !Array.isArray(node) &&
    !Object.hasOwn(node, path.at(-1)!);
}
