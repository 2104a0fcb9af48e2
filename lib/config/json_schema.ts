/**
 * The JSON Schema of `urocket-service.yaml`, generated from the zod schema
 * so that editors complete and check the same keys urocket accepts. The
 * committed `urocket-service.schema.json` is this text; a test keeps them
 * equal.
 *
 * @module
 */

import { z } from "zod";
import { ConfigSchema } from "./schema.ts";

/** Where the schema is published; example configs point at it by relative path. */
export const SCHEMA_FILE = "urocket-service.schema.json";

/**
 * The config file's JSON Schema (draft-07, which every YAML editor plugin
 * reads), as the text of {@link SCHEMA_FILE}.
 */
export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(ConfigSchema, {
    target: "draft-7",
    io: "input",
    override(ctx) {
      // zod names its startsWith check as a format; JSON Schema has no such format.
      if (ctx.jsonSchema.format === "starts_with") delete ctx.jsonSchema.format;
    },
  });
  const { $schema, ...rest } = schema;
  const document = {
    $schema,
    title: "urocket-service.yaml",
    description: "urocket's config: which command answers each operation of an OpenAPI " +
      "document, and how. See docs/configuration.md.",
    ...rest,
  };
  return JSON.stringify(document, null, 2) + "\n";
}
