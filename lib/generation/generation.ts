/**
 * A generation is one loaded configuration: the config file, its OpenAPI
 * document, and the operations that bind them, with the router built over
 * them. A reload produces a new generation; requests keep the one they
 * started with.
 *
 * @module
 */

import { CompileGarbage } from "./_compile_garbage.ts";
import {
  absolutePath,
  ConfigError,
  inspectConfig,
  type LoadOptions,
  type OperationConfig,
  pathParamEnvName,
  type Problem,
  readConfigFile,
  type ServiceConfig,
} from "../config/mod.ts";
import { docsProblems } from "../docs/mod.ts";
import {
  DocumentError,
  type DocumentOperation,
  loadDocument,
  type OpenApiDocument,
  responseMediaTypes,
  Router,
} from "../openapi/mod.ts";
import type { OperationValidator } from "../openapi/validation/mod.ts";
import { type Guard, prepareSecurity, type SecurityRuntime } from "../security/mod.ts";

/** A configured operation bound to its OpenAPI operation. */
export interface Operation {
  /** `operationId` when the document gives one, else `METHOD /path`. */
  name: string;
  /** `METHOD /path`: unique within a document. */
  key: string;
  config: OperationConfig;
  document: DocumentOperation;
  /**
   * Content type of a reply that names none: the operation's single declared
   * response media type, else `application/octet-stream`.
   */
  defaultContentType: string;
  /** Checks requests and replies against the document; set when `validate-in` or `validate-out` is. */
  validator?: OperationValidator;
  /** Who may call it, when its document requires anything (see lib/security/). */
  guard?: Guard;
}

/** One loaded configuration. */
export interface Generation {
  config: ServiceConfig;
  document: OpenApiDocument;
  /** Routes every document operation; `null` marks one without config (501). */
  router: Router<Operation | null>;
  operations: Operation[];
  /**
   * The prefix of every route, `""` for none: `base-path` when set, else the
   * path of the document's `servers[0].url`.
   */
  basePath: string;
  /** Document operations without config, as `METHOD /path`: they answer 501. */
  unwired: string[];
  /** Distinct outtake path templates. */
  outtakes: string[];
  /** Things said once at start that do not stop it. */
  warnings: Problem[];
  /** The remote key sets, and what guards each operation (`urocket check` shows it). */
  security: { runtime: SecurityRuntime; summaries: Map<string, string> };
}

/** Most operations without config one line names; past that, it gives their number only. */
const UNWIRED_NAMED = 10;

/**
 * One line about the document operations without config, however many: a
 * large public document may have hundreds, and one warning each would bury
 * everything else. Past {@link UNWIRED_NAMED} it names none:
 * `urocket check --verbose` lists them.
 */
export function unwiredSummary(unwired: readonly string[]): string {
  const n = unwired.length;
  const head = unwiredCount(n);
  return n <= UNWIRED_NAMED
    ? `${head}: ${unwired.join(", ")}`
    : `${head} (urocket check --verbose lists them)`;
}

/** `3 operations without config answer 501`. */
export function unwiredCount(n: number): string {
  return `${n} operation${n === 1 ? "" : "s"} without config answer${n === 1 ? "s" : ""} 501`;
}

/**
 * The refusal of a document whose nesting ran the walks and the schema
 * compiler out of call stack (a RangeError), with the problems found before.
 */
function tooDeep(problems: Problem[], file: string): ConfigError {
  return new ConfigError([...problems, {
    file,
    key: "",
    message: "The OpenAPI document, or a file it refers to, is nested too deeply to be checked " +
      "(the call stack ran out): move deep parts to components and refer to them with $ref",
  }]);
}

/** V8's RangeError for a call stack that ran out, not any RangeError (a bug must show as one). */
function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/**
 * Loads the config file at `file` and the OpenAPI document it names, and
 * binds them.
 *
 * @throws {ConfigError} listing every problem of both files.
 */
export async function loadGeneration(file: string, options: LoadOptions): Promise<Generation> {
  const configFile = absolutePath(file, Deno.cwd());
  const text = await readConfigFile(configFile);
  const { config, problems } = await inspectConfig(text, { ...options, file: configFile });
  const document = await readDocument(config, problems);
  const operations = bindOperations(config, document, problems);
  const warnings = [...config.warnings];
  try {
    await validateOperations(document, operations, problems, warnings);
  } catch (error) {
    if (isStackOverflow(error)) throw tooDeep(problems, config.openapi);
    throw error;
  }
  const security = await prepareSecurity(document, operations, config);
  problems.push(...security.problems);
  warnings.push(...security.warnings);
  for (const op of operations) op.guard = security.guards.get(op.key);
  if (problems.length > 0) throw new ConfigError(problems);
  const configured = new Map(
    operations.map((op) => [`${op.document.method} ${op.document.path}`, op]),
  );
  if (config.basePath === undefined && document.basePathNote) {
    warnings.push({ file: document.file, key: "/servers/0/url", message: document.basePathNote });
  }
  const basePath = config.basePath ?? document.basePath;
  const router = new Router<Operation | null>(
    basePath,
    document.operations.map((docOp) => ({
      path: docOp.path,
      method: docOp.method,
      value: configured.get(`${docOp.method} ${docOp.path}`) ?? null,
    })),
  );
  const docsClash = docsProblems(config.docs, config.file, router);
  if (docsClash.length > 0) throw new ConfigError(docsClash);
  return {
    config,
    document,
    router,
    operations,
    basePath,
    unwired: document.operations
      .filter((docOp) => !configured.has(`${docOp.method} ${docOp.path}`))
      .map((docOp) => `${docOp.method.toUpperCase()} ${docOp.path}`),
    outtakes: [...new Set(operations.map((op) => op.config.outtake))],
    warnings,
    security: { runtime: security.runtime, summaries: security.summaries },
  };
}

