/**
 * Validation of requests and replies against the OpenAPI document (3.0 and
 * 3.1) with Ajv: one {@link DocumentValidation} per loaded document, one
 * {@link OperationValidator} per operation that has `validate-in` or
 * `validate-out`.
 *
 * @module
 */

import type { DocumentFiles } from "../refs.ts";
import { describeOperation } from "./contract.ts";
import { OperationValidator } from "./operation.ts";
import { type Enabled, SchemaChecker, type StartupProblem } from "./prepass.ts";
import { SchemaSet } from "./schemas.ts";

export { type ErrorLocation, MAX_ERRORS, type ValidationError } from "./errors.ts";
export {
  OperationValidator,
  type ReplyInput,
  type RequestInput,
  type Verdict,
} from "./operation.ts";
export type { Enabled, StartupProblem } from "./prepass.ts";

/** The document as validation needs it. */
export interface ValidatedDocument {
  version: "3.0" | "3.1";
  /** The document's URL. */
  url: string;
  /** The document and the files its `$ref`s name. */
  files: DocumentFiles;
}

/** What preparing an operation found. */
export interface PreparedOperation {
  validator: OperationValidator;
  /** Broken schemas: start-up stops. */
  problems: StartupProblem[];
  /** Said once at start. */
  warnings: StartupProblem[];
}

/**
 * Validation for one document: the Ajv side is shared by its operations,
 * every schema is checked once at start however many operations use it,
 * and compiled once however many operations (and directions) use it.
 *
 * @example
 * ```ts
 * import type { OpenApiDocument } from "../mod.ts";
 *
 * declare const document: OpenApiDocument;
 * declare const request: Request;
 * const [url, headers] = [new URL(request.url), request.headers];
 * const body = new Uint8Array(await request.arrayBuffer());
 * const validation = new DocumentValidation(document);
 * const { validator, problems } = validation.prepare(
 *   { pointer: "/paths/~1pets/post", name: "addPet" },
 *   { in: true, out: false },
 * );
 * validator.compile({ in: true, out: false }); // at start: throws what Ajv cannot compile
 * validator.checkRequest({ params: {}, url, headers, body }); // { ok: true } or the errors
 * ```
 */
export class DocumentValidation {
  #document: ValidatedDocument;
  #schemas: SchemaSet;
  #checker: SchemaChecker;

  constructor(document: ValidatedDocument) {
    this.#document = document;
    this.#schemas = new SchemaSet({ version: document.version, files: document.files });
    this.#checker = new SchemaChecker(document.files, this.#schemas);
  }

  /**
   * Reads the operation at `pointer`, checks the schemas it validates in the
   * enabled directions, and returns its validator: `compile()` it before
   * serving (what is not compiled then is compiled on first use).
   */
  prepare(operation: { pointer: string; name: string }, enabled: Enabled): PreparedOperation {
    const contract = describeOperation(this.#document.files, this.#document.url, operation.pointer);
    const { problems, warnings } = this.#checker.checkOperation(contract, operation.name, enabled);
    return { validator: new OperationValidator(contract, this.#schemas), problems, warnings };
  }
}
