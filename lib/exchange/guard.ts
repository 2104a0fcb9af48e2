/**
 * The front's side of security: runs an operation's guard on a request
 * before anything else of it is read, and turns a refusal into the answer
 * (401 with challenges, 403, 429, 503) and the access line's facts.
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import { HttpProblem } from "../http/mod.ts";
import { checkGuard, type Guard, type Identity, withoutCredentials } from "../security/mod.ts";
import type { AccessRecord } from "./exchange.ts";
import { type BodyLimits, readBody } from "./payload.ts";

/** AUTH_CLAIMS beyond this many bytes is left out (with a warning): it would crowd the environment. */
export const MAX_CLAIMS_BYTES = 8 * 1024;

/** What a guard let through, for the exchange. */
export interface Admitted {
  identity?: Identity;
  /** The token's claims as JSON, for AUTH_CLAIMS; absent when none or too large. */
  claims?: string;
  /** The body, when an HMAC scheme had to read it. */
  body?: Uint8Array<ArrayBuffer>;
  /** The raw query without the parameters that carry credentials. */
  queryString: string;
}

/** What {@link admit} needs of the request. */
export interface AdmitInput {
  request: Request;
  requestId: string;
  /** The raw query, without `?`. */
  query: string;
  /** The operation's body bounds, for a scheme that reads the body (HMAC). */
  bodyLimits: BodyLimits;
  record: AccessRecord;
  logger: Logger;
}

/**
 * Checks the request against `guard`; returns what passed, or throws the
 * {@link HttpProblem} the client gets. The detail says only whether
 * credentials were missing, invalid or short of a scope.
 */
export async function admit(guard: Guard, input: AdmitInput): Promise<Admitted> {
  const { request, record } = input;
  let body: Promise<Uint8Array<ArrayBuffer>> | undefined;
  const decision = await checkGuard(guard, {
    headers: request.headers,
    query: input.query,
    body: () => body ??= readBody(request, input.bodyLimits),
  });
  switch (decision.kind) {
    case "allowed": {
      const { identity } = decision;
      if (identity) {
        record.authScheme = identity.scheme;
        record.authSubject = identity.subject;
      }
      return {
        ...(identity ? { identity } : {}),
        ...claimsOf(identity, input),
        ...(body ? { body: await body } : {}),
        queryString: withoutCredentials(guard, input.query),
      };
    }
    case "unauthorized":
      record.outcome = "unauthorized";
      if (decision.errors.length > 0) record.authError = decision.errors.join(", ");
      throw new HttpProblem(
        "unauthorized",
        decision.reason === "missing" ? "Credentials are missing" : "Credentials are invalid",
        { headers: { "www-authenticate": decision.challenges.join(", ") } },
      );
    case "forbidden":
      record.outcome = "forbidden";
      record.authScheme = decision.identity.scheme;
      record.authSubject = decision.identity.subject;
      throw new HttpProblem("forbidden", "The credentials lack a scope this operation requires", {
        headers: { "www-authenticate": decision.challenges.join(", ") },
      });
    case "busy":
      record.outcome = "auth_busy";
      throw new HttpProblem("too_many_requests", "Too many password checks under way: retry", {
        headers: { "retry-after": "1" },
      });
    case "unavailable":
      record.outcome = "auth_unavailable";
      throw new HttpProblem(
        "unavailable",
        "The keys to verify credentials are not loaded yet: retry shortly",
        { headers: { "retry-after": "1" } },
      );
  }
}

function claimsOf(identity: Identity | undefined, input: AdmitInput): { claims?: string } {
  if (!identity?.claims) return {};
  const claims = JSON.stringify(identity.claims);
  const bytes = new TextEncoder().encode(claims).length;
  if (bytes <= MAX_CLAIMS_BYTES) return { claims };
  input.logger.warn("auth_claims_omitted", {
    req_id: input.requestId,
    bytes,
    message: `AUTH_CLAIMS is left out: the token's claims are over ${MAX_CLAIMS_BYTES} bytes`,
  });
  return {};
}
