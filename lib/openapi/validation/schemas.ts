/**
 * The Ajv instances that validate against one document: draft-04 rules for
 * OpenAPI 3.0 (`ajv-draft-04`, whose boolean `exclusiveMinimum` 3.0 uses),
 * 2020-12 for 3.1, the formats of JSON Schema and OpenAPI (`ajv-formats`),
 * urocket's keywords, and the rewritten copy of every file of the document
 * registered once by its file URL, so that `$ref`s resolve as written and
 * each component is compiled once, shared by every operation (and both
 * directions) that refers to it.
 *
 * @module
 */

import type { Ajv, ErrorObject, Options, ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import ajvDraft04 from "ajv-draft-04";
import ajvFormats from "ajv-formats";
import { resolveUrl } from "ajv/dist/compile/resolve.js";
import { isObject, type Json, type JsonObject } from "../json.ts";
import { type DocumentFiles, locationUri, refTarget, resolveLocation } from "../refs.ts";
import {
  type Direction,
  directionalRequiredKeyword,
  type ValidationContext,
} from "./directional.ts";
import { alternativesKeywords } from "./alternatives.ts";
import { type CaseResolver, discriminatorKeyword } from "./discriminator.ts";
import { transformFiles } from "./transform.ts";

const Ajv04 = ajvDraft04.default;
const addFormats = ajvFormats.default;

/**
 * Request bodies up to this size are validated with every error listed;
 * larger ones report the first error only, with validators compiled on the
 * first such body. `allErrors` on a 1.2 MB body of bad items collected
 * 90,000 errors (10–25 ms): stopping at the first error keeps a huge
 * invalid body from a client as cheap as a valid one. Replies come from
 * the operator's own processes and are always listed in full.
 */
export const DETAIL_LIMIT = 64 * 1024;

/** How a piece of data is validated. */
export interface CheckOptions {
  /** Which way: `readOnly` properties are not required in requests, `writeOnly` not in replies. */
  view: Direction;
  /** Whether strings are coerced to the schema's types (parameters and form fields). */
  coerce: boolean;
  /**
   * Size of a request body as received, in bytes: above {@link DETAIL_LIMIT},
   * only the first error is reported. Omit for parameters and replies.
   */
  size?: number;
}

/** Which compiled variant of a schema: coercing strings or not, listing every error or the first. */
export interface Variant {
  coerce: boolean;
  /** Every error (`allErrors`); `false` stops at the first. */
  detailed: boolean;
}

/** A schema to validate against: an absolute URI into the document, or a schema object of urocket's own. */
export type SchemaTarget = string | JsonObject;

/** Options of {@link SchemaSet}. */
export interface SchemaSetOptions {
  version: "3.0" | "3.1";
  files: DocumentFiles;
}

/**
 * What an Ajv instance needs to share compiled schemas: the subschemas its
 * keywords (the discriminator's cases) asked for, compiled after the schema
 * that holds them.
 */
interface Instance {
  ajv: Ajv;
  key: string;
  pending: Set<string>;
}

/** The part of Ajv's SchemaEnv (internal) that caches compiled `$ref` targets of one file. */
interface SchemaEnvRefs {
  refs: Record<string, { validate?: ValidateFunction } | undefined>;
}

/** The Ajv side of one document. */
export class SchemaSet {
  /** The document's OpenAPI version: it picks the JSON Schema dialect. */
  readonly version: "3.0" | "3.1";
  #files: DocumentFiles;
  #copy: Map<string, Json> | undefined;
  #instances = new Map<string, Instance>();
  #byUri = new Map<string, ValidateFunction>();
  #byContent = new Map<string, ValidateFunction>();
  #representatives = new Map<string, string>();
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
    const detailed = options.size === undefined || options.size <= DETAIL_LIMIT;
    const validate = this.validator(target, { coerce: options.coerce, detailed });
    const context: ValidationContext = { direction: options.view };
    if (validate.call(context, data)) return null;
    return [...(validate.errors ?? [])];
  }

  /**
   * The compiled validator for `target`, compiled now if it is not yet, with
   * every subschema it may dispatch to.
   *
   * @throws {Error} when Ajv cannot compile it.
   */
  validator(target: SchemaTarget, variant: Variant): ValidateFunction {
    const instance = this.#instance(variant);
    let fn: ValidateFunction | undefined;
    if (typeof target === "string") fn = this.#byLocation(instance, target);
    else {
      let cache = this.#byObject.get(instance.key);
      if (!cache) this.#byObject.set(instance.key, cache = new WeakMap());
      fn = cache.get(target);
      if (!fn) {
        // urocket's own schemas (an operation's parameters) hold absolute URIs only.
        const content = `${instance.key} ${contentKey(target)}`;
        fn = this.#byContent.get(content) ?? instance.ajv.compile(target);
        this.#byContent.set(content, fn);
        cache.set(target, fn);
      }
    }
    while (instance.pending.size > 0) {
      const [uri] = instance.pending;
      instance.pending.delete(uri);
      this.#byLocation(instance, uri);
    }
    return fn;
  }

  /**
   * The URI of the first schema met with the same content as the one at
   * `uri` (and the same file), `$ref`s followed: a schema of urocket's own
   * that refers to it there is compiled as often as that content is
   * distinct, not as often as it is written.
   */
  representative(uri: string): string {
    const { uri: target, value } = this.#followRefs(uri);
    const content = contentKey(value);
    if (content === undefined) return target;
    const key = `${target.slice(0, target.indexOf("#"))} ${content}`;
    let first = this.#representatives.get(key);
    if (first === undefined) this.#representatives.set(key, first = target);
    return first;
  }

  /** An instance for checking schemas themselves against the meta-schema, with every error. */
  get meta(): Ajv {
    return this.#meta ??= createAjv(this.version, { allErrors: true });
  }

  /**
   * The validator of the schema at `uri`, compiled once per instance however
   * it is reached. Ajv compiles a schema asked for by URI apart from the same
   * schema reached through `$ref`, and a URI whose schema is only a `$ref`
   * as that target again: on a document of 1,200 operations, each referring
   * to shared components, that compiled the same component up to eleven
   * times. So a chain of plain `$ref`s is followed here, and what either way
   * compiles is shared through the file's cache of `$ref` targets. Schemas
   * written out again and again (Microsoft Graph's 11,000 operations hold
   * 84,000 schemas, 2,300 of them distinct) are compiled once per file and
   * content, unless they hold an identifier (`$id`, `$anchor`), which makes
   * where they are matter.
   */
  #byLocation(instance: Instance, uri: string): ValidateFunction {
    const { uri: target, value } = this.#followRefs(uri);
    const key = `${instance.key} ${target}`;
    let fn = this.#byUri.get(key);
    if (fn) return fn;
    const content = contentKey(value);
    const byContent = content &&
      `${instance.key} ${target.slice(0, target.indexOf("#"))} ${content}`;
    fn = byContent ? this.#byContent.get(byContent) : undefined;
    if (fn) {
      this.#byUri.set(key, fn);
      return fn;
    }
    const url = target.slice(0, target.indexOf("#"));
    const fileEnv = (instance.ajv as unknown as { schemas: Record<string, SchemaEnvRefs> })
      .schemas[url];
    const ref = resolveUrl(instance.ajv.opts.uriResolver, url, target);
    fn = fileEnv?.refs[ref]?.validate ?? instance.ajv.getSchema(target);
    if (!fn) throw new Error(`Cannot resolve schema ${target}`);
    if (fn.schemaEnv) {
      if (fileEnv) fileEnv.refs[ref] ??= fn.schemaEnv;
      // Also where a schema of urocket's own (with a root of its own) finds its `$ref`s.
      (instance.ajv as unknown as { refs: Record<string, unknown> }).refs[ref] ??= fn.schemaEnv;
    }
    this.#byUri.set(key, fn);
    if (byContent) this.#byContent.set(byContent, fn);
    return fn;
  }

  /** Where a chain of objects that are only a `$ref` (in the copy Ajv sees) ends, and what is there. */
  #followRefs(uri: string): { uri: string; value: Json | undefined } {
    const copy = this.#copy ??= transformFiles(this.#files, { version: this.version });
    let current = uri;
    let value: Json | undefined;
    for (let hops = 0; hops < 32; hops++) {
      const hash = current.indexOf("#");
      const url = current.slice(0, hash);
      const found = resolveLocation(copy, {
        url,
        pointer: decodeURIComponent(current.slice(hash + 1)),
      });
      value = found?.value;
      if (!isObject(value) || Object.keys(value).length !== 1 || typeof value.$ref !== "string") {
        return { uri: current, value };
      }
      const next = refTarget(url, value.$ref);
      if (!next || !copy.has(next.url)) return { uri: current, value };
      current = locationUri(next);
    }
    return { uri: current, value: undefined };
  }

  #instance(variant: Variant): Instance {
    const key = `${variant.coerce}/${variant.detailed}`;
    let instance = this.#instances.get(key);
    if (instance) return instance;
    const pending = new Set<string>();
    const cases: CaseResolver = {
      want: (uri) => pending.add(uri),
      get: (uri) => this.#byLocation(instance!, uri),
    };
    const ajv = createAjv(this.version, {
      allErrors: variant.detailed,
      coerceTypes: variant.coerce ? "array" : false,
      // The schemas were checked at start; Ajv need not check them again.
      validateSchema: false,
      passContext: true,
      // Compiling every validator of a large document at start is most of its start-up:
      // Ajv's optimisation pass over the generated code took a third of it (Discord's document,
      // 242 operations: 2.5 s of CPU with it, 1.5 s without), and inlining referenced schemas
      // into each user, instead of calling the one compiled function, took more time and memory
      // (2.2 s, +25 MiB).
      code: { regExp: looseRegExp, optimize: false },
      inlineRefs: false,
    }, { alternatives: true, cases });
    this.#copy ??= transformFiles(this.#files, { version: this.version });
    for (const [url, root] of this.#copy) {
      if (typeof root === "object" && root !== null) ajv.addSchema(root as JsonObject, url);
    }
    instance = { ajv, key, pending };
    this.#instances.set(key, instance);
    return instance;
  }
}

