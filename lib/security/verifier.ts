/**
 * What every scheme verifier has in common: where it reads credentials from,
 * the verdict it gives, and the challenge it sends with a 401.
 *
 * @module
 */

/** What a verifier may read of a request. */
export interface CredentialSource {
  headers: Headers;
  /** The raw query string, without `?`. */
  query: string;
  /**
   * Reads the body within the operation's `max-body`, `body-timeout` and
   * `max-body-memory` (HMAC schemes only); every call after the first gets
   * the same bytes.
   */
  body(): Promise<Uint8Array<ArrayBuffer>>;
}

/** A verifier's answer for one request. */
export type Verdict =
  /** The request carries no credential for the scheme. */
  | { kind: "absent" }
  /** A credential is there and wrong: `reason` is for the log, never for the client. */
  | { kind: "invalid"; reason: string }
  | {
    kind: "valid";
    /** API key name, basic user, or the token's `sub`. */
    subject?: string;
    /** The token's scopes (`scope` or `scp`); empty for schemes without scopes. */
    scopes: string[];
    /** The token's claims. */
    claims?: Record<string, unknown>;
  }
  /** Too many password checks under way: the client should retry (429). */
  | { kind: "busy" }
  /** The keys to check with are not loaded yet (a JWKS URL at start): 503. */
  | { kind: "unavailable" };

/** Why a challenge is sent: RFC 6750's error codes, for bearer tokens. */
export type ChallengeError = "invalid_token" | "insufficient_scope";

/** One configured scheme, ready to check requests. */
export interface Verifier {
  /** The scheme's name in `components.securitySchemes`. */
  readonly scheme: string;
  /** Whether the scheme carries scopes a requirement may ask for (JWT schemes). */
  readonly scoped: boolean;
  /** Query parameters that carry its credential, kept out of the process's QUERY_STRING. */
  readonly queryParams: readonly string[];
  /**
   * The `WWW-Authenticate` challenge of a 401 (`error` absent when no
   * credential was sent) or, for scoped schemes, of a 403.
   */
  challenge(error?: ChallengeError, scopes?: readonly string[]): string;
  verify(source: CredentialSource): Promise<Verdict>;
}

/** A quoted-string of RFC 9110, for challenge parameters. */
export function quoted(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * The credentials of an `Authorization` header of `scheme` (`Basic`,
 * `Bearer`; the scheme compared case-insensitively), `undefined` when the
 * header is missing or names another scheme, `""` when it names the scheme
 * with nothing after it.
 */
export function authorization(headers: Headers, scheme: string): string | undefined {
  const value = headers.get("authorization");
  if (value === null) return undefined;
  const space = value.indexOf(" ");
  const name = space < 0 ? value : value.slice(0, space);
  if (name.toLowerCase() !== scheme.toLowerCase()) return undefined;
  return space < 0 ? "" : value.slice(space + 1).trim();
}
