/**
 * The start-up check of the schemas an enabled operation uses — cheap
 * enough to run on every start, so that a broken schema stops urocket with
 * the operation and the JSON pointer instead of failing the first request:
 * each schema, and each one its `$ref`s reach, is checked against the
 * meta-schema of the document's version, its `$ref`s must resolve without
 * leaving the machine, its patterns must compile, its discriminator mapping
 * must name schemas. Unknown formats and media types that cannot be
 * validated are warnings.
 *
 * @module
 */

import type { ErrorObject } from "ajv";
import { isObject, type Json, type JsonObject } from "../json.ts";
import {
  childPointer,
  type DocumentFiles,
  filePath,
  isRemote,
  type Location,
  locationUri,
  NAME_MAPS,
  refTarget,
  resolveLocation,
  walkObjects,
} from "../refs.ts";
import type { MediaContract, OperationContract } from "./contract.ts";
import { canValidate } from "./media.ts";
import type { SchemaSet } from "./schemas.ts";
import { isAnnotation, mappingRef } from "./transform.ts";

/** Something found at start, located by file and JSON pointer. */
export interface StartupProblem {
  /** Path of the file. */
  file: string;
  pointer: string;
  message: string;
}

/** Which directions of an operation are validated. */
export interface Enabled {
  in: boolean;
  out: boolean;
}

/** Most meta-schema errors reported for one schema. */
const MAX_META_ERRORS = 5;

/**
 * Checks schemas once each, however many operations use them; unknown
 * formats are reported once per document.
 */
export class SchemaChecker {
  #files: DocumentFiles;
  #schemas: SchemaSet;
  #checked = new Set<string>();
  #formats = new Set<string>();

  constructor(files: DocumentFiles, schemas: SchemaSet) {
    this.#files = files;
    this.#schemas = schemas;
  }

  /**
   * Checks what operation `name` validates. `problems` stop start-up;
   * `warnings` are said once.
   */
  checkOperation(
    contract: OperationContract,
    name: string,
    enabled: Enabled,
  ): { problems: StartupProblem[]; warnings: StartupProblem[] } {
    const problems: StartupProblem[] = [];
    const warnings: StartupProblem[] = [];
    const roots: Location[] = [];
    const unchecked = new Set<string>();
    const nullSchemas = new Set<string>();
    const media = (list: readonly MediaContract[]) => {
      for (const m of list) {
        if (m.schema) roots.push(m.schema);
        if (m.schema && !canValidate(m.mediaType)) unchecked.add(m.key);
        if (m.nullSchema) nullSchemas.add(m.key);
      }
    };
    if (enabled.in) {
      for (const p of contract.parameters) if (p.schema) roots.push(p.schema);
      media(contract.body?.content ?? []);
    }
    if (enabled.out) { for (const response of contract.responses) media(response.content ?? []); }
    for (const root of roots) this.#check(root, name, problems, warnings);
    if (unchecked.size > 0) {
      warnings.push({
        file: filePath(contract.location.url),
        pointer: contract.location.pointer,
        message: `${name}: bodies of type ${[...unchecked].join(", ")} cannot be validated ` +
          "and pass unchecked",
      });
    }
    if (nullSchemas.size > 0) {
      warnings.push({
        file: filePath(contract.location.url),
        pointer: contract.location.pointer,
        message: `${name}: the schema of ${[...nullSchemas].join(", ")} is null, which is no ` +
          "schema: those bodies pass unchecked",
      });
    }
    return { problems, warnings };
  }

