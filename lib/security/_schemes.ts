/**
 * Builds the verifier of one configured scheme from its entry under the
 * top-level `security` and its definition in `components.securitySchemes`:
 * which keys its type takes, the files they name, the algorithms allowed.
 *
 * @module
 */

import { absolutePath, parseDuration, type SchemeConfig } from "../config/mod.ts";
import { type JsonObject } from "../openapi/mod.ts";
import { BcryptPool } from "./_bcrypt_pool.ts";
import { readKeySetFile, readSecretFile, type SecretFileSystem } from "./_secret_file.ts";
import { apiKeyVerifier, parseKeysFile } from "./api_key.ts";
import { basicVerifier, parseHtpasswd, type PasswordChecks } from "./basic.ts";
import { type HmacAlgorithm, hmacVerifier, secretOf } from "./hmac.ts";
import { DEFAULT_ALGORITHMS, HMAC_ALGORITHMS, jwtVerifier, KEY_SET_ALGORITHMS } from "./jwt.ts";
import type { RemoteKeySet } from "./remote_jwks.ts";
import type { Verifier } from "./verifier.ts";

/** What building a verifier needs beside the scheme. */
export interface SchemeContext {
  /** The config file's folder: relative file names resolve against it. */
  dir: string;
  realm: string;
  files: SecretFileSystem;
  checks: PasswordChecks;
  /** The remote key set of a JWKS URL (one per URL, shared by the schemes naming it). */
  remote: (url: string) => () => RemoteKeySet | undefined;
  /** Reports a problem under `security.<scheme>.<key>`. */
  report: (key: string, message: string) => void;
}

/** One pool for the process: its workers serve every configuration a reload brings, and end when idle. */
const PASSWORDS = new BcryptPool();

const JWT_KEYS = ["jwks", "secret-file", "issuer", "audience", "algorithms", "leeway"] as const;

/**
 * The verifier of scheme `name`, or undefined when the entry cannot be used
 * (every reason reported).
 */
export async function buildVerifier(
  name: string,
  definition: JsonObject,
  entry: SchemeConfig,
  ctx: SchemeContext,
): Promise<Verifier | undefined> {
  const { type } = definition;
  const kind = type === "apiKey"
    ? (entry.hmac ? "hmac" : "keys")
    : type === "http" && String(definition.scheme).toLowerCase() === "basic"
    ? "basic"
    : (type === "http" && String(definition.scheme).toLowerCase() === "bearer") ||
        type === "oauth2" || type === "openIdConnect"
    ? "jwt"
    : undefined;
  if (kind === undefined) {
    ctx.report("", unverifiable(definition));
    return undefined;
  }
  const allowed: readonly string[] = kind === "keys"
    ? ["keys-file"]
    : kind === "hmac"
    ? ["hmac"]
    : kind === "basic"
    ? ["htpasswd"]
    : JWT_KEYS;
  const stray = Object.keys(entry).filter((key) => !allowed.includes(key));
  if (stray.length > 0) {
    ctx.report(
      stray[0],
      `${stray.map((k) => JSON.stringify(k)).join(", ")} does not apply to a ${
        describe(definition)
      } ` +
        `scheme: it takes ${allowed.map((k) => JSON.stringify(k)).join(", ")}`,
    );
    return undefined;
  }
  switch (kind) {
    case "keys":
      return await keysVerifier(name, definition, entry, ctx);
    case "hmac":
      return await signatureVerifier(name, definition, entry, ctx);
    case "basic":
      return await htpasswdVerifier(name, entry, ctx);
    case "jwt":
      return await tokenVerifier(name, entry, ctx);
  }
}

async function keysVerifier(
  name: string,
  definition: JsonObject,
  entry: SchemeConfig,
  ctx: SchemeContext,
): Promise<Verifier | undefined> {
  const location = apiKeyLocation(definition);
  if (typeof location === "string") return void ctx.report("", location);
  if (!entry["keys-file"]) {
    return void ctx.report("", 'An apiKey scheme takes "keys-file" (or "hmac" for a signed body)');
  }
  const text = await secretText(entry["keys-file"], "keys-file", ctx);
  if (text === undefined) return undefined;
  const parsed = parseKeysFile(text);
  if ("errors" in parsed) return void ctx.report("keys-file", parsed.errors.join("; "));
  return apiKeyVerifier(name, location, parsed.keys, ctx.realm);
}

async function signatureVerifier(
  name: string,
  definition: JsonObject,
  entry: SchemeConfig,
  ctx: SchemeContext,
): Promise<Verifier | undefined> {
  const location = apiKeyLocation(definition);
  if (typeof location === "string") return void ctx.report("", location);
  if (location.in !== "header") {
    return void ctx.report("hmac", `An HMAC signature travels in a header, not in: ${location.in}`);
  }
  const hmac = entry.hmac!;
  const text = await secretText(hmac["secret-file"], "hmac.secret-file", ctx);
  if (text === undefined) return undefined;
  const secret = secretOf(text);
  if (secret.length === 0) return void ctx.report("hmac.secret-file", "The secret file is empty");
  const algorithm: HmacAlgorithm = hmac.algorithm ?? "sha256";
  return await hmacVerifier(name, {
    header: location.name,
    algorithm,
    prefix: hmac.prefix ?? `${algorithm}=`,
    secret,
    realm: ctx.realm,
  });
}

