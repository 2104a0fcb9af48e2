/**
 * `urocket schema`: prints the JSON Schema of `urocket-service.yaml`.
 *
 * @module
 */

import { configJsonSchemaText } from "../config/mod.ts";
import type { CliOutput } from "./output.ts";

/** Prints the schema on stdout and returns 0. */
export function printSchema(output: CliOutput): number {
  output.out(configJsonSchemaText().trimEnd());
  return 0;
}