  #check(
    root: Location,
    name: string,
    problems: StartupProblem[],
    warnings: StartupProblem[],
  ): void {
    const queue = [root];
    while (queue.length > 0) {
      const location = queue.pop()!;
      const uri = locationUri(location);
      if (this.#checked.has(uri)) continue;
      this.#checked.add(uri);
      const found = resolveLocation(this.#files, location);
      if (!found) continue;
      const file = filePath(location.url);
      const problem = (pointer: string, message: string) =>
        problems.push({ file, pointer, message: `${message} (in a schema ${name} validates)` });
      for (const error of this.#metaErrors(found.value)) {
        problem(location.pointer + error.pointer, `Invalid schema: ${error.message}`);
      }
      const follow = (ref: string, pointer: string) => {
        const target = refTarget(location.url, ref);
        if (!target) {
          problem(pointer, `$ref ${JSON.stringify(ref)} is not a valid URI reference`);
        } else if (isRemote(target.url)) {
          problem(
            pointer,
            `$ref ${JSON.stringify(ref)} is on another host, which urocket never fetches: ` +
              "save it next to the document and refer to the file",
          );
        } else if (!resolveLocation(this.#files, target)) {
          problem(pointer, `$ref ${JSON.stringify(ref)} does not resolve`);
        } else {
          queue.push(target);
        }
      };
      walkObjects(found.value, location.pointer, (node, pointer) => {
        if (typeof node.$ref === "string") follow(node.$ref, childPointer(pointer, "$ref"));
        for (const found of patternFindings(node, pointer)) {
          if (found.problem) problem(found.pointer, found.message);
          else warnings.push({ file, pointer: found.pointer, message: found.message });
        }
        if (typeof node.format === "string" && !this.#knownFormat(node.format)) {
          if (!this.#formats.has(node.format)) {
            this.#formats.add(node.format);
            warnings.push({
              file,
              pointer: childPointer(pointer, "format"),
              message: `Format ${JSON.stringify(node.format)} is unknown to urocket: ` +
                "values are not checked against it",
            });
          }
        }
        const discriminator = node.discriminator;
        if (isObject(discriminator) && isObject(discriminator.mapping)) {
          for (const [value, named] of Object.entries(discriminator.mapping)) {
            if (typeof named !== "string") continue;
            const target = refTarget(location.url, mappingRef(named));
            if (target && !isRemote(target.url) && resolveLocation(this.#files, target)) {
              queue.push(target);
              continue;
            }
            // A hint, which many engines ignore: a broken one is set aside, not fatal.
            warnings.push({
              file,
              pointer: childPointer(
                childPointer(childPointer(pointer, "discriminator"), "mapping"),
                value,
              ),
              message: `Discriminator mapping ${JSON.stringify(value)} names ` +
                `${JSON.stringify(named)}, which does not resolve: the discriminator is set ` +
                "aside and its schemas are tried as if it were not there",
            });
          }
        }
      });
    }
  }

  #knownFormat(format: string): boolean {
    return format in this.#schemas.meta.formats;
  }

  #metaErrors(schema: Json): { pointer: string; message: string }[] {
    if (!isObject(schema) && typeof schema !== "boolean") {
      return [{ pointer: "", message: "must be an object (or a boolean in 3.1)" }];
    }
    // A $schema naming another dialect is not ours to load; the document's version decides.
    const value = isObject(schema) && "$schema" in schema
      ? Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema"))
      : schema;
    const meta = this.#schemas.meta;
    if (meta.validateSchema(value as Record<string, unknown>)) return [];
    const version = this.#schemas.version;
    return (meta.errors ?? [])
      .filter((e) => !isTolerated(e) && !inAnnotation(e.instancePath, version))
      .filter((e) => !["anyOf", "oneOf", "if"].includes(e.keyword))
      // Alternatives of the meta-schema fail together: one message per place is enough.
      .filter((e, i, all) => all.findIndex((o) => o.instancePath === e.instancePath) === i)
      .slice(0, MAX_META_ERRORS)
      .map((e) => ({ pointer: e.instancePath, message: e.message ?? e.keyword }));
  }
}

/**
 * Meta-schema errors of looseness that real documents show and other
 * engines accept, which the copy Ajv validates with repairs (see
 * transform.ts): `required: []` (draft-04 alone refuses it), a name listed
 * twice in `required`, an empty `enum` (matches nothing) or one listing a
 * value twice.
 */
function isTolerated(error: ErrorObject): boolean {
  const member = error.instancePath.slice(error.instancePath.lastIndexOf("/") + 1);
  return (member === "required" || member === "enum") &&
    (error.keyword === "minItems" || error.keyword === "uniqueItems");
}

/**
 * Whether a meta-schema error is inside what transform.ts leaves out of what
 * Ajv compiles (documentation, examples, extensions and, in 3.0, `id`): a
 * member of that name, unless it is the name of a property.
 */
function inAnnotation(instancePath: string, version: "3.0" | "3.1"): boolean {
  const tokens = instancePath.split("/").slice(1).map((t) =>
    t.replaceAll("~1", "/").replaceAll("~0", "~")
  );
  return tokens.some((token, i) =>
    isAnnotation(token, version) && !(i > 0 && NAME_MAPS.has(tokens[i - 1]))
  );
}

/** A pattern that cannot compile (`problem`) or compiles only without the u flag. */
interface PatternFinding {
  problem: boolean;
  pointer: string;
  message: string;
}

/** What the patterns of one schema object give: problems (they cannot compile) or warnings. */
function patternFindings(node: JsonObject, pointer: string): PatternFinding[] {
  const patterns = [
    ...(typeof node.pattern === "string" ? [[node.pattern, "pattern"]] : []),
    ...(isObject(node.patternProperties)
      ? Object.keys(node.patternProperties).map((p) => [p, "patternProperties"])
      : []),
  ];
  return patterns.flatMap(([pattern, key]): PatternFinding[] => {
    const compiled = compilePattern(pattern);
    const at = childPointer(pointer, key);
    if (compiled.error) {
      return [{
        problem: true,
        pointer: at,
        message: `Invalid pattern ${JSON.stringify(pattern)}: ${compiled.error}`,
      }];
    }
    if (compiled.unicode) return [];
    return [{
      problem: false,
      pointer: at,
      message: `Pattern ${JSON.stringify(pattern)} is not valid with the u (Unicode) flag JSON ` +
        "Schema asks for: it is used without it, as ECMAScript engines without that flag read it",
    }];
  });
}

/**
 * Compiles `pattern` as JSON Schema asks (with the `u` flag) or, failing
 * that, as ECMAScript engines without it read it; `error` when neither can.
 */
export function compilePattern(pattern: string): { unicode: boolean; error?: string } {
  try {
    new RegExp(pattern, "u");
    return { unicode: true };
  } catch (error) {
    try {
      new RegExp(pattern);
      return { unicode: false };
    } catch {
      return { unicode: false, error: (error as Error).message };
    }
  }
}