/**
 * The OpenAPI document `config` names.
 *
 * @throws {ConfigError} with the config's `problems` and the document's.
 */
async function readDocument(config: ServiceConfig, problems: Problem[]): Promise<OpenApiDocument> {
  try {
    return await loadDocument(config.openapi);
  } catch (error) {
    if (isStackOverflow(error)) throw tooDeep(problems, config.openapi);
    if (!(error instanceof DocumentError)) throw error;
    throw new ConfigError([
      ...problems,
      ...error.problems.map((p) => ({
        file: p.file ?? error.file,
        line: p.line,
        key: p.pointer,
        message: p.message,
      })),
    ]);
  }
}

/**
 * Each configured operation bound to the document's: one the document does
 * not have, or whose path parameters would share a variable, is a problem.
 */
function bindOperations(
  config: ServiceConfig,
  document: OpenApiDocument,
  problems: Problem[],
): Operation[] {
  const byKey = new Map(document.operations.map((op) => [`${op.method} ${op.path}`, op]));
  const operations: Operation[] = [];
  for (const op of config.operations) {
    const docOp = byKey.get(`${op.method} ${op.path}`);
    if (!docOp) {
      problems.push({
        file: config.file,
        line: op.line,
        key: `paths.${op.path}.${op.method}`,
        message: `${op.method.toUpperCase()} ${op.path} is not an operation of ${document.file}` +
          suggestPath(op.path, document.operations),
      });
      continue;
    }
    const clash = clashingPathParams(op.path);
    if (clash) {
      problems.push({
        file: config.file,
        line: op.line,
        key: `paths.${op.path}.${op.method}`,
        message: `Path parameters {${clash[0]}} and {${clash[1]}} would both become ` +
          `${pathParamEnvName(clash[0])}: rename one of them in the OpenAPI document`,
      });
      continue;
    }
    const key = `${op.method.toUpperCase()} ${op.path}`;
    operations.push({
      name: docOp.operationId ?? key,
      key,
      config: op,
      document: docOp,
      defaultContentType: soleMediaType(document, docOp),
    });
  }
  return operations;
}

/**
 * The validation pre-pass: every schema an operation with `validate-in` or
 * `validate-out` uses is checked now (a broken one is a problem naming the
 * operation and the JSON pointer), then every validator is compiled, so
 * that `check`, start and reload refuse alike what Ajv cannot compile and
 * no request pays for compiling. Compiling yields to the event loop now and
 * then, so that a reload does not hold up the requests being served.
 * Ajv is loaded only when an operation validates (measured: 2–3 MiB of
 * resident memory and 10–20 ms of start-up less without it).
 */
async function validateOperations(
  document: OpenApiDocument,
  operations: Operation[],
  problems: Problem[],
  warnings: Problem[],
): Promise<void> {
  const validating = operations.filter((op) => op.config.validateIn || op.config.validateOut);
  if (validating.length === 0) return;
  const { DocumentValidation } = await import("../openapi/validation/mod.ts");
  const validation = new DocumentValidation(document);
  const garbage = new CompileGarbage();
  const broken = new Set<Operation>();
  for (const op of validating) {
    const enabled = { in: op.config.validateIn, out: op.config.validateOut };
    const prepared = validation.prepare({ pointer: op.document.pointer, name: op.name }, enabled);
    op.validator = prepared.validator;
    if (prepared.problems.length > 0) broken.add(op);
    for (const p of prepared.problems) {
      problems.push({ file: p.file, key: p.pointer, message: p.message });
    }
    for (const w of prepared.warnings) {
      warnings.push({ file: w.file, key: w.pointer, message: w.message });
    }
  }
  let slice = performance.now();
  for (const op of validating) {
    if (broken.has(op)) continue;
    try {
      op.validator!.compile({ in: op.config.validateIn, out: op.config.validateOut });
    } catch (error) {
      problems.push({
        file: document.file,
        key: op.document.pointer,
        message: `${op.key}: its schemas cannot be compiled for validation: ${
          isStackOverflow(error)
            ? "they are nested too deeply for the compiler (the call stack ran out): move " +
              "deep parts to components and refer to them with $ref"
            : (error as Error).message
        }`,
      });
    }
    if (performance.now() - slice > COMPILE_SLICE_MS) {
      garbage.check();
      await new Promise((resolve) => setTimeout(resolve, 0));
      slice = performance.now();
    }
  }
  garbage.done();
}

/** Longest stretch of compiling between two turns of the event loop. */
const COMPILE_SLICE_MS = 20;

function suggestPath(path: string, operations: DocumentOperation[]): string {
  const paths = [...new Set(operations.map((op) => op.path))];
  if (paths.includes(path)) {
    const methods = operations.filter((op) => op.path === path).map((op) => op.method);
    return ` (it declares ${methods.join(", ")})`;
  }
  const near = paths.find((p) =>
    p.toLowerCase() === path.toLowerCase() || p === path + "/" || p + "/" === path
  );
  return near ? `: did you mean "${near}"?` : "";
}

/**
 * Two parameters of one path template that become the same variable
 * (`{pet-id}` and `{pet_id}`, `{id}` and `{ID}`): either could set it.
 */
function clashingPathParams(path: string): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const [, name] of path.matchAll(/\{([^}]*)\}/g)) {
    const variable = pathParamEnvName(name);
    const other = seen.get(variable);
    if (other !== undefined) return [other, name];
    seen.set(variable, name);
  }
  return undefined;
}

function soleMediaType(document: OpenApiDocument, operation: DocumentOperation): string {
  const types = responseMediaTypes(document.files, operation);
  return types.size === 1 ? [...types][0] : "application/octet-stream";
}
