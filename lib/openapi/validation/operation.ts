/**
 * Validating one operation's requests and replies against its contract:
 * parameters, media type and body on the way in; status, media type and body
 * on the way out. Validation is a gate: what passes reaches the process, or
 * the client, exactly as it was sent.
 *
 * @module
 */

import type { JsonObject } from "../json.ts";
import { locationUri } from "../refs.ts";
import { checkContent } from "./content.ts";
import type {
  MediaContract,
  OperationContract,
  ParameterIn,
  ResponseContract,
} from "./contract.ts";
import {
  errorsDetail,
  fromAjvErrors,
  locateParameterErrors,
  MAX_ERRORS,
  type ValidationError,
} from "./errors.ts";
import { isFormType, isJsonType, isRange, mediaTypeOf, selectMedia } from "./media.ts";
import { readParameters } from "./parameters.ts";
import type { Enabled } from "./prepass.ts";
import type { SchemaSet, SchemaTarget } from "./schemas.ts";

/** The parts of a request that are validated. */
export interface RequestInput {
  /** Path parameters as routed, percent-decoded. */
  params: Record<string, string>;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

/** The parts of a reply that are validated. */
export interface ReplyInput {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** The outcome of a check: `errors` is at most {@link MAX_ERRORS} long, `total` counts them all. */
export type Verdict =
  | { ok: true }
  | {
    ok: false;
    /** `unsupported_media_type` for a body whose type the operation does not declare. */
    kind: "bad_request" | "unsupported_media_type";
    detail: string;
    errors: ValidationError[];
    total: number;
  };

/** Validates the requests and replies of one operation. */
export class OperationValidator {
  /** What the operation promises. */
  readonly contract: OperationContract;
  #schemas: SchemaSet;
  #parameters: JsonObject | undefined;

  constructor(contract: OperationContract, schemas: SchemaSet) {
    this.contract = contract;
    this.#schemas = schemas;
    this.#parameters = parameterSchema(contract, (uri) => schemas.representative(uri));
  }

