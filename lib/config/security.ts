/**
 * The shape of the top-level `security` mapping: for each scheme name of the
 * OpenAPI document's `components.securitySchemes`, how urocket verifies it.
 * Only types and spelling are checked here; which keys a scheme's type
 * needs, and the files they name, are checked by lib/security/.
 *
 * @module
 */

import { z } from "zod";
import { parseDuration } from "./units.ts";

const file = (description: string) => z.string().min(1).meta({ description });
const oneOrMany = (description: string) =>
  z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
    error: "Expected a string or a list of strings",
  }).meta({ description });

const hmac = z.strictObject({
  "secret-file": file(
    "File holding the shared secret (not world-readable); its trailing newline is ignored",
  ),
  algorithm: z.enum(["sha1", "sha256", "sha512"]).optional().meta({
    description: "Digest of the HMAC over the raw request body (default sha256)",
  }),
  prefix: z.string().optional().meta({
    description: 'Text before the hex digest in the header (default "<algorithm>=")',
  }),
}).meta({
  description: "Verify an apiKey header as an HMAC of the raw request body (webhook signatures)",
});

/** How urocket verifies one security scheme of the document. */
export const SchemeConfigSchema = z.strictObject({
  "keys-file": file(
    'apiKey: lines "NAME:SECRET" or "NAME:sha256:<hex>"; NAME is the subject',
  ).optional(),
  htpasswd: file("http basic: an htpasswd file of bcrypt entries ($2a$, $2b$, $2y$)").optional(),
  jwks: file(
    "JWT: a JSON Web Key Set file, or an https:// URL fetched at start and refreshed",
  ).optional(),
  "secret-file": file("JWT: the shared secret of HS256/HS384/HS512 tokens").optional(),
  issuer: oneOrMany("JWT: the accepted iss claim(s)").optional(),
  audience: oneOrMany("JWT: the accepted aud value(s)").optional(),
  algorithms: z.array(z.string().min(1)).min(1).optional().meta({
    description: 'JWT: accepted "alg" values (default RS256, ES256, EdDSA; "none" never)',
  }),
  leeway: z.union([z.string(), z.number()]).superRefine((value, ctx) => {
    try {
      parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  }).optional().meta({ description: "JWT: clock skew allowed on exp and nbf (default 0s)" }),
  hmac: hmac.optional(),
}).meta({ description: "How urocket verifies one security scheme of the OpenAPI document" });

/** The top-level `security` mapping: scheme name → how it is verified. */
export const SecurityConfigSchema = z.record(z.string().min(1), SchemeConfigSchema).meta({
  description: "How urocket verifies each scheme of components.securitySchemes it must enforce",
});

/** One scheme's entry as written, after schema validation. */
export type SchemeConfig = z.infer<typeof SchemeConfigSchema>;