/** Members that make a schema's place matter: they name it, or resolve against names. */
const IDENTIFIERS = new Set(["$id", "$anchor", "$dynamicAnchor", "$recursiveAnchor"]);

/**
 * Largest schema (as canonical JSON) compiled once per content: schemas
 * written out again and again are small (Graph's average 200 bytes); large
 * ones are components, reached by `$ref` and shared by URI already, and
 * keeping their text as a key would only cost memory.
 */
const MAX_CONTENT_KEY = 16 * 1024;

/**
 * A key equal for equal schemas (member order aside), or `undefined` when
 * the schema holds an identifier or is larger than {@link MAX_CONTENT_KEY}.
 */
function contentKey(value: Json | undefined): string | undefined {
  if (!isObject(value)) return undefined;
  let length = 0;
  const key = (node: Json): string | undefined => {
    if (length > MAX_CONTENT_KEY) return undefined;
    let text: string | undefined;
    if (Array.isArray(node)) {
      const items = node.map(key);
      text = items.includes(undefined) ? undefined : `[${items.join(",")}]`;
    } else if (!isObject(node)) {
      text = JSON.stringify(node);
      length += text.length;
    } else {
      const names = Object.keys(node).sort();
      if (names.some((name) => IDENTIFIERS.has(name))) return undefined;
      length += names.reduce((n, name) => n + name.length + 4, 2);
      const members = names.map((k) => {
        const member = key(node[k]);
        return member === undefined ? undefined : `${JSON.stringify(k)}:${member}`;
      });
      text = members.includes(undefined) ? undefined : `{${members.join(",")}}`;
    }
    return text;
  };
  const text = key(value);
  return text !== undefined && text.length <= MAX_CONTENT_KEY ? text : undefined;
}