async function htpasswdVerifier(
  name: string,
  entry: SchemeConfig,
  ctx: SchemeContext,
): Promise<Verifier | undefined> {
  if (!entry.htpasswd) return void ctx.report("", 'An http basic scheme takes "htpasswd"');
  const text = await secretText(entry.htpasswd, "htpasswd", ctx);
  if (text === undefined) return undefined;
  const parsed = parseHtpasswd(text);
  if ("errors" in parsed) return void ctx.report("htpasswd", parsed.errors.join("; "));
  return basicVerifier(name, parsed.users, {
    compare: (password, hash) => PASSWORDS.compare(password, hash),
    checks: ctx.checks,
    realm: ctx.realm,
  });
}

async function tokenVerifier(
  name: string,
  entry: SchemeConfig,
  ctx: SchemeContext,
): Promise<Verifier | undefined> {
  const problems = (entry.jwks === undefined) === (entry["secret-file"] === undefined)
    ? ['A JWT scheme takes either "jwks" (a key set) or "secret-file" (HS256/384/512)']
    : [];
  for (const key of ["issuer", "audience"] as const) {
    if (entry[key] === undefined) {
      problems.push(
        `A JWT scheme needs "${key}": without it, tokens the same issuer made for other ` +
          "services would pass",
      );
    }
  }
  if (problems.length > 0) return void ctx.report("", problems.join("; "));
  const secretFile = entry["secret-file"] !== undefined;
  const algorithms = entry.algorithms ??
    (secretFile ? ["HS256"] : [...DEFAULT_ALGORITHMS]);
  const algorithmProblem = checkAlgorithms(algorithms, secretFile);
  if (algorithmProblem) return void ctx.report("algorithms", algorithmProblem);
  const leewaySeconds = entry.leeway === undefined ? 0 : parseDuration(entry.leeway) / 1000;
  const jose = await import("jose");
  let keys: Parameters<typeof jwtVerifier>[1]["keys"];
  if (secretFile) {
    const text = await secretText(entry["secret-file"]!, "secret-file", ctx);
    if (text === undefined) return undefined;
    const secret = secretOf(text);
    if (secret.length < 32) {
      return void ctx.report(
        "secret-file",
        `The secret is ${secret.length} bytes: HS256 and up need at least 32 (RFC 7518, 3.2)`,
      );
    }
    keys = { kind: "secret", secret };
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry.jwks!)) {
    if (!entry.jwks!.toLowerCase().startsWith("https://")) {
      return void ctx.report(
        "jwks",
        "A key set URL must be https://: over plain HTTP anyone on the way could swap the keys",
      );
    }
    keys = { kind: "remote", set: ctx.remote(entry.jwks!) };
  } else {
    const path = absolutePath(entry.jwks!, ctx.dir);
    const read = await readKeySetFile(path, ctx.files);
    if ("error" in read) return void ctx.report("jwks", read.error);
    try {
      keys = { kind: "set", keys: jose.createLocalJWKSet(JSON.parse(read.text)) };
    } catch (error) {
      return void ctx.report(
        "jwks",
        `Cannot use ${JSON.stringify(path)} as a JSON Web Key Set: ${(error as Error).message}`,
      );
    }
  }
  return jwtVerifier(name, {
    jose,
    keys,
    issuer: [entry.issuer!].flat(),
    audience: [entry.audience!].flat(),
    algorithms,
    leewaySeconds,
    realm: ctx.realm,
  });
}

/** What is wrong with an `algorithms` list, if anything. */
export function checkAlgorithms(
  algorithms: readonly string[],
  secretFile: boolean,
): string | undefined {
  for (const alg of algorithms) {
    if (alg.toLowerCase() === "none") return '"none" is never accepted: it means an unsigned token';
    const hmac = (HMAC_ALGORITHMS as readonly string[]).includes(alg);
    if (hmac && !secretFile) {
      return `${alg} needs "secret-file" instead of "jwks": with a key set, a token signed with ` +
        "the public key as an HMAC secret could pass";
    }
    if (!hmac && secretFile) {
      return `${alg} is not an HMAC algorithm: with "secret-file", use HS256, HS384 or HS512`;
    }
    if (!hmac && !(KEY_SET_ALGORITHMS as readonly string[]).includes(alg)) {
      return `Unknown algorithm ${JSON.stringify(alg)}: use ${KEY_SET_ALGORITHMS.join(", ")}`;
    }
  }
  return undefined;
}

async function secretText(
  file: string,
  key: string,
  ctx: SchemeContext,
): Promise<string | undefined> {
  const read = await readSecretFile(absolutePath(file, ctx.dir), ctx.files);
  if ("error" in read) return void ctx.report(key, read.error);
  return read.text;
}

function apiKeyLocation(
  definition: JsonObject,
): { in: "header" | "query" | "cookie"; name: string } | string {
  const where = definition.in;
  const name = definition.name;
  if ((where !== "header" && where !== "query" && where !== "cookie") || typeof name !== "string") {
    return 'The document\'s apiKey scheme needs "in" (header, query or cookie) and "name"';
  }
  return { in: where, name };
}

/** `http basic`, `apiKey`, `oauth2`: how a scheme is named in messages. */
export function describe(definition: JsonObject): string {
  return definition.type === "http"
    ? `http ${String(definition.scheme ?? "").toLowerCase()}`
    : String(definition.type);
}

function unverifiable(definition: JsonObject): string {
  if (definition.type === "mutualTLS") {
    return "urocket cannot verify mutualTLS: client certificates are checked where TLS ends " +
      '(the proxy in front); set "security: open" on its operations if that proxy enforces it';
  }
  return `urocket cannot verify a ${describe(definition)} scheme: it verifies apiKey (keys-file ` +
    "or hmac), http basic (htpasswd), and JWTs for http bearer, oauth2 and openIdConnect";
}
