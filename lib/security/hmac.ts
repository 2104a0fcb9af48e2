/**
 * apiKey header schemes verified as an HMAC of the raw request body, the way
 * webhook senders sign their deliveries (GitHub's `X-Hub-Signature-256:
 * sha256=<hex>`). Web Crypto computes and compares the digest.
 *
 * @module
 */

import { quoted, type Verdict, type Verifier } from "./verifier.ts";

/** The digests an HMAC scheme may use. */
export type HmacAlgorithm = "sha1" | "sha256" | "sha512";

const HASH: Record<HmacAlgorithm, { name: string; hexLength: number }> = {
  sha1: { name: "SHA-1", hexLength: 40 },
  sha256: { name: "SHA-256", hexLength: 64 },
  sha512: { name: "SHA-512", hexLength: 128 },
};

/** What an HMAC scheme checks. */
export interface HmacOptions {
  /** The header the document names (`in: header`). */
  header: string;
  algorithm: HmacAlgorithm;
  /** Text before the hex digest, e.g. `sha256=`. */
  prefix: string;
  /** The shared secret's bytes. */
  secret: Uint8Array<ArrayBuffer>;
  realm: string;
}

/** The secret of a secret file: its text without the line end an editor adds. */
export function secretOf(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text.replace(/\r?\n$/, ""));
}

/**
 * A verifier of `scheme`: the header must hold `prefix` and the hex HMAC of
 * the body (either case). The body is read only when the header is there.
 */
export async function hmacVerifier(scheme: string, options: HmacOptions): Promise<Verifier> {
  const { header, algorithm, prefix, realm } = options;
  const { name, hexLength } = HASH[algorithm];
  const key = await crypto.subtle.importKey(
    "raw",
    options.secret,
    { name: "HMAC", hash: name },
    false,
    ["verify"],
  );
  return {
    scheme,
    scoped: false,
    queryParams: [],
    challenge: () =>
      `HMAC realm=${quoted(realm)}, algorithm=${quoted(algorithm)}, header=${quoted(header)}`,
    async verify({ headers, body }): Promise<Verdict> {
      const value = headers.get(header);
      if (value === null || value === "") return { kind: "absent" };
      const hex = value.startsWith(prefix) ? value.slice(prefix.length) : undefined;
      if (hex === undefined || hex.length !== hexLength || !/^[0-9a-fA-F]+$/.test(hex)) {
        return { kind: "invalid", reason: "malformed_signature" };
      }
      const signature = Uint8Array.from(hex.match(/../g)!.map((byte) => parseInt(byte, 16)));
      // verify() compares in constant time.
      const ok = await crypto.subtle.verify("HMAC", key, signature, await body());
      return ok ? { kind: "valid", scopes: [] } : { kind: "invalid", reason: "signature_mismatch" };
    },
  };
}