/**
 * Ajv's regular expressions: with the `u` flag JSON Schema asks for, or,
 * for a pattern that is invalid with it (`\\-` or `\\:` in a class, which
 * every engine without the flag reads), without it — the pre-pass warned.
 */
const looseRegExp = Object.assign((pattern: string, flags: string): RegExp => {
  try {
    return new RegExp(pattern, flags);
  } catch (error) {
    if (!flags.includes("u")) throw error;
    return new RegExp(pattern, flags.replace("u", ""));
  }
}, { code: "looseRegExp" });

/**
 * A bare Ajv for the document's version with urocket's settings: not strict
 * (an OpenAPI document is not a schema, and unknown keywords such as
 * `example` are annotations), silent (urocket's logger is the only writer),
 * patterns compiled as {@link looseRegExp} does, every format of JSON Schema
 * and OpenAPI, the keywords `discriminator` and `readOnly`/`writeOnly` become.
 */
export function createAjv(
  version: "3.0" | "3.1",
  options: Options = {},
  { alternatives = false, cases }: { alternatives?: boolean; cases?: CaseResolver } = {},
): Ajv {
  const settings: Options = {
    strict: false,
    logger: false,
    code: { regExp: looseRegExp },
    ...options,
  };
  const ajv = (version === "3.0" ? new Ajv04(settings) : new Ajv2020(settings)) as unknown as Ajv;
  addFormats(ajv);
  ajv.addKeyword(discriminatorKeyword(cases));
  ajv.addKeyword(directionalRequiredKeyword());
  if (alternatives) {
    for (const definition of alternativesKeywords()) {
      ajv.removeKeyword(definition.keyword as string);
      ajv.addKeyword(definition);
    }
  }
  return ajv;
}
