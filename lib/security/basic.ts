/**
 * http basic schemes checked against an htpasswd file of bcrypt entries.
 * bcrypt is slow on purpose, so its cost is bounded three ways: a cost
 * ceiling at load, a short cache of successful checks, and a bound on checks
 * under way (past it the caller gets 429).
 *
 * @module
 */

import { createHmac } from "node:crypto";
import { meaningfulLines } from "./_secret_file.ts";
import { authorization, quoted, type Verdict, type Verifier } from "./verifier.ts";

/** bcrypt's `$2a$`, `$2b$` and `$2y$` hashes (the same algorithm), with their cost. */
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
/**
 * The highest bcrypt cost accepted. Each check takes a worker thread (bcrypt
 * in JavaScript, see _bcrypt_pool.ts): cost 10 takes about 65 ms, and each
 * step above it doubles that, so cost 13 would take half a second of CPU.
 */
export const MAX_BCRYPT_COST = 12;
/** How long a successful check is remembered: a client sending the same password again skips bcrypt. */
export const CACHE_TTL_MS = 60_000;
/** How many successful checks are remembered at most (the oldest go first). */
export const CACHE_ENTRIES = 1024;
/** Password checks under way at once, over every basic scheme; past it, 429. */
export const MAX_PASSWORD_CHECKS = 4;

/** Compares a password with a bcrypt hash (on a worker thread: see _bcrypt_pool.ts). */
export type BcryptCompare = (password: string, hash: string) => Promise<boolean>;

/**
 * Parses an htpasswd file whose entries are all bcrypt (`htpasswd -B`).
 * Other formats (`$apr1$` MD5, `{SHA}`, crypt) are refused: they are fast
 * to guess. Returns the users, or every problem by line.
 */
export function parseHtpasswd(
  text: string,
): { users: Map<string, string> } | { errors: string[] } {
  const users = new Map<string, string>();
  const errors: string[] = [];
  for (const { line, text: entry } of meaningfulLines(text)) {
    const colon = entry.indexOf(":");
    const user = colon < 0 ? "" : entry.slice(0, colon);
    const hash = colon < 0 ? "" : entry.slice(colon + 1);
    const cost = BCRYPT.exec(hash)?.[1];
    if (user === "" || hash === "") {
      errors.push(`line ${line}: expected "user:<bcrypt hash>"`);
    } else if (cost === undefined) {
      errors.push(
        `line ${line}: ${JSON.stringify(user)} is not a bcrypt entry ($2a$, $2b$ or $2y$): ` +
          "other formats are refused; re-create it with htpasswd -B",
      );
    } else if (Number(cost) > MAX_BCRYPT_COST || Number(cost) < 4) {
      errors.push(
        `line ${line}: ${JSON.stringify(user)} has bcrypt cost ${Number(cost)}: use 4 to ` +
          `${MAX_BCRYPT_COST} (each step doubles a check's CPU time), e.g. htpasswd -B -C 10`,
      );
    } else if (users.has(user)) {
      errors.push(`line ${line}: the user ${JSON.stringify(user)} is listed twice`);
    } else {
      users.set(user, hash);
    }
  }
  if (users.size === 0 && errors.length === 0) errors.push("the file lists no user");
  return errors.length > 0 ? { errors } : { users };
}

/** Counts password checks under way, shared by every basic scheme of a configuration. */
export class PasswordChecks {
  #running = 0;
  readonly #max: number;

  constructor(max = MAX_PASSWORD_CHECKS) {
    this.#max = max;
  }

  /** Runs `check` unless `max` checks are under way; undefined when it did not run. */
  async run<T>(check: () => Promise<T>): Promise<T | undefined> {
    if (this.#running >= this.#max) return undefined;
    this.#running++;
    try {
      return await check();
    } finally {
      this.#running--;
    }
  }
}

/** What {@link basicVerifier} needs besides the users. */
export interface BasicOptions {
  compare: BcryptCompare;
  checks: PasswordChecks;
  realm: string;
  /** The clock, injected for tests. */
  now?: () => number;
}

/** A verifier of `scheme` against `users` (name → bcrypt hash). */
export function basicVerifier(
  scheme: string,
  users: ReadonlyMap<string, string>,
  options: BasicOptions,
): Verifier {
  const { compare, checks, realm, now = Date.now } = options;
  // Cache keys are HMACs under a key that lives only in this process: the cache never holds a
  // password, and its lookups' timing says nothing usable about one.
  const cacheKey = crypto.getRandomValues(new Uint8Array(32));
  const cache = new Map<string, { user: string; until: number }>();
  // An unknown user costs a check too, so that timing does not tell which users exist.
  const decoy = users.values().next().value as string;
  return {
    scheme,
    scoped: false,
    queryParams: [],
    challenge: () => `Basic realm=${quoted(realm)}, charset="UTF-8"`,
    async verify({ headers }): Promise<Verdict> {
      const encoded = authorization(headers, "basic");
      if (encoded === undefined) return { kind: "absent" };
      const pair = decodeBasic(encoded);
      if (pair === undefined) return { kind: "invalid", reason: "malformed_basic" };
      const [user, password] = pair;
      // Keyed by the credential as sent: a user holds no colon, so no other pair gives these bytes.
      const key = createHmac("sha256", cacheKey).update(`${user}:${password}`).digest("hex");
      const hit = cache.get(key);
      if (hit && hit.until > now()) return { kind: "valid", subject: hit.user, scopes: [] };
      if (hit) cache.delete(key);
      const hash = users.get(user);
      const ok = await checks.run(() => compare(password, hash ?? decoy));
      if (ok === undefined) return { kind: "busy" };
      if (!ok || hash === undefined) return { kind: "invalid", reason: "wrong_password" };
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(key, { user, until: now() + CACHE_TTL_MS });
      return { kind: "valid", subject: user, scopes: [] };
    },
  };
}

/** `user:password` from base64, or undefined when it is not that. */
function decodeBasic(encoded: string): [string, string] | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  return colon <= 0 ? undefined : [text.slice(0, colon), text.slice(colon + 1)];
}
