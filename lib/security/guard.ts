/**
 * An operation's security requirement, as OpenAPI defines it, applied to a
 * request: the alternatives are tried in order (a list is OR), every scheme
 * of one alternative must pass (AND) with the scopes it lists, and an empty
 * alternative `{}` makes credentials optional.
 *
 * @module
 */

import type { CredentialSource, Verdict, Verifier } from "./verifier.ts";

/** One scheme of an alternative, with the scopes the requirement lists for it. */
export interface Demand {
  verifier: Verifier;
  scopes: readonly string[];
}

/** An operation's requirement, with its verifiers. */
export interface Guard {
  /** The alternatives, in the document's order; none of them empty. */
  alternatives: readonly (readonly Demand[])[];
  /** The requirement lists `{}`: a request with no credential at all passes anonymously. */
  optional: boolean;
}

/** Who a request was let through as. */
export interface Identity {
  /** The schemes of the alternative that passed, space-separated. */
  scheme: string;
  /** The first subject among them (key name, basic user, `sub`). */
  subject?: string;
  /** The scopes of its tokens. */
  scopes: string[];
  /** The claims of its first token. */
  claims?: Record<string, unknown>;
}

/** The outcome of {@link checkGuard}. */
export type Decision =
  | { kind: "allowed"; identity?: Identity }
  | {
    kind: "unauthorized";
    /** Nothing was sent (`missing`), or what was sent did not pass (`invalid`). */
    reason: "missing" | "invalid";
    /** One `WWW-Authenticate` challenge per scheme of the requirement. */
    challenges: string[];
    /** Why the credentials were refused, for the log only. */
    errors: string[];
  }
  | { kind: "forbidden"; identity: Identity; challenges: string[] }
  | { kind: "busy" }
  | { kind: "unavailable" };

/**
 * Decides whether a request meets the guard. Each scheme is verified at most
 * once, and an alternative stops at its first failing scheme, so that a
 * costly check (bcrypt, the body's HMAC) runs only when it can still matter.
 *
 * Precedence when no alternative passes: valid credentials lacking a scope
 * are a 403; a check that could not run (too many password checks, keys not
 * loaded) asks the client to retry; otherwise 401.
 */
export async function checkGuard(guard: Guard, source: CredentialSource): Promise<Decision> {
  const verdicts = new Map<Verifier, Promise<Verdict>>();
  const verdictOf = (verifier: Verifier) => {
    let verdict = verdicts.get(verifier);
    if (!verdict) verdicts.set(verifier, verdict = verifier.verify(source));
    return verdict;
  };
  let sent = false;
  let busy = false;
  let unavailable = false;
  let lacking: { identity: Identity; demand: Demand } | undefined;
  const errors: string[] = [];
  const note = (verifier: Verifier, verdict: Verdict) => {
    if (verdict.kind !== "absent") sent = true;
    if (verdict.kind === "busy") busy = true;
    else if (verdict.kind === "unavailable") unavailable = true;
    else if (verdict.kind === "invalid") errors.push(`${verifier.scheme}: ${verdict.reason}`);
  };
  for (const alternative of guard.alternatives) {
    const passed: [Demand, Extract<Verdict, { kind: "valid" }>][] = [];
    for (const demand of alternative) {
      const verdict = await verdictOf(demand.verifier);
      note(demand.verifier, verdict);
      if (verdict.kind === "valid" && demand.scopes.every((s) => verdict.scopes.includes(s))) {
        passed.push([demand, verdict]);
        continue;
      }
      if (verdict.kind === "valid") {
        lacking ??= { identity: identityOf([[demand, verdict]]), demand };
      }
      break;
    }
    if (passed.length === alternative.length) {
      return { kind: "allowed", identity: identityOf(passed) };
    }
  }
  if (guard.optional && !sent) {
    // Alternatives stop at their first missing scheme, so a later scheme's credential may not
    // have been looked at: one that was sent makes the request no anonymous one.
    for (const verifier of schemesOf(guard)) {
      if (!verdicts.has(verifier)) note(verifier, await verdictOf(verifier));
    }
    if (!sent) return { kind: "allowed" };
  }
  if (lacking) {
    const { verifier, scopes } = lacking.demand;
    return {
      kind: "forbidden",
      identity: lacking.identity,
      challenges: [verifier.challenge("insufficient_scope", scopes)],
    };
  }
  if (busy) return { kind: "busy" };
  if (unavailable) return { kind: "unavailable" };
  return {
    kind: "unauthorized",
    reason: errors.length > 0 ? "invalid" : "missing",
    challenges: [...schemesOf(guard)].map((v) =>
      v.challenge(
        sent && errors.some((e) => e.startsWith(`${v.scheme}: `)) ? "invalid_token" : undefined,
      )
    ),
    errors,
  };
}

/** The distinct verifiers of a guard, in the order the requirement first names them. */
export function schemesOf(guard: Guard): Set<Verifier> {
  return new Set(guard.alternatives.flatMap((alternative) => alternative.map((d) => d.verifier)));
}

function identityOf(passed: [Demand, Extract<Verdict, { kind: "valid" }>][]): Identity {
  const subject = passed.find(([, v]) => v.subject !== undefined)?.[1].subject;
  const claims = passed.find(([, v]) => v.claims !== undefined)?.[1].claims;
  return {
    scheme: passed.map(([d]) => d.verifier.scheme).join(" "),
    ...(subject !== undefined ? { subject } : {}),
    scopes: [...new Set(passed.flatMap(([, v]) => v.scopes))],
    ...(claims !== undefined ? { claims } : {}),
  };
}

/**
 * `query` without the parameters that carry a credential of the guard's
 * apiKey schemes: the process gets the identity, not the key.
 */
export function withoutCredentials(guard: Guard, query: string): string {
  const names = new Set([...schemesOf(guard)].flatMap((verifier) => verifier.queryParams));
  if (names.size === 0 || query === "") return query;
  return query.split("&").filter((pair) => {
    const name = pair.split("=", 1)[0].replaceAll("+", " ");
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // Not percent-encoding: compared as written.
    }
    return !names.has(decoded);
  }).join("&");
}
