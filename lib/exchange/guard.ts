/**
 * The exchange's first step when an operation has security: runs its guard
 * on the request before anything else of it is read, and turns a refusal
 * into the answer (401 with challenges, 403, 429, 503) and the access
 * line's facts.
 *
 * @module
 */

import { HttpProblem } from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import { checkGuard, type Guard, type Identity, withoutCredentials } from "../security/mod.ts";
import { type AuthFacts, Refusal } from "./outcome.ts";
import { type BodyLimits, readBody } from "./request_body.ts";

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

/** What {@link checkCaller} needs of the request. */
export interface CallerInput {
  request: Request;
  requestId: string;
  /** The raw query, without `?`. */
  query: string;
  /** The operation's body bounds, for a scheme that reads the body (HMAC). */
  bodyLimits: BodyLimits;
  logger: Logger;
}

/**
 * Checks the request against `guard`; returns what passed, or throws the
 * {@link Refusal} that ends the exchange. The detail the client gets says
 * only whether credentials were missing, invalid or short of a scope.
 */
export async function checkCaller(guard: Guard, input: CallerInput): Promise<Admitted> {
  const { request } = input;
  let body: Promise<Uint8Array<ArrayBuffer>> | undefined;
  const decision = await checkGuard(guard, {
    headers: request.headers,
    query: input.query,
    body: () => body ??= readBody(request, input.bodyLimits),
  });
  switch (decision.kind) {
    case "allowed": {
      const { identity } = decision;
      return {
        ...(identity ? { identity } : {}),
        ...claimsOf(identity, input),
        ...(body ? { body: await body } : {}),
        queryString: withoutCredentials(guard, input.query),
      };
    }
    case "unauthorized":
      throw new Refusal(
        "unauthorized",
        new HttpProblem(
          "unauthorized",
          decision.reason === "missing" ? "Credentials are missing" : "Credentials are invalid",
          { headers: { "www-authenticate": decision.challenges.join(", ") } },
        ),
        decision.errors.length > 0 ? { auth: { error: decision.errors.join(", ") } } : {},
      );
    case "forbidden":
      throw new Refusal(
        "forbidden",
        new HttpProblem("forbidden", "The credentials lack a scope this operation requires", {
          headers: { "www-authenticate": decision.challenges.join(", ") },
        }),
        { auth: authFacts(decision.identity) },
      );
    case "busy":
      throw new Refusal(
        "auth_busy",
        new HttpProblem("too_many_requests", "Too many password checks under way: retry", {
          headers: { "retry-after": "1" },
        }),
      );
    case "unavailable":
      throw new Refusal(
        "auth_unavailable",
        new HttpProblem(
          "unavailable",
          "The keys to verify credentials are not loaded yet: retry shortly",
          { headers: { "retry-after": "1" } },
        ),
      );
  }
}

/** Who passed, as the access line says it. */
export function authFacts(identity: Identity | undefined): AuthFacts | undefined {
  return identity && { scheme: identity.scheme, subject: identity.subject };
}

function claimsOf(identity: Identity | undefined, input: CallerInput): { claims?: string } {
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
