/**
 * The Ajv instances that validate against one document: draft-04 rules for
 * OpenAPI 3.0 (`ajv-draft-04`, whose boolean `exclusiveMinimum` 3.0 uses),
 * 2020-12 for 3.1, the formats of JSON Schema and OpenAPI (`ajv-formats`),
 * the discriminator keyword, and the rewritten copy of every file of the
 * document registered by its file URL, so that `$ref`s resolve as written.
 * Instances and validators are made on first use.
 *
 * @module
 */

import type { Ajv, ErrorObject, Options, ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import ajvDraft04 from "ajv-draft-04";
import ajvFormats from "ajv-formats";
import type { Json, JsonObject } from "../json.ts";
import type { DocumentFiles } from "../refs.ts";
import { discriminatorKeyword } from "./discriminator.ts";
import { type Direction, transformFiles } from "./transform.ts";

const Ajv04 = ajvDraft04.default;
const addFormats = ajvFormats.default;

/**
 * Bodies up to this size that fail are validated a second time with
 * `allErrors`, to list what is wrong; larger ones report the first error
 * only. `allErrors` on a 1.2 MB body of bad items collected 90,000 errors
 * (10–25 ms); stopping at the first error keeps a huge invalid body as cheap
 * as a valid one.
 */
export const DETAIL_LIMIT = 64 * 1024;

/** How a piece of data is validated. */
export interface CheckOptions {
  /** Which copy of the document: `readOnly` is not required in requests, `writeOnly` not in replies. */
  view: Direction;
  /** Whether strings are coerced to the schema's types (parameters and form fields). */
  coerce: boolean;
  /**
   * Size of the data as received, in bytes: above {@link DETAIL_LIMIT}, only
   * the first error is reported. Omit for small data (parameters).
   */
  size?: number;
}

/** A schema to validate against: an absolute URI into the document, or a schema object of urocket's own. */
export type SchemaTarget = string | JsonObject;

/** Options of {@link SchemaSet}. */
export interface SchemaSetOptions {
  version: "3.0" | "3.1";
  files: DocumentFiles;
}

/** The Ajv side of one document. */
export class SchemaSet {
  /** The document's OpenAPI version: it picks the JSON Schema dialect. */
  readonly version: "3.0" | "3.1";
  #files: DocumentFiles;
  #views = new Map<Direction, Map<string, Json>>();
  #instances = new Map<string, Ajv>();
  #byUri = new Map<string, ValidateFunction>();
  #byObject = new Map<string, WeakMap<JsonObject, ValidateFunction>>();
  #meta: Ajv | undefined;

  constructor(options: SchemaSetOptions) {
    this.version = options.version;
    this.#files = options.files;
  }

  /**
   * Validates `data` against `target`; returns `null` when it is valid, else
   * Ajv's errors. Coercion changes `data` in place.
   */
  check(target: SchemaTarget, data: unknown, options: CheckOptions): ErrorObject[] | null {
    const small = options.size === undefined;
    const first = this.validator(target, { ...options, allErrors: small });
    if (first(data)) return null;
    if (small || options.size! > DETAIL_LIMIT) return [...(first.errors ?? [])];
    const all = this.validator(target, { ...options, allErrors: true });
    all(data);
    return [...(all.errors ?? first.errors ?? [])];
  }

  /** The compiled validator for `target`, compiled now if it is not yet. */
  validator(
    target: SchemaTarget,
    options: Omit<CheckOptions, "size"> & { allErrors: boolean },
  ): ValidateFunction {
    const key = `${options.view}/${options.coerce}/${options.allErrors}`;
    if (typeof target === "string") {
      const cacheKey = `${key} ${target}`;
      let fn = this.#byUri.get(cacheKey);
      if (!fn) {
        fn = this.#instance(key, options).getSchema(target);
        if (!fn) throw new Error(`Cannot resolve schema ${target}`);
        this.#byUri.set(cacheKey, fn);
      }
      return fn;
    }
    let cache = this.#byObject.get(key);
    if (!cache) this.#byObject.set(key, cache = new WeakMap());
    let fn = cache.get(target);
    if (!fn) {
      fn = this.#instance(key, options).compile(target);
      cache.set(target, fn);
    }
    return fn;
  }

  /** An instance for checking schemas themselves against the meta-schema, with every error. */
  get meta(): Ajv {
    return this.#meta ??= createAjv(this.version, { allErrors: true });
  }

  #instance(key: string, options: { view: Direction; coerce: boolean; allErrors: boolean }): Ajv {
    let ajv = this.#instances.get(key);
    if (ajv) return ajv;
    ajv = createAjv(this.version, {
      allErrors: options.allErrors,
      coerceTypes: options.coerce ? "array" : false,
      // The schemas were checked at start; Ajv need not check them again.
      validateSchema: false,
    });
    let view = this.#views.get(options.view);
    if (!view) {
      view = transformFiles(this.#files, { version: this.version, direction: options.view });
      this.#views.set(options.view, view);
    }
    for (const [url, root] of view) {
      if (typeof root === "object" && root !== null) ajv.addSchema(root as JsonObject, url);
    }
    this.#instances.set(key, ajv);
    return ajv;
  }
}

/**
 * A bare Ajv for the document's version with urocket's settings: not strict
 * (an OpenAPI document is not a schema, and unknown keywords such as
 * `example` are annotations), silent (urocket's logger is the only writer),
 * every format of JSON Schema and OpenAPI, the discriminator keyword.
 */
export function createAjv(version: "3.0" | "3.1", options: Options = {}): Ajv {
  const settings: Options = { strict: false, logger: false, ...options };
  const ajv = (version === "3.0" ? new Ajv04(settings) : new Ajv2020(settings)) as unknown as Ajv;
  addFormats(ajv);
  ajv.addKeyword(discriminatorKeyword());
  return ajv;
}
