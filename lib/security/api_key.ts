/**
 * apiKey schemes checked against a keys file: a key in a header, a query
 * parameter or a cookie, compared in constant time with every key listed.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { meaningfulLines } from "./_secret_file.ts";
import { quoted, type Verdict, type Verifier } from "./verifier.ts";

/** One key of a keys file: its name (the subject) and the SHA-256 of the secret. */
export interface ApiKeyEntry {
  name: string;
  digest: Uint8Array;
}

/** Where the document says the key travels. */
export interface ApiKeyLocation {
  in: "header" | "query" | "cookie";
  /** Header, parameter or cookie name. */
  name: string;
}

const HEX_DIGEST = /^sha256:([0-9a-fA-F]{64})$/;
/** Key names become AUTH_SUBJECT and log fields: printable, without spaces or colons. */
const KEY_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Parses a keys file: lines `NAME:SECRET` or `NAME:sha256:<hex>` (the
 * SHA-256 of the secret, so the file need not hold it). Blank lines and `#`
 * comments are skipped. Returns the keys, or every problem by line.
 *
 * @example
 * ```ts
 * parseKeysFile("ci:s3cr3t-value\n"); // { keys: [{ name: "ci", digest: <sha256 of s3cr3t-value> }] }
 * ```
 */
export function parseKeysFile(
  text: string,
): { keys: ApiKeyEntry[] } | { errors: string[] } {
  const keys: ApiKeyEntry[] = [];
  const errors: string[] = [];
  const names = new Set<string>();
  const secrets = new Map<string, string>();
  for (const { line, text: entry } of meaningfulLines(text)) {
    const colon = entry.indexOf(":");
    const name = colon < 0 ? "" : entry.slice(0, colon);
    const secret = colon < 0 ? "" : entry.slice(colon + 1);
    if (!KEY_NAME.test(name) || secret === "") {
      errors.push(`line ${line}: expected "NAME:SECRET" or "NAME:sha256:<64 hex digits>"`);
      continue;
    }
    if (names.has(name)) {
      errors.push(`line ${line}: the key name ${JSON.stringify(name)} is listed twice`);
      continue;
    }
    names.add(name);
    const hex = HEX_DIGEST.exec(secret)?.[1];
    const digest = hex ? hexBytes(hex) : sha256(secret);
    const same = secrets.get(toHex(digest));
    if (same !== undefined) {
      errors.push(
        `line ${line}: ${JSON.stringify(name)} has the same secret as ${JSON.stringify(same)}: ` +
          "a caller could not be told apart",
      );
      continue;
    }
    secrets.set(toHex(digest), name);
    keys.push({ name, digest });
  }
  if (keys.length === 0 && errors.length === 0) errors.push("the file lists no key");
  return errors.length > 0 ? { errors } : { keys };
}

/** A verifier of `scheme` for keys at `location`, checked against `keys`. */
export function apiKeyVerifier(
  scheme: string,
  location: ApiKeyLocation,
  keys: readonly ApiKeyEntry[],
  realm: string,
): Verifier {
  return {
    scheme,
    scoped: false,
    queryParams: location.in === "query" ? [location.name] : [],
    challenge: () =>
      `ApiKey realm=${quoted(realm)}, in=${quoted(location.in)}, name=${quoted(location.name)}`,
    verify({ headers, query }): Promise<Verdict> {
      const presented = readKey(location, headers, query);
      if (presented === undefined) return Promise.resolve({ kind: "absent" });
      const digest = sha256(presented);
      // Every key is compared, and in constant time: how long it takes tells nothing of which
      // key, or how much of one, matched.
      let found: string | undefined;
      for (const key of keys) {
        if (timingSafeEqual(digest, key.digest) && found === undefined) found = key.name;
      }
      return Promise.resolve(
        found === undefined
          ? { kind: "invalid", reason: "unknown_key" }
          : { kind: "valid", subject: found, scopes: [] },
      );
    },
  };
}

/** The key a request presents at `location`, or undefined when it presents none. */
export function readKey(
  location: ApiKeyLocation,
  headers: Headers,
  query: string,
): string | undefined {
  let value: string | null | undefined;
  if (location.in === "header") value = headers.get(location.name);
  else if (location.in === "query") value = new URLSearchParams(query).get(location.name);
  else value = cookie(headers.get("cookie"), location.name);
  return value === null || value === undefined || value === "" ? undefined : value;
}

/** The value of cookie `name` in a `Cookie` header (RFC 6265 `name=value; …`). */
function cookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
      ? value.slice(1, -1)
      : value;
  }
  return undefined;
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((byte) => parseInt(byte, 16)));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
