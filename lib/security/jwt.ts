/**
 * Bearer-token schemes (http bearer, oauth2, openIdConnect): a JWT access
 * token checked by jose — signature, algorithm allow-list, `exp`/`nbf` with
 * leeway, `iss`, `aud`, key lookup by `kid` — and its scopes.
 *
 * @module
 */

import type * as Jose from "jose";
import type { KeyLookup, RemoteKeySet } from "./remote_jwks.ts";
import {
  authorization,
  type ChallengeError,
  quoted,
  type Verdict,
  type Verifier,
} from "./verifier.ts";

/** Algorithms accepted when `algorithms` is not set (and a key set is used). */
export const DEFAULT_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;
/** Algorithms of shared-secret tokens: only with `secret-file`, and only they with it. */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
/** Asymmetric algorithms jose verifies with a key set. */
export const KEY_SET_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;
/** The longest token looked at: anything longer is refused before any decoding. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** How long a verified token is remembered (never past its `exp`): its signature is checked once. */
export const TOKEN_CACHE_TTL_MS = 60_000;
/** How many verified tokens are remembered at most (the oldest go first). */
export const TOKEN_CACHE_ENTRIES = 1024;
/** Longer tokens are not remembered, which bounds the cache's memory to a few MiB. */
const MAX_CACHED_TOKEN_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Where a JWT scheme's keys come from. */
export type JwtKeys =
  | { kind: "set"; keys: KeyLookup }
  /** Undefined until the configuration's runtime has started. */
  | { kind: "remote"; set: () => RemoteKeySet | undefined }
  | { kind: "secret"; secret: Uint8Array };

/** What a JWT scheme checks. */
export interface JwtOptions {
  jose: Pick<typeof Jose, "jwtVerify">;
  keys: JwtKeys;
  issuer: string[];
  audience: string[];
  algorithms: string[];
  leewaySeconds: number;
  realm: string;
  /** The clock, injected for tests. */
  now?: () => number;
}

/** A verifier of `scheme` for `Authorization: Bearer <JWT>`. */
export function jwtVerifier(scheme: string, options: JwtOptions): Verifier {
  const { jose, keys, realm, now = Date.now } = options;
  // Verified tokens, by the token itself: a forged one cannot match one that was verified.
  const cache = new Map<string, { verdict: Verdict; until: number }>();
  const verifyOptions: Jose.JWTVerifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms,
    clockTolerance: options.leewaySeconds,
    // A token without an expiry would be good forever once leaked.
    requiredClaims: ["exp"],
  };
  const check = async (token: string, lookup: KeyLookup | Uint8Array) =>
    lookup instanceof Uint8Array
      ? await jose.jwtVerify(token, lookup, verifyOptions)
      : await jose.jwtVerify(token, lookup, verifyOptions);
  return {
    scheme,
    scoped: true,
    queryParams: [],
    challenge(error?: ChallengeError, scopes: readonly string[] = []) {
      let challenge = `Bearer realm=${quoted(realm)}`;
      if (error) challenge += `, error=${quoted(error)}`;
      if (error === "insufficient_scope") challenge += `, scope=${quoted(scopes.join(" "))}`;
      return challenge;
    },
    async verify({ headers }): Promise<Verdict> {
      const token = authorization(headers, "bearer");
      if (token === undefined) return { kind: "absent" };
      if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
        return { kind: "invalid", reason: "malformed_token" };
      }
      const hit = cache.get(token);
      if (hit && hit.until > now()) return hit.verdict;
      if (hit) cache.delete(token);
      const lookup = keys.kind === "secret"
        ? keys.secret
        : keys.kind === "set"
        ? keys.keys
        : keys.set()?.keys;
      if (lookup === undefined) return { kind: "unavailable" };
      let payload: Jose.JWTPayload;
      try {
        payload = (await check(token, lookup)).payload;
      } catch (error) {
        const code = reasonOf(error);
        if (code !== "ERR_JWKS_NO_MATCHING_KEY" || keys.kind !== "remote") {
          return { kind: "invalid", reason: code };
        }
        // A key the set lacks may be a new one the issuer just rotated in.
        const set = keys.set()!;
        if (!await set.refreshForUnknownKey()) return { kind: "invalid", reason: code };
        try {
          payload = (await check(token, set.keys!)).payload;
        } catch (again) {
          return { kind: "invalid", reason: reasonOf(again) };
        }
      }
      const subject = typeof payload.sub === "string" ? payload.sub : undefined;
      const scopes = scopesOf(payload);
      // AUTH_SUBJECT and AUTH_SCOPES carry them as they are, and no environment value holds a NUL.
      if ([subject ?? "", ...scopes].some((value) => value.includes("\0"))) {
        return { kind: "invalid", reason: "nul_in_claims" };
      }
      const verdict: Verdict = {
        kind: "valid",
        ...(subject !== undefined ? { subject } : {}),
        scopes,
        claims: payload,
      };
      if (token.length <= MAX_CACHED_TOKEN_LENGTH) {
        if (cache.size >= TOKEN_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
        // exp is required, so it is there; the leeway is not extended to remembered tokens.
        cache.set(token, {
          verdict,
          until: Math.min(now() + TOKEN_CACHE_TTL_MS, payload.exp! * 1000),
        });
      }
      return verdict;
    },
  };
}

/** jose's error code, with the claim that failed: `ERR_JWT_CLAIM_VALIDATION_FAILED nbf`. */
function reasonOf(error: unknown): string {
  const { code, claim } = error as { code?: string; claim?: string };
  return `${code ?? "ERR_JWT_INVALID"}${claim ? ` ${claim}` : ""}`;
}

/** The scopes a token grants: `scope` (space-separated) or `scp` (a list, or space-separated). */
export function scopesOf(payload: Record<string, unknown>): string[] {
  const value = payload.scope ?? payload.scp;
  if (typeof value === "string") return value.split(" ").filter((s) => s !== "");
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === "string");
  return [];
}