  /** Checks a request before anything is spawned. */
  checkRequest(input: RequestInput): Verdict {
    const declared = this.contract.body;
    const contentType = input.headers.get("content-type");
    let media: MediaContract | undefined;
    let mediaType = "";
    if (input.body.length > 0 && !(declared && declared.content.length === 0)) {
      mediaType = contentType === null ? "" : mediaTypeOf(contentType);
      media = declared && selectMedia(declared.content, mediaType);
      if (!media) {
        const error: ValidationError = declared
          ? {
            in: "header",
            pointer: "/content-type",
            message: `${
              contentType === null ? "is missing" : `${JSON.stringify(mediaType)} is not accepted`
            }: expected ${declared.content.map((m) => m.key).join(", ")}`,
          }
          : { in: "body", pointer: "", message: "must be empty: the operation takes no body" };
        return {
          ok: false,
          kind: "unsupported_media_type",
          detail: declared
            ? `The request's Content-Type is not one this operation accepts: ${
              declared.content.map((m) => m.key).join(", ")
            }`
            : "This operation takes no request body",
          errors: [error],
          total: 1,
        };
      }
    }
    const errors: ValidationError[] = [];
    if (this.#parameters) {
      const read = readParameters(this.contract.parameters, {
        path: input.params,
        query: input.url.searchParams,
        headers: input.headers,
      });
      errors.push(...read.errors);
      const found = this.#schemas.check(this.#parameters, read.values, {
        view: "request",
        coerce: true,
      });
      if (found) {
        const unread = new Set(read.errors.map((e) => `${e.in}${e.pointer}`));
        errors.push(
          ...locateParameterErrors(fromAjvErrors(found, "query")).filter((e) =>
            !unread.has(`${e.in}${e.pointer}`)
          ),
        );
      }
    }
    if (input.body.length === 0) {
      if (declared?.required) errors.push({ in: "body", pointer: "", message: "is required" });
    } else if (media) {
      errors.push(...checkContent(input.body, mediaType, media, this.#schemas, "request"));
    }
    if (errors.length === 0) return { ok: true };
    return {
      ok: false,
      kind: "bad_request",
      detail: errorsDetail("The request", errors.length),
      errors: errors.slice(0, MAX_ERRORS),
      total: errors.length,
    };
  }

  /**
   * Checks a reply before the client sees it: its status must be declared
   * (exactly, as a `2XX`-style range, or by `default`), its media type
   * declared for that response, its body valid.
   */
  checkReply(input: ReplyInput): Verdict {
    const errors = this.#replyErrors(input);
    if (errors.length === 0) return { ok: true };
    return {
      ok: false,
      kind: "bad_request",
      detail: errorsDetail("The reply", errors.length),
      errors: errors.slice(0, MAX_ERRORS),
      total: errors.length,
    };
  }

  #replyErrors({ status, headers, body }: ReplyInput): ValidationError[] {
    const response = selectResponse(this.contract.responses, status);
    if (!response) {
      const keys = this.contract.responses.map((r) => r.key).join(", ") || "none";
      return [{
        in: "status",
        pointer: "",
        message: `${status} is not a declared response (declared: ${keys})`,
      }];
    }
    const content = response.content ?? [];
    // HTTP gives 204 and 304 no body, whatever content a document declares for them (some do).
    if (content.length === 0 || status === 204 || status === 304) {
      return body.length === 0 ? [] : [{
        in: "body",
        pointer: "",
        message: content.length === 0
          ? `must be empty: the ${response.key} response declares no content`
          : `must be empty: a ${status} reply has no body`,
      }];
    }
    const contentType = headers.get("content-type");
    const mediaType = contentType === null ? "" : mediaTypeOf(contentType);
    const media = selectMedia(content, mediaType);
    const declared = content.map((m) => m.key).join(", ");
    if (!media) {
      return [{
        in: "header",
        pointer: "/content-type",
        message: `${JSON.stringify(mediaType)} is not declared for the ${response.key} response ` +
          `(declared: ${declared})`,
      }];
    }
    if (body.length === 0) {
      return [{
        in: "body",
        pointer: "",
        message: `is empty: the ${response.key} response declares ${declared}`,
      }];
    }
    return checkContent(body, mediaType, media, this.#schemas, "response");
  }

  /**
   * Compiles every validator the enabled checks use, so that no request
   * pays for it: the parameters, each JSON or form body, each JSON reply.
   * Request bodies over `DETAIL_LIMIT` use a variant that stops at the
   * first error, compiled on the first such body.
   *
   * @throws {Error} when Ajv cannot compile a schema.
   */
  compile(directions: Enabled): void {
    const compile = (target: SchemaTarget, coerce: boolean) =>
      this.#schemas.validator(target, { coerce, detailed: true });
    if (directions.in && this.#parameters) {
      // Their schemas first, each compiled once however many operations share it.
      for (const group of Object.values(this.#parameters.properties as JsonObject)) {
        for (const schema of Object.values((group as JsonObject).properties as JsonObject)) {
          const ref = (schema as JsonObject).$ref;
          if (typeof ref === "string") compile(ref, true);
        }
      }
      compile(this.#parameters, true);
    }
    if (directions.in) {
      for (const media of this.contract.body?.content ?? []) {
        if (!media.schema) continue;
        const uri = locationUri(media.schema);
        if (isJsonType(media.mediaType) || isRange(media.mediaType)) compile(uri, false);
        if (isFormType(media.mediaType) || isRange(media.mediaType)) compile(uri, true);
      }
    }
    if (directions.out) {
      for (const response of this.contract.responses) {
        for (const media of response.content ?? []) {
          if (media.schema && (isJsonType(media.mediaType) || isRange(media.mediaType))) {
            compile(locationUri(media.schema), false);
          }
        }
      }
    }
  }
}

/** The response declared for `status`: exact code, then `2XX`-style range, then `default`. */
export function selectResponse(
  responses: readonly ResponseContract[],
  status: number,
): ResponseContract | undefined {
  const range = `${Math.floor(status / 100)}XX`;
  return responses.find((r) => r.key === String(status)) ??
    responses.find((r) => r.key.toUpperCase() === range) ??
    responses.find((r) => r.key === "default");
}

/**
 * One schema for all parameters, `{ path, query, header, cookie }`, each
 * parameter's schema referred to where it is written.
 */
function parameterSchema(
  contract: OperationContract,
  representative: (uri: string) => string,
): JsonObject | undefined {
  if (contract.parameters.length === 0) return undefined;
  const groups: Record<ParameterIn, { properties: JsonObject; required: string[] }> = {
    path: { properties: {}, required: [] },
    query: { properties: {}, required: [] },
    header: { properties: {}, required: [] },
    cookie: { properties: {}, required: [] },
  };
  for (const p of contract.parameters) {
    groups[p.in].properties[p.name] = p.schema
      ? { $ref: representative(locationUri(p.schema)) }
      : {};
    if (p.required) groups[p.in].required.push(p.name);
  }
  const properties: JsonObject = {};
  for (const [name, group] of Object.entries(groups)) {
    properties[name] = {
      type: "object",
      properties: group.properties,
      ...(group.required.length > 0 ? { required: group.required } : {}),
    };
  }
  return { type: "object", properties };
}
